"""Retrieval quality on the bundled corpus: hit@1, recall@5 and MRR@10 per search mode.

    python eval/evaluate.py [--questions eval/questions.jsonl] [--corpus corpus/] [--json]

Each line of the questions file is {"question": ..., "relevant": [document ids]}, written by reading the
documents and phrasing questions as a historian would, without copying title words. The index is built in
memory from the corpus with the configured model, so this needs no prior rebuild.
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
MODES = ("keyword", "semantic", "hybrid")


def load_questions(path: Path) -> list[dict]:
    """The labelled questions, one JSON object per line."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(retriever: Retriever, questions: list[dict]) -> dict[str, dict[str, float]]:
    """Mean hit@1, recall@5 and MRR@10 of each mode over the questions."""
    table = {}
    for mode in MODES:
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


def build_retriever(corpus_dir: Path) -> Retriever:
    """A Retriever over the corpus embedded in memory by the configured model, with the encoder a rebuild
    would use."""
    from rag.documents.corpus import load_corpus
    from rag.index.build import choose_encoder, in_memory
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    documents = load_corpus(corpus_dir).documents
    encoder = choose_encoder(Settings.from_env(), documents)  # the rebuild's choice: ONNX when verified
    return Retriever(in_memory(documents, encoder), encoder)


def format_table(table: dict[str, dict[str, float]], n: int) -> str:
    lines = [f"{n} questions", f"{'mode':<10}{'hit@1':>8}{'recall@5':>10}{'MRR@10':>8}"]
    for mode, m in table.items():
        lines.append(f"{mode:<10}{m['hit@1']:>8.3f}{m['recall@5']:>10.3f}{m['mrr@10']:>8.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=HERE / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=HERE.parent / "corpus")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args(argv)
    questions = load_questions(args.questions)
    table = evaluate(build_retriever(args.corpus), questions)
    print(json.dumps(table, indent=2) if args.json else format_table(table, len(questions)))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
