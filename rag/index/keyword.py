"""Keyword search: BM25 (the `bm25s` library, entering only here) over each document's title, summary and
collection, built by the rebuild, saved in the index folder and memory-mapped when loaded.

Documents are indexed with their names in modern spelling (`rag.documents.names.modernise`: "Chou En-lai" as
"Zhou Enlai", "Peking" as "Beijing"); the retriever reads questions the same way, so either spelling finds both.

Words are lower-cased, English stopwords and question framing ("what did ... say about") dropped, and
stemmed with PyStemmer's English Snowball stemmer, so "negotiations" finds "negotiating".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.names import modern_text
from rag.index import bm25_formulas
from rag.index.files import BM25, fsync_tree
from rag.index.keyword_delta import KeywordDelta, SegmentedKeywordIndex

if TYPE_CHECKING:
    from collections.abc import Collection

    import numpy as np

    from rag.documents.document import Document
    from rag.settings import Settings

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
#: Our file beside bm25s's in a saved BM25 folder: the statistics a delta is scored with (bm25s keeps the
#: document count but not the average length). An index saved without it takes no delta.
STATS = "stats.json"


def keyword_text(doc: Document) -> str:
    """What keyword search reads: title, summary and the collection's name (so naming it finds its documents),
    with names in their modern spelling.

    Args:
        doc: a document.

    Returns:
        The text BM25 indexes for it.
    """
    return modern_text(" ".join(part for part in (doc.title, doc.summary, doc.collection) if part))


def params(settings: Settings) -> dict:
    """The BM25 parameters `settings` ask for, as recorded in an index's manifest (plain values, no bm25s).

    Args:
        settings: its `bm25_*` fields.

    Returns:
        The method, k1, b and the TOKENIZER version.
    """
    return {"method": settings.bm25_method, "k1": settings.bm25_k1, "b": settings.bm25_b, "tokenizer": TOKENIZER}


class KeywordIndex:
    """BM25 over a fixed list of texts; rows are the texts' positions (the same rows as the vector index).
    Make one with `build` (indexes the texts) or `load` (a saved one, memory-mapped). A
    `rag.index.backend.WordIndex`."""

    def __init__(self, bm25, count: int, parameters: dict, average_length: float | None = None):
        """Args:
            bm25: the `bm25s.BM25` index.
            count: how many texts it indexes.
            parameters: see `params`: what the manifest records and staleness compares.
            average_length: words per document; None when loaded from an index without STATS.
        """
        self._bm25 = bm25
        self.count = count
        self.params = parameters
        self.average_length = average_length

    @classmethod
    def build(cls, texts: Sequence[str], settings: Settings) -> KeywordIndex:
        """Index `texts` with the BM25 variant and parameters of `settings`.

        Args:
            texts: each row's `keyword_text`.
            settings: its `bm25_*` fields (their help says why BM25+ with b=0.3).

        Returns:
            The index, one row per text.
        """
        import bm25s

        bm25 = bm25s.BM25(method=settings.bm25_method, k1=settings.bm25_k1, b=settings.bm25_b)
        tokens = cls.tokenize(list(texts))
        bm25.index(tokens, show_progress=False)
        average = sum(map(len, tokens)) / len(tokens) if tokens else 0.0  # as bm25s computes it
        return cls(bm25, len(texts), params(settings), average)

    @classmethod
    def load(cls, folder: Path, parameters: dict, count: int) -> KeywordIndex:
        """A BM25 index saved by `save`, its score matrix memory-mapped (read from disk as questions need it).

        Args:
            folder: the index folder whose bm25/ `save` wrote.
            parameters: the BM25 parameters the manifest records.
            count: the rows it must hold.

        Returns:
            The index.

        Raises:
            ValueError: it holds another number of rows.
        """
        import bm25s

        folder = Path(folder) / BM25
        bm25 = bm25s.BM25.load(folder, mmap=True, load_corpus=False, show_progress=False)
        num_docs = bm25.scores.get("num_docs")
        if num_docs is not None and num_docs != count:
            raise ValueError(f"the BM25 index holds {num_docs} documents, not {count}")
        stats = folder / STATS
        average = json.loads(stats.read_text(encoding="utf-8"))["average_length"] if stats.is_file() else None
        return cls(bm25, count, dict(parameters), average)

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """Write the BM25 files into `folder`/bm25 (created), each fsynced: part of a crash-safe index save.

        Args:
            folder: the index folder.
            skip: names already there (bm25 among them: nothing is written).
        """
        if BM25 in skip:
            return
        folder = Path(folder) / BM25
        self._bm25.save(folder, show_progress=False)
        if self.average_length is not None:
            (folder / STATS).write_text(json.dumps({"average_length": self.average_length}), encoding="utf-8")
        fsync_tree(folder)

    @property
    def vocabulary(self) -> dict[str, int]:
        """Each indexed (stemmed) word and its column."""
        return self._bm25.vocab_dict

    @staticmethod
    def tokenize(texts: list[str]) -> list[list[str]]:
        """Stemmed content words of each text.

        Args:
            texts: questions or documents' `keyword_text`.

        Returns:
            Each text's stemmed words, stopwords left out.
        """
        import bm25s

        return bm25s.tokenize(texts, stopwords=list(_stopwords()), stemmer=_stemmer(), show_progress=False,
                              return_ids=False)

    def terms(self, query: str) -> list[str]:
        """The question's stemmed words that occur in the collection (the only ones that can score).

        Args:
            query: the words searched.

        Returns:
            Those stemmed words, in the question's order.
        """
        vocabulary = self.vocabulary
        return [term for term in self.tokenize([query])[0] if term in vocabulary]

    def scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every row for the query: 0 where no word matches or the row is not allowed.

        BM25+ gives a document lacking every word a floor score; that floor is subtracted so that
        "matched" means sharing a word with the question. `allowed` (a boolean mask over rows) is applied
        here, in place, rather than as bm25s's float weight mask: at a million rows a 1-year filter's
        scores took 11.4 ms that way against 5.0 ms (unfiltered 4.8 ms either way).

        Args:
            query: the words searched.
            allowed: a boolean mask over rows.

        Returns:
            float32, one score per row.
        """
        import numpy as np

        terms = self.terms(query)
        if not terms:
            return np.zeros(self.count, dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)  # a fresh array, changed in place
        floor = getattr(self._bm25, "nonoccurrence_array", None)
        if floor is not None:
            baseline = float(floor[[self._bm25.vocab_dict[t] for t in terms]].sum())
            scores -= baseline
            scores[scores <= baseline * 1e-6] = 0.0
        if allowed is not None:
            np.multiply(scores, allowed, out=scores)
        return scores

    def with_delta(self, texts: Sequence[str], retired: np.ndarray) -> SegmentedKeywordIndex:
        """As `WordIndex.with_delta`: the delta rows scored by `delta`."""
        return SegmentedKeywordIndex(self, self.delta(texts), retired)

    def rebuilt(self, texts: Sequence[str], settings: Settings) -> KeywordIndex:
        """As `WordIndex.rebuilt`: `KeywordIndex.build` over `texts`."""
        return KeywordIndex.build(texts, settings)

    def delta(self, texts: Sequence[str]) -> KeywordDelta:
        """BM25 rows for documents added after this index was built (`texts`: their `keyword_text`), scored
        on this index's statistics as if they belonged to it: the average length stays this index's, and a
        word's document frequency counts both, so a word only the new documents hold still scores.

        Args:
            texts: the new documents' `keyword_text`.

        Returns:
            Their rows' scores per word.

        Raises:
            ValueError: this index was saved without its STATS.
        """
        import numpy as np

        if self.average_length is None:
            raise ValueError(f"the BM25 index lacks {STATS}")
        bm25 = self._bm25
        tokens = self.tokenize(list(texts))
        vocabulary = {term: n for n, term in enumerate(dict.fromkeys(t for doc in tokens for t in doc))}
        counts = [np.unique(np.fromiter((vocabulary[t] for t in doc), dtype=np.int64, count=len(doc)),
                            return_counts=True) for doc in tokens]
        frequency = np.zeros(len(vocabulary), dtype=np.int64)
        for columns, _ in counts:
            frequency[columns] += 1
        indptr, known = bm25.scores["indptr"], bm25.vocab_dict
        for term, column in vocabulary.items():
            if term in known:
                frequency[column] += int(indptr[known[term] + 1] - indptr[known[term]])
        total = self.count + len(tokens)
        idf_of, tfc = bm25_formulas.idf(bm25.idf_method), bm25_formulas.term_frequency(bm25.method)
        idf = np.array([idf_of(int(df), total) for df in frequency], dtype=np.float64)
        average = self.average_length or 1.0
        floor = np.zeros(len(vocabulary))
        if bm25.method in bm25.methods_requiring_nonoccurrence:  # BM25L/+ store scores less the absent score
            floor = idf * tfc(0, average, average, bm25.k1, bm25.b, bm25.delta)
        rows, columns, values = [], [], []
        for row, (doc_columns, tf) in enumerate(counts):
            score = idf[doc_columns] * tfc(tf.astype(np.float64), len(tokens[row]), average, bm25.k1, bm25.b,
                                            bm25.delta)
            values.append(score - floor[doc_columns])
            rows.append(np.full(len(doc_columns), row, dtype=np.int32))
            columns.append(doc_columns)
        return KeywordDelta.from_entries(vocabulary, len(tokens), *(
            np.concatenate(part) if part else np.zeros(0) for part in (rows, columns, values)))


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
