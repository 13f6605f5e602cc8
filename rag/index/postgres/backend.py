"""`PostgresIndex`: the `rag.index.backend.Backend` over a PostgreSQL + pgvector database that
`rag.index.postgres.rebuild.rebuild_into` wrote. Opening reads the per-row arrays once (the keys in order, which
make the row numbers; the date spans; the collection codes) and the manifest; documents, vectors, sentences and
words are read by query. `fused_search` stays None: the retriever runs the signals and fuses them with the same
code as for an index folder (`rag.search.signals`, `rag.search.fusion`), so the answers are the same by
construction. `changed` says, at most once a second, whether a rebuild has committed since it was opened.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from rag.errors import IndexUnavailable
from rag.index.manifest import Manifest, corpus_fingerprint, label, model_staleness, staleness
from rag.index.postgres import schema
from rag.index.postgres.connection import Database
from rag.index.postgres.documents import DocumentRows
from rag.index.postgres.vectors import PostgresSentences, PostgresVectors
from rag.index.postgres.words import PostgresWords
from rag.index.schema import collection_codes

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from rag.documents.document import Document
    from rag.index.backend import Found
    from rag.settings import Settings

#: How often, at most, `changed` asks the database for its generation.
CHECK_SECONDS = 1.0


def rebuild_hint(url: str) -> str:
    """The command that fills (or refreshes) a database index.

    Args:
        url: the database URL, shown without its password.
    """
    from rag.index.postgres.connection import redact

    return f"coldwar-rag rebuild --backend '{redact(url)}'"


class PostgresIndex:
    """The database's documents, searchable as the retriever searches an index folder. Open with `open`."""

    fused_search = None
    path = None  # not a folder; `location` names it

    def __init__(self, db: Database, manifest: Manifest, keys: np.ndarray, spans: np.ndarray,
                 codes: tuple[list[str], np.ndarray], generation: int, count: int, average: float,
                 settings: Settings):
        """Args:
            db: the database.
            manifest: the one `meta` holds.
            keys: the documents' keys, ascending: row r is keys[r].
            spans: (rows, 2) first and last day per row.
            codes: the collection names and each row's code.
            generation: `meta.generation` when read.
            count, average: the BM25 statistics (`meta.documents`, `meta.average_length`).
            settings: the BM25 parameters of `keyword`.
        """
        self.db, self.manifest, self.keys, self.generation = db, manifest, keys, generation
        self.settings = settings
        self.location = db.shown
        self._spans, self._codes, self._stats = spans, codes, (count, average)
        self.documents: Sequence[Document] = DocumentRows(db, keys)
        self.vectors = PostgresVectors(db, keys, manifest.dimension)
        self.sentences = (None if manifest.sentences is None else
                          PostgresSentences(db, keys, manifest.dimension, manifest.sentences.get("splitter")))
        self.keyword = PostgresWords(db, keys, settings, count, average)
        self._checked, self._changed, self._lock = time.monotonic(), False, threading.Lock()

    @classmethod
    def open(cls, url: str, settings: Settings, *, db: Database | None = None) -> PostgresIndex:
        """Read a database index's arrays and manifest (no document, no vector).

        Args:
            url: `postgresql://...`.
            settings: the BM25 parameters.
            db: connections to it already open (`reopen` shares them).

        Returns:
            The index.

        Raises:
            IndexUnavailable: no index in that database (saying how to fill it), or it cannot be reached.
        """
        import numpy as np

        db = db or Database(url)
        found = schema.version(db)
        if found is None:
            raise IndexUnavailable(f"the database {db.shown} holds no index; fill it with `{rebuild_hint(url)}`")
        if found > schema.VERSION:
            raise IndexUnavailable(f"the database {db.shown} has schema version {found}, newer than this code's "
                                   f"{schema.VERSION}: upgrade coldwar-rag")
        with db.transaction() as tx:  # one snapshot: the rows and the meta row of the same rebuild
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            meta = tx.rows("SELECT manifest, documents, average_length, generation FROM meta")[0]
            rows = tx.rows("SELECT key, first_day, last_day, collection FROM documents ORDER BY key")
        if meta[0] is None:
            raise IndexUnavailable(f"the database {db.shown} holds no index yet; fill it with `{rebuild_hint(url)}`")
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        spans = np.array([(r[1], r[2]) for r in rows], dtype=np.int64).reshape(len(rows), 2)
        codes = collection_codes(r[3] for r in rows)
        return cls(db, Manifest.from_json(meta[0]), keys, spans, codes, int(meta[3]), int(meta[1]), float(meta[2]),
                   settings)

    def __len__(self) -> int:
        """Rows."""
        return len(self.keys)

    @property
    def dimension(self) -> int:
        """Components per vector."""
        return self.manifest.dimension

    def search(self, vector: np.ndarray, *, min_similarity: float, rows: np.ndarray | None = None,
               k: int | None = None, depth: int | None = None) -> Found:
        """As `Backend.search` (`PostgresVectors.search`)."""
        return self.vectors.search(vector, min_similarity=min_similarity, k=k, depth=depth, allowed=rows)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The unit vectors of some rows.

        Args:
            rows: int64 row numbers.
        """
        return self.vectors.vectors_of(rows)

    def date_spans(self) -> np.ndarray:
        """(rows, 2) int64 first and last day of each row's date."""
        return self._spans

    def collections(self) -> tuple[list[str], np.ndarray]:
        """The collection names and each row's code."""
        return self._codes

    def searchable(self, allowed: np.ndarray | None) -> np.ndarray:
        """Rows a search may return, ascending (a database index retires no row: it deletes it).

        Args:
            allowed: a boolean mask over rows; None: every row.
        """
        import numpy as np

        return np.arange(len(self)) if allowed is None else np.flatnonzero(allowed)

    def sentence_vectors(self, row: int) -> np.ndarray:
        """A row's summary sentence vectors (empty without any).

        Args:
            row: the row.
        """
        if self.sentences is None:
            import numpy as np

            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.sentences.of(row)

    def keyword_for(self, settings: Settings) -> PostgresWords:
        """BM25 with `settings`' parameters: the same term statistics, other query parameters (no rebuild).

        Args:
            settings: the `bm25_*` fields.
        """
        return self.keyword.rebuilt((), settings)

    def search_files(self) -> list:
        """No file to warm: the server caches its pages."""
        return []

    def changed(self) -> bool:
        """Whether a rebuild has committed since this was opened; asks the database at most once a
        `CHECK_SECONDS` (a one-row query), so a serving layer may call it before every search.

        Returns:
            True once the generation differs (then for good).
        """
        now = time.monotonic()
        with self._lock:
            if self._changed or now - self._checked < CHECK_SECONDS:
                return self._changed
            self._checked = now
        found = self.db.one("SELECT generation FROM meta")
        with self._lock:
            self._changed = self._changed or found is None or int(found[0]) != self.generation
            return self._changed

    def reopen(self) -> PostgresIndex:
        """The same database opened again: its rows as the last rebuild committed them.

        Returns:
            A new index (this one stays as it was, for the searches still using it).
        """
        return PostgresIndex.open(self.db.url, self.settings, db=self.db)

    def hashes(self) -> dict[str, str]:
        """Each document's content hash by id, in row order."""
        return dict(self.db.rows("SELECT id, content_hash FROM documents ORDER BY key"))

    def staleness(self, documents: Sequence[Document], model: str, *, model_cache=None) -> list[str]:
        """Why this index no longer matches the corpus documents and the model (as an index folder's
        `staleness`; BM25 parameters never make it stale: they are query parameters).

        Args:
            documents: the corpus's documents.
            model: the model asked for.
            model_cache: where a model installed as split pip packages is unpacked.

        Returns:
            The reasons, empty when fresh.
        """
        from rag.documents.sentences import SPLITTER
        from rag.index.keyword import TOKENIZER

        reasons = []
        splitter = (self.manifest.sentences or {}).get("splitter")
        if splitter != SPLITTER:
            reasons.append(f"summary sentences were split by {splitter!r}, now {SPLITTER!r}")
        tokenizer = (self.manifest.bm25 or {}).get("tokenizer")
        if tokenizer != TOKENIZER:
            reasons.append(f"its BM25 terms were made by {tokenizer!r}, now {TOKENIZER!r}")
        if self.manifest.corpus_fingerprint == corpus_fingerprint(documents):
            return model_staleness(self.manifest, model, model_cache) + reasons
        return staleness(self.manifest, documents, model, titles=self._titles, held=self.hashes(),
                         model_cache=model_cache) + reasons

    def _titles(self, ids: list[str]) -> dict[str, str]:
        from rag.documents.document import Document

        found = self.db.rows("SELECT id, date, date_text, title, collection FROM documents WHERE id = ANY(%s)",
                             (list(ids),))
        return {r[0]: label(Document(id=r[0], date=r[1], date_text=r[2], title=r[3], collection=r[4]))
                for r in found}
