"""Start `python app.py` on a free loopback port for a benchmark and stop it afterwards; the benchmarks'
shared helpers (`free_port`, `percentile`) live here too, and the tests take `free_port` from here."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = (
    "What did Zhou Enlai say about the test ban treaty?",
    "Romanian mediation between Moscow and Beijing",
    "Soviet propaganda against China in 1963",
    "East German relations with China",
    "North Korea and the Sino-Soviet split",
    "Albania and Yugoslavia",
    "Chinese embassy cables in November 1963",
    "Soviet activities in Xinjiang",
)


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served_app(extra_args: tuple[str, ...] = ()):
    """Yield (url, process, start time) of a fresh `python app.py`; the process is stopped on exit."""
    port = free_port()
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port), *extra_args]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}/", process, started
    finally:
        process.terminate()
        process.wait(timeout=30)


def first_answer(url: str, process: subprocess.Popen, timeout: float = 600.0):
    """Poll until the server answers a search; return the connected gradio_client.Client."""
    from gradio_client import Client

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with code {process.returncode}")
        try:
            client = Client(url, verbose=False)
            client.predict(QUESTIONS[0], api_name="/search")
            return client
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url} within {timeout:.0f} s")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]
