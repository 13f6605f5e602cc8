"""The chat's logic, free of Gradio: validate the controls, resolve follow-ups, search, format one reply.

`app.py` lays this out on a page; tests drive `Chat.reply` directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.chat.answer import answer
from rag.chat.followup import Topic
from rag.chat.render import escape, format_answer
from rag.documents.corpus import load_corpus
from rag.documents.dates import sort_key
from rag.documents.document import UNKNOWN_COLLECTION, shown_collection
from rag.search.params import Mode, SortOrder, checked_range

if TYPE_CHECKING:
    from rag.chat.answer import Answer, Searcher
    from rag.search.results import Results
    from rag.settings import Settings

log = logging.getLogger(__name__)

EXAMPLES = (
    "What did Zhou Enlai say about the test ban treaty?",
    "How did Romania try to mediate between Moscow and Beijing?",
    "Soviet propaganda against China in late 1963",
    "East Germany's relations with China",
    "North Korea's position in the Sino-Soviet split",
)


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
        """Describe the documents of a corpus folder.

        Args:
            corpus_dir: The corpus folder the index was built from.

        Returns:
            Their number, collections and date spans.

        Raises:
            CorpusError: When the corpus cannot be read.
        """
        docs = load_corpus(corpus_dir).documents
        names = tuple(dict.fromkeys(d.collection for d in docs))
        dated = sorted((d for d in docs), key=lambda d: sort_key(d.date))
        spans = tuple((name, len(own), own[0].date_text, own[-1].date_text)
                      for name in names for own in [[d for d in dated if d.collection == name]])
        return cls(names, len(docs), dated[0].date_text if dated else None, dated[-1].date_text if dated else None,
                   spans)

    def choices(self) -> list[tuple[str, str]]:
        """The collection filter's (label, value) pairs; result-page entries name none ("unknown collection").

        Returns:
            One pair per collection, in corpus order.
        """
        return [(shown_collection(name), name or UNKNOWN_COLLECTION) for name in self.names]

    def header(self) -> str:
        """The page's opening Markdown: what is searched (each collection's size and dates) and how to ask.

        Returns:
            Markdown built from escaped text.
        """
        listed = "; ".join(f"*{escape(shown_collection(name))}* "
                           f"({count} {'document' if count == 1 else 'documents'}, "
                           f"{escape(first)} to {escape(last)})"
                           for name, count, first, last in self.spans)
        names = listed or ", ".join(f"*{escape(shown_collection(n))}*" for n in self.names) or "the archive"
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
        """The search's results, or None when no search ran."""
        return None if self.data is None else self.data.results


@dataclass
class Chat:
    """The chat's logic, free of Gradio: validate the controls, resolve follow-ups, search, format.

    Attributes:
        retriever: What searches.
        collection_size: How many documents it searches, for the answer's "n of N"; None: not said.
        settings: The number of results when a reply is asked for without one (`chat_k`), passed down from the
            entry point (`app.build_app`).
    """

    retriever: Searcher
    collection_size: int | None
    settings: Settings

    def search(self, question: str, k, date_from: str | None = None, date_to: str | None = None,
               sort: str | SortOrder = SortOrder.RELEVANCE, mode: str | Mode = Mode.HYBRID,
               collections: list[str] | None = None) -> Results:
        """Search with the controls' values.

        Args:
            question: The question as typed.
            k: How many hits.
            date_from: Earliest date; blank or None is an open end.
            date_to: Latest date; blank or None is an open end.
            sort: "relevance" or "date" (any case).
            mode: "hybrid", "semantic" or "keyword" (any case).
            collections: Only these collections; None or empty: all.

        Returns:
            The retriever's results.

        Raises:
            QueryError: Saying what is wrong with a control's value (DateError for a date).
        """
        start, end = checked_range(date_from, date_to)
        return self.retriever.search(question, k=k, date_from=start, date_to=end, sort=SortOrder(sort).value,
                                     mode=Mode(mode).value, collections=collections or None)

    def reply(self, message: str | None, topic: Topic | None, date_from: str | None = None,
              date_to: str | None = None, k=None, order: str | SortOrder = SortOrder.DATE,
              mode: str | Mode = Mode.HYBRID, turn: int = 0, collections: list[str] | None = None) -> Reply:
        """Answer one message; never raises: bad input and failures become a plain message.

        Args:
            message: The message as typed (None or blank: a prompt to type a question).
            topic: The previous answer's topic, for follow-ups such as "what about 1964?"; None for none.
            date_from: Earliest date; blank or None is an open end.
            date_to: Latest date; blank or None is an open end.
            k: How many documents to cite; None: the chat's default (`settings.chat_k`).
            order: How the cited documents are listed ("date" or "relevance").
            mode: "hybrid", "semantic" or "keyword".
            turn: The answer's place in the chat, which makes its [n] links unique on the page.
            collections: Only these collections; None or empty: all.

        Returns:
            The turn: the message as shown, the answer's Markdown, the topic to build on and the answer as data.
        """
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
