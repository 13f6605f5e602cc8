"""Command line: `python -m rag search "question" [options]` prints the documents that answer it.

    python -m rag search "What did Zhou Enlai say about the test ban?" --k 5
    python -m rag search "Soviet propaganda" --from 1963-09 --to 1963 --sort date --json
    python -m rag search --queries questions.txt        # one question per line -> JSON Lines, model loaded once

Exit status: 0 on success, 1 when the index cannot be used (missing, stale, unreadable), 2 for a bad question
or option.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.search.results import Results
    from rag.search.retriever import Retriever


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Search the archive index.")
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="find the documents that answer a question")
    search.add_argument("question", nargs="?", help="the question, in quotes")
    search.add_argument("--queries", type=Path, metavar="FILE",
                        help="answer each line of FILE (one question per line) as JSON Lines")
    search.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: RAG_INDEX_DIR or "
                                                                   "embeddings/index/)")
    search.add_argument("--k", type=int, default=10, help="how many hits (default 10)")
    search.add_argument("--from", dest="date_from", metavar="D", help="earliest date: 1963, 1963-11 or 1963-11-27")
    search.add_argument("--to", dest="date_to", metavar="D", help="latest date, inclusive to the end of its period")
    search.add_argument("--sort", default="relevance", help="relevance (default) or date")
    search.add_argument("--mode", default="hybrid", help="hybrid (default), semantic or keyword")
    search.add_argument("--json", action="store_true", help="print a JSON array of hits")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rag.errors import QueryError
    from rag.index.store import IndexUnavailable
    from rag.search.params import Mode, SortOrder, checked_k, checked_range
    from rag.settings import Settings

    if (args.question is None) == (args.queries is None):
        return _fail("give a question or --queries FILE (not both)", 2)
    try:
        options = dict(k=args.k, date_from=args.date_from, date_to=args.date_to, sort=SortOrder(args.sort),
                       mode=Mode(args.mode))
        checked_k(args.k, Settings.from_env().max_k)  # options are checked before the model loads: a typo
        checked_range(args.date_from, args.date_to)    # costs no wait
        questions = _read_queries(args.queries) if args.queries else None
        if args.question is not None and not args.question.strip():
            raise QueryError("the question is empty: type a question, e.g. 'What did Zhou Enlai say about the "
                             "test ban?'")
        retriever = _load(args.index)
        if questions is not None:
            _answer_all(retriever, questions, options)
            return 0
        results = retriever.search(args.question, **options)
    except QueryError as exc:
        return _fail(str(exc), 2)
    except (IndexUnavailable, OSError) as exc:
        return _fail(str(exc), 1)
    print(json.dumps([hit.to_record() for hit in results], ensure_ascii=False, indent=2) if args.json
          else _as_text(results))
    return 0


def _load(index: Path | None) -> Retriever:
    from rag.search.retriever import Retriever

    return Retriever.load(index)


def _read_queries(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise OSError(f"{path} is not UTF-8 text") from None


def _answer_all(retriever: Retriever, questions: list[str], options: dict) -> None:
    """One JSON object per question; a question that cannot be searched gets {"question", "error"}."""
    from rag.search.question import QueryError

    for question in questions:
        try:
            record = retriever.search(question, **options).to_record()
        except QueryError as exc:
            record = {"question": question, "error": str(exc)}
        print(json.dumps(record, ensure_ascii=False), flush=True)


def _as_text(results: Results) -> str:
    lines = []
    if results.date_range_text:
        understood = f" (from {results.date_phrase!r})" if results.date_phrase else ""
        lines.append(f"dates {results.date_range_text}{understood}")
    lines.extend(f"note: {note}" for note in results.notes)
    lines.append(f"{results.total} matching, showing {len(results)}")
    for hit in results:
        signals = "+".join(s.value for s in hit.matched) or "date"
        lines += ["", f"{hit.rank}. [{hit.score:.3f} {signals}] {hit.doc.date_text}  {hit.doc.title}"]
        if hit.highlight:
            lines.append(f"   {hit.highlight}")
        lines.append(f"   {hit.citation}")
    return "\n".join(lines)


def _fail(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
