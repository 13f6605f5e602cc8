"""A small stand-in for `rag.Retriever` used by the chat's tests until the real one is wired in:
word overlap over real corpus documents, the same `search()` signature and `Results` shape."""

from __future__ import annotations

import re
from pathlib import Path

from rag.documents.corpus import load_corpus
from rag.documents.dates import bounds, sort_key
from rag.documents.document import ARCHIVE_NAME, Document
from rag.search.results import Hit, Results, Signal

_WORD = re.compile(r"[a-z]{3,}")
_STOP = {"the", "and", "what", "did", "say", "about", "with", "for", "how", "between", "their", "from", "was"}
_YEAR_PHRASE = re.compile(r"\b(?:in|during)\s+(1[89]\d\d)\b", re.IGNORECASE)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


class FakeRetriever:
    """Keyword overlap, date filters (parameters or "in 1964" in the question), both sort orders."""

    def __init__(self, documents: list[Document]):
        self.documents = documents

    @classmethod
    def from_corpus(cls, corpus_dir: Path) -> FakeRetriever:
        return cls(load_corpus(corpus_dir).documents)

    def search(self, question, k=10, date_from=None, date_to=None, sort="relevance", mode="hybrid") -> Results:
        if sort not in ("relevance", "date") or mode not in ("hybrid", "semantic", "keyword"):
            raise ValueError(f"bad sort {sort!r} or mode {mode!r}")
        phrase = _YEAR_PHRASE.search(question)
        query = question
        if phrase and not (date_from or date_to):
            date_from = date_to = phrase.group(1)
            query = " ".join((question[: phrase.start()] + question[phrase.end():]).split())
        wanted = _words(query)
        scored = []
        for doc in self.documents:
            if date_from and bounds(doc.date)[1] < bounds(date_from)[0]:
                continue
            if date_to and bounds(doc.date)[0] > bounds(date_to)[1]:
                continue
            shared = wanted & _words(doc.embedding_text)
            if shared:
                scored.append((len(shared) / len(wanted), doc))
        scored.sort(key=lambda pair: -pair[0])
        hits = [self._hit(doc, score, rank, wanted) for rank, (score, doc) in enumerate(scored[:k], start=1)]
        if sort == "date":
            hits.sort(key=lambda h: sort_key(h.doc.date))
        return Results(tuple(hits), question=question, query=query, date_from=date_from, date_to=date_to,
                       date_phrase=phrase.group(0) if phrase and date_from == phrase.group(1) else None,
                       total=len(scored))

    @staticmethod
    def _hit(doc: Document, score: float, rank: int, wanted: set[str]) -> Hit:
        sentences = re.split(r"(?<=[.!?])\s+", doc.summary or "")
        best = max(sentences, key=lambda s: len(wanted & _words(s))) if doc.summary else None
        citation = f"“{doc.title},” {doc.date_text}, {doc.collection}, {ARCHIVE_NAME}."
        return Hit(doc=doc, score=score, rank=rank, matched=(Signal.KEYWORD,), citation=citation,
                   highlight=best if best and wanted & _words(best) else None, keyword_score=score)
