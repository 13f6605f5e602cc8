"""Start `python app.py` on a free loopback port for a benchmark and stop it afterwards.

`--fake` serves the tests' small keyword retriever instead (only while the real one is not available)."""

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
_FAKE = (
    "import sys; sys.path[:0] = [{root!r}, {tests!r}]; import app; "
    "from fake_retriever import FakeRetriever; from rag.settings import Settings; "
    "s = Settings.from_env(port={port}); app.launch(app.build_app(FakeRetriever.from_corpus(s.corpus_dir), s), s)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served_app(fake: bool = False, extra_args: tuple[str, ...] = ()):
    """Yield (url, process, start time) of a fresh server; the process is stopped on exit."""
    port = free_port()
    if fake:
        command = [sys.executable, "-c", _FAKE.format(root=str(ROOT), tests=str(ROOT / "tests"), port=port)]
    else:
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
