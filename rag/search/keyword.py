"""Keyword search: BM25 (the `bm25s` library) over each document's title, summary and collection.

Words are lower-cased, English stopwords and question framing ("what did ... say about") dropped, and
stemmed with PyStemmer's English Snowball stemmer, so "negotiations" finds "negotiating".
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from rag.settings import Settings

if TYPE_CHECKING:
    import numpy as np

    from rag.documents.document import Document

# Words that frame a question rather than name its subject; dropped from documents and questions alike.
QUESTION_WORDS = (
    "anything", "any", "document", "documents", "record", "records", "find", "show", "tell", "say", "said",
    "says", "discuss", "discussed", "discusses", "mention", "mentioned", "about", "regarding", "concerning",
    "there", "please", "give", "list", "happened", "know", "did", "does", "do", "what", "which", "who",
    "whom", "when", "where", "why", "how", "was", "were",
)


def keyword_text(doc: Document) -> str:
    """What keyword search reads: title, summary and the collection's name (so naming it finds its documents)."""
    return " ".join(part for part in (doc.title, doc.summary, doc.collection) if part)


class KeywordIndex:
    """BM25 over a fixed list of texts; rows are the texts' positions (the same rows as the vector index)."""

    def __init__(self, texts: Sequence[str], settings: Settings | None = None):
        import bm25s

        settings = settings or Settings()  # its bm25_* fields say why BM25+ with b=0.3
        self._bm25 = bm25s.BM25(method=settings.bm25_method, k1=settings.bm25_k1, b=settings.bm25_b)
        self._bm25.index(self.tokenize(list(texts)), show_progress=False)
        self.size = len(texts)

    @staticmethod
    def tokenize(texts: list[str]) -> list[list[str]]:
        """Stemmed content words of each text."""
        import bm25s

        return bm25s.tokenize(texts, stopwords=list(_stopwords()), stemmer=_stemmer(), show_progress=False,
                              return_ids=False)

    def terms(self, query: str) -> list[str]:
        """The question's stemmed words that occur in the collection (the only ones that can score)."""
        vocabulary = self._bm25.vocab_dict
        return [term for term in self.tokenize([query])[0] if term in vocabulary]

    def scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every row for the query: 0 where no word matches or the row is not allowed.

        BM25+ gives a document lacking every word a floor score; that floor is subtracted so that
        "matched" means sharing a word with the question.
        """
        import numpy as np

        terms = self.terms(query)
        if not terms:
            return np.zeros(self.size, dtype=np.float32)
        mask = None if allowed is None else allowed.astype(np.float32)
        scores = np.asarray(self._bm25.get_scores(terms, weight_mask=mask), dtype=np.float32)
        floor = getattr(self._bm25, "nonoccurrence_array", None)
        if floor is not None:
            baseline = float(floor[[self._bm25.vocab_dict[t] for t in terms]].sum())
            scores = np.where(scores > baseline * (1 + 1e-6), scores - baseline, 0.0).astype(np.float32)
        return scores


_local = threading.local()


def _stemmer():
    """PyStemmer's stemmers are not thread-safe: one per thread."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@cache
def _stopwords() -> tuple[str, ...]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return tuple(sorted(set(STOPWORDS_EN_PLUS) | set(QUESTION_WORDS)))
