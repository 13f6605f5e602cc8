"""`coldwar-rag search` and `coldwar-rag answer` (subcommands of rag/cli.py): a question in, the documents that
answer it or the chat's answer out, as text or JSON. Options and settings are checked before the index and
model load, so a typo costs no wait.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rag.commands import Command
from rag.errors import QueryError
from rag.search.citation import web_url
from rag.search.params import Mode, SortOrder, checked_k, checked_range
from rag.search.question import empty_question
from rag.settings import DEFAULT_K, Settings

if TYPE_CHECKING:
    import argparse

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


# -------------------------------------------------------------------------------------------------- search


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `search` flags: a question or --queries, the shared options, --sort and --json.

    Args:
        parser: The `search` subcommand's parser.
    """
    parser.add_argument("question", nargs="?", help="the question, in quotes")
    parser.add_argument("--queries", type=Path, metavar="FILE",
                        help="answer each line of FILE (one question per line) as JSON Lines")
    add_shared_search_arguments(parser, f"how many hits (default {DEFAULT_K})")
    parser.add_argument("--sort", default=SortOrder.RELEVANCE.value, metavar="ORDER",
                        help=f"one of {', '.join(SortOrder)} (default {SortOrder.RELEVANCE})")
    parser.add_argument("--json", action="store_true", help="print a JSON array of hits")


def add_shared_search_arguments(parser: argparse.ArgumentParser, k_help: str) -> None:
    """Add the options `search` and `answer` share: index, k, dates, mode and collections.

    Args:
        parser: The subcommand's parser.
        k_help: What --k counts for this command, with its default.
    """
    parser.add_argument("--index", type=Path, metavar="DIR",
                        help="index folder (default: $RAG_INDEX_DIR or embeddings/index/)")
    parser.add_argument("--backend", metavar="URL",
                        help="search the index in this PostgreSQL database (postgresql://user@host:port/db) instead "
                             "of the folder (default: $RAG_BACKEND; empty: the folder)")
    parser.add_argument("--k", default=str(DEFAULT_K), metavar="N", help=k_help)
    parser.add_argument("--from", dest="date_from", metavar="D", help="earliest date: 1963, 1963-11 or 1963-11-27")
    parser.add_argument("--to", dest="date_to", metavar="D", help="latest date, inclusive to the end of its period")
    parser.add_argument("--mode", default=Mode.HYBRID.value, metavar="MODE",
                        help=f"one of {', '.join(Mode)} (default {Mode.HYBRID}): meaning + words, meaning, words")
    parser.add_argument("--collection", action="append", dest="collections", metavar="NAME",
                        help="only this collection (repeat for several; the name without its dates will do)")


def search(args: argparse.Namespace) -> int:
    """Search for the question, or for every line of --queries (as JSON Lines, the index loaded once).

    Args:
        args: The parsed `search` arguments.

    Returns:
        The exit status, 0.

    Raises:
        SettingsError, QueryError, DateError: A bad setting, question or option (exit 2), before the index loads.
        IndexUnavailable: The index is missing, unreadable or stale (exit 4).
    """
    settings = Settings.from_env()
    if (args.question is None) == (args.queries is None):
        raise QueryError("give a question or --queries FILE (not both)")
    options = _search_options(args, settings.max_k) | {"sort": SortOrder(args.sort)}
    if args.queries is not None:
        questions = _read_queries(args.queries)
        _answer_all(_load(args), questions, options)
        return 0
    if not args.question.strip():
        raise empty_question()
    results = _load(args).search(args.question, **options)
    print(json.dumps([hit.to_record() for hit in results], ensure_ascii=False, indent=2) if args.json
          else _as_text(results))
    return 0


def _search_options(args: argparse.Namespace, max_k: int) -> dict:
    """The checked options `search` and `answer` share, as keyword arguments of `Retriever.search`."""
    try:
        k = int(args.k)
    except ValueError:
        k = args.k  # checked_k says what is wrong with it, in the words the API and the chat use
    date_from, date_to = checked_range(args.date_from, args.date_to)
    options = dict(k=checked_k(k, max_k), date_from=date_from, date_to=date_to, mode=Mode(args.mode))
    if args.collections:
        options["collections"] = args.collections
    return options


# -------------------------------------------------------------------------------------------------- answer


def add_answer_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `answer` flags: the question, --topic, the shared options and --json.

    Args:
        parser: The `answer` subcommand's parser.
    """
    parser.add_argument("question", help="the question, in quotes")
    parser.add_argument("--topic", metavar="T",
                        help="the previous question's topic (its query): a follow-up such as 'what about 1964?' "
                             "builds on it")
    add_shared_search_arguments(parser, f"how many documents to cite (default {DEFAULT_K})")
    parser.add_argument("--json", action="store_true", help="print the answer as one JSON object")


def answer(args: argparse.Namespace) -> int:
    """Answer one question as the chat does, as text or (--json) the record GET /api/answer returns.

    Args:
        args: The parsed `answer` arguments.

    Returns:
        The exit status, 0.

    Raises:
        SettingsError, QueryError, DateError: A bad setting, question or option (exit 2), before the index loads.
        IndexUnavailable: The index is missing, unreadable or stale (exit 4).
    """
    from rag.chat.answer import answer as answer_question

    settings = Settings.from_env()
    if not args.question.strip():
        raise empty_question()
    options = _search_options(args, settings.max_k)
    reply = answer_question(_load(args), args.question, args.topic, **options)
    print(json.dumps(reply.to_record(), ensure_ascii=False, indent=2) if args.json else _answer_text(reply))
    return 0


def _answer_text(reply: Answer) -> str:
    """The answer for a terminal: what was searched, the synthesis (or that nothing answers), the documents."""
    lines = [f"searched: {reply.results.question}", *_understood(reply.results), ""]
    if reply.synthesis:
        lines.append(" ".join(f"{quote.sentence} [{quote.citation_number}]" for quote in reply.synthesis))
    elif not reply.answered:
        closest = ", ".join(c.label for c in reply.closest())
        lines.append("No summary in the archive answers this directly; " + (
            f"the closest documents are {closest}." if closest else "no document matched."))
    for item in reply.cited:
        lines += ["", f"{item.label} {item.hit.doc.date_text}  {item.hit.doc.title}", f"    {item.hit.citation}",
                  *_address(item.hit.doc.url, "    ")]
    return "\n".join(lines)


def _address(url: str | None, indent: str) -> list[str]:
    """The document's web address on a line of its own (a terminal makes it clickable), when it has one."""
    link = web_url(url)
    return [] if link is None else [f"{indent}{link}"]


def _load(args: argparse.Namespace) -> Retriever:
    from rag.search.retriever import Retriever

    return Retriever.load(args.index, backend=args.backend)


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
    """The hits for a terminal: the dates understood, the notes, then each hit with its signals, citation and (when
    known) web address."""
    lines = [*_understood(results), f"{results.total} matching, showing {len(results)}"]
    for hit in results:
        signals = "+".join(s.value for s in hit.matched) or "date"
        lines += ["", f"{hit.rank}. [{hit.score:.3f} {signals}] {hit.doc.date_text}  {hit.doc.title}"]
        if hit.highlight:
            lines.append(f"   {hit.highlight}")
        lines += [f"   {hit.citation}", *_address(hit.doc.url, "   ")]
    return "\n".join(lines)



def _understood(results: Results) -> list[str]:
    """The lines that say how the question was read: its date range (and the words it came from), the notes."""
    lines = []
    if results.date_range_text:
        understood = f" (from {results.date_phrase!r})" if results.date_phrase else ""
        lines.append(f"dates {results.date_range_text}{understood}")
    return lines + [f"note: {note}" for note in results.notes]


search_command = Command(help="find the documents that answer a question", description=SEARCH_USAGE,
                         add_arguments=add_search_arguments, run=search, order=30)
answer_command = Command(help="answer a question: quoted sentences and cited documents", description=ANSWER_USAGE,
                         add_arguments=add_answer_arguments, run=answer, order=40)
