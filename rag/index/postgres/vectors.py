"""Vector search in SQL (pgvector's `<#>`, the negative inner product: cosine on unit vectors), as
`rag.index.faiss_vectors.FaissVectors` and `rag.index.sentence_vectors.SentenceVectors` search in memory.

A search restricted to some rows (a date or collection filter), or over a table of at most EXACT_SCAN_ROWS rows,
is an exact scan (`key = ANY(...)`, ordered by an expression the HNSW index cannot serve, so the planner cannot
pick it): a filter never loses a row exact search returns. Measured with pgvector 0.8.6 on bench/scale.py's
vectors: HNSW under a date filter returned fewer than 10 rows on most questions, and with
`hnsw.iterative_scan = relaxed_order` recall@10 was 0.73-0.98; the exact scan is 1.0 (100k rows: 16 ms for a
year, 5 ms for a month). Unrestricted on a large table: HNSW, `hnsw.ef_search` at least the rows wanted, with
iterative scan. Rows found are ordered here by their float32 score, ties lower row first, as FAISS orders them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.index.faiss_vectors import ANN_ROWS, EXACT_SCAN_ROWS
from rag.index.postgres.connection import literal, parse
from rag.index.topk import allowed_rows, nothing, ordered, ranked

if TYPE_CHECKING:
    import numpy as np

    from rag.index.backend import Found
    from rag.index.postgres.connection import Database

#: pgvector's largest `hnsw.ef_search`.
EF_SEARCH_MAX = 1000

_EXACT = ("SELECT key, (embedding <#> %(q)s::vector) FROM documents "
          "WHERE (embedding <#> %(q)s::vector) < %(radius)s {where} ORDER BY (embedding <#> %(q)s::vector) + 0, key "
          "{limit}")
_APPROXIMATE = ("SELECT key, (embedding <#> %(q)s::vector) FROM documents ORDER BY embedding <#> %(q)s::vector "
                "LIMIT %(n)s")
_BEST_SENTENCE = "SELECT key, max(-(embedding <#> %(q)s::vector)) FROM sentences {where} GROUP BY key"


def rows_of(keys: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of found keys, and which were known (a key a later rebuild added has no row yet).

    Args:
        keys: the documents' keys in row order (ascending).
        found: keys a query returned.

    Returns:
        (rows of the known ones, boolean mask of the known ones over `found`).
    """
    import numpy as np

    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(len(found), dtype=bool)
    at = np.searchsorted(keys, found)
    known = (at < len(keys)) & (keys[np.minimum(at, len(keys) - 1)] == found)
    return at[known].astype(np.int64), known


def _split(found: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    keys = np.fromiter((row[0] for row in found), dtype=np.int64, count=len(found))
    values = np.fromiter((row[1] for row in found), dtype=np.float64, count=len(found))
    return keys, values


class PostgresVectors:
    """The documents' unit vectors in the `documents` table (a `rag.index.backend.VectorIndex`)."""

    def __init__(self, db: Database, keys: np.ndarray, dimension: int):
        """Args:
            db: the database.
            keys: the documents' keys in row order.
            dimension: components per vector.
        """
        self._db, self._keys, self._dimension = db, keys, dimension

    @property
    def count(self) -> int:
        """Rows."""
        return len(self._keys)

    @property
    def dimension(self) -> int:
        """Components per vector."""
        return self._dimension

    def search(self, query: np.ndarray, *, min_similarity: float, k: int | None = None, depth: int | None = None,
               allowed: np.ndarray | None = None) -> Found:
        """As `VectorIndex.search`: exact when restricted or small, HNSW otherwise."""
        from rag.index.backend import Found

        rows = allowed_rows(allowed)
        if (rows is not None and not len(rows)) or not self.count:
            return nothing()
        values = {"q": literal(query), "radius": -float(min_similarity)}
        if rows is None and self.count > EXACT_SCAN_ROWS:
            found = self._approximate(values, max(k or 0, depth or 0) or ANN_ROWS)
        else:
            where = "" if rows is None else "AND key = ANY(%(keys)s)"
            if rows is not None:
                values["keys"] = self._keys[rows].tolist()
            limit = "" if k is None else "LIMIT %(k)s"
            values["k"] = k
            found = self._db.rows(_EXACT.format(where=where, limit=limit), values)
        keys, distances = _split(found)
        at, known = rows_of(self._keys, keys)
        scores = (-distances[known]).astype("float32")
        keep = scores > min_similarity
        at, scores = at[keep], scores[keep]
        order = at.argsort(kind="stable")  # by row, so that `ordered` breaks ties by the lower row
        return ordered(Found(at[order], scores[order]), k, depth)

    def _approximate(self, values: dict, wanted: int) -> list[tuple]:
        """The HNSW search: ef_search at least the rows wanted, iterative scan so that none go missing."""
        with self._db.transaction() as tx:
            tx.execute(f"SET LOCAL hnsw.ef_search = {min(max(int(wanted), 40), EF_SEARCH_MAX)}")
            tx.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            return tx.rows(_APPROXIMATE, {**values, "n": int(wanted)})

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """As `VectorIndex.vectors_of`.

        Args:
            rows: int64 row numbers.
        """
        import numpy as np

        rows = np.asarray(rows, dtype=np.int64)
        wanted = self._keys[rows]
        found = dict(self._db.rows("SELECT key, embedding::text FROM documents WHERE key = ANY(%s)",
                                   (wanted.tolist(),)))
        out = np.zeros((len(rows), self._dimension), dtype=np.float32)
        for n, key in enumerate(wanted.tolist()):
            out[n] = parse(found[key])
        return out

    def with_delta(self, added, retired):
        """Not for a database: a rebuild writes rows in place.

        Args:
            added: unused.
            retired: unused.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("a database index takes no delta segment: rebuild into it")

    def save(self, folder, skip=()) -> None:
        """Not for a database.

        Args:
            folder: unused.
            skip: unused.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("a database index is written by rebuild_into, not saved to a folder")


class PostgresSentences:
    """The summaries' sentence vectors in the `sentences` table (a `rag.index.backend.SentenceIndex`). Rows by
    their best sentence: an exact scan (max over each document's sentences) in every case; the signal is off by
    default (`Settings.sentence_weight`)."""

    def __init__(self, db: Database, keys: np.ndarray, dimension: int, splitter: str):
        """Args:
            db: the database.
            keys: the documents' keys in row order.
            dimension: components per vector.
            splitter: the sentence splitter the manifest records.
        """
        self._db, self._keys, self._dimension, self.splitter = db, keys, dimension, splitter

    def __len__(self) -> int:
        return len(self._keys)

    def of(self, row: int) -> np.ndarray:
        """As `SentenceIndex.of`.

        Args:
            row: the row.
        """
        import numpy as np

        found = self._db.rows("SELECT embedding::text FROM sentences WHERE key = %s ORDER BY position",
                              (int(self._keys[row]),))
        if not found:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.stack([parse(text) for (text,) in found])

    def search(self, query: np.ndarray, *, min_similarity: float, allowed: np.ndarray | None = None) -> Found:
        """As `SentenceIndex.search`: each row by its best sentence's cosine (>= min_similarity).

        Args:
            query: one unit vector.
            min_similarity: the cosine a row's best sentence must reach.
            allowed: a boolean mask over rows.
        """
        import numpy as np

        rows = allowed_rows(allowed)
        if rows is not None and not len(rows):
            return nothing()
        values = {"q": literal(query)}
        where = ""
        if rows is not None:
            where, values["keys"] = "WHERE key = ANY(%(keys)s)", self._keys[rows].tolist()
        keys, best = _split(self._db.rows(_BEST_SENTENCE.format(where=where), values))
        at, known = rows_of(self._keys, keys)
        dense = np.full(len(self._keys), np.nan, dtype=np.float64)
        dense[at] = best[known].astype(np.float32)  # float32 cosines, as numpy computes them
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self._keys), dtype=bool)
            mask[rows] = True
        return ranked(dense, min_similarity, mask)

    def with_delta(self, added, retired):
        """Not for a database.

        Args:
            added: unused.
            retired: unused.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("a database index takes no delta segment: rebuild into it")

    def save(self, folder, skip=()) -> None:
        """Not for a database.

        Args:
            folder: unused.
            skip: unused.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("a database index is written by rebuild_into, not saved to a folder")
