"""The words of a delta segment: its BM25 rows, scored on the base's statistics (`KeywordIndex.delta`) and saved
in delta/bm25/, and BM25 over the base and the delta as one `rag.index.backend.WordIndex`, the base rows the delta
retires never matching.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rag.index.delta import save_segments
from rag.index.files import BM25, fsync_tree

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    import numpy as np

    from rag.index.keyword import KeywordIndex
    from rag.settings import Settings

DELTA_ARRAYS = ("data", "indices", "indptr")


class KeywordDelta:
    """The BM25 rows of a delta segment (`rag.index.keyword.KeywordIndex.delta`): a small score matrix by word,
    as bm25s keeps its own (CSC: the rows holding word w are indices[indptr[w]:indptr[w + 1]], their scores the
    same slice of data)."""

    def __init__(self, vocabulary: dict[str, int], size: int, data, indices, indptr):
        """Args:
            vocabulary: word -> column.
            size: rows.
            data, indices, indptr: the CSC matrix (float32 scores, int32 rows, int64 column starts).
        """
        self.vocabulary, self.size = vocabulary, size
        self.data, self.indices, self.indptr = data, indices, indptr

    @classmethod
    def from_entries(cls, vocabulary: dict[str, int], size: int, rows, columns, values) -> KeywordDelta:
        """From the matrix's entries.

        Args:
            vocabulary: word -> column.
            size: rows.
            rows, columns, values: each entry's row, column and score (same length).
        """
        import numpy as np

        order = np.lexsort((rows, columns))
        indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(columns.astype(np.int64), minlength=len(vocabulary)), out=indptr[1:])
        return cls(vocabulary, size, values[order].astype(np.float32), rows[order].astype(np.int32), indptr)

    @classmethod
    def empty(cls) -> KeywordDelta:
        """No row, no word."""
        import numpy as np

        return cls({}, 0, np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64))

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """Each delta row's score: the sum of its entries, 0 where none matches.

        Args:
            terms: the question's stemmed words.
        """
        import numpy as np

        out = np.zeros(self.size, dtype=np.float32)
        for term in terms:
            column = self.vocabulary.get(term)
            if column is not None:
                span = slice(int(self.indptr[column]), int(self.indptr[column + 1]))
                np.add.at(out, self.indices[span], self.data[span])
        return out

    def save(self, folder: Path) -> None:
        """Write its files into `folder`/bm25 (made), each fsynced.

        Args:
            folder: the index's delta/ folder.
        """
        import numpy as np

        folder = Path(folder) / BM25
        folder.mkdir(parents=True)
        (folder / "vocabulary.json").write_text(json.dumps({"size": self.size, "vocabulary": self.vocabulary},
                                                           ensure_ascii=False), encoding="utf-8")
        for name in DELTA_ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
        fsync_tree(folder)

    @classmethod
    def load(cls, folder: Path) -> KeywordDelta:
        """What `save` wrote.

        Args:
            folder: the index's delta/ folder.

        Raises:
            ValueError: its files disagree.
        """
        import numpy as np

        folder = Path(folder) / BM25
        meta = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        arrays = [np.load(folder / f"{name}.npy", allow_pickle=False) for name in DELTA_ARRAYS]
        if len(arrays[2]) != len(meta["vocabulary"]) + 1 or len(arrays[0]) != len(arrays[1]):
            raise ValueError(f"the delta BM25 files in {folder.name} disagree")
        return cls(meta["vocabulary"], int(meta["size"]), *arrays)


class SegmentedKeywordIndex:
    """BM25 over a base index and a delta segment after it (rows base.count ...), with the base rows in
    `retired` never matching. A `rag.index.backend.WordIndex`."""

    def __init__(self, base: KeywordIndex, delta: KeywordDelta, retired: np.ndarray):
        """Args:
            base: the base rows' BM25 index.
            delta: the delta rows', scored on the base's statistics.
            retired: sorted int64 base rows.
        """
        self.base, self.delta, self.retired = base, delta, retired
        self.params = base.params
        self.average_length = base.average_length

    @property
    def count(self) -> int:
        """Rows, retired ones included."""
        return self.base.count + self.delta.size

    def terms(self, query: str) -> list[str]:
        """As `WordIndex.terms`: a word counts when the base or the delta holds it."""
        vocabulary, delta = self.base.vocabulary, self.delta.vocabulary
        return [term for term in self.base.tokenize([query])[0] if term in vocabulary or term in delta]

    def scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """As `WordIndex.scores`: the base's scores then the delta's, retired rows 0."""
        import numpy as np

        scores = np.concatenate([self.base.scores(query), self.delta.scores(self.base.tokenize([query])[0])])
        scores[self.retired] = 0.0
        if allowed is not None:
            np.multiply(scores, allowed, out=scores)
        return scores

    def with_delta(self, texts: Sequence[str], retired: np.ndarray) -> SegmentedKeywordIndex:
        """As `WordIndex.with_delta`: a new delta over the same base (the base's `with_delta`)."""
        return self.base.with_delta(texts, retired)

    def rebuilt(self, texts: Sequence[str], settings: Settings) -> SegmentedKeywordIndex:
        """As `WordIndex.rebuilt`: one index over every row's text, with no delta."""
        return SegmentedKeywordIndex(self.base.rebuilt(texts, settings), KeywordDelta.empty(), self.retired)

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """As `WordIndex.save`: the base's bm25/, the delta's into delta/ (`save_segments`)."""
        save_segments(folder, skip, self.base, self.delta.save)
