"""Load: concurrent clients against `GET /api/search` of `python app.py`, from this separate process.

    python bench/load.py [--clients 20] [--seconds 60] [--quick] [--index DIR]

The server is a subprocess on 127.0.0.1; the load comes from this process, asyncio + httpx, one keep-alive
connection per client, each asking the eval questions in turn until the time is up (bounded in clients and
seconds). Reported: answers/s, errors, p50/p95 latency; targets 0 errors, ≥ 100 answers/s, p95 ≤ 300 ms.
Floor: the same server under the same load on a route that does no search, `/openapi.json` (FastAPI's cached
schema): what the server, the loopback and this load generator can do at best. Then (informational) the chat's
Gradio `/search` through gradio_client, in threads, with fewer clients and seconds (each client is heavy).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.served_app import (  # noqa: E402
    Row,
    ensure_index,
    gradio_client,
    ms,
    parser,
    percentile,
    print_table,
    questions,
    rest_url,
    served_app,
)


@dataclass
class Tally:
    """Latencies of the answered requests and the errors, over `seconds`."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rows(self, figure: str, floor: Tally | None = None, targets: bool = False) -> list[Row]:
        rate = len(self.latencies) / self.seconds
        p50 = percentile(self.latencies, 0.5) if self.latencies else float("nan")
        p95 = percentile(self.latencies, 0.95) if self.latencies else float("nan")
        floor_rate = floor and len(floor.latencies) / floor.seconds
        first = f" (first: {self.errors[0][:80]})" if self.errors else ""
        if not targets:
            return [Row(f"{figure}: answers/s", f"{rate:.1f}"), Row(f"{figure}: errors", f"{len(self.errors)}{first}"),
                    Row(f"{figure}: p50 / p95", f"{ms(p50)} / {ms(p95)}")]
        fp50, fp95 = percentile(floor.latencies, 0.5), percentile(floor.latencies, 0.95)
        return [Row(f"{figure}: answers/s", f"{rate:.1f}", f"{floor_rate:.1f}", f"{rate / floor_rate:.2f}x",
                    "≥ 100/s", rate >= 100),
                Row(f"{figure}: errors", f"{len(self.errors)}{first}", str(len(floor.errors)), "", "0",
                    not self.errors),
                Row(f"{figure}: p50", ms(p50), ms(fp50), f"{p50 / fp50:.1f}x"),
                Row(f"{figure}: p95", ms(p95), ms(fp95), f"{p95 / fp95:.1f}x", "≤ 300 ms", p95 <= 0.300)]


async def http_load(urls: list[str], clients: int, seconds: float) -> Tally:
    """`clients` concurrent keep-alive clients GETting `urls` in turn for `seconds`."""
    import httpx

    tally = Tally(seconds)
    stop_at = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            n = offset
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                try:
                    (await http.get(urls[n % len(urls)])).raise_for_status()
                    tally.latencies.append(time.perf_counter() - start)
                except httpx.HTTPError as exc:  # counted, not raised: the report must show it
                    tally.errors.append(f"{type(exc).__name__}: {exc}")
                n += 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    return tally


def gradio_load(url: str, asked: list[str], clients: int, seconds: float) -> Tally:
    """`clients` gradio_client threads calling `/search` in turn for `seconds`."""
    tally = Tally(seconds)
    connected = [gradio_client(url) for _ in range(clients)]  # connected before the clock starts
    stop_at = time.perf_counter() + seconds

    def loop(client, offset: int) -> None:
        n = offset
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            try:
                client.predict(asked[n % len(asked)], api_name="/search")
                tally.latencies.append(time.perf_counter() - start)
            except Exception as exc:  # counted, not raised: the report must show it
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            n += 1

    threads = [threading.Thread(target=loop, args=(c, n)) for n, c in enumerate(connected)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return tally


def main(argv: list[str] | None = None) -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    args_parser.add_argument("--seconds", type=float, help="seconds of load per figure (default 60; 3 with --quick)")
    args = args_parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 60.0)
    gradio_clients, gradio_seconds = min(args.clients, 4 if args.quick else 10), min(seconds, 20.0)
    asked = questions()
    sys.stdout.reconfigure(line_buffering=True)

    index = ensure_index(args.index)
    with served_app(index) as server:
        print(f"floor: {args.clients} clients x {seconds:.0f} s on /openapi.json ...")
        floor = asyncio.run(http_load([f"{server.url}openapi.json"], args.clients, seconds))
        print(f"REST: {args.clients} clients x {seconds:.0f} s on /api/search ...")
        rest = asyncio.run(http_load([rest_url(server.url, q) for q in asked], args.clients, seconds))
        print(f"Gradio: {gradio_clients} clients x {gradio_seconds:.0f} s on /search ...")
        gradio = gradio_load(server.url, asked, gradio_clients, gradio_seconds)
    rows = rest.rows(f"/api/search, {args.clients} clients x {seconds:.0f} s", floor, targets=True)
    rows += gradio.rows(f"Gradio /search, {gradio_clients} clients x {gradio_seconds:.0f} s")
    print_table(f"Load on 127.0.0.1 from a separate process ({len(asked)} eval questions in turn)", rows, notes=(
        f"floor: the same server and load on /openapi.json (no search), {len(floor.latencies) / seconds:.0f}/s.",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
