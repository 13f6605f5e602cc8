"""`coldwar-rag corpus parse|stats`: read and check corpus files (the `corpus` subcommand of rag/cli.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.commands import Command
from rag.documents.corpus import Corpus, load_corpus
from rag.documents.dates import sort_key
from rag.settings import Settings

if TYPE_CHECKING:
    import argparse

CLI_USAGE = """Read and check corpus files: each entry becomes a document; a malformed entry stops with file:line.

    coldwar-rag corpus parse corpus/*.txt     # one JSON object per document
    coldwar-rag corpus stats [DIR] [--json]   # counts, date range, missing summaries, duplicates
    (python -m rag corpus ... is the same)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `parse` and `stats` subcommands.

    Args:
        parser: The `corpus` subcommand's parser.
    """
    commands = parser.add_subparsers(dest="corpus_command", required=True, metavar="{parse,stats}")
    parse_cmd = commands.add_parser("parse", help="print one JSON object per document",
                                    description="Print one JSON object per document of the given files; "
                                                "duplicates and warnings go to stderr.")
    parse_cmd.add_argument("files", nargs="+", type=Path, metavar="FILE", help=".txt listing pages or .jsonl records")
    stats_cmd = commands.add_parser("stats", help="counts, date range, entries without summary, duplicates",
                                    description="Counts, date range, entries without summary, duplicates.")
    stats_cmd.add_argument("folder", nargs="?", type=Path, metavar="DIR",
                           help="corpus folder (default: $RAG_CORPUS_DIR or corpus/)")
    stats_cmd.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Parse or summarise the corpus the arguments name; warnings and duplicates go to stderr.

    Args:
        args: The parsed `corpus parse` or `corpus stats` arguments.

    Returns:
        The exit status, 0.

    Raises:
        CorpusError: Left to the caller to report (exit 3).
    """
    if args.corpus_command == "parse":
        corpus = load_corpus(args.files)
    else:
        corpus = load_corpus(args.folder or Settings.from_env().corpus_dir)
    for line in [*corpus.warnings, *corpus.duplicates]:
        print(f"warning: {line}", file=sys.stderr)
    if args.corpus_command == "parse":
        for record in _records(corpus):
            print(json.dumps(record, ensure_ascii=False))
    elif args.json:
        print(json.dumps(_stats(corpus), ensure_ascii=False, indent=2))
    else:
        _print_stats(_stats(corpus))
    return 0


command = Command(help="read and check corpus files (parse, stats)", description=CLI_USAGE,
                  add_arguments=add_arguments, run=run, order=10)


def _records(corpus: Corpus) -> Iterator[dict]:
    """The public JSON shape of each document (what `parse` prints)."""
    for doc in corpus.documents:
        record = doc.to_record()
        if record["url"] is None:
            record.pop("url")
        yield record


def _stats(corpus: Corpus) -> dict:
    ordered = sorted(corpus.documents, key=lambda d: sort_key(d.date))
    collections: dict[str, int] = {}
    years: dict[str, int] = {}
    for doc in corpus.documents:
        collections[doc.collection] = collections.get(doc.collection, 0) + 1
        years[doc.date[:4]] = years.get(doc.date[:4], 0) + 1
    return {
        "files": len(corpus.files),
        "documents": len(corpus),
        "collections": collections,
        "date_range": [ordered[0].date, ordered[-1].date] if ordered else None,
        "by_year": dict(sorted(years.items())),
        "month_or_year_precision": sum(len(d.date) < 10 for d in corpus.documents),
        "without_summary": [{"id": d.id, "date_text": d.date_text, "title": d.title}
                            for d in corpus.documents if not d.summary],
        "duplicates": [str(d) for d in corpus.duplicates],
        "warnings": [str(w) for w in corpus.warnings],
    }


def _print_stats(stats: dict) -> None:
    first, last = stats["date_range"] or ("-", "-")
    print(f"files:            {stats['files']}")
    print(f"documents:        {stats['documents']}")
    for name, count in stats["collections"].items():
        print(f"  collection:     {name} ({count})")
    print(f"date range:       {first} .. {last}")
    print("by year:          " + ", ".join(f"{y}: {n}" for y, n in stats["by_year"].items()))
    print(f"dated to month or year only: {stats['month_or_year_precision']}")
    print(f"without summary:  {len(stats['without_summary'])}")
    for entry in stats["without_summary"]:
        print(f"  {entry['date_text']}: {entry['title']}")
    print(f"duplicates:       {len(stats['duplicates'])}")
    for line in stats["duplicates"] + stats["warnings"]:
        print(f"  {line}")
