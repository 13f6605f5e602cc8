"""Rebuild the embedding index from the corpus: incremental, crash-safe, with progress.

    python -m embeddings.rebuild [--corpus DIR] [--out DIR] [--model NAME_OR_PATH] [--device DEVICE]
                                 [--index-type FACTORY] [--full] [--check] [--quiet]
    coldwar-rag rebuild ...            (the same flags)

Only new or changed documents are embedded; removed ones leave the index; another model (name or
weights) rebuilds everything. When nothing changed it says so without loading the model (no torch).
Embeds with the model's ONNX export, made and checked once per model in $RAG_ONNX_CACHE; when it cannot be
used, with sentence-transformers, saying why on stderr ("note: ..."); with --device cuda, with
sentence-transformers on the GPU. Progress: a bar (total, ETA, docs/s) while embedding, one line per other
phase. Stopped (Ctrl-C: exit 130; SIGTERM: 143, after the same cleanup; a kill), it resumes: embeddings are
saved every few thousand documents in a working folder beside the index (`<out>.work/`) and the next run
embeds only the rest. An error prints one line and overwrites nothing; its exit status is listed under --help.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.commands import Command
from rag.errors import CommandParser, run_command
from rag.index.ann import DEFAULT_INDEX_TYPE, FLAT_MAX_ROWS, for_size
from rag.index.build import check, rebuild
from rag.settings import Settings

# --------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The rebuild flags, shared by `python -m embeddings.rebuild` and `coldwar-rag rebuild`."""
    defaults = Settings()
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help=f"corpus folder (default: $RAG_CORPUS_DIR or {defaults.corpus_dir})")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help=f"index folder: absent, empty or an index already; anything else is refused, exit 6 "
                             f"(default: $RAG_INDEX_DIR or {defaults.index_dir})")
    parser.add_argument("--backend", metavar="URL",
                        help="rebuild into this PostgreSQL + pgvector database (postgresql://user@host:port/db) "
                             "instead of the index folder: incremental, one transaction, one rebuild at a time "
                             "(default: $RAG_BACKEND; empty: the folder)")
    parser.add_argument("--model", metavar="NAME_OR_PATH",
                        help=f"sentence-transformers model name or local path (default: $RAG_MODEL or "
                             f"{defaults.model}, bundled offline)")
    parser.add_argument("--index-type", metavar="FACTORY",
                        help=f"FAISS factory string such as HNSW32 (default: chosen by size, {DEFAULT_INDEX_TYPE} "
                             f"(exact) up to {FLAT_MAX_ROWS:,} documents, an inverted file of about sqrt(documents) "
                             f"lists above, e.g. {for_size(1_000_000)} at a million; a type asked for once is kept)")
    parser.add_argument("--device", metavar="DEVICE",
                        help=f"where to embed: cpu (ONNX), cuda or cuda:N (sentence-transformers on that GPU; "
                             f"exit 5 when there is none) or auto (default: $RAG_DEVICE or {defaults.device})")
    parser.add_argument("--full", action="store_true",
                        help="embed every document again, even if unchanged, and write one segment (merges a delta)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 naming what is stale, 0 when the index is up to date")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary (errors still shown)")


def run(args: argparse.Namespace) -> int:
    """Rebuild (or with --check, judge) the index the flags name; raises RagError for the caller to report."""
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.out, model=args.model, device=args.device,
                                 backend=args.backend)
    if settings.backend:
        return _run_database(settings, args)
    if args.check:
        return _report_check(settings, check(settings, args.index_type), args.quiet)
    report = rebuild(settings, full=args.full, index_type=args.index_type, progress=not args.quiet)
    if report.notice:  # said even with --quiet: the index is served by the slower encoder
        print(f"note: {report.notice}", file=sys.stderr, flush=True)
    if not args.quiet:
        print(report.line(settings.index_dir), flush=True)
    return 0


def _run_database(settings: Settings, args: argparse.Namespace) -> int:
    """`--backend URL`: rebuild into (or with --check, judge) the database index."""
    from rag.index.postgres.opening import database_staleness, index_name
    from rag.index.postgres.rebuild import rebuild_into

    where = index_name(settings.backend)
    if args.check:
        reasons = database_staleness(settings)
        if not reasons:
            if not args.quiet:
                print(f"index in {where} is up to date with {settings.corpus_dir} and {settings.model}")
            return 0
        print(f"index in {where} is stale:")
        for reason in reasons:
            print(f"  - {reason}")
        return 1
    report = rebuild_into(settings.backend, settings.corpus_dir, settings, full=args.full, progress=not args.quiet)
    if report.notice:
        print(f"note: {report.notice}", file=sys.stderr, flush=True)
    if not args.quiet:
        print(report.line(where), flush=True)
    return 0


#: `coldwar-rag rebuild`, registered in pyproject.toml's entry points (group coldwar_rag.commands).
command = Command(help="build or update the embedding index", description=__doc__, add_arguments=add_arguments,
                  run=run, order=20)


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m embeddings.rebuild", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_command(lambda: run(args))


def _report_check(settings: Settings, reasons: list[str], quiet: bool) -> int:
    if not reasons:
        if not quiet:
            print(f"index at {settings.index_dir} is up to date with {settings.corpus_dir} and {settings.model}")
        return 0
    print(f"index at {settings.index_dir} is stale:")
    for reason in reasons:
        print(f"  - {reason}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
