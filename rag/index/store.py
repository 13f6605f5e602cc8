"""The built index: documents, their unit vectors and an ANN index over them, the vectors of their summaries'
sentences and a BM25 keyword index, saved as one folder.

Folder layout (nothing in it is ever unpickled)::

    manifest.json          see `rag.index.manifest.Manifest`: model, weights fingerprint, dimension, FAISS index
                           type, corpus folder and fingerprint, document count, sentence splitter, BM25
                           parameters, versions, time built
    documents.sqlite       one row per document (id, content hash, JSON record), in vector row order, read on
                           demand (`DocumentTable`); an index written before it holds documents.jsonl instead, and
                           one written before manifest format 3 lists the hashes in manifest.json
    date_spans.npy         int64 (n, 2): the first and last day (ordinals) each document's date may mean
    collections.npy        int32 (n,): each document's collection, as a position in the table `collections`
                           of documents.sqlite
    vectors.npy            float32 (n, dimension), unit rows; kept so incremental rebuilds reuse embeddings
    index.faiss            the FAISS index over those rows (row number = FAISS id), see `rag.index.ann`
    sentences.npy          float32 (total sentences, dimension), unit rows: every summary's sentences in row order
    sentence_offsets.npy   int64 (n + 1): row r's sentence vectors are sentences[offsets[r]:offsets[r + 1]]
    bm25/                  the BM25 index (`bm25s` files: score matrix, vocabulary, parameters; and its average
                           document length), see `rag.index.keyword`
    delta/                 only in an index with a delta segment (manifest "delta"): documents changed or added
                           since the files above were built, as rows after theirs. Its vectors.npy,
                           sentences.npy, sentence_offsets.npy and bm25/ (`KeywordDelta`) hold those rows; the
                           base rows they retire are listed in documents.sqlite's `dead` table. documents.sqlite,
                           date_spans.npy and collections.npy cover every row. The base files are hard-linked
                           from the version before, so one edited summary rewrites megabytes, not gigabytes
                           (`rag.index.segments`).

Loading parses no per-document JSON: documents are fetched by row for the hits shown, the content hashes only
by a rebuild or a staleness check that needs them, and the filters read the two arrays. Vectors, index.faiss,
sentence files and bm25/ are memory-mapped.
An index written before the sentence files and BM25 existed (manifest format 1) still loads, without them;
one written before documents.sqlite loads from its documents.jsonl. Saving is crash safe: the folder is
published as a new version behind a symlink (`rag.index.versions`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.document import Document
from rag.documents.sentences import SPLITTER
from rag.documents.sentences import sentences as split_sentences
from rag.errors import IndexUnavailable
from rag.index import ann
from rag.index.ann import DEFAULT_INDEX_TYPE
from rag.index.keyword import KeywordDelta, KeywordIndex, SegmentedKeywordIndex, base_index
from rag.index.manifest import (
    DOCUMENTS,
    DOCUMENTS_DB,
    FORMAT,
    MANIFEST,
    METRIC,
    Manifest,
    corpus_fingerprint,
    label,
    rebuild_command,
    removed_titles,
    staleness,
)
from rag.index.versions import fsync_path, link_or_copy, publish

if TYPE_CHECKING:
    import numpy as np

    from rag.documents.corpus import Corpus

VECTORS = "vectors.npy"
FAISS_INDEX = "index.faiss"
SENTENCES = "sentences.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
BM25 = "bm25"
DATE_SPANS = "date_spans.npy"
COLLECTIONS = "collections.npy"
DELTA = "delta"
#: A row restriction of at most this many rows on an approximate index (HNSW, IVF) is scanned exactly over
#: the stored vectors (as Qdrant's full_scan_threshold): exact, and cheaper than an approximate search widened
#: to see through the hidden rows. Gathering and scoring memory-mapped 384-dimensional rows took 16 ms for 5k,
#: 27 ms for 20k, 59 ms for 50k (2 shared cores); 30k lets a 1-year window of a million documents
#: (about 1/47 of them) take this path. A FAISS Flat search with an ID selector was no faster (23 ms at 20k).
EXACT_SCAN_ROWS = 30_000
#: An unlimited search on an approximate index returns at most this many rows (an HNSW or IVF search sees only
#: its efSearch candidates or probed lists, so it has no honest range search); the default fusion depth is 200.
ANN_ROWS = 1_000

__all__ = ["BM25", "COLLECTIONS", "DATE_SPANS", "DEFAULT_INDEX_TYPE", "DOCUMENTS", "DOCUMENTS_DB", "FAISS_INDEX",
           "MANIFEST", "SENTENCES", "SENTENCE_OFFSETS",
           "VECTORS", "Delta", "Index", "IndexUnavailable", "SentenceVectors"]


class DocumentTable(Sequence[Document]):
    """The documents of a saved index, in row order, read from `documents.sqlite` on demand: loading costs
    nothing per document, and a hit's document is one indexed lookup. One read-only connection per thread."""

    def __init__(self, path: Path):
        self.path = self._path = Path(path)
        self._local = threading.local()
        self._size = int(self._query("SELECT count(*) FROM documents").fetchone()[0])

    def _query(self, sql: str, *args) -> sqlite3.Cursor:
        connection = getattr(self._local, "connection", None)
        if connection is None:  # immutable: a published version is never written again, so no locking
            connection = self._local.connection = sqlite3.connect(
                f"file:{self._path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
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
        """The collection names that `collections.npy` codes point into."""
        return [name for (name,) in self._query("SELECT name FROM collections ORDER BY code")]

    @staticmethod
    def write(path: Path, documents: Sequence[Document]) -> tuple[list[str], np.ndarray]:
        """Write the table (each row's id, content hash and record) and the collection names; return the names
        and each row's collection code."""
        import numpy as np

        names = list(dict.fromkeys(d.collection for d in documents))
        code = {name: n for n, name in enumerate(names)}
        connection = sqlite3.connect(path)
        try:
            connection.execute("CREATE TABLE documents (row INTEGER PRIMARY KEY, id TEXT NOT NULL, hash TEXT NOT NULL, "
                               "record TEXT)")
            connection.execute("CREATE TABLE collections (code INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            connection.execute("CREATE TABLE dead (row INTEGER PRIMARY KEY)")
            _insert(connection, 0, documents)
            connection.executemany("INSERT INTO collections VALUES (?, ?)", enumerate(names))
            connection.commit()
        finally:
            connection.close()
        return names, np.fromiter((code[d.collection] for d in documents), dtype=np.int32, count=len(documents))

    @staticmethod
    def patch(source: Path, path: Path, base: int, added: Sequence[Document], dead: np.ndarray,
              names: Sequence[str]) -> None:
        """Write at `path` the table at `source` with its rows from `base` on replaced by `added` and `dead`
        (base rows) as its retired rows, and the collection `names` (the source's, then new ones): a copy and a
        few statements, not a million records written again."""
        import shutil

        shutil.copyfile(source, path)
        connection = sqlite3.connect(path)
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS dead (row INTEGER PRIMARY KEY)")
            connection.execute("DELETE FROM documents WHERE row >= ?", (base,))
            connection.execute("DELETE FROM dead")
            connection.executemany("INSERT INTO dead VALUES (?)", ((int(r),) for r in dead))
            _insert(connection, base, added)
            known = connection.execute("SELECT count(*) FROM collections").fetchone()[0]
            connection.executemany("INSERT INTO collections VALUES (?, ?)",
                                   enumerate(names[known:], start=known))
            connection.commit()
        finally:
            connection.close()

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


def _insert(connection: sqlite3.Connection, start: int, documents: Sequence[Document]) -> None:
    connection.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)", (
        (row, d.id, d.content_hash, json.dumps(d.to_record(), ensure_ascii=False))
        for row, d in enumerate(documents, start=start)))


class JoinedDocuments(Sequence[Document]):
    """A saved table's first `base` rows followed by `added` documents: a delta index before it is saved."""

    def __init__(self, table: DocumentTable, base: int, added: Sequence[Document]):
        self.table, self.base, self.added = table, base, list(added)

    def __len__(self) -> int:
        return self.base + len(self.added)

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        row = int(row) + (len(self) if int(row) < 0 else 0)
        return self.table[row] if row < self.base else self.added[row - self.base]


def date_spans(documents: Sequence[Document]) -> np.ndarray:
    """(n, 2) int64: the first and last day (proleptic ordinals) each document's date may mean."""
    import numpy as np

    from rag.documents.dates import bounds

    spans = np.empty((len(documents), 2), dtype=np.int64)
    for row, doc in enumerate(documents):
        start, end = bounds(doc.date)
        spans[row] = start.toordinal(), end.toordinal()
    return spans


class _Swapped(Exception):
    """The index path was pointed at a new version while it was being read."""


@dataclass(frozen=True)
class SentenceVectors:
    """Unit vectors of every document's summary sentences (split by `splitter`), concatenated in row order:
    row r's are `vectors[offsets[r]:offsets[r + 1]]`."""

    vectors: np.ndarray
    offsets: np.ndarray
    splitter: str = SPLITTER

    @classmethod
    def embed(cls, documents: Sequence[Document], encoder, **options) -> SentenceVectors:
        """Split each document's summary with `rag.documents.sentences` and embed all the sentences in one
        call of `encoder.encode(texts, **options)`."""
        parts = [split_sentences(doc.summary) for doc in documents]
        return cls.assemble([len(p) for p in parts], _encode([s for p in parts for s in p], encoder, options))

    @classmethod
    def assemble(cls, counts: Sequence[int], vectors: np.ndarray) -> SentenceVectors:
        """From each row's sentence count and all the vectors in row order."""
        import numpy as np

        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(np.ascontiguousarray(vectors, dtype=np.float32), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of(self, row: int) -> np.ndarray:
        """Row's sentence vectors, (sentences, dimension); a view (of the memory map, when loaded)."""
        return self.vectors[int(self.offsets[row]):int(self.offsets[row + 1])]


@dataclass(frozen=True)
class Delta:
    """The delta segment of an index: rows after the base's, for documents changed or added since the base
    was built, searched exactly beside the base's FAISS index; `dead` are the base rows they retire (sorted
    int64), which no search returns. Its BM25 rows are in the index's `SegmentedKeywordIndex`."""

    vectors: np.ndarray
    sentences: SentenceVectors | None
    dead: np.ndarray

    def __len__(self) -> int:
        return len(self.vectors)


def _encode(texts: list[str], encoder, options: dict) -> np.ndarray:
    import numpy as np

    if texts:
        return encoder.encode(texts, **options)
    return np.zeros((0, 0), dtype=np.float32)


@dataclass
class Index:
    """Documents and their unit vectors, searchable by inner product (= cosine). Build one with
    `Index.build` (in memory) or read one with `Index.load`."""

    documents: Sequence[Document]  # a list, or a `DocumentTable` read on demand when loaded
    vectors: np.ndarray
    manifest: Manifest = field(default_factory=Manifest)
    path: Path | None = None
    ann: object | None = None  # the FAISS index, opaque outside rag.index.ann
    sentences: SentenceVectors | None = None  # None for an index written before they were stored
    keyword: KeywordIndex | None = None  # the saved BM25 index; None for one written before it was stored
    spans: np.ndarray | None = None  # date_spans.npy when loaded; see `date_spans`
    collection_codes: tuple[list[str], np.ndarray] | None = None  # names and each row's code, when loaded
    delta: Delta | None = None  # rows after the base's (`vectors`, `ann`, `sentences` cover the base alone)

    def __post_init__(self) -> None:
        rows, base = len(self.documents), len(self.vectors)
        if rows != base + (len(self.delta) if self.delta is not None else 0):
            raise IndexUnavailable(f"index holds {rows} documents but {base} vectors"
                                   + (f" and {len(self.delta)} in its delta" if self.delta is not None else ""))
        if self.sentences is not None and len(self.sentences) != base:
            raise IndexUnavailable(f"index holds {base} documents but sentence vectors of {len(self.sentences)}")
        if self.keyword is not None and self.keyword.size != rows:
            raise IndexUnavailable(f"index holds {rows} documents but a BM25 index of {self.keyword.size}")
        if self.ann is None:
            self.ann = ann.build(self.vectors, self.manifest.index_type)
        self._live = None

    @classmethod
    def build(cls, documents: Sequence[Document], vectors: np.ndarray, manifest: Manifest | None = None, *,
              model: str | None = None, index_type: str | None = None, sentences: SentenceVectors | None = None,
              keyword: KeywordIndex | None = None, ann: object | None = None) -> Index:
        """An index over `documents` and their unit `vectors` (same order), with their summaries' `sentences`
        vectors and BM25 `keyword` index when given, its manifest's structure (dimension, document hashes,
        corpus fingerprint, sentence splitter, BM25 parameters) filled in. `model` and `index_type`, when
        given, override the manifest's; `ann`, a FAISS index already over `vectors`, is kept rather than built
        again. Raises RuntimeError when FAISS cannot build `index_type`."""
        import numpy as np

        manifest = manifest or Manifest()
        overrides = {k: v for k, v in (("model", model), ("index_type", index_type)) if v is not None}
        documents = list(documents)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if sentences is not None and sentences.vectors.shape[1:] != vectors.shape[1:] and len(sentences.vectors):
            raise IndexUnavailable(f"sentence vectors are {sentences.vectors.shape[1]}-dimensional, "
                                   f"document vectors {vectors.shape[1]}-dimensional")
        if sentences is not None and not len(sentences.vectors):  # no sentence at all: keep the shape right
            sentences = replace(sentences, vectors=np.zeros((0, vectors.shape[1]), dtype=np.float32))
        structure = _structure(documents, vectors, sentences, keyword)
        return cls(documents, vectors, replace(manifest, **overrides, **structure), sentences=sentences,
                   keyword=keyword, ann=ann)

    def __len__(self) -> int:
        """Rows, retired ones included: the length of every per-row array (masks, date spans)."""
        return len(self.documents)

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def base_rows(self) -> int:
        """Rows of the base segment (`vectors`, `ann`, `sentences`); the delta's follow."""
        return len(self.vectors)

    def live(self) -> np.ndarray | None:
        """Boolean mask of the rows in the corpus (False where a delta retired a base row); None when every
        row is."""
        if self.delta is None or not len(self.delta.dead):
            return None
        if self._live is None:
            import numpy as np

            self._live = np.ones(len(self), dtype=bool)
            self._live[self.delta.dead] = False
        return self._live

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The unit vectors of `rows` (int64 row numbers, base or delta), (len(rows), dimension)."""
        import numpy as np

        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        in_base = rows < self.base_rows
        out[in_base] = self.vectors[rows[in_base]]
        if not in_base.all():
            out[~in_base] = self.delta.vectors[rows[~in_base] - self.base_rows]
        return out

    def date_spans(self) -> np.ndarray:
        """(n, 2) int64: the first and last day (ordinals) each row's date may mean; read from the index
        folder when it has them, else computed from the documents."""
        if self.spans is None:
            self.spans = date_spans(self.documents)
        return self.spans

    def collections(self) -> tuple[list[str], np.ndarray]:
        """The collection names and each row's position among them (int32), without reading the documents
        when the index folder has them."""
        if self.collection_codes is None:
            import numpy as np

            names = list(dict.fromkeys(d.collection for d in self.documents))
            code = {name: n for n, name in enumerate(names)}
            self.collection_codes = names, np.array([code[d.collection] for d in self.documents], dtype=np.int32)
        return self.collection_codes

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The unit vectors of row's summary sentences (`rag.documents.sentences` order), (sentences,
        dimension); empty when the summary has none or the index holds no sentence vectors."""
        if row >= self.base_rows and self.delta.sentences is not None:
            return self.delta.sentences.of(row - self.base_rows)
        if self.sentences is None or row >= self.base_rows:
            import numpy as np

            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.sentences.of(row)

    def sentence_segments(self) -> list[SentenceVectors]:
        """The stored sentence vectors of the base and then the delta rows (empty when the index has none)."""
        if self.sentences is None:
            return []
        return [self.sentences] + ([self.delta.sentences] if self.delta is not None else [])

    def search(self, vector: np.ndarray, *, min_similarity: float, rows: np.ndarray | None = None,
               k: int | None = None, depth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose cosine to a unit `vector` exceeds `min_similarity`, best first, as (rows, scores).

        `rows` (row numbers or a boolean mask over rows) restricts the search *before* `k` truncates it,
        so a filter never starves the result. With `depth`, only the first `depth` rows are in order and the
        rest follow unordered (fusion reads only its depth; a full sort of every match is wasted).

        Exact (Flat) index: a FAISS range search, restricted by an ID selector. Approximate index (HNSW, IVF):
        a restriction to at most EXACT_SCAN_ROWS rows is scanned exactly over their vectors, so a date filter
        never loses a row brute force would return; otherwise the best max(k, depth) (or ANN_ROWS) rows by a FAISS
        search widened by the share the restriction hides (`ann.nearest`), cut at the threshold.
        """
        import numpy as np

        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if rows is not None:
            rows = np.asarray(rows)
            rows = np.flatnonzero(rows) if rows.dtype == bool else np.sort(rows.astype(np.int64))
            if len(rows) == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        found, scores = self._search_base(query, min_similarity, rows, max(k or 0, depth or 0) or ANN_ROWS)
        if self.delta is not None and len(self.delta):  # a few rows: scanned exactly
            ahead = None if rows is None else rows[rows >= self.base_rows] - self.base_rows
            more = np.asarray(self.delta.vectors if ahead is None else self.delta.vectors[ahead]) @ query
            keep = more > min_similarity
            extra = (np.flatnonzero(keep) if ahead is None else ahead[keep]) + self.base_rows
            found, scores = np.concatenate([found, extra]), np.concatenate([scores, more[keep]])
        order = best_first(scores, k if k is not None else depth)
        if k is None and depth is not None and len(order) < len(found):  # the unordered rest after the depth
            rest = np.ones(len(found), dtype=bool)
            rest[order] = False
            order = np.concatenate([order, np.flatnonzero(rest)])
        return found[order][:k], scores[order][:k]

    def _search_base(self, query: np.ndarray, min_similarity: float, rows: np.ndarray | None,
                     want: int) -> tuple[np.ndarray, np.ndarray]:
        """The base segment's rows (within `rows`, sorted, when given) above `min_similarity`, unordered; a
        retired row never. `want` bounds an approximate search (the rows beyond it are not looked for)."""
        import numpy as np

        live = self.live()
        if rows is not None:
            rows = rows[rows < self.base_rows]
            if live is not None:
                rows = rows[live[rows]]
            if len(rows) == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if ann.is_exact(self.ann):
            found, scores = ann.range_search(self.ann, query, min_similarity, rows)
        elif rows is not None and len(rows) <= EXACT_SCAN_ROWS:
            scores = np.asarray(self.vectors[rows]) @ query
            keep = scores > min_similarity  # as FAISS's range search: strictly above the radius
            return rows[keep], scores[keep]
        else:  # unrestricted: as many more as could be retired, dropped below (cheaper than an ID selector)
            retired = len(self.delta.dead) if rows is None and live is not None else 0
            found, scores = ann.nearest(self.ann, query, want + retired, rows)
            keep = scores > min_similarity
            found, scores = found[keep], scores[keep]
        if rows is None and live is not None:
            keep = live[found]
            found, scores = found[keep], scores[keep]
        return found, scores

    def search_files(self) -> list[Path]:
        """The files of a loaded index that questions read (FAISS, vectors, BM25, filters; not the sentence
        vectors, read only for the hits shown), for warming the page cache; empty when built in memory."""
        folder = self.manifest.folder
        if folder is None:
            return []
        return [folder / name for name in (FAISS_INDEX, VECTORS, BM25, DATE_SPANS, COLLECTIONS)
                if (folder / name).exists()]

    def staleness(self, corpus: Corpus | Sequence[Document], model: str, *, bm25: dict | None = None,
                  model_cache: Path | None = None) -> list[str]:
        """Why this index no longer matches the corpus (a `Corpus` or its documents) and the model (and,
        given `bm25` parameters, lacks up-to-date sentence vectors or BM25 index), in words for a user;
        empty when it is fresh. A loaded index reads its documents' hashes, and removed ones' titles, only
        when the corpus fingerprint differs. `model_cache`: where a split pip model is unpacked."""
        documents = corpus if isinstance(corpus, Sequence) else corpus.documents
        held = None
        if self.manifest.folder is None and self.manifest.listed is None:  # built in memory: its own documents
            held = {d.id: d.content_hash for d in self.documents}
        return staleness(self.manifest, documents, model, titles=self._titles, bm25=bm25, held=held,
                         model_cache=model_cache)

    def _titles(self, ids: list[str]) -> dict[str, str]:
        """Labels of the documents with these ids, for naming removed ones."""
        if self.manifest.folder is not None:
            return removed_titles(self.manifest.folder, ids)
        wanted = set(ids)
        return {d.id: label(d) for d in self.documents if d.id in wanted}

    @classmethod
    def load(cls, path: Path) -> Index:
        """Read an index folder written by `python -m embeddings.rebuild`, checking that its parts agree."""
        path = Path(path)
        if not (path / MANIFEST).is_file():
            raise IndexUnavailable(f"no index at {path}: build it with `{rebuild_command(path)}`")
        try:
            return cls._read(path.resolve(), path)
        except _Swapped:  # a writer replaced the version while we read it: read the new one
            return cls._read(path.resolve(), path)

    @classmethod
    def _read(cls, folder: Path, path: Path) -> Index:
        import numpy as np

        try:
            manifest = Manifest.from_json(json.loads((folder / MANIFEST).read_text(encoding="utf-8")), folder)
            spans = codes = None
            if (folder / DOCUMENTS_DB).is_file():
                documents = DocumentTable(folder / DOCUMENTS_DB)
                spans = np.load(folder / DATE_SPANS, allow_pickle=False, mmap_mode="r")
                codes = documents.collections(), np.load(folder / COLLECTIONS, allow_pickle=False, mmap_mode="r")
            else:  # written before documents.sqlite: one JSON line per document, parsed here
                with (folder / DOCUMENTS).open(encoding="utf-8") as fh:
                    documents = [Document.from_record(json.loads(line)) for line in fh if line.strip()]
            vectors = np.load(folder / VECTORS, allow_pickle=False, mmap_mode="r")
            searchable = ann.read(folder / FAISS_INDEX)
            problem = _inconsistency(manifest, documents, vectors, searchable) or _table_inconsistency(
                len(documents), spans, codes)
            sentences = keyword = delta = None
            base = len(vectors)
            if not problem and manifest.sentences is not None:  # memory-mapped: read as hits need them
                sentences = _read_sentences(folder, manifest.sentences.get("splitter", ""))
                problem = _sentence_inconsistency(sentences, base, manifest.sentences.get("count"),
                                                  manifest.dimension)
            if not problem and manifest.delta is not None:
                delta = _read_delta(folder / DELTA, manifest, documents.dead(), sentences is not None)
                problem = _delta_inconsistency(delta, manifest, base)
            if not problem and manifest.bm25 is not None:
                keyword = KeywordIndex.load(folder / BM25, manifest.bm25, base)
                if delta is not None:
                    keyword = SegmentedKeywordIndex(keyword, KeywordDelta.load(folder / DELTA / BM25), delta.dead)
        except FileNotFoundError as exc:
            if path.resolve() != folder:
                raise _Swapped from None
            problem = f"missing {Path(exc.filename or '?').name}"
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if problem:
            raise IndexUnavailable(f"index at {path} is unreadable ({problem}); rebuild it with "
                                   f"`{rebuild_command(path, full=True)}`")
        return cls(documents, vectors, manifest, path, searchable, sentences, keyword, spans, codes, delta)

    def save(self, path: Path, *, before_swap: Callable[[], None] | None = None,
             reuse: Mapping[str, Path] | None = None) -> Path:
        """Write atomically to `path` and return the version folder written. The manifest's structural
        fields are refreshed here so they always describe the files. Concurrent writers must hold
        `writer_lock(path)`. `before_swap` runs when the new version is complete but not yet visible.
        `reuse` names files (or bm25/) of the previous version that hold exactly what this one would write:
        they are hard-linked (`versions.link_or_copy`), not written again."""
        # The corpus fingerprint `build` (or a delta rebuild) computed stands while the row count does.
        kept = self.manifest.corpus_fingerprint if self.manifest.count == len(self.documents) else None
        self.manifest = replace(self.manifest, **_structure(self.documents, self.vectors, self.sentences,
                                                            self.keyword, self.delta, kept))
        reuse = dict(reuse or {})

        def write_files(folder: Path) -> None:
            for name, source in reuse.items():
                link_or_copy(source, folder / name)
            self._write_files(folder, skip=set(reuse))

        version = publish(Path(path), write_files, before_swap=before_swap)
        self.path = Path(path)
        self.manifest = replace(self.manifest, folder=Path(version).resolve())  # where its hashes now live
        return version

    def _write_files(self, folder: Path, skip: set[str] = frozenset()) -> None:
        import numpy as np

        def write(name: str, fill: Callable) -> None:
            if name not in skip:
                _write_synced(folder / name, fill)

        if DOCUMENTS_DB not in skip:
            if isinstance(self.documents, JoinedDocuments):  # a delta over a saved table: patch a copy
                joined = self.documents
                names, codes = self.collections()  # the base's names and codes, then the delta's
                DocumentTable.patch(joined.table.path, folder / DOCUMENTS_DB, joined.base, joined.added,
                                    self.delta.dead, names)
            else:
                names, codes = DocumentTable.write(folder / DOCUMENTS_DB, self.documents)
            fsync_path(folder / DOCUMENTS_DB)
        write(DATE_SPANS, lambda fh: np.save(fh, self.date_spans(), allow_pickle=False))
        write(COLLECTIONS, lambda fh: np.save(fh, codes, allow_pickle=False))  # skipped with DOCUMENTS_DB
        write(VECTORS, lambda fh: np.save(fh, np.ascontiguousarray(self.vectors, dtype=np.float32),
                                          allow_pickle=False))
        write(FAISS_INDEX, lambda fh: fh.write(ann.serialize(self.ann)))
        if self.sentences is not None:
            write(SENTENCES, lambda fh: np.save(fh, np.ascontiguousarray(self.sentences.vectors, dtype=np.float32),
                                                allow_pickle=False))
            write(SENTENCE_OFFSETS, lambda fh: np.save(fh, np.asarray(self.sentences.offsets, dtype=np.int64),
                                                       allow_pickle=False))
        base_keyword = base_index(self.keyword)
        if base_keyword is not None and BM25 not in skip:
            base_keyword.save(folder / BM25)
            fsync_path(folder)
        if self.delta is not None:
            self._write_delta(folder / DELTA)
            fsync_path(folder)
        write(MANIFEST, lambda fh: fh.write(
            json.dumps(self.manifest.to_json(), ensure_ascii=False, indent=1).encode()))

    def _write_delta(self, folder: Path) -> None:
        import numpy as np

        folder.mkdir()
        delta = self.delta
        files = [(VECTORS, delta.vectors)]
        if delta.sentences is not None:
            files += [(SENTENCES, delta.sentences.vectors), (SENTENCE_OFFSETS, delta.sentences.offsets)]
        for name, array in files:
            _write_synced(folder / name, lambda fh, array=array: np.save(fh, np.ascontiguousarray(array),
                                                                         allow_pickle=False))
        self.keyword.delta.save(folder / BM25)
        fsync_path(folder)


def _write_synced(path: Path, fill: Callable) -> None:
    """Write a file through `fill(fh)` and fsync it: part of a crash-safe index save."""
    with path.open("wb") as fh:
        fill(fh)
        fh.flush()
        os.fsync(fh.fileno())


def best_first(scores: np.ndarray, k: int | None) -> np.ndarray:
    """Positions of the k highest scores, best first (ties: earlier position first), without a full sort
    when k is smaller than the number of scores."""
    import numpy as np

    if k is None or k >= len(scores):
        return np.argsort(-scores, kind="stable")
    cut = -np.partition(-scores, k - 1)[k - 1]  # the k-th best score
    top = np.flatnonzero(scores >= cut)  # every position tied at the cut, in order, then the stable sort
    return top[np.argsort(-scores[top], kind="stable")][:k]


def _structure(documents: Sequence[Document], vectors: np.ndarray, sentences: SentenceVectors | None,
               keyword: KeywordIndex | SegmentedKeywordIndex | None, delta: Delta | None = None,
               fingerprint: str | None = None) -> dict:
    """The manifest fields that describe the files rather than how they were made; `fingerprint`, the
    corpus's when the caller has it (over a million documents it costs seconds), else computed here."""
    return {"format": FORMAT, "dimension": int(vectors.shape[1]), "metric": METRIC, "normalized": "L2",
            "corpus_fingerprint": fingerprint or corpus_fingerprint(documents), "count": len(documents),
            "listed": None, "folder": None,
            "sentences": None if sentences is None else {
                "splitter": sentences.splitter, "count": int(len(sentences.vectors)), "dtype": "float32"},
            "bm25": None if keyword is None else dict(keyword.params),
            "delta": None if delta is None else {
                "rows": len(delta), "dead": len(delta.dead),
                "sentences": None if delta.sentences is None else int(len(delta.sentences.vectors))}}


def _inconsistency(manifest: Manifest, documents: Sequence[Document], vectors: np.ndarray, searchable) -> str | None:
    """What disagrees between the parts of an index folder, or None."""
    ahead = int(manifest.delta.get("rows", 0)) if manifest.delta else 0  # rows of the delta, after the base's
    counts = {"manifest": manifest.count - ahead, "documents": len(documents) - ahead, "vectors.npy": len(vectors),
              "index.faiss": ann.size(searchable)}
    if len(set(counts.values())) > 1:
        return "counts differ: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    if vectors.ndim != 2 or vectors.shape[1] != manifest.dimension or ann.dimension(searchable) != manifest.dimension:
        return f"vectors are not of the manifest's dimension {manifest.dimension}"
    if manifest.listed is None:  # the hashes live beside the documents in documents.sqlite: nothing to agree
        return None
    if isinstance(documents, DocumentTable):  # ids of the first and last row: reading every row is what it avoids
        ids = list(manifest.listed)
        if documents.ends() != ((ids[0], ids[-1]) if ids else None):
            return f"{DOCUMENTS_DB} does not list the manifest's documents"
    elif [d.id for d in documents] != list(manifest.listed):
        return "documents.jsonl does not list the manifest's documents"
    return None




def _table_inconsistency(count: int, spans: np.ndarray | None, codes: tuple | None) -> str | None:
    """What disagrees between the document table and the filter arrays, or None."""
    if spans is not None and spans.shape != (count, 2):
        return f"{DATE_SPANS} is not ({count}, 2)"
    if codes is not None and (codes[1].shape != (count,) or (count and int(codes[1].max()) >= len(codes[0]))):
        return f"{COLLECTIONS} does not give each of the {count} documents a known collection"
    return None


def _read_sentences(folder: Path, splitter: str) -> SentenceVectors:
    import numpy as np

    return SentenceVectors(np.load(folder / SENTENCES, allow_pickle=False, mmap_mode="r"),
                           np.load(folder / SENTENCE_OFFSETS, allow_pickle=False, mmap_mode="r"), splitter)


def _read_delta(folder: Path, manifest: Manifest, dead: np.ndarray, with_sentences: bool) -> Delta:
    """The delta segment's files (small: read into memory) and the base rows it retires."""
    import numpy as np

    vectors = np.load(folder / VECTORS, allow_pickle=False)
    sentences = _read_sentences(folder, manifest.sentences.get("splitter", "")) if with_sentences else None
    return Delta(vectors, sentences, dead)


def _delta_inconsistency(delta: Delta, manifest: Manifest, base: int) -> str | None:
    """What disagrees between the manifest and the delta segment's files, or None."""
    facts = manifest.delta
    if len(delta) != facts.get("rows") or delta.vectors.ndim != 2 or delta.vectors.shape[1] != manifest.dimension:
        return f"{DELTA}/{VECTORS} is not ({facts.get('rows')}, {manifest.dimension}) as the manifest says"
    if len(delta.dead) != facts.get("dead") or (len(delta.dead) and int(delta.dead[-1]) >= base):
        return f"{DOCUMENTS_DB} does not retire the manifest's {facts.get('dead')} base rows"
    if delta.sentences is not None:
        return _sentence_inconsistency(delta.sentences, len(delta), facts.get("sentences"), manifest.dimension,
                                       f"{DELTA}/")
    return None


def _sentence_inconsistency(sentences: SentenceVectors, rows: int, total: int | None, dimension: int,
                            where: str = "") -> str | None:
    """What disagrees between the manifest (`rows` documents, `total` sentences) and the sentence files."""
    import numpy as np

    offsets, vectors = sentences.offsets, sentences.vectors
    if offsets.ndim != 1 or len(offsets) != rows + 1:
        return f"{where}{SENTENCE_OFFSETS} holds {len(offsets)} offsets, not {rows + 1}"
    if vectors.ndim != 2 or vectors.shape[1] != dimension or len(vectors) != total:
        return f"{where}{SENTENCES} is not ({total}, {dimension}) as the manifest says"
    if offsets[0] != 0 or offsets[-1] != total or (np.diff(offsets) < 0).any():
        return f"{where}{SENTENCE_OFFSETS} does not divide the {total} sentence vectors among the documents"
    return None
