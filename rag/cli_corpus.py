"""`coldwar-rag corpus parse|stats|add`: read and check corpus files, add saved pages (the `corpus` subcommand of
rag/cli.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.commands import Command
from rag.documents.adding import MAX_FILE_BYTES, add_pages
from rag.documents.corpus import Corpus, load_corpus
from rag.documents.dates import sort_key
from rag.documents.document import shown_collection
from rag.settings import Settings

if TYPE_CHECKING:
    import argparse

CLI_USAGE = """Read and check corpus files: each entry becomes a document; a malformed entry stops with file:line.

    coldwar-rag corpus parse corpus/*.txt     # one JSON object per document
    coldwar-rag corpus stats [DIR] [--json]   # per file (layout, entries, URLs), counts, date range, duplicates
    coldwar-rag corpus add FILE...            # check, copy into the corpus, report, rebuild the index
    (python -m rag corpus ... is the same)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `parse` and `stats` subcommands.

    Args:
        parser: The `corpus` subcommand's parser.
    """
    commands = parser.add_subparsers(dest="corpus_command", required=True, metavar="{parse,stats,add}")
    parse_cmd = commands.add_parser("parse", help="print one JSON object per document",
                                    description="Print one JSON object per document of the given files; "
                                                "duplicates and warnings go to stderr.")
    parse_cmd.add_argument("files", nargs="+", type=Path, metavar="FILE",
                           help=".txt pages, .html/.htm/.mhtml saved web pages or .jsonl records")
    stats_cmd = commands.add_parser("stats", help="per file, counts, date range, entries without summary, duplicates",
                                    description="Per file: the layout read, entries, entries without summary, URLs "
                                                "found, a result page's place in its listing; then counts, date "
                                                "range, entries without summary, duplicates and merges.")
    stats_cmd.add_argument("folder", nargs="?", type=Path, metavar="DIR",
                           help="corpus folder (default: $RAG_CORPUS_DIR or corpus/)")
    stats_cmd.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    add_cmd = commands.add_parser(
        "add", help="check saved pages, copy them into the corpus, report, rebuild the index",
        description="Parse every FILE first (any error: file:line, and nothing is copied), copy each into the "
                    "corpus folder under a free name (never over another file; the same bytes already there are "
                    "not copied again), report the documents new, updated and already there, then rebuild the "
                    f"index incrementally (as `coldwar-rag rebuild`). At most {MAX_FILE_BYTES // 2**20} MB a file.")
    add_cmd.add_argument("files", nargs="+", type=Path, metavar="FILE",
                         help=".txt pages, .html/.htm/.mhtml saved web pages or .jsonl records")
    add_cmd.add_argument("--corpus", type=Path, metavar="DIR",
                         help="corpus folder (default: $RAG_CORPUS_DIR or corpus/)")
    add_cmd.add_argument("--out", type=Path, metavar="DIR", help="index folder (default: $RAG_INDEX_DIR)")
    add_cmd.add_argument("--backend", metavar="URL",
                         help="rebuild the index in this PostgreSQL database instead (default: $RAG_BACKEND)")
    add_cmd.add_argument("--no-rebuild", action="store_true", help="copy and report only; rebuild later")


def run(args: argparse.Namespace) -> int:
    """Parse or summarise the corpus the arguments name; warnings and duplicates go to stderr.

    Args:
        args: The parsed `corpus parse` or `corpus stats` arguments.

    Returns:
        The exit status, 0.

    Raises:
        CorpusError: Left to the caller to report (exit 3).
    """
    if args.corpus_command == "add":
        return _add(args)
    if args.corpus_command == "parse":
        corpus = load_corpus(args.files)
    else:
        corpus = load_corpus(args.folder or Settings.from_env().corpus_dir)
    for line in [*corpus.warnings, *corpus.duplicates]:
        print(f"warning: {line}", file=sys.stderr)
    if corpus.merged:
        print(f"note: {merged_line(corpus)}", file=sys.stderr)
    if args.corpus_command == "parse":
        for record in _records(corpus):
            print(json.dumps(record, ensure_ascii=False))
    elif args.json:
        print(json.dumps(_stats(corpus), ensure_ascii=False, indent=2))
    else:
        _print_stats(_stats(corpus))
    return 0


command = Command(help="read, check and add corpus files (parse, stats, add)", description=CLI_USAGE,
                  add_arguments=add_arguments, run=run, order=10)


def merged_line(corpus: Corpus) -> str:
    """How many documents several pages listed, as every corpus command says it.

    Args:
        corpus: The loaded corpus.

    Returns:
        "N documents listed on several pages merged".
    """
    return f"{corpus.merged} documents listed on several pages merged"


def _add(args: argparse.Namespace) -> int:
    """`corpus add`: copy, report, then rebuild (folder or database) with the rebuild's own progress and summary."""
    from rag.index.updating import rebuild_index

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.out, backend=args.backend)
    report = add_pages(args.files, settings.corpus_dir)
    for line in report.lines():
        print(line, flush=True)
    if args.no_rebuild or not report.copied:
        print("index not rebuilt: " + ("--no-rebuild" if report.copied else "nothing was copied"), flush=True)
        return 0
    rebuilt = rebuild_index(settings, progress=True)
    if rebuilt.notice:
        print(f"note: {rebuilt.notice}", file=sys.stderr, flush=True)
    print(rebuilt.line, flush=True)
    return 0


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
    per_file = [{"file": page.source, "layout": page.layout, "collection": page.collection,
                 "entries": len(page.documents), "without_summary": sum(not d.summary for d in page.documents),
                 "urls": sum(bool(d.url) for d in page.documents), "position": page.position}
                for page in corpus.pages]
    return {
        "files": len(corpus.files),
        "per_file": per_file,
        "entries": sum(f["entries"] for f in per_file),
        "urls": sum(bool(d.url) for d in corpus.documents),
        "documents": len(corpus),
        "collections": collections,
        "date_range": [ordered[0].date, ordered[-1].date] if ordered else None,
        "by_year": dict(sorted(years.items())),
        "month_or_year_precision": sum(len(d.date) < 10 for d in corpus.documents),
        "without_summary": [{"id": d.id, "date_text": d.date_text, "title": d.title}
                            for d in corpus.documents if not d.summary],
        "duplicates": [str(d) for d in corpus.duplicates],
        "merged": corpus.merged,
        "warnings": [str(w) for w in corpus.warnings],
    }


def _print_stats(stats: dict) -> None:
    first, last = stats["date_range"] or ("-", "-")
    print(f"files:            {stats['files']}")
    for entry in stats["per_file"]:
        place = f", results {entry['position']}" if entry["position"] else ""
        print(f"  {entry['file']}: {entry['layout']}, {entry['entries']} entries, {entry['without_summary']} "
              f"without summary, {entry['urls']} URLs{place}")
    print(f"entries:          {stats['entries']} (URLs: {stats['urls']} of the documents)")
    print(f"documents:        {stats['documents']} ({stats['merged']} documents listed on several pages merged)")
    for name, count in stats["collections"].items():
        print(f"  collection:     {shown_collection(name)} ({count})")
    print(f"date range:       {first} .. {last}")
    print("by year:          " + ", ".join(f"{y}: {n}" for y, n in stats["by_year"].items()))
    print(f"dated to month or year only: {stats['month_or_year_precision']}")
    print(f"without summary:  {len(stats['without_summary'])}")
    for entry in stats["without_summary"]:
        print(f"  {entry['date_text']}: {entry['title']}")
    print(f"duplicates:       {len(stats['duplicates'])}")
    for line in stats["duplicates"] + stats["warnings"]:
        print(f"  {line}")
