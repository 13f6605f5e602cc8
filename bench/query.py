"""Warm query latency (question to hits: parse, encode, search, fuse, cite) next to the bare model's encode time.

    python bench/query.py [--size 100000] [--repeats 2]

Two corpora: the bundled one (embedded by the real model) and a synthetic one of `--size` documents whose
vectors are random unit vectors and whose texts are drawn from the bundled corpus's words, so it builds in
seconds. Questions are those of eval/tune.jsonl, always encoded by the real model.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from served_app import percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    return percentile(seconds, 0.5) * 1000, percentile(seconds, 0.95) * 1000


def timed(fn, items: list) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - start)
    return times


def synthetic_index(size: int, words: list[str], dimension: int, model: str):
    """`size` documents with generated titles, summaries and dates, and random unit vectors."""
    import numpy as np

    from rag.documents.document import Document
    from rag.index.store import Index

    rng, pick = np.random.default_rng(7), random.Random(7)
    docs = []
    for n in range(size):
        year, month, day = pick.randint(1960, 1984), pick.randint(1, 12), pick.randint(1, 28)
        docs.append(Document.create(
            id=f"syn{n:07d}", date=f"{year}-{month:02d}-{day:02d}", date_text=f"{year}-{month:02d}-{day:02d}",
            title=" ".join(pick.choices(words, k=10)).capitalize(), collection="Synthetic Collection",
            summary=" ".join(pick.choices(words, k=40)).capitalize() + "."))
    vectors = rng.standard_normal((size, dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Index.build(docs, vectors, model=model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="synthetic corpus size (default 100000)")
    parser.add_argument("--repeats", type=int, default=2, help="passes over the questions (default 2)")
    args = parser.parse_args(argv)

    from rag.documents.corpus import load_corpus
    from rag.index.build import in_memory
    from rag.index.encoder import Encoder
    from rag.search.question import understand
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    with (ROOT / "eval" / "tune.jsonl").open(encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh if line.strip()] * args.repeats
    encoder = Encoder(Settings.from_env().model)
    docs = load_corpus(ROOT / "corpus").documents
    bundled = Retriever(in_memory(docs, encoder), encoder)
    queries = [understand(q).query or q for q in questions]

    start = time.perf_counter()
    words = sorted({w.strip(".,;:'\"()“”’").lower() for d in docs for w in d.embedding_text.split()} - {""})
    big = synthetic_index(args.size, words, encoder.dimension, encoder.name)
    large = Retriever(big, encoder)
    build = time.perf_counter() - start

    rows = []
    for name, retriever in (("bundled (20 docs)", bundled), (f"synthetic ({args.size:,} docs)", large)):
        timed(retriever.search, questions[:5])  # warm
        encode = percentiles(timed(lambda q: encoder.encode([q]), queries))
        search = percentiles(timed(retriever.search, questions))
        rows.append((name, encode, search))

    print(f"{len(questions)} questions per corpus; synthetic corpus built in {build:.1f} s")
    print(f"{'corpus':<28}{'encode p50':>11}{'p95':>8}{'search p50':>12}{'p95':>8}{'p50 ratio':>11}")
    for name, (e50, e95), (s50, s95) in rows:
        print(f"{name:<28}{e50:>9.1f}ms{e95:>6.1f}ms{s50:>10.1f}ms{s95:>6.1f}ms{s50 / e50:>10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
