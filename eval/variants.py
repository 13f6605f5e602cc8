"""Variant spellings: does a question written with old spellings of names ("Chou En-lai", "Peking",
"Khrushchov") find what the same question in modern spelling finds?

    python eval/variants.py [--corpus corpus/] [--json]

Each line of `variants.jsonl` is {"modern": ..., "variant": ...}, the same question written both ways. For each
pair, overlap@5 is the share of the modern question's top 5 that the variant's top 5 holds, and the rank shift the
largest change of place of a document in both top 5s. Printed with names read in modern spelling (the default,
`Settings.modern_names`) and without (the search as it was before `rag.documents.names`). Target: mean overlap@5
at least 0.9. The index is built in memory from the corpus, as `evaluate.py` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.search.retriever import Retriever

HERE = Path(__file__).resolve().parent
PAIRS = HERE / "variants.jsonl"
TOP = 5


def load_pairs(path: Path = PAIRS) -> list[dict]:
    """The question pairs, one JSON object per line."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def compare(retriever: Retriever, pairs: list[dict], top: int = TOP) -> list[dict]:
    """Per pair: overlap@top of the variant's with the modern question's results, and the largest rank shift."""
    rows = []
    for pair in pairs:
        modern = [hit.doc.id for hit in retriever.search(pair["modern"], k=top)]
        variant = [hit.doc.id for hit in retriever.search(pair["variant"], k=top)]
        shared = set(modern) & set(variant)
        overlap = len(shared) / len(modern) if modern else 1.0
        shift = max((abs(modern.index(d) - variant.index(d)) for d in shared), default=0)
        rows.append({"modern": pair["modern"], "variant": pair["variant"], "overlap": overlap, "shift": shift})
    return rows


def summary(rows: list[dict]) -> dict:
    """Mean overlap, the worst pair, and the largest rank shift over all pairs."""
    worst = min(rows, key=lambda r: (r["overlap"], -r["shift"]))
    return {"pairs": len(rows), "mean_overlap": sum(r["overlap"] for r in rows) / len(rows),
            "worst": worst, "max_shift": max(r["shift"] for r in rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE.parent / "corpus")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    from evaluate import bundled_index

    from rag.search.retriever import Retriever
    from rag.settings import Settings

    index, encoder = bundled_index(args.corpus)
    pairs = load_pairs()
    report = {}
    for label, on in (("modern names", True), ("as written", False)):
        rows = compare(Retriever(index, encoder, Settings.from_env(modern_names=on)), pairs)
        report[label] = {"summary": summary(rows), "rows": rows}
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    for label, result in report.items():
        s = result["summary"]
        print(f"{label}: {s['pairs']} pairs, mean overlap@{TOP} {s['mean_overlap']:.3f}, max rank shift "
              f"{s['max_shift']}; worst: {s['worst']['variant']!r} ({s['worst']['overlap']:.1f})")
    print(f"\n{'overlap (modern names / as written)':<38} variant question")
    for on, off in zip(report["modern names"]["rows"], report["as written"]["rows"], strict=True):
        print(f"{on['overlap']:>6.1f} / {off['overlap']:.1f}  shift {on['shift']}/{off['shift']}"
              f"{'':<14} {on['variant']}")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(HERE.parent), str(HERE)]
    sys.exit(main())
