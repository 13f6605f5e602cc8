"""The chat's logic, free of Gradio: validate the controls, resolve follow-ups, search, format one reply.

`app.py` lays this out on a page; tests drive `Chat.reply` directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.chat.answer import answer
from rag.chat.followup import Topic
from rag.chat.render import escape, format_answer
from rag.documents.corpus import load_corpus
from rag.search.params import DEFAULT_K, Mode, SortOrder, checked_range
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.chat.answer import Answer
    from rag.search.highlight import SentenceScore
    from rag.search.results import Results

log = logging.getLogger(__name__)

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
               sort: str = "relevance", mode: str = "hybrid", collections: list[str] | None = None) -> Results: ...

    def sentence_scores(self, results: Results) -> list[list[SentenceScore]]: ...


@dataclass(frozen=True)
class Collection:
    """What the page says about the documents it searches: their number, and each collection's name, size and
    first and last dates as printed."""

    names: tuple[str, ...]
    size: int
    first: str | None
    last: str | None
    spans: tuple[tuple[str, int, str, str], ...] = ()  # (name, documents, first date, last date) per collection

    @classmethod
    def from_corpus(cls, corpus_dir: Path) -> Collection:
        from rag.documents.dates import sort_key

        docs = load_corpus(corpus_dir).documents
        names = tuple(dict.fromkeys(d.collection for d in docs))
        dated = sorted((d for d in docs), key=lambda d: sort_key(d.date))
        spans = tuple((name, len(own), own[0].date_text, own[-1].date_text)
                      for name in names for own in [[d for d in dated if d.collection == name]])
        return cls(names, len(docs), dated[0].date_text if dated else None, dated[-1].date_text if dated else None,
                   spans)

    def header(self) -> str:
        listed = "; ".join(f"*{escape(name)}* ({count} {'document' if count == 1 else 'documents'}, "
                           f"{escape(first)} to {escape(last)})"
                           for name, count, first, last in self.spans)
        names = listed or ", ".join(f"*{escape(n)}*" for n in self.names) or "the archive"
        span = f", dated {escape(self.first)} to {escape(self.last)}" if self.first and len(self.spans) != 1 else ""
        return (
            "## Cold War archive assistant\n"
            f"Searches {self.size} document summaries from the Wilson Center Digital Archive ({names}){span}. "
            "Ask in plain words — a person, a country, an event, optionally a date (“in 1964”, "
            "“between April and June 1963”). Each answer lists the matching documents numbered by date, "
            "quotes only what their summaries say, and plots them on a timeline. Follow-ups such as "
            "“what about 1964?” or “and the Romanians?” reuse your previous question."
        )


@dataclass(frozen=True)
class Reply:
    """One chat turn: the user's message as shown (escaped; None for an empty question), the answer
    (Markdown from escaped text), the topic a follow-up will build on, and the answer as data when a search ran."""

    shown_question: str | None
    answer: str
    topic: Topic | None
    data: Answer | None = None
    anchor: str = ""  # the prefix of this answer's entry ids (`ANCHOR-n`), unique in the chat

    @property
    def results(self) -> Results | None:
        return None if self.data is None else self.data.results


@dataclass
class Chat:
    """The chat's logic, free of Gradio: validate the controls, resolve follow-ups, search, format.

    `settings` gives the number of results when a reply is asked for without one (`chat_k`)."""

    retriever: Searcher
    collection_size: int | None = None
    settings: Settings = field(default_factory=Settings.from_env)

    def search(self, question: str, k, date_from: str | None = None, date_to: str | None = None,
               sort: str | SortOrder = SortOrder.RELEVANCE, mode: str | Mode = Mode.HYBRID,
               collections: list[str] | None = None) -> Results:
        """Search with the controls' values (blank dates are open ends; no collections: all); QueryError says
        what is wrong."""
        start, end = checked_range(date_from, date_to)
        return self.retriever.search(question, k=k, date_from=start, date_to=end, sort=SortOrder(sort).value,
                                     mode=Mode(mode).value, collections=collections or None)

    def reply(self, message: str | None, topic: Topic | None, date_from: str | None = None,
              date_to: str | None = None, k=None, order: str | SortOrder = SortOrder.DATE,
              mode: str | Mode = Mode.HYBRID, turn: int = 0, collections: list[str] | None = None) -> Reply:
        """Answer one message (k None: the chat's default) within `collections` (None or empty: all); never
        raises: bad input and failures become a plain message. `turn` (the answer's place in the chat) makes its
        [n] links unique on the page."""
        question = " ".join((message or "").split())
        if not question:
            return Reply(None, f"Please type a question first, for example: “{escape(EXAMPLES[0])}”", topic)
        shown = escape(question)
        try:
            order = SortOrder(order)
            start, end = checked_range(date_from, date_to)
            data = answer(self.retriever, question, topic, k=self.settings.chat_k if k is None else k,
                          date_from=start, date_to=end, sort=order.value, mode=Mode(mode).value,
                          **({"collections": list(collections)} if collections else {}))
        except ValueError as exc:  # bad dates, k, order, mode or question: the message says what to change
            return Reply(shown, f"**Could not search:** {escape(str(exc))}", topic)
        except Exception:
            log.exception("search failed for %r", question)
            return Reply(shown, "**Sorry, the search failed unexpectedly.** The error was logged on the "
                         "server; please try again or rephrase.", topic)
        anchor = f"answer{turn}"
        return Reply(shown, format_answer(data, order, self.collection_size, anchor), data.topic, data, anchor)
