"""BM25 computed in SQL from the stored term statistics (`terms`: tf per (term, document); `documents.length`;
`meta`: document count and average length): the same tokenizer (`KeywordIndex.tokenize`) and the same formulas
as bm25s (`rag.index.bm25_formulas`), so the scores equal `rag.index.keyword.KeywordIndex`'s
(tests/index/postgres/test_pg_words.py). The method, k1 and b are query parameters: other `bm25_*` settings need
no rebuild. PostgreSQL's own `ts_rank_cd` is not BM25 (top-10 overlap with ours: 0.08, issue 19).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rag.index.keyword import KeywordIndex, params
from rag.index.topk import allowed_rows

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from rag.index.postgres.connection import Database
    from rag.settings import Settings

#: bm25s's delta of BM25L and BM25+ (its default, which `KeywordIndex.build` keeps).
DELTA = 0.5

# `rag.index.bm25_formulas` in SQL: the inverse document frequency of f.df among %(n)s documents ...
_IDF = {
    "robertson": "ln(greatest(1.0, (%(n)s - f.df + 0.5) / (f.df + 0.5)))",
    "lucene": "ln(1 + (%(n)s - f.df + 0.5) / (f.df + 0.5))",
    "atire": "ln(%(n)s / f.df)",
    "bm25l": "ln((%(n)s + 1) / (f.df + 0.5))",
    "bm25+": "ln((%(n)s + 1) / f.df)",
}
# ... and the term-frequency component of tf {tf} in a document of {length} words (average %(avg)s).
_TFC = {
    "robertson": "({tf} / (%(k1)s * ((1 - %(b)s) + %(b)s * {length} / %(avg)s) + {tf}))",
    "atire": "(({tf} * (%(k1)s + 1)) / ({tf} + %(k1)s * (1 - %(b)s + %(b)s * {length} / %(avg)s)))",
    "bm25l": "(((%(k1)s + 1) * ({tf} / (1 - %(b)s + %(b)s * {length} / %(avg)s) + %(delta)s)) / "
             "(%(k1)s + {tf} / (1 - %(b)s + %(b)s * {length} / %(avg)s) + %(delta)s))",
    "bm25+": "((%(k1)s + 1) * {tf} / (%(k1)s * (1 - %(b)s + %(b)s * {length} / %(avg)s) + {tf}) + %(delta)s)",
}
_TFC["lucene"] = _TFC["robertson"]
#: BM25L and BM25+ score a document lacking the word; bm25s stores each score less that floor (computed at the
#: average length), and `KeywordIndex.scores` takes it off again: matched means sharing a word.
_FLOORED = ("bm25l", "bm25+")


def _sql(method: str, restricted: bool) -> str:
    idf, tfc = _IDF[method], _TFC[method].format(tf="t.tf::float8", length="d.length::float8")
    floor = f" - {idf} * {_TFC[method].format(tf='0.0', length='%(avg)s')}" if method in _FLOORED else ""
    where = "WHERE t.key = ANY(%(keys)s)" if restricted else ""
    return f"""
WITH asked AS (SELECT term, count(*)::float8 AS times FROM unnest(%(terms)s::text[]) AS term GROUP BY term),
     f AS (SELECT a.term, a.times, count(*)::float8 AS df FROM asked a JOIN terms t ON t.term = a.term
           GROUP BY a.term, a.times)
SELECT t.key, sum(f.times * ({idf} * {tfc}{floor}))
FROM f JOIN terms t ON t.term = f.term JOIN documents d ON d.key = t.key {where}
GROUP BY t.key"""


class PostgresWords:
    """BM25 over the database's rows for one set of parameters (a `rag.index.backend.WordIndex`)."""

    average_length: float | None

    def __init__(self, db: Database, keys: np.ndarray, settings: Settings, count: int, average: float):
        """Args:
            db: the database.
            keys: the documents' keys in row order.
            settings: the `bm25_*` parameters.
            count: the document count of the statistics (`meta.documents`).
            average: their average length in words (`meta.average_length`).
        """
        self._db, self._keys = db, keys
        self.params = params(settings)
        self._values = {"n": float(count), "avg": float(average) or 1.0, "k1": float(settings.bm25_k1),
                        "b": float(settings.bm25_b), "delta": DELTA}
        self.average_length = float(average)
        self._plain, self._restricted = _sql(settings.bm25_method, False), _sql(settings.bm25_method, True)

    @property
    def count(self) -> int:
        """Rows."""
        return len(self._keys)

    def terms(self, query: str) -> list[str]:
        """As `WordIndex.terms`: the question's stemmed words some document holds, in its order.

        Args:
            query: the words searched.
        """
        words = KeywordIndex.tokenize([query])[0]
        if not words:
            return []
        held = {row[0] for row in self._db.rows("SELECT DISTINCT term FROM terms WHERE term = ANY(%s)",
                                                (sorted(set(words)),))}
        return [word for word in words if word in held]

    def scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """As `WordIndex.scores`: every row's BM25 score (float32), 0 where no word matched or not allowed.

        Args:
            query: the words searched.
            allowed: a boolean mask over rows (or row numbers).
        """
        import numpy as np

        scores = np.zeros(self.count, dtype=np.float32)
        words = KeywordIndex.tokenize([query])[0]
        rows = allowed_rows(allowed)
        if not words or (rows is not None and not len(rows)):
            return scores
        values = {**self._values, "terms": words}
        if rows is not None:
            values["keys"] = self._keys[rows].tolist()
        found = self._db.rows(self._restricted if rows is not None else self._plain, values)
        if not found:
            return scores
        keys = np.fromiter((key for key, _ in found), dtype=np.int64, count=len(found))
        at = np.searchsorted(self._keys, keys)
        known = (at < len(self._keys)) & (self._keys[np.minimum(at, len(self._keys) - 1)] == keys)
        values = np.fromiter((value for _, value in found), dtype=np.float64, count=len(found))
        scores[at[known]] = values[known]
        scores[scores <= self._baseline(words) * 1e-6] = 0.0  # as `KeywordIndex.scores`: the floor's crumbs
        return scores

    def _baseline(self, words: list[str]) -> float:
        """The floor `KeywordIndex.scores` takes off, whose millionth it zeroes below (0 unless BM25L/+)."""
        if self.params["method"] not in _FLOORED:
            return 0.0
        import math

        from rag.index import bm25_formulas

        counts = Counter(words)
        frequency = dict(self._db.rows("SELECT term, count(*) FROM terms WHERE term = ANY(%s) GROUP BY term",
                                       (sorted(counts),)))
        idf, tfc = bm25_formulas.idf(self.params["method"]), bm25_formulas.term_frequency(self.params["method"])
        v = self._values
        floor = tfc(0.0, v["avg"], v["avg"], v["k1"], v["b"], DELTA)
        total = sum(times * idf(int(frequency[word]), int(v["n"])) * floor for word, times in counts.items()
                    if word in frequency)
        return total if math.isfinite(total) else 0.0

    def with_delta(self, texts: Sequence[str], retired: np.ndarray):
        """Not for a database: a rebuild writes its rows in place.

        Args:
            texts: unused.
            retired: unused.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("a database index takes no delta segment: rebuild into it")

    def rebuilt(self, texts: Sequence[str], settings: Settings) -> PostgresWords:
        """The same rows with other BM25 parameters: nothing to index again, they are query parameters.

        Args:
            texts: unused (the terms table holds them).
            settings: the `bm25_*` fields.
        """
        return PostgresWords(self._db, self._keys, settings, int(self._values["n"]), self.average_length)

    def save(self, folder, skip=()) -> None:
        """Not for a database (its rows are written by `rag.index.postgres.rebuild`).

        Args:
            folder: unused.
            skip: unused.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("a database index is written by rebuild_into, not saved to a folder")
