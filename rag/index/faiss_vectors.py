"""The vectors of an index folder, searched through FAISS (`rag.index.ann`): a `rag.index.backend.VectorIndex`
that chooses, per search, between the exact and the approximate path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rag.index import ann
from rag.index.backend import Found
from rag.index.delta import SegmentedVectors
from rag.index.files import FAISS_INDEX, VECTORS, write_synced
from rag.index.topk import allowed_rows, nothing, ordered

if TYPE_CHECKING:
    from collections.abc import Collection

    import faiss
    import numpy as np

#: A row restriction of at most this many rows on an approximate index (HNSW, IVF) is scanned exactly over
#: the stored vectors (as Qdrant's full_scan_threshold): exact, and cheaper than an approximate search widened
#: to see through the hidden rows. Gathering and scoring memory-mapped 384-dimensional rows took 16 ms for 5k,
#: 27 ms for 20k, 59 ms for 50k (2 shared cores); 30k lets a 1-year window of a million documents
#: (about 1/47 of them) take this path. A FAISS Flat search with an ID selector was no faster (23 ms at 20k).
EXACT_SCAN_ROWS = 30_000
#: An unlimited search on an approximate index returns at most this many rows (an HNSW or IVF search sees only
#: its efSearch candidates or probed lists, so it has no honest range search); the default fusion depth is 200.
ANN_ROWS = 1_000


class FaissVectors:
    """The vectors of one segment: the stored unit rows (`vectors.npy`, memory-mapped when loaded) and the FAISS
    index over them (row number = FAISS id). A `rag.index.backend.VectorIndex`.

    Exact (Flat) index: a FAISS range search, restricted by an ID selector. Approximate index (HNSW, IVF): a
    restriction to at most EXACT_SCAN_ROWS rows is scanned exactly over the stored vectors, so a date filter
    never loses a row brute force would return; otherwise the best max(k, depth) (or ANN_ROWS) rows by a FAISS
    search widened by the share the restriction hides (`ann.nearest`), cut at the threshold.
    """

    def __init__(self, vectors: np.ndarray, index: faiss.Index):
        """Args:
            vectors: (rows, dimension) float32 unit rows.
            index: a FAISS index over exactly those rows, in order.
        """
        self.vectors, self.faiss = vectors, index
        self.exact = ann.is_exact(index)

    @classmethod
    def build(cls, vectors: np.ndarray, index_type: str = ann.DEFAULT_INDEX_TYPE) -> FaissVectors:
        """Index `vectors` with a FAISS factory string.

        Args:
            vectors: (rows, dimension) unit rows.
            index_type: e.g. "Flat", "IVF1024,Flat" (`ann.for_size`).

        Raises:
            RuntimeError: FAISS rejects the string or cannot train on these vectors.
        """
        return cls(vectors, ann.build(vectors, index_type))

    @classmethod
    def load(cls, folder: Path) -> FaissVectors:
        """The vectors saved in an index folder, both files memory-mapped.

        Args:
            folder: where `save` wrote them.

        Raises:
            ValueError, RuntimeError: a file is not what `save` writes.
        """
        import numpy as np

        folder = Path(folder)
        return cls(np.load(folder / VECTORS, allow_pickle=False, mmap_mode="r"), ann.read(folder / FAISS_INDEX))

    @property
    def count(self) -> int:
        """Rows."""
        return len(self.vectors)

    @property
    def dimension(self) -> int:
        """Components per vector."""
        return int(self.vectors.shape[1])

    def search(self, query: np.ndarray, *, min_similarity: float, k: int | None = None, depth: int | None = None,
               allowed: np.ndarray | None = None) -> Found:
        """As `VectorIndex.search`: an empty `allowed` finds nothing without asking faiss."""
        import numpy as np

        query = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        rows = allowed_rows(allowed)
        if rows is not None and not len(rows):
            return nothing()
        return ordered(self.candidates(query, min_similarity, rows, k=k, depth=depth), k, depth)

    def candidates(self, query: np.ndarray, min_similarity: float, rows: np.ndarray | None, *, k: int | None,
                   depth: int | None, hidden: int = 0) -> Found:
        """The rows (within `rows`, sorted int64, when given) above `min_similarity`, unordered.

        Args:
            query: one unit vector, float32, 1-dimensional.
            min_similarity: the cosine a row must exceed.
            rows: the allowed rows; None: all.
            k, depth: as for `search`: an approximate search looks for max(k, depth) rows, or ANN_ROWS (the
                rows beyond are not looked for).
            hidden: how many more an unrestricted approximate search looks for, because the caller drops that
                many (retired rows: dropping them afterwards is cheaper than an ID selector).
        """
        import numpy as np

        if self.exact:
            return Found(*ann.range_search(self.faiss, query, min_similarity, rows))
        if rows is not None and len(rows) <= EXACT_SCAN_ROWS:
            scores = np.asarray(self.vectors[rows]) @ query
            keep = scores > min_similarity  # as FAISS's range search: strictly above the radius
            return Found(rows[keep], scores[keep])
        found, scores = ann.nearest(self.faiss, query, (max(k or 0, depth or 0) or ANN_ROWS) + hidden, rows)
        keep = scores > min_similarity
        return Found(found[keep], scores[keep])

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """As `VectorIndex.vectors_of`: read from the stored vectors."""
        import numpy as np

        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def with_delta(self, added: np.ndarray, retired: np.ndarray) -> SegmentedVectors:
        """As `VectorIndex.with_delta`: a `SegmentedVectors` over this index."""
        return SegmentedVectors(self, added, retired)

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """Write vectors.npy and index.faiss, fsynced.

        Args:
            folder: the index folder.
            skip: names already there (linked from the version before): not written.
        """
        import numpy as np

        folder = Path(folder)
        if VECTORS not in skip:
            write_synced(folder / VECTORS, lambda fh: np.save(fh, np.ascontiguousarray(self.vectors, dtype=np.float32),
                                                              allow_pickle=False))
        if FAISS_INDEX not in skip:
            write_synced(folder / FAISS_INDEX, ann.serialize(self.faiss))
