"""documents.sqlite: its schema, the one module that writes or queries it, and the reading of older formats.

One row per document, in vector row order: `documents (row, id, hash, record)` (record: the document's JSON),
`collections (code, name)` (what collections.npy's codes point to) and `dead (row)` (the base rows a delta
segment retires). Written with it: date_spans.npy and collections.npy, the filters' per-row arrays.

Older formats, still read here and nowhere else (the rest of the code sees the current one):

- documents.jsonl instead of documents.sqlite (one JSON record per line), without the filter arrays;
- the content hashes listed in manifest.json (`Manifest.listed`) before manifest format 3, documents.sqlite
  then without its `hash` column: such a table is never linked into a new version nor patched by a delta;
- no `dead` table before delta segments: no row retired (a delta's patched copy gains the table).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.document import Document
from rag.index.files import COLLECTIONS, DATE_SPANS, DOCUMENTS, DOCUMENTS_DB

if TYPE_CHECKING:
    import numpy as np

    from rag.index.manifest import Manifest

#: The tables and their columns.
TABLES = {"documents": "(row INTEGER PRIMARY KEY, id TEXT NOT NULL, hash TEXT NOT NULL, record TEXT)",
          "collections": "(code INTEGER PRIMARY KEY, name TEXT NOT NULL)",
          "dead": "(row INTEGER PRIMARY KEY)"}
_PARAMETERS = 500  # ids per statement: SQLite caps the parameters of one


class DocumentTable(Sequence[Document]):
    """The documents of a saved index, in row order, read from documents.sqlite on demand: loading costs
    nothing per document, and a hit's document is one indexed lookup. One read-only connection per thread."""

    def __init__(self, path: Path):
        """Args:
            path: a documents.sqlite of a published (never again written) index version.
        """
        self.path = Path(path)
        self._local = threading.local()
        self._size = int(self._query("SELECT count(*) FROM documents").fetchone()[0])

    def _query(self, sql: str, *args) -> sqlite3.Cursor:
        connection = getattr(self._local, "connection", None)
        if connection is None:  # immutable: a published version is never written again, so no locking
            connection = self._local.connection = sqlite3.connect(
                f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        return connection.execute(sql, args)

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(self._size))]
        row = int(row) + (self._size if int(row) < 0 else 0)
        found = self._query("SELECT record FROM documents WHERE row = ?", row).fetchone()
        if found is None:
            raise IndexError(f"row {row} of {self._size}")
        return Document.from_record(json.loads(found[0]))

    def __iter__(self) -> Iterator[Document]:
        for (record,) in self._query("SELECT record FROM documents ORDER BY row"):
            yield Document.from_record(json.loads(record))

    def __eq__(self, other: object) -> bool:  # as a list of the same documents compares
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def collections(self) -> list[str]:
        """The collection names that collections.npy's codes point into."""
        return [name for (name,) in self._query("SELECT name FROM collections ORDER BY code")]

    def dead(self) -> np.ndarray:
        """The rows a delta segment retired (removed from the corpus or superseded), sorted int64."""
        import numpy as np

        tables = {name for (name,) in self._query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "dead" not in tables:  # written before delta segments
            return np.zeros(0, dtype=np.int64)
        return np.fromiter((row for (row,) in self._query("SELECT row FROM dead ORDER BY row")), dtype=np.int64)

    def ends(self) -> tuple[str, str] | None:
        """The first and last row's ids (a cheap consistency check against the manifest)."""
        if not self._size:
            return None
        first = self._query("SELECT id FROM documents WHERE row = 0").fetchone()[0]
        last = self._query("SELECT id FROM documents WHERE row = ?", self._size - 1).fetchone()[0]
        return first, last


class JoinedDocuments(Sequence[Document]):
    """A saved table's first `base` rows followed by `added` documents: a delta index before it is saved."""

    def __init__(self, table: DocumentTable, base: int, added: Sequence[Document]):
        """Args:
            table: the saved table.
            base: how many of its rows are kept (the base segment's).
            added: the rows after them.
        """
        self.table, self.base, self.added = table, base, list(added)

    def __len__(self) -> int:
        return self.base + len(self.added)

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        row = int(row) + (len(self) if int(row) < 0 else 0)
        return self.table[row] if row < self.base else self.added[row - self.base]


def collection_codes(collections: Iterable[str], names: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """Collection names and each row's position among them: the one coding collections.npy, the filters and a
    delta use.

    Args:
        collections: each row's collection name.
        names: names already coded (a base's), kept first in their order; new ones follow as they appear.

    Returns:
        The names, and each row's code (int32).
    """
    import numpy as np

    collections = list(collections)
    names = list(dict.fromkeys([*names, *collections]))
    code = {name: n for n, name in enumerate(names)}
    return names, np.fromiter((code[c] for c in collections), dtype=np.int32, count=len(collections))


def date_spans(documents: Sequence[Document]) -> np.ndarray:
    """The first and last day each document's date may mean, the date filter's array.

    Args:
        documents: the rows.

    Returns:
        (rows, 2) int64 proleptic ordinals.
    """
    import numpy as np

    from rag.documents.dates import bounds

    spans = np.empty((len(documents), 2), dtype=np.int64)
    for row, doc in enumerate(documents):
        start, end = bounds(doc.date)
        spans[row] = start.toordinal(), end.toordinal()
    return spans


def write_documents(path: Path, documents: Sequence[Document], dead: np.ndarray,
                    names: Sequence[str]) -> None:
    """Write documents.sqlite at `path`: every row's id, content hash and record, the collection `names` and
    the `dead` rows. A delta's documents (`JoinedDocuments`) patch a copy of their saved table: a copy and a
    few statements, not a million records written again.

    Args:
        path: the new file.
        documents: every row, in order.
        dead: the retired base rows (sorted int64).
        names: the collection names, in code order (`collection_codes`).
    """
    patch = isinstance(documents, JoinedDocuments)
    if patch:
        shutil.copyfile(documents.table.path, path)
        start, rows, known = documents.base, documents.added, len(documents.table.collections())
    else:
        start, rows, known = 0, documents, 0
    connection = sqlite3.connect(path)
    try:
        if patch:
            connection.execute(f"CREATE TABLE IF NOT EXISTS dead {TABLES['dead']}")  # a table from before deltas
            connection.execute("DELETE FROM documents WHERE row >= ?", (start,))
            connection.execute("DELETE FROM dead")
        else:
            for table, columns in TABLES.items():
                connection.execute(f"CREATE TABLE {table} {columns}")
        connection.executemany("INSERT INTO dead VALUES (?)", ((int(r),) for r in dead))
        connection.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)", (
            (row, d.id, d.content_hash, json.dumps(d.to_record(), ensure_ascii=False))
            for row, d in enumerate(rows, start=start)))
        connection.executemany("INSERT INTO collections VALUES (?, ?)", enumerate(names[known:], start=known))
        connection.commit()
    finally:
        connection.close()


def hashes(manifest: Manifest) -> dict[str, str]:
    """Each document's content hash by id, in row order, rows a delta retired left out: the list of a manifest
    before format 3, else read from its folder's documents.sqlite; empty for an index built in memory.

    Args:
        manifest: the index's.

    Raises:
        sqlite3.Error: the table cannot be read.
    """
    if manifest.listed is not None:  # before format 3
        return dict(manifest.listed)
    if manifest.folder is None:
        return {}
    connection = sqlite3.connect(f"file:{manifest.folder / DOCUMENTS_DB}?mode=ro", uri=True)
    try:
        if manifest.delta and manifest.delta.get("dead"):  # rows a delta retired are not held
            return dict(connection.execute(
                "SELECT id, hash FROM documents WHERE row NOT IN (SELECT row FROM dead) ORDER BY row"))
        return dict(connection.execute("SELECT id, hash FROM documents ORDER BY row"))
    finally:
        connection.close()


def by_id(folder: Path, ids: Sequence[str]) -> dict[str, Document]:
    """The documents with these ids that the index in `folder` holds (only their records are read, from
    documents.sqlite or, in an index written before it, documents.jsonl).

    Args:
        folder: the index folder.
        ids: the documents' ids.

    Raises:
        OSError, ValueError, TypeError, sqlite3.Error: the files cannot be read.
    """
    wanted, found = list(dict.fromkeys(ids)), {}
    table = Path(folder) / DOCUMENTS_DB
    if not table.is_file():  # before documents.sqlite
        asked = set(wanted)
        with (Path(folder) / DOCUMENTS).open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                if record.get("id") in asked:
                    found[record["id"]] = Document.from_record(record)
        return found
    connection = sqlite3.connect(f"file:{table}?mode=ro", uri=True)
    try:
        for start in range(0, len(wanted), _PARAMETERS):
            chunk = wanted[start:start + _PARAMETERS]
            for (record,) in connection.execute(
                    f"SELECT record FROM documents WHERE id IN ({','.join('?' * len(chunk))})", chunk):
                doc = Document.from_record(json.loads(record))
                found[doc.id] = doc
    finally:
        connection.close()
    return found


def read_documents(folder: Path) -> tuple[Sequence[Document], np.ndarray | None, tuple | None]:
    """The documents of an index folder, with the filter arrays when it has them (memory-mapped).

    Args:
        folder: the index folder.

    Returns:
        The documents (a `DocumentTable`; a list parsed from documents.jsonl before documents.sqlite), the date
        spans and the (collection names, codes), both None before documents.sqlite.
    """
    import numpy as np

    folder = Path(folder)
    if not (folder / DOCUMENTS_DB).is_file():  # before documents.sqlite: one JSON line per document
        with (folder / DOCUMENTS).open(encoding="utf-8") as fh:
            return [Document.from_record(json.loads(line)) for line in fh if line.strip()], None, None
    documents = DocumentTable(folder / DOCUMENTS_DB)
    spans = np.load(folder / DATE_SPANS, allow_pickle=False, mmap_mode="r")
    return documents, spans, (documents.collections(), np.load(folder / COLLECTIONS, allow_pickle=False,
                                                               mmap_mode="r"))


def current(manifest: Manifest, documents: Sequence[Document]) -> bool:
    """Whether a loaded index's documents are a documents.sqlite of the current format (with the content
    hashes): one a delta can patch. False for an older format, or an index built in memory.

    Args:
        manifest: the index's.
        documents: its documents.
    """
    return isinstance(documents, DocumentTable) and manifest.listed is None


def listing_problem(manifest: Manifest, documents: Sequence[Document]) -> str | None:
    """What disagrees between the document list of a manifest before format 3 and the documents, or None (also
    for a current manifest, whose hashes live beside the documents: nothing to agree).

    Args:
        manifest: the index's.
        documents: its documents.
    """
    if manifest.listed is None:
        return None
    if isinstance(documents, DocumentTable):  # ids of the first and last row: reading every row is what it avoids
        ids = list(manifest.listed)
        if documents.ends() != ((ids[0], ids[-1]) if ids else None):
            return f"{DOCUMENTS_DB} does not list the manifest's documents"
    elif [d.id for d in documents] != list(manifest.listed):
        return f"{DOCUMENTS} does not list the manifest's documents"
    return None
