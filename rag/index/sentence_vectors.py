"""The summaries' sentence vectors, and rows ranked by their best sentence (a `rag.index.backend.SentenceIndex`).

Every row's summary is split into sentences (`rag.documents.sentences`), each sentence embedded, and the vectors
concatenated in row order: row r's are `vectors[offsets[r]:offsets[r + 1]]`. A long summary dilutes the one
sentence a question is about in the document's own vector; a row's best sentence does not (the optional
best-sentence signal), and the highlighter quotes the sentence nearest the question. Pure numpy, no model.
Saved as sentences.npy (float32 (sentences, dimension), unit rows) and sentence_offsets.npy (int64 (rows + 1)),
memory-mapped when loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.sentences import SPLITTER
from rag.documents.sentences import sentences as split_sentences
from rag.index.delta import SegmentedSentences
from rag.index.files import SENTENCE_OFFSETS, SENTENCES, write_synced
from rag.index.topk import ranked

if TYPE_CHECKING:
    from collections.abc import Collection

    import numpy as np

    from rag.documents.document import Document
    from rag.index.backend import Found


@dataclass(frozen=True)
class SentenceVectors:
    """Unit vectors of every row's summary sentences (split by `splitter`), concatenated in row order."""

    vectors: np.ndarray
    offsets: np.ndarray
    splitter: str = SPLITTER

    @classmethod
    def embed(cls, documents: Sequence[Document], encoder, **options) -> SentenceVectors:
        """Split each document's summary with `rag.documents.sentences` and embed all the sentences in one call.

        Args:
            documents: the rows, in order.
            encoder: anything with `encode(texts, **options)` returning unit rows.
            options: passed to `encode`.
        """
        import numpy as np

        parts = [split_sentences(doc.summary) for doc in documents]
        texts = [s for p in parts for s in p]
        vectors = encoder.encode(texts, **options) if texts else np.zeros((0, 0), dtype=np.float32)
        return cls.assemble([len(p) for p in parts], vectors)

    @classmethod
    def assemble(cls, counts: Sequence[int], vectors: np.ndarray) -> SentenceVectors:
        """From each row's sentence count and all the vectors in row order.

        Args:
            counts: sentences per row.
            vectors: (sum(counts), dimension) unit rows.
        """
        import numpy as np

        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(np.ascontiguousarray(vectors, dtype=np.float32), offsets)

    @classmethod
    def load(cls, folder: Path, splitter: str) -> SentenceVectors:
        """The sentence vectors saved in `folder` (an index folder, or its delta/), memory-mapped.

        Args:
            folder: where `save` wrote them.
            splitter: the splitter the manifest records.
        """
        import numpy as np

        folder = Path(folder)
        return cls(np.load(folder / SENTENCES, allow_pickle=False, mmap_mode="r"),
                   np.load(folder / SENTENCE_OFFSETS, allow_pickle=False, mmap_mode="r"), splitter)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def total(self) -> int:
        """Sentence vectors held, every row's."""
        return len(self.vectors)

    def of(self, row: int) -> np.ndarray:
        """A row's sentence vectors, (sentences, dimension); a view (of the memory map, when loaded).

        Args:
            row: the row.
        """
        return self.vectors[int(self.offsets[row]):int(self.offsets[row + 1])]

    def best(self, query: np.ndarray) -> np.ndarray:
        """Per row, the best cosine of its sentences (float64); NaN for a row without sentences (no summary).

        Args:
            query: one unit vector.
        """
        import numpy as np

        counts = np.diff(self.offsets)
        best = np.full(len(counts), np.nan, dtype=np.float64)
        has = counts > 0
        if has.any():
            cosines = np.asarray(self.vectors, dtype=np.float32) @ np.asarray(query, dtype=np.float32)
            # reduceat over the non-empty rows' starts: each span ends where the next non-empty row starts.
            best[has] = np.maximum.reduceat(cosines, self.offsets[:-1][has])
        return best

    def search(self, query: np.ndarray, *, min_similarity: float, allowed: np.ndarray | None = None) -> Found:
        """As `SentenceIndex.search`: each row ranked by its best sentence's cosine."""
        return ranked(self.best(query), min_similarity, allowed)

    def with_delta(self, added: SentenceVectors, retired: np.ndarray) -> SegmentedSentences:
        """As `SentenceIndex.with_delta`: a `SegmentedSentences` over these vectors."""
        return SegmentedSentences(self, added, retired)

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """Write sentences.npy and sentence_offsets.npy, fsynced.

        Args:
            folder: the index folder, or its delta/.
            skip: names already there (linked from the version before): not written.
        """
        import numpy as np

        arrays = {SENTENCES: np.ascontiguousarray(self.vectors, dtype=np.float32),
                  SENTENCE_OFFSETS: np.asarray(self.offsets, dtype=np.int64)}
        for name, array in arrays.items():
            if name not in skip:
                write_synced(Path(folder) / name, lambda fh, array=array: np.save(fh, array, allow_pickle=False))

    def problem(self, rows: int, total: int | None, dimension: int, where: str = "") -> str | None:
        """What disagrees between the manifest and these files, or None.

        Args:
            rows: the documents the manifest counts.
            total: the sentences it counts.
            dimension: its dimension.
            where: the files' folder in the message ("delta/"), "" for the index folder.
        """
        import numpy as np

        offsets, vectors = self.offsets, self.vectors
        if offsets.ndim != 1 or len(offsets) != rows + 1:
            return f"{where}{SENTENCE_OFFSETS} holds {len(offsets)} offsets, not {rows + 1}"
        if vectors.ndim != 2 or vectors.shape[1] != dimension or len(vectors) != total:
            return f"{where}{SENTENCES} is not ({total}, {dimension}) as the manifest says"
        if offsets[0] != 0 or offsets[-1] != total or (np.diff(offsets) < 0).any():
            return f"{where}{SENTENCE_OFFSETS} does not divide the {total} sentence vectors among the documents"
        return None

