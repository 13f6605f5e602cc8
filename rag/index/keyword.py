"""Keyword search: BM25 (the `bm25s` library, entering only here) over each document's title, summary and
collection, built by the rebuild, saved in the index folder and memory-mapped when loaded.

Documents are indexed with their names in modern spelling (`rag.documents.names.modernise`: "Chou En-lai" as
"Zhou Enlai", "Peking" as "Beijing"); the retriever reads questions the same way, so either spelling finds both.

Words are lower-cased, English stopwords and question framing ("what did ... say about") dropped, and
stemmed with PyStemmer's English Snowball stemmer, so "negotiations" finds "negotiating".
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.names import modern_text
from rag.settings import Settings

if TYPE_CHECKING:
    import numpy as np

    from rag.documents.document import Document

#: Bump when `KeywordIndex.tokenize` or `keyword_text` changes what is indexed: saved BM25 indexes built by
#: another version are then stale and rebuilt (cheaply, without embedding) by the next rebuild.
TOKENIZER = "bm25s stopwords-en-plus + question words, snowball english, modern name spellings, v2"

# Words that frame a question rather than name its subject; dropped from documents and questions alike.
QUESTION_WORDS = (
    "anything", "any", "document", "documents", "record", "records", "find", "show", "tell", "say", "said",
    "says", "discuss", "discussed", "discusses", "mention", "mentioned", "about", "regarding", "concerning",
    "there", "please", "give", "list", "happened", "know", "did", "does", "do", "what", "which", "who",
    "whom", "when", "where", "why", "how", "was", "were",
)


def keyword_text(doc: Document) -> str:
    """What keyword search reads: title, summary and the collection's name (so naming it finds its documents),
    with names in their modern spelling."""
    return modern_text(" ".join(part for part in (doc.title, doc.summary, doc.collection) if part))


def params(settings: Settings) -> dict:
    """The BM25 parameters `settings` ask for, as recorded in an index's manifest (plain values, no bm25s)."""
    return {"method": settings.bm25_method, "k1": settings.bm25_k1, "b": settings.bm25_b, "tokenizer": TOKENIZER}


class KeywordIndex:
    """BM25 over a fixed list of texts; rows are the texts' positions (the same rows as the vector index).
    Make one with `build` (indexes the texts) or `load` (a saved one, memory-mapped)."""

    def __init__(self, bm25, size: int, parameters: dict):
        self._bm25 = bm25
        self.size = size
        self.params = parameters  # see `params`: what the manifest records and staleness compares

    @classmethod
    def build(cls, texts: Sequence[str], settings: Settings | None = None) -> KeywordIndex:
        """Index `texts` with the BM25 variant and parameters of `settings` (default: Settings())."""
        import bm25s

        settings = settings or Settings()  # its bm25_* fields say why BM25+ with b=0.3
        bm25 = bm25s.BM25(method=settings.bm25_method, k1=settings.bm25_k1, b=settings.bm25_b)
        bm25.index(cls.tokenize(list(texts)), show_progress=False)
        return cls(bm25, len(texts), params(settings))

    @classmethod
    def load(cls, folder: Path, parameters: dict, size: int) -> KeywordIndex:
        """A BM25 index saved by `save`, its score matrix memory-mapped (read from disk as questions need it)."""
        import bm25s

        bm25 = bm25s.BM25.load(folder, mmap=True, load_corpus=False, show_progress=False)
        num_docs = bm25.scores.get("num_docs")
        if num_docs is not None and num_docs != size:
            raise ValueError(f"the BM25 index holds {num_docs} documents, not {size}")
        return cls(bm25, size, dict(parameters))

    def save(self, folder: Path) -> None:
        """Write the BM25 files into `folder` (created), each fsynced: part of a crash-safe index save."""
        from rag.index.versions import fsync_path

        folder = Path(folder)
        self._bm25.save(folder, show_progress=False)
        for file in folder.iterdir():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_path(folder)

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
        "matched" means sharing a word with the question. `allowed` (a boolean mask over rows) is applied
        here, in place, rather than as bm25s's float weight mask: at a million rows a 1-year filter's
        scores took 11.4 ms that way against 5.0 ms (unfiltered 4.8 ms either way).
        """
        import numpy as np

        terms = self.terms(query)
        if not terms:
            return np.zeros(self.size, dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)  # a fresh array, changed in place
        floor = getattr(self._bm25, "nonoccurrence_array", None)
        if floor is not None:
            baseline = float(floor[[self._bm25.vocab_dict[t] for t in terms]].sum())
            scores -= baseline
            scores[scores <= baseline * 1e-6] = 0.0
        if allowed is not None:
            np.multiply(scores, allowed, out=scores)
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
