"""Start-up: `python app.py` with a built index, process start → first successful REST answer (`/api/search`).

    python bench/startup.py [--runs 5] [--quick] [--index DIR]

Floor: a fresh process that imports gradio and launches an empty `gr.Blocks()`, timed until its page answers
HTTP 200. The app cannot answer sooner than that (it is a Gradio page served by the same kind of process), so
the ratio is what our own start-up adds: loading the index and the encoder, building the page, the first
search. Target ≤ 1.3× the floor and ≤ 5 s; medians of `--runs` runs each, alternating app and floor so a
busy moment on a shared machine hits both. Then (informational) where the app's start-up goes: one more run
under `python -X importtime`, its heaviest top-level imports by cumulative time.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.served_app import Row, ensure_index, free_port, parser, print_table, served_app, serve_process, wait_for  # noqa: E402, I001

EMPTY_BLOCKS = """
import gradio as gr
with gr.Blocks(analytics_enabled=False) as demo:
    pass
demo.launch(server_name="127.0.0.1", server_port={port})
"""
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def app_start(index: Path) -> float:
    """Seconds from launching `python app.py` to its first REST answer."""
    with served_app(index) as server:
        return server.first_answer - server.started


def floor_start() -> float:
    """Seconds from launching a process with an empty gr.Blocks to its page answering HTTP 200."""
    port = free_port()
    with serve_process([sys.executable, "-c", EMPTY_BLOCKS.format(port=port)], port) as server:
        return wait_for(server.url, server.process) - server.started


def import_breakdown(index: Path, top: int) -> list[tuple[str, float]]:
    """The app's heaviest top-level imports (seconds, cumulative) until its first REST answer."""
    with tempfile.TemporaryFile("w+") as log:
        with served_app(index, python_flags=("-X", "importtime"), stderr=log):
            pass
        log.seek(0)
        imports = []
        for line in log:
            match = IMPORT_LINE.match(line)
            if match and not match.group(3):  # no indent: imported by our code, not by another library
                imports.append((match.group(4), int(match.group(2)) / 1e6))
    return sorted(imports, key=lambda item: -item[1])[:top]


def main(argv: list[str] | None = None) -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--runs", type=int, help="runs of each (default 5; 2 with --quick)")
    args = args_parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    sys.stdout.reconfigure(line_buffering=True)
    index = ensure_index(args.index)

    app, floor = [], []
    for n in range(runs):
        app.append(app_start(index))
        floor.append(floor_start())
        print(f"run {n + 1}/{runs}: app {app[-1]:.2f} s, empty gr.Blocks {floor[-1]:.2f} s")
    app_s, floor_s = statistics.median(app), statistics.median(floor)
    ratio = app_s / floor_s
    rows = [Row("python app.py → first /api/search answer", f"{app_s:.2f} s", f"{floor_s:.2f} s",
                f"{ratio:.2f}x", "≤ 1.3x floor and ≤ 5 s", ratio <= 1.3 and app_s <= 5)]
    breakdown = import_breakdown(index, top=5 if args.quick else 10)
    rows += [Row(f"  import {name} (cumulative)", f"{seconds:.2f} s") for name, seconds in breakdown]
    print_table(f"Start-up, median of {runs} runs (index {index})", rows, notes=(
        "floor: a fresh process importing gradio and launching an empty gr.Blocks, until its page answers 200.",
        "import rows: one extra run under -X importtime (which slows it); top-level imports by cumulative time.",
    ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
