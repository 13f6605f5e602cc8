"""The command line, `coldwar-rag COMMAND` (also `python -m rag COMMAND`): one parser, one error scheme.

    coldwar-rag corpus parse FILE... | stats [DIR] [--json]    read and check corpus files
    coldwar-rag rebuild [--corpus DIR] [--out DIR] [--model M] [--device D] [--index-type F] [--full] [--check]
                        [--quiet]
    coldwar-rag search "question" [--k N] [--from D] [--to D] [--sort S] [--mode M] [--collection C]... [--json]
    coldwar-rag search --queries FILE                          one question per line -> JSON Lines
    coldwar-rag answer "question" [--topic T] [--k N] [--from D] [--to D] [--mode M] [--collection C]... [--json]
    coldwar-rag serve [--host H] [--port P] [--index DIR] [--corpus DIR] [--model M]

The corpus command's code is rag/cli_corpus.py; rebuild's and serve's live with what they drive
(embeddings.rebuild, app); searching lives here. Every failure is one line `error: ...` on stderr with the
exit status listed under --help.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rag import cli_corpus
from rag.errors import EXIT_CODES, CommandParser, QueryError, run_command
from rag.search.question import empty_question
from rag.settings import DEFAULT_K, settings_help

if TYPE_CHECKING:
    from rag.chat.answer import Answer
    from rag.search.results import Results
    from rag.search.retriever import Retriever

SEARCH_USAGE = """Find the documents that answer a question (the index is read, never rebuilt).

    coldwar-rag search "What did Zhou Enlai say about the test ban?" --k 5
    coldwar-rag search "Romania" --from 1963-11 --to 1964 --sort date --mode hybrid --json
    coldwar-rag search --queries questions.txt     # one question per line -> JSON Lines, model loaded once
    (python -m rag search ... is the same)

Dates in the question ("in 1963", "late 1964", "before 1964") filter; --from/--to replace them.
"""

ANSWER_USAGE = """Answer a question as the chat does: sentences quoted verbatim from the summaries that answer it, each
with its [n], and the cited documents numbered by date; or a plain "No summary in the archive answers this".

    coldwar-rag answer "How did Romania try to mediate between Moscow and Beijing?"
    coldwar-rag answer "what about 1964?" --topic "Romania mediate Moscow Beijing" --json
    (python -m rag answer ... is the same)

--json prints the record GET /api/answer returns (answered, synthesis, documents, ...).
"""


def version() -> str:
    """The installed package's version (pyproject.toml), or "unknown" when run from an uninstalled tree."""
    from importlib import metadata

    try:
        return metadata.version("coldwar-rag")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser(prog: str = "coldwar-rag") -> argparse.ArgumentParser:
    """The whole command line; each subcommand's flags come from the module that runs it."""
    import app
    from embeddings import rebuild

    parser = CommandParser(prog=prog, description=__doc__, epilog=f"{settings_help()}\n\n{EXIT_CODES}")
    parser.add_argument("--version", action="version", version=f"coldwar-rag {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    corpus_cmd = commands.add_parser("corpus", help="read and check corpus files (parse, stats)",
                                     description=cli_corpus.CLI_USAGE)
    cli_corpus.add_arguments(corpus_cmd)
    corpus_cmd.set_defaults(run=cli_corpus.run)

    rebuild_cmd = commands.add_parser("rebuild", help="build or update the embedding index",
                                      description=rebuild.__doc__)
    rebuild.add_arguments(rebuild_cmd)
    rebuild_cmd.set_defaults(run=rebuild.run)

    search_cmd = commands.add_parser("search", help="find the documents that answer a question",
                                     description=SEARCH_USAGE)
    add_search_arguments(search_cmd)
    search_cmd.set_defaults(run=search)

    answer_cmd = commands.add_parser("answer", help="answer a question: quoted sentences and cited documents",
                                     description=ANSWER_USAGE)
    add_answer_arguments(answer_cmd)
    answer_cmd.set_defaults(run=answer)

    serve_cmd = commands.add_parser("serve", help="serve the chat in the browser (Gradio)",
                                    description=app.SERVE_USAGE)
    app.add_arguments(serve_cmd)
    serve_cmd.set_defaults(run=app.run)
    return parser


def main(argv: list[str] | None = None, prog: str = "coldwar-rag") -> int:
    """Parse, run the chosen command, report a RagError as one line with its exit status."""
    parser = build_parser(prog)
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # like argparse: the usage and a one-line error, status 2
        parser.print_usage(sys.stderr)
    args = parser.parse_args(argv)
    return run_command(lambda: args.run(args))


# -------------------------------------------------------------------------------------------------- search


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    from rag.search.params import SortOrder

    parser.add_argument("question", nargs="?", help="the question, in quotes")
    parser.add_argument("--queries", type=Path, metavar="FILE",
                        help="answer each line of FILE (one question per line) as JSON Lines")
    add_shared_search_arguments(parser, f"how many hits (default {DEFAULT_K})")
    parser.add_argument("--sort", default=SortOrder.RELEVANCE.value, metavar="ORDER",
                        help=f"one of {', '.join(SortOrder)} (default {SortOrder.RELEVANCE})")
    parser.add_argument("--json", action="store_true", help="print a JSON array of hits")


def add_shared_search_arguments(parser: argparse.ArgumentParser, k_help: str) -> None:
    """The options `search` and `answer` share: index, k, dates, mode and collections."""
    from rag.search.params import Mode

    parser.add_argument("--index", type=Path, metavar="DIR",
                        help="index folder (default: $RAG_INDEX_DIR or embeddings/index/)")
    parser.add_argument("--k", default=str(DEFAULT_K), metavar="N", help=k_help)
    parser.add_argument("--from", dest="date_from", metavar="D", help="earliest date: 1963, 1963-11 or 1963-11-27")
    parser.add_argument("--to", dest="date_to", metavar="D", help="latest date, inclusive to the end of its period")
    parser.add_argument("--mode", default=Mode.HYBRID.value, metavar="MODE",
                        help=f"one of {', '.join(Mode)} (default {Mode.HYBRID}): meaning + words, meaning, words")
    add_collection_argument(parser)


def add_collection_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--collection", action="append", dest="collections", metavar="NAME",
                        help="only this collection (repeat for several; the name without its dates will do)")


def search(args: argparse.Namespace) -> int:
    """Answer the question (or every line of --queries); options are checked before the model loads, so a
    typo costs no wait. Raises QueryError/DateError (2) or IndexUnavailable (4)."""
    from rag.search.params import Mode, SortOrder, checked_k, checked_range
    from rag.settings import Settings

    if (args.question is None) == (args.queries is None):
        raise QueryError("give a question or --queries FILE (not both)")
    try:
        k = int(args.k)
    except ValueError:
        k = args.k  # checked_k says what is wrong with it, in the words the API and the chat use
    date_from, date_to = checked_range(args.date_from, args.date_to)
    options = dict(k=checked_k(k, Settings.from_env().max_k), date_from=date_from, date_to=date_to,
                   sort=SortOrder(args.sort), mode=Mode(args.mode))
    if args.collections:
        options["collections"] = args.collections
    if args.queries is not None:
        questions = _read_queries(args.queries)
        retriever = _load(args.index)
        _answer_all(retriever, questions, options)
        return 0
    if not args.question.strip():
        raise empty_question()
    results = _load(args.index).search(args.question, **options)
    print(json.dumps([hit.to_record() for hit in results], ensure_ascii=False, indent=2) if args.json
          else _as_text(results))
    return 0


# -------------------------------------------------------------------------------------------------- answer


def add_answer_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("question", help="the question, in quotes")
    parser.add_argument("--topic", metavar="T",
                        help="the previous question's topic (its query): a follow-up such as 'what about 1964?' "
                             "builds on it")
    add_shared_search_arguments(parser, f"how many documents to cite (default {DEFAULT_K})")
    parser.add_argument("--json", action="store_true", help="print the answer as one JSON object")


def answer(args: argparse.Namespace) -> int:
    """Answer one question; options are checked before the model loads. Raises QueryError/DateError (2) or
    IndexUnavailable (4)."""
    from rag.chat.answer import answer as answer_question
    from rag.search.params import Mode, checked_k, checked_range
    from rag.settings import Settings

    if not args.question.strip():
        raise empty_question()
    try:
        k = int(args.k)
    except ValueError:
        k = args.k
    date_from, date_to = checked_range(args.date_from, args.date_to)
    options = dict(k=checked_k(k, Settings.from_env().max_k), date_from=date_from, date_to=date_to,
                   mode=Mode(args.mode))
    if args.collections:
        options["collections"] = args.collections
    reply = answer_question(_load(args.index), args.question, args.topic, **options)
    print(json.dumps(reply.to_record(), ensure_ascii=False, indent=2) if args.json else _answer_text(reply))
    return 0


def _answer_text(reply: Answer) -> str:
    """The answer for a terminal: what was searched, the synthesis (or that nothing answers), the documents."""
    results = reply.results
    lines = [f"searched: {results.question}"]
    if results.date_range_text:
        understood = f" (from {results.date_phrase!r})" if results.date_phrase else ""
        lines.append(f"dates {results.date_range_text}{understood}")
    lines.extend(f"note: {note}" for note in results.notes)
    lines.append("")
    if reply.synthesis:
        lines.append(" ".join(f"{quote.sentence} [{quote.citation_number}]" for quote in reply.synthesis))
    elif not reply.answered:
        closest = ", ".join(c.label for c in reply.closest())
        lines.append("No summary in the archive answers this directly; " + (
            f"the closest documents are {closest}." if closest else "no document matched."))
    for item in reply.cited:
        lines += ["", f"{item.label} {item.hit.doc.date_text}  {item.hit.doc.title}", f"    {item.hit.citation}"]
    return "\n".join(lines)


def _load(index: Path | None) -> Retriever:
    from rag.search.retriever import Retriever

    return Retriever.load(index)


def _read_queries(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise QueryError(f"--queries {path} is not UTF-8 text") from None
    except OSError as exc:
        raise QueryError(f"--queries {path} cannot be read: {exc.strerror or exc}") from None


def _answer_all(retriever: Retriever, questions: list[str], options: dict) -> None:
    """One JSON object per question; a question that cannot be searched gets {"question", "error"}."""
    for question in questions:
        try:
            record = retriever.search(question, **options).to_record()
        except QueryError as exc:
            record = {"question": question, "error": exc.line()}
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


if __name__ == "__main__":
    sys.exit(main())
