"""What a search returns: hits (a document, its score and why it matched) and what was understood."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.documents.document import Document


class Signal(StrEnum):
    """A reason a document matched."""

    SEMANTIC = "semantic"  # near the question in embedding space
    KEYWORD = "keyword"  # shares (stemmed) words with the question, BM25
    SENTENCE = "sentence"  # one summary sentence near the question in embedding space (off unless weighted)


@dataclass(frozen=True)
class Hit:
    """One document found for a question.

    `score` is the fused relevance (higher is better; comparable within one search only), `rank` its
    1-based place by relevance, `matched` the signals that found it, `highlight` the summary sentence
    closest to the question, `citation` a reference ready to paste into a footnote.
    """

    doc: Document
    score: float
    rank: int
    matched: tuple[Signal, ...]
    citation: str
    highlight: str | None = None
    semantic_score: float | None = None  # cosine similarity, when the dense search found it
    keyword_score: float | None = None  # BM25 score, when the keyword search found it
    row: int | None = field(default=None, compare=False)  # the index row, so later steps need no id lookup

    def to_record(self) -> dict:
        """The hit as one flat JSON object, the shape the CLI's --json, the Python API and the HTTP API share.

        Returns:
            The document's fields (`url` among them: the record's, None when unknown) and the hit's.
        """
        record = self.doc.to_record()
        record.update(
            score=round(self.score, 6),
            rank=self.rank,
            matched=[s.value for s in self.matched],
            highlight=self.highlight,
            citation=self.citation,
            semantic_score=None if self.semantic_score is None else round(self.semantic_score, 6),
            keyword_score=None if self.keyword_score is None else round(self.keyword_score, 6),
        )
        return record


@dataclass(frozen=True)
class Results(Sequence):
    """The hits of one search plus what the question was understood to ask.

    Behaves as a sequence of `Hit`. `query` is the text actually searched (the question without its date
    phrase), `date_from`/`date_to` the ISO range applied (None when open), `date_phrase` the words of the
    question that set it (None when the range came from parameters or there was none), `total` how
    many documents passed the filters and matched at all (before truncation to k).
    """

    hits: tuple[Hit, ...]
    question: str
    query: str
    date_from: str | None = None
    date_to: str | None = None
    date_phrase: str | None = None
    total: int = 0
    notes: tuple[str, ...] = field(default=())  # plain-language remarks, e.g. "question shortened"

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index):  # type: ignore[override]
        return self.hits[index]

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def to_record(self) -> dict:
        """What was understood plus the hits as records (one line of `python -m rag search --queries`)."""
        return {
            "question": self.question, "query": self.query, "date_from": self.date_from, "date_to": self.date_to,
            "date_phrase": self.date_phrase, "total": self.total, "notes": list(self.notes),
            "hits": [hit.to_record() for hit in self.hits],
        }

    @property
    def date_range_text(self) -> str | None:
        """`1964-01..1964-04`, `..1963-12` or None when no date filter applied."""
        if self.date_from is None and self.date_to is None:
            return None
        return f"{self.date_from or ''}..{self.date_to or ''}"
