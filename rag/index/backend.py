"""The seam between search and storage: small typed interfaces for what the retriever searches.

Three searchable parts, each implemented once for the files of an index folder and once, over the same
interface, for an index with a delta segment (`rag.index.delta`: base + delta rows + retired rows):

- `VectorIndex`, "the vectors": unit document vectors searched by cosine
  (FAISS: `rag.index.faiss_vectors.FaissVectors`);
- `SentenceIndex`, the summaries' sentence vectors, rows ranked by their best sentence
  (`rag.index.sentence_vectors.SentenceVectors`);
- `WordIndex`, "the words": BM25 (bm25s: `rag.index.keyword.KeywordIndex`).

Every search takes an optional `allowed` filter (a boolean mask over rows, or row numbers) applied *before* any
cut, so a filter never starves a result, and never returns a row a delta retired: callers need not know
retired rows exist. `Backend` is what the retriever holds (`rag.index.store.Index`); a backend that filters,
searches and fuses in one query of its own (a database) also sets `Backend.fused_search`, and the retriever
then asks it instead of running the signals and `rag.search.fusion` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

    import numpy as np

    from rag.documents.document import Document
    from rag.index.manifest import Manifest
    from rag.settings import Settings


class Found(NamedTuple):
    """Rows a search found, as int64 row numbers, and their float32 scores (same order)."""

    rows: np.ndarray
    scores: np.ndarray


class VectorIndex(Protocol):
    """Unit vectors, one per row, searched by inner product (= cosine)."""

    @property
    def count(self) -> int:
        """Rows, retired ones included: the length of every per-row array."""

    @property
    def dimension(self) -> int:
        """Components per vector."""

    def search(self, query: np.ndarray, *, min_similarity: float, k: int | None = None, depth: int | None = None,
               allowed: np.ndarray | None = None) -> Found:
        """Rows whose cosine to the unit `query` exceeds `min_similarity`, best first (ties: lower row first).

        Args:
            query: one unit vector.
            min_similarity: the cosine a row must exceed.
            k: at most this many rows (None: all that match).
            depth: with `k` None, only the first `depth` rows are in order, the rest follow unordered.
            allowed: a boolean mask over rows, or row numbers, applied before `k` cuts.

        Returns:
            The rows and their cosines.
        """

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of some rows.

        Args:
            rows: int64 row numbers, any order.

        Returns:
            (len(rows), dimension) float32.
        """

    def with_delta(self, added: np.ndarray, retired: np.ndarray) -> VectorIndex:
        """This index with rows `added` after its base rows and the base rows `retired` never found: how a
        rebuild adds and removes rows without writing the base again (a delta already there is replaced).

        Args:
            added: (rows, dimension) unit vectors.
            retired: sorted int64 base rows.

        Returns:
            An index over base + added rows.
        """

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """Write its files into an index folder, each fsynced.

        Args:
            folder: the index folder (a delta's files go into its delta/).
            skip: names of base files already there (linked from the version before): not written.
        """


class SentenceIndex(Protocol):
    """The unit vectors of every row's summary sentences, split by `splitter`."""

    @property
    def splitter(self) -> str:
        """The sentence splitter's name (`rag.documents.sentences.SPLITTER` when current)."""

    def __len__(self) -> int:
        """Rows."""

    def of(self, row: int) -> np.ndarray:
        """A row's sentence vectors.

        Args:
            row: the row.

        Returns:
            (sentences, dimension): empty when its summary has none.
        """

    def search(self, query: np.ndarray, *, min_similarity: float, allowed: np.ndarray | None = None) -> Found:
        """Rows by their best sentence.

        Args:
            query: one unit vector.
            min_similarity: the cosine a row's best sentence must reach.
            allowed: a boolean mask over rows.

        Returns:
            The rows, best first (ties: lower row first), and their best sentence's cosine.
        """

    def with_delta(self, added: SentenceIndex, retired: np.ndarray) -> SentenceIndex:
        """As `VectorIndex.with_delta`.

        Args:
            added: the delta rows' sentence vectors.
            retired: sorted int64 base rows.
        """

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """As `VectorIndex.save`.

        Args:
            folder: the index folder.
            skip: names of base files already there.
        """


class WordIndex(Protocol):
    """BM25 over each row's text (`rag.index.keyword.keyword_text`)."""

    #: the BM25 parameters it was built with (`rag.index.keyword.params`), as the manifest records them
    params: dict
    #: words per document of the statistics it scores with; None when unknown (then it takes no delta)
    average_length: float | None

    @property
    def count(self) -> int:
        """Rows, retired ones included."""

    def terms(self, query: str) -> list[str]:
        """The question's (stemmed) words that occur in some row: the only ones that can score.

        Args:
            query: the words searched.
        """

    def scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """Every row's BM25 score for `query` (float32; 0: no word matched, not allowed, or retired). Dense,
        because BM25 scores every row anyway: the retriever sorts only the first `fusion_depth`.

        Args:
            query: the words searched.
            allowed: a boolean mask over rows.
        """

    def with_delta(self, texts: Sequence[str], retired: np.ndarray) -> WordIndex:
        """This index with rows after its base rows, scored on the base's statistics, and some base rows never
        matching (a delta already there is replaced).

        Args:
            texts: the delta rows' `keyword_text`.
            retired: sorted int64 base rows.
        """

    def rebuilt(self, texts: Sequence[str], settings: Settings) -> WordIndex:
        """The same rows indexed again with other BM25 parameters, retired rows still never matching.

        Args:
            texts: every row's `keyword_text`, retired ones too.
            settings: their `bm25_*` fields.
        """

    def save(self, folder: Path, skip: Collection[str] = ()) -> None:
        """As `VectorIndex.save`.

        Args:
            folder: the index folder.
            skip: names of base files already there.
        """


@dataclass(frozen=True)
class Request:
    """One search as the retriever hands it to a backend that fuses itself (`Backend.fused_search`)."""

    query: str  # the words searched: the question without its date phrase, names in modern spelling
    vector: np.ndarray | None  # the question's unit vector; None in keyword mode
    weights: Mapping[str, float]  # signal ("semantic", "keyword", "sentence") -> weight: the signals to run
    k: int
    allowed: np.ndarray | None  # the date and collection filters' mask over rows (None: every row)
    preferred: Sequence[int]  # rows of the collections the question names: first, whatever their score


@dataclass(frozen=True)
class Matches:
    """What a fused search found: the top rows best first, their fused scores (0..1], each signal's raw
    scores of those rows, and how many rows any signal matched."""

    rows: np.ndarray
    scores: np.ndarray
    raw: Mapping[str, Mapping[int, float]]
    total: int


class Backend(Protocol):
    """What the retriever searches: documents by row, the three searchable parts and the filters' arrays."""

    documents: Sequence[Document]
    manifest: Manifest  # the model that embedded it, among its provenance
    path: Path | None  # where it was read from, for messages; None when built in memory
    keyword: WordIndex | None
    sentences: SentenceIndex | None
    #: None: the retriever runs each signal and fuses them itself; a backend that filters, searches and fuses in
    #: one query of its own sets it
    fused_search: Callable[[Request], Matches] | None

    def __len__(self) -> int:
        """Rows, retired ones included."""

    def search(self, vector: np.ndarray, *, min_similarity: float, rows: np.ndarray | None = None,
               k: int | None = None, depth: int | None = None) -> Found:
        """The vector search.

        Args:
            vector, min_similarity, k, depth: as for `VectorIndex.search`.
            rows: its `allowed`.
        """

    def date_spans(self) -> np.ndarray:
        """(rows, 2) int64: the first and last day (ordinals) each row's date may mean."""

    def collections(self) -> tuple[list[str], np.ndarray]:
        """The collection names and each row's code among them."""

    def searchable(self, allowed: np.ndarray | None) -> np.ndarray:
        """The rows a search may return (not retired), ascending.

        Args:
            allowed: a boolean mask over rows; None: every row.
        """

    def sentence_vectors(self, row: int) -> np.ndarray:
        """A row's summary sentence vectors (empty when there are none).

        Args:
            row: the row.
        """

    def keyword_for(self, settings: Settings) -> WordIndex:
        """The words index for other BM25 parameters.

        Args:
            settings: their `bm25_*` fields.
        """
