"""The built index on disk: FAISS vectors plus plain-JSON document metadata and a manifest.

Folder layout (nothing in it is ever unpickled)::

    manifest.json     model, weights fingerprint, dimension, metric, FAISS index type, corpus fingerprint,
                      each document's content hash, library versions, time built
    documents.jsonl   one document per line, in vector row order
    vectors.npy       float32 (n, dimension), unit rows; kept so incremental rebuilds reuse embeddings
    index.faiss       the FAISS index over those rows (row number = FAISS id)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.document import Document

if TYPE_CHECKING:
    import faiss
    import numpy as np

MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
VECTORS = "vectors.npy"
FAISS_INDEX = "index.faiss"
DEFAULT_INDEX_TYPE = "Flat"  # exact inner product; a FAISS factory string such as "HNSW32" for large corpora


class IndexUnavailable(RuntimeError):
    """The index is missing, unreadable or does not match the corpus/model; says how to fix it."""


@dataclass
class Index:
    """Documents and their unit vectors, searchable by inner product (= cosine)."""

    documents: list[Document]
    vectors: np.ndarray
    manifest: dict = field(default_factory=dict)
    path: Path | None = None
    faiss_index: faiss.Index | None = None

    def __post_init__(self) -> None:
        if len(self.documents) != len(self.vectors):
            raise IndexUnavailable(f"index holds {len(self.documents)} documents but {len(self.vectors)} vectors")
        if self.faiss_index is None:
            self.faiss_index = build_faiss(self.vectors, self.manifest.get("index_type", DEFAULT_INDEX_TYPE))

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def similar(self, vector: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k rows nearest to a unit vector as (row, cosine), best first; `rows` restricts the
        search to those rows *before* taking the top k, so filters never starve the result."""
        import faiss
        import numpy as np

        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        if rows is not None:
            if len(rows) == 0:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64)))
            scores, ids = self.faiss_index.search(query, min(k, len(rows)), params=params)
        else:
            scores, ids = self.faiss_index.search(query, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    @classmethod
    def load(cls, path: Path) -> Index:
        """Read an index folder written by `python -m embeddings.rebuild`."""
        import faiss
        import numpy as np

        path = Path(path)
        if not (path / MANIFEST).is_file():
            raise IndexUnavailable(f"no index at {path}: build it with `python -m embeddings.rebuild --out {path}`")
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            with (path / DOCUMENTS).open(encoding="utf-8") as fh:
                documents = [Document.from_record(json.loads(line)) for line in fh if line.strip()]
            vectors = np.load(path / VECTORS, allow_pickle=False)
            faiss_index = faiss.read_index(str(path / FAISS_INDEX))
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise IndexUnavailable(f"index at {path} is unreadable ({exc}); rebuild it with "
                             f"`python -m embeddings.rebuild --full --out {path}`") from None
        return cls(documents, vectors, manifest, path, faiss_index)


def build_faiss(vectors: np.ndarray, index_type: str = DEFAULT_INDEX_TYPE) -> faiss.Index:
    """A FAISS inner-product index over unit vectors, from a factory string ("Flat", "HNSW32", ...)."""
    import faiss

    index = faiss.index_factory(int(vectors.shape[1]), index_type, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    return index
