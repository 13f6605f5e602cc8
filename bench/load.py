"""Load: 20 concurrent API clients on loopback for 60 s; prints requests served, errors and p50/p95.
One command: `python bench/load.py [--clients 20] [--seconds 60]`."""

from __future__ import annotations

import argparse
import threading
import time

from served_app import QUESTIONS, first_answer, percentile, served_app


def client_loop(url: str, stop_at: float, latencies: list[float], errors: list[str], offset: int) -> None:
    """One client: its own connection, questions in turn, until the deadline."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # counted, not raised: the report must show it
        errors.append(f"connect: {exc}")
        return
    i = offset
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        try:
            hits = client.predict(QUESTIONS[i % len(QUESTIONS)], api_name="/search")
            if not isinstance(hits, list):
                raise TypeError(f"expected a list, got {type(hits).__name__}")
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:
            errors.append(str(exc))
        i += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    latencies: list[float] = []
    errors: list[str] = []
    with served_app() as (url, process, _):
        first_answer(url, process)
        stop_at = time.perf_counter() + args.seconds
        threads = [threading.Thread(target=client_loop, args=(url, stop_at, latencies, errors, n))
                   for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 120)
    print(f"{args.clients} clients for {args.seconds:.0f} s on loopback")
    print(f"served:    {len(latencies)} ({len(latencies) / args.seconds:.1f}/s)")
    print(f"errors:    {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    if latencies:
        p50, p95 = (percentile(latencies, share) * 1000 for share in (0.5, 0.95))
        print(f"latency:   p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
