"""Encoder benchmark: ONNX (rag.index.encoders) against its floor, sentence-transformers on torch, same run.

    python bench/encode.py [--docs 5000] [--threads 1 2] [--repeats 3]

At each intra-op thread count: one question at a time (p50/p95 over the eval questions), batch throughput
on synthetic documents, and a fresh process's import + load + first encode. The ONNX export is made and
checked once (cached by weights fingerprint, see `onnx_model_for`) before anything is timed. The machine
may be shared: read the ratios, not the absolute figures, and repeat when they matter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.served_app import percentile  # noqa: E402
from bench.synthetic import write_synthetic  # noqa: E402
from rag.documents.corpus import load_corpus  # noqa: E402
from rag.index.encoders.onnx_export import onnx_model_for  # noqa: E402
from rag.index.encoders.onnx_runtime import OnnxEncoder  # noqa: E402
from rag.index.encoders.sentence_transformer import Encoder  # noqa: E402
from rag.settings import DEFAULT_MODEL, Settings  # noqa: E402

QUESTIONS = ROOT / "eval" / "tune.jsonl"

FRESH_TORCH = """
import torch; torch.set_num_threads({threads})
from rag.index.encoders.sentence_transformer import Encoder
from rag.settings import Settings
encoder = Encoder({model!r}, model_cache=Settings.from_env().model_cache)
encoder.encode(["How did Beijing react to the 1963 test ban treaty?"])
"""
FRESH_ONNX = """
from rag.index.encoders.onnx_export import onnx_model_for
from rag.index.encoders.onnx_runtime import OnnxEncoder
from rag.settings import Settings
settings = Settings.from_env()
folder = onnx_model_for({model!r}, settings.onnx_cache, model_cache=settings.model_cache)
OnnxEncoder(folder, threads={threads}).encode(["How did Beijing react to the 1963 test ban treaty?"])
"""


def questions() -> list[str]:
    """The eval questions of the tune split."""
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def per_question(encode, texts: list[str], repeats: int) -> tuple[float, float]:
    """p50 and p95 milliseconds of encoding one text at a time."""
    for text in texts[:5]:
        encode([text])  # warm: first calls allocate
    times = []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            encode([text])
            times.append(time.perf_counter() - start)
    return percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000


def throughput(encode, texts: list[str]) -> float:
    """Documents per second, one call in batches of 64 (the rebuild's batch size)."""
    encode(texts[:64])
    start = time.perf_counter()
    encode(texts, batch_size=64)
    return len(texts) / (time.perf_counter() - start)


def fresh_process(code: str) -> float:
    """Seconds for a new interpreter to run `code` (import, load, first encode), start to exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000, help="synthetic documents for throughput (default 5000)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="intra-op thread counts (1 2)")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the questions (default 3)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"sentence-transformers model ({DEFAULT_MODEL})")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    import torch

    settings = Settings.from_env()
    start = time.perf_counter()
    folder = onnx_model_for(args.model, settings.onnx_cache, model_cache=settings.model_cache)
    print(f"ONNX export: {folder} (ready in {time.perf_counter() - start:.1f} s; cached after the first run)")
    asked = questions()
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic(Path(tmp) / "synthetic.jsonl", args.docs)
        texts = [doc.embedding_text for doc in load_corpus(Path(tmp)).documents]
    floor = Encoder(args.model, model_cache=settings.model_cache)

    rows = []  # (figure, threads, torch, onnx, unit, higher is better)
    for threads in args.threads:
        torch.set_num_threads(threads)
        onnx = OnnxEncoder(folder, threads=threads).load()
        print(f"measuring at {threads} thread(s) ...")
        t50, t95 = per_question(floor.encode, asked, args.repeats)
        o50, o95 = per_question(onnx.encode, asked, args.repeats)
        rows += [("question encode p50", threads, t50, o50, "ms", False),
                 ("question encode p95", threads, t95, o95, "ms", False)]
        rows.append((f"batch throughput, {len(texts):,} docs", threads,
                     throughput(floor.encode, texts), throughput(onnx.encode, texts), "docs/s", True))
        rows.append(("fresh process: import+load+encode", threads,
                     fresh_process(FRESH_TORCH.format(model=args.model, threads=threads)),
                     fresh_process(FRESH_ONNX.format(model=args.model, threads=threads)), "s", False))

    print(f"\n{len(asked)} questions x {args.repeats}; ratio = ONNX / torch (torch is the floor; "
          "below 1 is faster for times, above 1 is faster for docs/s). Shared machine: ratios are noisy.")
    print(f"| {'figure':<36} | threads | {'torch (floor)':>14} | {'ONNX':>14} | ratio | ONNX faster |")
    print(f"|{'-' * 38}|---------|{'-' * 16}|{'-' * 16}|-------|-------------|")
    for figure, threads, torch_value, onnx_value, unit, higher in rows:
        ratio = onnx_value / torch_value
        faster = ratio > 1 if higher else ratio < 1
        print(f"| {figure:<36} | {threads:>7} | {torch_value:>7.1f} {unit:<6} | {onnx_value:>7.1f} {unit:<6} "
              f"| {ratio:5.2f} | {'yes' if faster else 'no':<11} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
