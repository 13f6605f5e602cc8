"""The documents of a database index as a sequence by row, read on demand: one query for the rows a search
shows (`prefetch`), a bounded cache after that, so showing ten hits is one round trip, not ten.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.documents.document import Document
from rag.errors import IndexUnavailable

if TYPE_CHECKING:
    import numpy as np

    from rag.index.postgres.connection import Database

#: Documents kept after they were read (a page of hits and the ones before it).
CACHED = 2048
_COLUMNS = "key, id, date, date_text, title, collection, summary, url"


class DocumentRows(Sequence[Document]):
    """Row -> `Document`, fetched from the `documents` table by key."""

    def __init__(self, db: Database, keys: np.ndarray):
        """Args:
            db: the database.
            keys: the documents' keys in row order.
        """
        self._db, self._keys = db, keys
        self._cache: OrderedDict[int, Document] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, row):
        if isinstance(row, slice):
            rows = list(range(*row.indices(len(self))))
            self.prefetch(rows)
            return [self._cached(r) for r in rows]
        row = int(row) + (len(self) if int(row) < 0 else 0)
        if not 0 <= row < len(self):
            raise IndexError(row)
        self.prefetch([row])
        return self._cached(row)

    def __iter__(self):
        for start in range(0, len(self), CACHED // 2):
            yield from self[start:start + CACHED // 2]

    def __eq__(self, other: object) -> bool:  # as a list of the same documents compares
        return isinstance(other, Sequence) and len(other) == len(self) and all(
            a == b for a, b in zip(self, other, strict=True))

    __hash__ = None

    def prefetch(self, rows) -> None:
        """Read the rows not cached yet in one query.

        Args:
            rows: row numbers (an array or a list).
        """
        with self._lock:
            wanted = sorted({int(r) for r in rows} - self._cache.keys())
        if not wanted:
            return
        keys = self._keys[wanted].tolist()
        found = {record[0]: record[1:] for record in self._db.rows(
            f"SELECT {_COLUMNS} FROM documents WHERE key = ANY(%s)", (keys,))}
        missing = [key for key in keys if key not in found]
        if missing:
            raise IndexUnavailable(f"database {self._db.shown}: {len(missing)} document(s) were removed by a rebuild "
                                   "since it was opened; search again (serving reopens it)")
        with self._lock:
            for row, key in zip(wanted, keys, strict=True):
                id_, date, date_text, title, collection, summary, url = found[key]
                self._cache[row] = Document(id=id_, date=date, date_text=date_text, title=title,
                                            collection=collection, summary=summary, url=url)
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)

    def _cached(self, row: int) -> Document:
        with self._lock:
            doc = self._cache.get(row)
            if doc is not None:
                self._cache.move_to_end(row)
                return doc
        self.prefetch([row])  # evicted meanwhile by another thread's page
        with self._lock:
            return self._cache[row]
