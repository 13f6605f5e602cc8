"""The one module that imports FAISS: build an inner-product index from a factory string, write and read it,
and range-search it or search it for the nearest rows (optionally restricted to some rows). The rest of the
code sees `rag.index.faiss_vectors.FaissVectors`, a `rag.index.backend.VectorIndex` over these functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import faiss
    import numpy as np

DEFAULT_INDEX_TYPE = "Flat"  # exact inner product; any FAISS factory string ("HNSW32", "IVF1024,Flat") can be asked for
#: Up to this many documents the index is exact (Flat). A Flat range search over 384-dimensional vectors took
#: 5.7 ms at 50k rows, 11 ms at 100k, 26 ms at 200k and 70 ms at 400k (2 shared cores): past 100k it eats
#: the 50 ms query budget that the question's encoding already halves.
FLAT_MAX_ROWS = 100_000
#: Above FLAT_MAX_ROWS, an inverted file: about sqrt(count) lists, of which a question scans 1/IVF_PROBE_SHARE
#: (at least 8), more under a filter (`nearest`). Measured on bench/scale.py's million archive-like vectors (40
#: questions, recall@10 against brute force): IVF1024,Flat trained and filled in 6 s, 0.988 unfiltered at 32
#: lists (2.3 ms), 1.000 under a 10-year filter (8.8 ms); HNSW32, the former choice, took minutes to build and
#: reached 0.565 at efSearch 200 and 0.82 at 2400: thousands of near-equal neighbours defeat its greedy graph
#: walk, while a list is scanned whole. IVF4096 needed 64 lists for 0.93.
IVF_PROBE_SHARE = 32
def for_size(count: int) -> str:
    """The index type for `count` documents when none is asked for: exact (Flat) up to FLAT_MAX_ROWS, an
    inverted file of `ivf_lists(count)` lists above, where a brute-force scan per question outgrows the query
    latency budget.

    Args:
        count: documents to index.

    Returns:
        A FAISS factory string.
    """
    return DEFAULT_INDEX_TYPE if count <= FLAT_MAX_ROWS else f"IVF{ivf_lists(count)},Flat"


def ivf_lists(count: int) -> int:
    """The power of two nearest sqrt(count): 256 just above 100k documents, 1024 at a million.

    Args:
        count: documents to index.
    """
    import math

    return 2 ** round(math.log2(math.sqrt(max(count, 1))))


def build(vectors: np.ndarray, index_type: str = DEFAULT_INDEX_TYPE) -> faiss.Index:
    """A FAISS inner-product index over unit vectors, from a factory string.

    Args:
        vectors: (rows, dimension) unit rows; row number = FAISS id.
        index_type: "Flat", "HNSW32", "IVF1024,Flat", ...

    Raises:
        RuntimeError: FAISS rejects the string or cannot train on these vectors.
    """
    import faiss
    import numpy as np

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.index_factory(int(vectors.shape[1]), index_type, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    return index


def serialize(index: faiss.Index) -> bytes:
    """The index as bytes, for writing to `index.faiss`.

    Args:
        index: a FAISS index.
    """
    import faiss

    return faiss.serialize_index(index).tobytes()


def read(path: Path) -> faiss.Index:
    """An index written from `serialize`, its vectors (and HNSW graph) memory-mapped from the file rather than
    copied into RAM (FAISS's IO_FLAG_MMAP_IFC: at a million 384-dimensional rows that is 1.5 GB not held twice
    beside the memory-mapped vectors.npy); the file must not change while it is open, which a published index
    version never does.

    Args:
        path: an index.faiss.

    Raises:
        RuntimeError: the file is not an index.
    """
    import faiss

    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)


def size(index: faiss.Index) -> int:
    """How many vectors `index` holds.

    Args:
        index: a FAISS index.
    """
    return int(index.ntotal)


def dimension(index: faiss.Index) -> int:
    """Components per vector of `index`.

    Args:
        index: a FAISS index.
    """
    return int(index.d)


def is_exact(index: faiss.Index) -> bool:
    """True for a brute-force (Flat) index, whose searches never miss a row.

    Args:
        index: a FAISS index.
    """
    import faiss

    return isinstance(index, faiss.IndexFlat)


def range_search(index: faiss.Index, query: np.ndarray, min_similarity: float,
                 rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose inner product with `query` exceeds `min_similarity`, in no particular order.

    Args:
        index: an exact (or HNSW) FAISS index.
        query: one unit vector.
        min_similarity: the radius.
        rows: int64 ids the search is restricted to (through a FAISS ID selector); None: all.

    Returns:
        (rows, scores).
    """
    import faiss
    import numpy as np

    query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    params, bits = None, None
    if rows is not None:
        sel, bits = _selector(rows, int(index.ntotal))
        params = faiss.SearchParameters(sel=sel)
    _, scores, ids = index.range_search(query, float(min_similarity), params=params)
    del bits  # read by the selector until here
    return ids.astype(np.int64), scores.astype(np.float32)


def nearest(index: faiss.Index, query: np.ndarray, k: int,
            rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k rows of highest inner product with `query` on an approximate index, as (rows, scores) best first;
    `rows` (int64 ids) restricts the search through an ID selector.

    A restriction hides most of the graph's (HNSW) or lists' (IVF) candidates, so the search widens by the
    share it hides: efSearch 64 (nprobe: 1/IVF_PROBE_SHARE of the lists, at least 8) times total / allowed rows,
    capped at the whole index, at least k.
    Without that, a 2% restriction on HNSW32 found about a quarter of the true top 10 (issue 10).

    Args:
        index: an approximate FAISS index (or a Flat one).
        query: one unit vector.
        k: how many rows.
        rows: int64 ids the search is restricted to; None: all.

    Returns:
        (rows, scores).
    """
    import faiss
    import numpy as np

    total = int(index.ntotal)
    k = max(1, min(int(k), total if rows is None else len(rows)))
    widen = 1.0 if rows is None else total / max(len(rows), 1)
    sel, bits = (None, None) if rows is None else _selector(rows, total)
    if isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW(efSearch=int(min(max(k, 64 * widen), total)), sel=sel)
    else:
        try:
            ivf = faiss.extract_index_ivf(index)
        except RuntimeError:
            ivf = None
        if ivf is not None:
            nprobe = int(min(max(ivf.nprobe, 8, ivf.nlist // IVF_PROBE_SHARE) * widen, ivf.nlist))
            params = faiss.SearchParametersIVF(nprobe=nprobe, sel=sel)
        else:
            params = faiss.SearchParameters(sel=sel)
    query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    scores, ids = index.search(query, k, params=params)
    del bits  # read by the selector until here
    found = ids[0] >= 0
    return ids[0][found].astype(np.int64), scores[0][found].astype(np.float32)


def _selector(rows: np.ndarray, total: int) -> tuple[faiss.IDSelector, np.ndarray]:
    """A FAISS ID selector for `rows` of an index of `total` rows, and the bitmap it reads (which the caller
    keeps alive through the search). A bitmap tests one bit per candidate: building and probing FAISS's hashed
    IDSelectorBatch for 210,000 of a million rows took 27 ms a search (IVF1024, 150 lists), the bitmap 5 ms."""
    import faiss
    import numpy as np

    mask = np.zeros(total, dtype=bool)
    mask[rows] = True
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits)), bits
