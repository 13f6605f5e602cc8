"""Retrieval quality on the bundled corpus: hit@1, recall@5 and MRR@10 per search mode, on two splits.

    python eval/evaluate.py [--split tune|heldout|both] [--corpus corpus/] [--json]
    python eval/evaluate.py --grid     # re-run the tuning grid, on the tune split only

`tune.jsonl` holds the 48 questions the fusion constants (RRF k, keyword weight, BM25 b) were chosen on;
`heldout.jsonl` holds questions written later, never used to choose anything. Each line is {"question": ...,
"relevant": [document ids]}; eval/README.md says how both were made. The index is built in memory from the
corpus with the configured model and settings (RAG_* variables apply), so this needs no prior rebuild.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.index.encoders.sentence_transformer import Encoder
    from rag.index.store import Index
    from rag.search.retriever import Retriever

HERE = Path(__file__).resolve().parent
SPLITS = {"tune": HERE / "tune.jsonl", "heldout": HERE / "heldout.jsonl"}
MODES = ("keyword", "semantic", "hybrid")
#: The tuning grid: every combination is scored on the tune split.
GRID = {"rrf_k": (2, 5, 10, 60), "keyword_weight": (0.5, 0.7, 0.85, 1.0), "bm25_b": (0.3, 0.75)}


def load_questions(path: Path) -> list[dict]:
    """The labelled questions, one JSON object per line."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(retriever: Retriever, questions: list[dict], modes: tuple[str, ...] = MODES) -> dict[str, dict]:
    """Mean hit@1, recall@5 and MRR@10 of each mode over the questions."""
    table = {}
    for mode in modes:
        hit1 = recall5 = mrr10 = 0.0
        for item in questions:
            relevant = set(item["relevant"])
            ranked = [hit.doc.id for hit in retriever.search(item["question"], k=10, mode=mode)]
            hit1 += bool(ranked[:1]) and ranked[0] in relevant
            recall5 += len(relevant & set(ranked[:5])) / len(relevant)
            mrr10 += next((1 / rank for rank, doc_id in enumerate(ranked, 1) if doc_id in relevant), 0.0)
        n = len(questions)
        table[mode] = {"hit@1": hit1 / n, "recall@5": recall5 / n, "mrr@10": mrr10 / n}
    return table


def tuned_retriever(index: Index, encoder: Encoder, *, rrf_k: int, keyword_weight: float,
                    bm25_b: float) -> Retriever:
    """A Retriever over the index with these fusion constants and the configured rest: the one place in eval/
    that knows where the constants live (`rag.settings.Settings`), so the grid is repointed here alone."""
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    settings = Settings.from_env(rrf_k=rrf_k, keyword_weight=keyword_weight, bm25_b=bm25_b)
    return Retriever(index, encoder, settings)


def current_constants() -> tuple:
    """(RRF k, keyword weight, BM25 b) as configured, to mark them in the grid."""
    from rag.settings import Settings

    settings = Settings.from_env()
    return settings.rrf_k, settings.keyword_weight, settings.bm25_b


def grid(index: Index, encoder: Encoder, questions: list[dict], values: dict = GRID) -> list[dict]:
    """Every combination of the grid's values with its hybrid and keyword scores on the questions (keyword
    search depends on BM25 b only; semantic on none of them)."""
    rows, keyword = [], {}
    names = list(values)
    for combination in itertools.product(*(values[name] for name in names)):
        setting = dict(zip(names, combination, strict=True))
        retriever = tuned_retriever(index, encoder, **setting)
        if setting["bm25_b"] not in keyword:
            keyword[setting["bm25_b"]] = evaluate(retriever, questions, ("keyword",))["keyword"]
        hybrid = evaluate(retriever, questions, ("hybrid",))["hybrid"]
        rows.append({**setting, "hybrid": hybrid, "keyword": keyword[setting["bm25_b"]]})
    return rows


def bundled_index(corpus_dir: Path) -> tuple[Index, Encoder]:
    """The corpus embedded in memory by the builder (`rag.index.build.in_memory`) with the encoder a rebuild
    would use for the configured model (its verified ONNX export, else sentence-transformers)."""
    import logging

    from rag.documents.corpus import load_corpus
    from rag.index.build import in_memory
    from rag.index.encoders.check_texts import for_corpus
    from rag.index.encoders.choose import choose
    from rag.settings import Settings

    documents = load_corpus(corpus_dir).documents
    chosen = choose(Settings.from_env(), check_texts=for_corpus(documents))
    if chosen.notice:
        logging.getLogger(__name__).warning("%s", chosen.notice)
    return in_memory(documents, chosen.encoder, settings=Settings.from_env()), chosen.encoder


def format_table(table: dict[str, dict[str, float]], title: str) -> str:
    lines = [title, f"{'mode':<10}{'hit@1':>8}{'recall@5':>10}{'MRR@10':>8}"]
    for mode, m in table.items():
        lines.append(f"{mode:<10}{m['hit@1']:>8.3f}{m['recall@5']:>10.3f}{m['mrr@10']:>8.3f}")
    return "\n".join(lines)


def format_grid(rows: list[dict], current: tuple) -> str:
    """The grid as a table, best hybrid MRR@10 first; `*` marks the constants in use."""
    lines = [f"{'RRF k':>6}{'kw weight':>10}{'BM25 b':>8} | {'hybrid hit@1':>12}{'recall@5':>10}{'MRR@10':>8}"
             f" | {'keyword MRR@10':>14}"]
    ranked = sorted(rows, key=lambda r: (-r["hybrid"]["mrr@10"], -r["hybrid"]["recall@5"], -r["hybrid"]["hit@1"]))
    for r in ranked:
        mark = "*" if (r["rrf_k"], r["keyword_weight"], r["bm25_b"]) == current else " "
        h = r["hybrid"]
        lines.append(f"{mark}{r['rrf_k']:>5}{r['keyword_weight']:>10}{r['bm25_b']:>8} | {h['hit@1']:>12.3f}"
                     f"{h['recall@5']:>10.3f}{h['mrr@10']:>8.3f} | {r['keyword']['mrr@10']:>14.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=[*SPLITS, "both"], default="both", help="which questions (default both)")
    parser.add_argument("--grid", action="store_true",
                        help="re-run the tuning grid (RRF k x keyword weight x BM25 b) on the tune split only")
    parser.add_argument("--corpus", type=Path, default=HERE.parent / "corpus")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    index, encoder = bundled_index(args.corpus)
    if args.grid:
        questions = load_questions(SPLITS["tune"])
        rows = grid(index, encoder, questions)
        print(json.dumps(rows, indent=2) if args.json else
              f"tune split, {len(questions)} questions\n{format_grid(rows, current_constants())}")
        return 0
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    retriever = Retriever(index, encoder, Settings.from_env())
    names = list(SPLITS) if args.split == "both" else [args.split]
    tables = {}
    for name in names:
        questions = load_questions(SPLITS[name])
        tables[name] = evaluate(retriever, questions)
        if not args.json:
            print(format_table(tables[name], f"{name} split, {len(questions)} questions") + "\n")
    if args.json:
        print(json.dumps(tables, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
