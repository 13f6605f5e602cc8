"""The benchmarks' shared helpers: the eval questions, a built index, `python app.py` on a free loopback port
waited on until its first REST answer, percentiles and the figure | floor | ratio | target table. The tests
take `free_port` from here too, so the repository has one.

No `from __future__ import annotations`: tests/conftest.py loads this file without registering it in
sys.modules, where dataclasses cannot resolve string annotations."""

import argparse
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILES = (ROOT / "eval" / "tune.jsonl", ROOT / "eval" / "heldout.jsonl")
#: The worktree's code in every subprocess; no analytics or update checks leave the machine.
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
#: Index the benchmarks build once and reuse (rebuilt incrementally: a no-op when the corpus is unchanged),
#: one per checkout so worktrees do not share it.
DEFAULT_INDEX = Path(tempfile.gettempdir()) / f"coldwar-rag-bench-{hashlib.sha1(bytes(ROOT)).hexdigest()[:8]}"


def questions(limit: int | None = None) -> list[str]:
    """The questions of eval/tune.jsonl then eval/heldout.jsonl (the first `limit` of them)."""
    asked = [json.loads(line)["question"] for path in EVAL_FILES
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return asked[:limit] if limit else asked


def question_passes(doc: str, argv: list[str] | None) -> tuple[argparse.Namespace, list[str], int]:
    """The flags of a benchmark that asks the eval questions several times (--repeats besides --quick and
    --index): the parsed flags, the questions (10 with --quick) and the number of passes (1 with --quick)."""
    flags = parser(doc)
    flags.add_argument("--repeats", type=int, help="passes over the questions (default 3; 1 with --quick)")
    args = flags.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they are measured
    return args, questions(10 if args.quick else None), args.repeats or (1 if args.quick else 3)


def timed(fns: dict, items: list, repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each fn(item), by name: every item `repeats` times, the functions interleaved item by
    item so that a busy moment on a shared machine hits them alike; one warm call each on the first 3 items."""
    for item in items[:3]:
        for fn in fns.values():
            fn(item)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for item in items:
            for name, fn in fns.items():
                start = time.perf_counter()
                fn(item)
                times[name].append(time.perf_counter() - start)
    return times


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def parser(doc: str) -> argparse.ArgumentParser:
    """The flags every benchmark takes: --quick (the smoke version the tests run) and --index."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (used by tests/test_bench.py)")
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX,
                        help=f"index folder, built from corpus/ first if missing or stale (default {DEFAULT_INDEX})")
    return parser


def ensure_index(index: Path) -> Path:
    """`index`, brought up to date with `python -m embeddings.rebuild` (a no-op when nothing changed), so
    that no benchmark times a build."""
    subprocess.run([sys.executable, "-m", "embeddings.rebuild", "--out", str(index), "--corpus",
                    str(ROOT / "corpus"), "--quiet"], cwd=ROOT, env=ENV, check=True)
    return index


def rest_url(url: str, question: str, k: int = 10) -> str:
    """The GET /api/search URL of `question` on the server at `url`."""
    return f"{url}api/search?{urllib.parse.urlencode({'q': question, 'k': k})}"


def wait_for(url: str, process: subprocess.Popen, timeout: float = 600.0, interval: float = 0.05) -> float:
    """Poll `url` until it answers HTTP 200; return the perf_counter time it did. Exits if the process dies."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    response.read()
                    return time.perf_counter()
        except OSError:  # refused while starting, or an HTTP error status
            time.sleep(interval)
    raise SystemExit(f"no answer from {url} within {timeout:.0f} s")


@dataclass
class Server:
    """A served subprocess: its base URL, the process, when it was started and (for the app) when it first
    answered a REST search, both perf_counter times."""

    url: str
    process: subprocess.Popen
    started: float
    first_answer: float | None = None


@contextlib.contextmanager
def serve_process(command: list[str], port: int, stderr=subprocess.DEVNULL):
    """Run `command` (a server on 127.0.0.1:`port`); yield it as a Server; stop it on exit."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        yield Server(f"http://127.0.0.1:{port}/", process, started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def served_app(index: Path, *, python_flags: tuple[str, ...] = (), stderr=subprocess.DEVNULL):
    """A fresh `python app.py --port P --index INDEX`, yielded as a Server once it has answered one REST
    search (`Server.first_answer` is when); stopped on exit."""
    port = free_port()
    command = [sys.executable, *python_flags, str(ROOT / "app.py"), "--port", str(port), "--index", str(index)]
    with serve_process(command, port, stderr) as server:
        server.first_answer = wait_for(rest_url(server.url, questions(1)[0]), server.process)
        yield server


def gradio_client(url: str):
    """A connected gradio_client.Client (for the chat's `/search` endpoint)."""
    from gradio_client import Client

    return Client(url, verbose=False)


@dataclass(frozen=True)
class Row:
    """One line of a benchmark table; `met` is None for informational rows (no target)."""

    figure: str
    value: str
    floor: str = ""
    ratio: str = ""
    target: str = "(informational)"
    met: bool | None = None


def print_table(title: str, rows: list[Row], notes: tuple[str, ...] = ()) -> None:
    """The figure | floor measured in the same run | ratio | target table, with a met column."""
    header = ("figure", "measured", "floor (same run)", "ratio", "target", "met")
    cells = [header] + [(r.figure, r.value, r.floor, r.ratio, r.target,
                         "" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, line in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for note in notes:
        print(note)
    print("The machine may be shared with other work: read the ratios, and repeat when they matter.")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
