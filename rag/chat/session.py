"""The chat's logic, free of Gradio: validate the controls, resolve follow-ups, search, format one reply.

`app.py` lays this out on a page; tests drive `Chat.reply` directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.chat.followup import Topic, resolve
from rag.chat.render import Order, escape, format_answer
from rag.documents.corpus import load_corpus
from rag.documents.dates import bounds, validate_iso
from rag.errors import DateError

if TYPE_CHECKING:
    from rag.search.results import Results

log = logging.getLogger(__name__)

MODES = ("hybrid", "semantic", "keyword")  # the retriever's search modes, first is the default
DEFAULT_K = 10  # results per answer unless the reader changes the slider
MAX_K = 50
CONCURRENCY = 4  # searches served at once; the rest queue (2 cores: the encoder is the bottleneck)

EXAMPLES = (
    "What did Zhou Enlai say about the test ban treaty?",
    "How did Romania try to mediate between Moscow and Beijing?",
    "Soviet propaganda against China in late 1963",
    "East Germany's relations with China",
    "North Korea's position in the Sino-Soviet split",
)


class Searcher(Protocol):
    """What the chat needs from a retriever (`rag.Retriever` has it)."""

    def search(self, question: str, k: int = DEFAULT_K, date_from: str | None = None, date_to: str | None = None,
               sort: str = "relevance", mode: str = "hybrid") -> Results: ...


@dataclass(frozen=True)
class Collection:
    """What the page says about the documents it searches."""

    names: tuple[str, ...]
    size: int
    first: str | None
    last: str | None

    @classmethod
    def from_corpus(cls, corpus_dir: Path) -> Collection:
        from rag.documents.dates import sort_key

        docs = load_corpus(corpus_dir).documents
        names = tuple(dict.fromkeys(d.collection for d in docs))
        dated = sorted((d for d in docs), key=lambda d: sort_key(d.date))
        return cls(names, len(docs), dated[0].date_text if dated else None, dated[-1].date_text if dated else None)

    def header(self) -> str:
        names = ", ".join(f"*{escape(n)}*" for n in self.names) or "the archive"
        span = f", dated {escape(self.first)} to {escape(self.last)}" if self.first else ""
        return (
            "## Cold War archive assistant\n"
            f"Searches {self.size} document summaries from the Wilson Center Digital Archive ({names}){span}. "
            "Ask in plain words — a person, a country, an event, optionally a date (“in 1964”, "
            "“between April and June 1963”). Each answer lists the matching documents numbered by date, "
            "quotes only what their summaries say, and plots them on a timeline. Follow-ups such as "
            "“what about 1964?” or “and the Romanians?” reuse your previous question."
        )


def checked_range(date_from: str | None, date_to: str | None) -> tuple[str | None, str | None]:
    """The date controls as ISO partial dates (None when empty); DateError says what is wrong."""
    start = validate_iso(date_from) if date_from and date_from.strip() else None
    end = validate_iso(date_to) if date_to and date_to.strip() else None
    if start and end and bounds(start)[0] > bounds(end)[1]:
        raise DateError(f"the range starts ({start}) after it ends ({end})")
    return start, end


@dataclass(frozen=True)
class Reply:
    """One chat turn: the user's message as shown (escaped; None for an empty question), the answer
    (Markdown from escaped text), the topic a follow-up will build on, and the results when a search ran."""

    shown_question: str | None
    answer: str
    topic: Topic | None
    results: Results | None = None


@dataclass
class Chat:
    """The chat's logic, free of Gradio: validate the controls, resolve follow-ups, search, format."""

    retriever: Searcher
    collection_size: int | None = None

    def search(self, question: str, k=DEFAULT_K, date_from: str | None = None, date_to: str | None = None,
               sort: str = "relevance", mode: str = MODES[0]) -> Results:
        """Search with the controls' values; ValueError (e.g. DateError) says what is wrong with them."""
        start, end = checked_range(date_from, date_to)
        return self.retriever.search(question, k=int(k), date_from=start, date_to=end, sort=sort, mode=mode)

    def reply(self, message: str | None, topic: Topic | None, date_from: str | None = None,
              date_to: str | None = None, k=DEFAULT_K, order: str = Order.DATE.value,
              mode: str = MODES[0]) -> Reply:
        """Answer one message; never raises: bad input and failures become a plain message."""
        question = " ".join((message or "").split())
        if not question:
            return Reply(None, f"Please type a question first, for example: “{escape(EXAMPLES[0])}”", topic)
        shown = escape(question)
        try:
            results = self.search(resolve(question, topic), k, date_from, date_to, Order.parse(order).value, mode)
        except ValueError as exc:  # bad dates, order, mode or question: the message says what to change
            return Reply(shown, f"**Could not search:** {escape(str(exc))}", topic)
        except Exception:
            log.exception("search failed for %r", question)
            return Reply(shown, "**Sorry, the search failed unexpectedly.** The error was logged on the "
                         "server; please try again or rephrase.", topic)
        answer = format_answer(results, question, Order.parse(order), self.collection_size)
        return Reply(shown, answer, Topic(results.query, results.date_phrase), results)


