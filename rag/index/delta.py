"""An index with a delta segment, searched as one: base rows, then the delta's rows, with the base rows the delta
retires never found. Each searchable part has its segmented form, over the same interface as the one-segment part
(`rag.index.backend`), so nothing above it knows whether an index has a delta or which rows it retired: the
vectors' and the sentence vectors' here, the words' in `rag.index.keyword_delta`.

On disk the delta's files are in `delta/` beside the base's (`vectors.npy`, `sentences.npy`,
`sentence_offsets.npy`, `bm25/`), the retired rows in documents.sqlite's `dead` table. How a rebuild decides to
write a delta, and what it changes in the answers: `rag.index.segments`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.index.backend import Found
from rag.index.files import DELTA, VECTORS, fsync_path, write_synced
from rag.index.topk import allowed_rows, ordered, ranked

if TYPE_CHECKING:
    from collections.abc import Collection

    import numpy as np

    from rag.index.faiss_vectors import FaissVectors
    from rag.index.sentence_vectors import SentenceVectors


@dataclass(frozen=True)
class Delta:
    """The delta segment of an index: rows after the base's, for documents changed or added since the base was
    built (their vectors, and sentence vectors when the index has them), and `dead`, the base rows they retire
    (sorted int64)."""

    vectors: np.ndarray
    sentences: SentenceVectors | None
    dead: np.ndarray

    def __len__(self) -> int:
        return len(self.vectors)


def save_segments(folder: Path, skip: Collection[str], base, write_delta: Callable[[Path], object]) -> None:
    """How each segmented part saves itself: the base part's files into the index folder, then the delta's into
    its delta/ (made by the first part written there), each fsynced.

    Args:
        folder: the index folder.
        skip: names of base files already there (linked from the version before): not written.
        base: the base part (its `save(folder, skip)`).
        write_delta: writes the delta part's files into the delta/ folder it is given.
    """
    base.save(folder, skip)
    delta = Path(folder) / DELTA
    delta.mkdir(exist_ok=True)
    write_delta(delta)
    fsync_path(delta)


class SegmentedVectors:
    """The base's FAISS vectors, then `added` rows scanned exactly (a few: 50,000 rows take about 5 ms), the
    `retired` base rows never found. A `rag.index.backend.VectorIndex`."""

    def __init__(self, base: FaissVectors, added: np.ndarray, retired: np.ndarray):
        """Args:
            base: the base segment's vectors.
            added: (rows, dimension) unit vectors of the delta rows.
            retired: sorted int64 base rows.
        """
        self.base, self.added, self.retired = base, added, retired
        self._live = None

    @property
    def count(self) -> int:
        """Rows, retired ones included."""
        return self.base.count + len(self.added)

    @property
    def dimension(self) -> int:
        """Components per vector."""
        return self.base.dimension

    def _base_live(self) -> np.ndarray | None:
        """Boolean mask of the base rows not retired; None when none is."""
        if not len(self.retired):
            return None
        if self._live is None:
            import numpy as np

            live = np.ones(self.base.count, dtype=bool)
            live[self.retired] = False
            self._live = live
        return self._live

    def search(self, query: np.ndarray, *, min_similarity: float, k: int | None = None, depth: int | None = None,
               allowed: np.ndarray | None = None) -> Found:
        """As `VectorIndex.search`: the base's hits without the retired rows, plus the added rows scored exactly."""
        import numpy as np

        query = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        rows = allowed_rows(allowed)
        base, live = self.base.count, self._base_live()
        in_base = None if rows is None else rows[rows < base]
        if in_base is not None and live is not None:
            in_base = in_base[live[in_base]]
        if in_base is not None and not len(in_base):
            found = Found(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        else:  # unrestricted: as many more as could be retired, dropped below (cheaper than an ID selector)
            hidden = len(self.retired) if in_base is None and live is not None else 0
            found = self.base.candidates(query, min_similarity, in_base, k=k, depth=depth, hidden=hidden)
            if in_base is None and live is not None:
                keep = live[found.rows]
                found = Found(found.rows[keep], found.scores[keep])
        ahead = None if rows is None else rows[rows >= base] - base
        more = np.asarray(self.added if ahead is None else self.added[ahead]) @ query
        keep = more > min_similarity
        extra = (np.flatnonzero(keep) if ahead is None else ahead[keep]) + base
        return ordered(Found(np.concatenate([found.rows, extra]), np.concatenate([found.scores, more[keep]])), k,
                       depth)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """As `VectorIndex.vectors_of`: rows past the base's count come from the added vectors."""
        import numpy as np

        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        in_base = rows < self.base.count
        out[in_base] = self.base.vectors_of(rows[in_base])
        if not in_base.all():
            out[~in_base] = self.added[rows[~in_base] - self.base.count]
        return out

    def with_delta(self, added: np.ndarray, retired: np.ndarray) -> SegmentedVectors:
        """As `VectorIndex.with_delta`: over the same base, replacing this delta."""
        return SegmentedVectors(self.base, added, retired)

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """As `VectorIndex.save`: the base's files, the added rows into delta/ (`save_segments`)."""
        import numpy as np

        def write(delta: Path) -> None:
            write_synced(delta / VECTORS, lambda fh: np.save(fh, np.ascontiguousarray(self.added), allow_pickle=False))

        save_segments(folder, skip, self.base, write)


class SegmentedSentences:
    """The base's sentence vectors, then the delta rows' (`added`), the `retired` base rows never ranked. A
    `rag.index.backend.SentenceIndex`."""

    def __init__(self, base: SentenceVectors, added: SentenceVectors, retired: np.ndarray):
        """Args:
            base: the base rows' sentence vectors.
            added: the delta rows'.
            retired: sorted int64 base rows.
        """
        self.base, self.added, self.retired = base, added, retired

    @property
    def splitter(self) -> str:
        """The sentence splitter's name (both segments were split alike)."""
        return self.base.splitter

    def __len__(self) -> int:
        return len(self.base) + len(self.added)

    @property
    def total(self) -> int:
        """Sentence vectors held, every row's."""
        return self.base.total + self.added.total

    def of(self, row: int) -> np.ndarray:
        """As `SentenceIndex.of`: rows past the base's come from the added vectors."""
        return self.added.of(row - len(self.base)) if row >= len(self.base) else self.base.of(row)

    def best(self, query: np.ndarray) -> np.ndarray:
        """Per row, its best sentence's cosine; NaN for a row without sentences, or retired.

        Args:
            query: one unit vector.
        """
        import numpy as np

        best = np.concatenate([self.base.best(query), self.added.best(query)])
        best[self.retired] = np.nan
        return best

    def search(self, query: np.ndarray, *, min_similarity: float, allowed: np.ndarray | None = None) -> Found:
        """As `SentenceIndex.search`: over the base and added rows, the retired ones never ranked."""
        return ranked(self.best(query), min_similarity, allowed)

    def with_delta(self, added: SentenceVectors, retired: np.ndarray) -> SegmentedSentences:
        """As `SentenceIndex.with_delta`: over the same base, replacing this delta."""
        return SegmentedSentences(self.base, added, retired)

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """As `SentenceIndex.save`: the base's files, the delta rows' into delta/ (`save_segments`)."""
        save_segments(folder, skip, self.base, self.added.save)
