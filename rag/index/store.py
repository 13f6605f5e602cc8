"""The built index: documents, their unit vectors and an ANN index over them, saved as one folder.

Folder layout (nothing in it is ever unpickled)::

    manifest.json     see `rag.index.manifest.Manifest`: model, weights fingerprint, dimension, FAISS index
                      type, corpus folder and fingerprint, each document's content hash, versions, time built
    documents.jsonl   one document per line, in vector row order
    vectors.npy       float32 (n, dimension), unit rows; kept so incremental rebuilds reuse embeddings
    index.faiss       the FAISS index over those rows (row number = FAISS id), see `rag.index.ann`

Saving is crash safe: the folder is published as a new version behind a symlink (`rag.index.versions`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.document import Document
from rag.errors import IndexUnavailable
from rag.index import ann
from rag.index.ann import DEFAULT_INDEX_TYPE
from rag.index.manifest import (
    DOCUMENTS,
    FORMAT,
    MANIFEST,
    METRIC,
    Manifest,
    corpus_fingerprint,
    label,
    rebuild_command,
    staleness,
)
from rag.index.versions import publish

if TYPE_CHECKING:
    import numpy as np

    from rag.documents.corpus import Corpus

VECTORS = "vectors.npy"
FAISS_INDEX = "index.faiss"
#: A row restriction of at most this many rows on an approximate index (HNSW, IVF) is scanned exactly over
#: the stored vectors: FAISS's ID selector on HNSW walks the graph through disallowed nodes and misses
#: allowed ones (3 of 11 in tests/index). 20 000 rows x 384 dimensions is a few milliseconds of numpy.
EXACT_SCAN_ROWS = 20_000

__all__ = ["DEFAULT_INDEX_TYPE", "DOCUMENTS", "FAISS_INDEX", "MANIFEST", "VECTORS", "Index", "IndexUnavailable"]


class _Swapped(Exception):
    """The index path was pointed at a new version while it was being read."""


@dataclass
class Index:
    """Documents and their unit vectors, searchable by inner product (= cosine). Build one with
    `Index.build` (in memory) or read one with `Index.load`."""

    documents: list[Document]
    vectors: np.ndarray
    manifest: Manifest = field(default_factory=Manifest)
    path: Path | None = None
    ann: object | None = None  # the FAISS index, opaque outside rag.index.ann

    def __post_init__(self) -> None:
        if len(self.documents) != len(self.vectors):
            raise IndexUnavailable(f"index holds {len(self.documents)} documents but {len(self.vectors)} vectors")
        if self.ann is None:
            self.ann = ann.build(self.vectors, self.manifest.index_type)

    @classmethod
    def build(cls, documents: Sequence[Document], vectors: np.ndarray, manifest: Manifest | None = None, *,
              model: str | None = None, index_type: str | None = None) -> Index:
        """An index over `documents` and their unit `vectors` (same order), its manifest's structure
        (dimension, document hashes, corpus fingerprint) filled in. `model` and `index_type`, when given,
        override the manifest's. Raises RuntimeError when FAISS cannot build `index_type`."""
        import numpy as np

        manifest = manifest or Manifest()
        overrides = {k: v for k, v in (("model", model), ("index_type", index_type)) if v is not None}
        documents = list(documents)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return cls(documents, vectors, replace(manifest, **overrides, **_structure(documents, vectors)))

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def search(self, vector: np.ndarray, *, min_similarity: float, rows: np.ndarray | None = None,
               k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose cosine to a unit `vector` exceeds `min_similarity`, best first, as (rows, scores).

        `rows` (row numbers or a boolean mask over rows) restricts the search *before* `k` truncates it,
        so a filter never starves the result. On an approximate index (HNSW, IVF) a restriction to at most
        EXACT_SCAN_ROWS rows is searched exactly over their vectors, because FAISS's ID selector can miss
        allowed rows there; larger restrictions, and unrestricted searches, are as approximate as the index.
        """
        import numpy as np

        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if rows is not None:
            rows = np.asarray(rows)
            rows = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64)
            if len(rows) == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if rows is not None and len(rows) <= EXACT_SCAN_ROWS and not ann.is_exact(self.ann):
            scores = self.vectors[rows] @ query
            keep = scores > min_similarity  # as FAISS's range search: strictly above the radius
            found, scores = rows[keep], scores[keep]
        else:
            found, scores = ann.range_search(self.ann, query, min_similarity, rows)
        order = np.argsort(-scores, kind="stable")[:k]
        return found[order], scores[order]

    def staleness(self, corpus: Corpus | Sequence[Document], model: str) -> list[str]:
        """Why this index no longer matches the corpus (a `Corpus` or its documents) and the model, in
        words for a user; empty when it is fresh."""
        documents = corpus if isinstance(corpus, Sequence) else corpus.documents
        return staleness(self.manifest, documents, model, titles={d.id: label(d) for d in self.documents})

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
            manifest = Manifest.from_json(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
            with (folder / DOCUMENTS).open(encoding="utf-8") as fh:
                documents = [Document.from_record(json.loads(line)) for line in fh if line.strip()]
            vectors = np.load(folder / VECTORS, allow_pickle=False)
            searchable = ann.read(folder / FAISS_INDEX)
            problem = _inconsistency(manifest, documents, vectors, searchable)
        except FileNotFoundError as exc:
            if path.resolve() != folder:
                raise _Swapped from None
            problem = f"missing {Path(exc.filename or '?').name}"
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if problem:
            raise IndexUnavailable(f"index at {path} is unreadable ({problem}); rebuild it with "
                                   f"`{rebuild_command(path, full=True)}`")
        return cls(documents, vectors, manifest, path, searchable)

    def save(self, path: Path, *, before_swap: Callable[[], None] | None = None) -> Path:
        """Write atomically to `path` and return the version folder written. The manifest's structural
        fields are refreshed here so they always describe the files. Concurrent writers must hold
        `writer_lock(path)`. `before_swap` runs when the new version is complete but not yet visible."""
        self.manifest = replace(self.manifest, **_structure(self.documents, self.vectors))
        version = publish(Path(path), self._write_files, before_swap=before_swap)
        self.path = Path(path)
        return version

    def _write_files(self, folder: Path) -> None:
        import numpy as np

        def write(name: str, fill: Callable) -> None:
            with (folder / name).open("wb") as fh:
                fill(fh)
                fh.flush()
                os.fsync(fh.fileno())

        write(DOCUMENTS, lambda fh: fh.writelines(
            (json.dumps(d.to_record(), ensure_ascii=False) + "\n").encode("utf-8") for d in self.documents))
        write(VECTORS, lambda fh: np.save(fh, np.ascontiguousarray(self.vectors, dtype=np.float32),
                                          allow_pickle=False))
        write(FAISS_INDEX, lambda fh: fh.write(ann.serialize(self.ann)))
        write(MANIFEST, lambda fh: fh.write(
            json.dumps(self.manifest.to_json(), ensure_ascii=False, indent=1).encode()))


def _structure(documents: Sequence[Document], vectors: np.ndarray) -> dict:
    """The manifest fields that describe the files rather than how they were made."""
    return {"format": FORMAT, "dimension": int(vectors.shape[1]), "metric": METRIC, "normalized": "L2",
            "corpus_fingerprint": corpus_fingerprint(documents),
            "documents": {d.id: d.content_hash for d in documents}}


def _inconsistency(manifest: Manifest, documents: list[Document], vectors: np.ndarray, searchable) -> str | None:
    """What disagrees between the parts of an index folder, or None."""
    counts = {"manifest": manifest.count, "documents.jsonl": len(documents), "vectors.npy": len(vectors),
              "index.faiss": ann.size(searchable)}
    if len(set(counts.values())) > 1:
        return "counts differ: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    if vectors.ndim != 2 or vectors.shape[1] != manifest.dimension or ann.dimension(searchable) != manifest.dimension:
        return f"vectors are not of the manifest's dimension {manifest.dimension}"
    if [d.id for d in documents] != list(manifest.documents):
        return "documents.jsonl does not list the manifest's documents"
    return None
