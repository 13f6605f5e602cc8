"""The built index as one object: documents, and over the same rows their vectors, their summaries' sentence
vectors and a BM25 index, each behind its interface (`rag.index.backend`), read from and saved to an index
folder (`rag.index.layout`). The `rag.index.backend.Backend` the retriever searches.

An index with a delta segment (`rag.index.segments`) holds the segmented form of each part
(`rag.index.delta`), so nothing here, nor in the retriever, asks which kind of part it has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import IndexUnavailable
from rag.index import layout
from rag.index.faiss_vectors import FaissVectors
from rag.index.files import BM25, COLLECTIONS, DATE_SPANS, FAISS_INDEX, VECTORS
from rag.index.keyword import KeywordIndex, keyword_text, params
from rag.index.manifest import Manifest, label, removed_titles, staleness
from rag.index.schema import collection_codes, date_spans

if TYPE_CHECKING:
    import numpy as np

    from rag.documents.corpus import Corpus
    from rag.documents.document import Document
    from rag.index.backend import Found, SentenceIndex, VectorIndex, WordIndex
    from rag.index.delta import Delta
    from rag.index.sentence_vectors import SentenceVectors
    from rag.settings import Settings

#: How often `Index.changed` looks at the index link: a served index follows a rebuild within a second.
CHANGE_CHECK_SECONDS = 1.0


@dataclass
class Index:
    """Documents and their unit vectors, searchable by inner product (= cosine). Build one with
    `Index.build` (in memory) or read one with `Index.load`."""

    documents: Sequence[Document]  # a list, or a `DocumentTable` read on demand when loaded
    vectors: np.ndarray  # the base rows' unit vectors (vectors.npy); a delta's rows follow them in `delta`
    manifest: Manifest = field(default_factory=Manifest)
    path: Path | None = None
    ann: VectorIndex | None = None  # every row's vectors, searchable; built over `vectors` when None
    sentences: SentenceIndex | None = None  # every row's; None for an index written before they were stored
    keyword: WordIndex | None = None  # the saved BM25 index; None for one written before it was stored
    spans: np.ndarray | None = None  # date_spans.npy when loaded; see `date_spans`
    collection_codes: tuple[list[str], np.ndarray] | None = None  # names and each row's code, when loaded
    delta: Delta | None = None  # rows after the base's, which `ann`, `sentences` and `keyword` include
    #: `rag.index.backend.Backend.fused_search`: None, the retriever runs and fuses this index's signals
    fused_search = None
    _checked: float = field(default=0.0, init=False, repr=False, compare=False)  # when `changed` last looked

    def __post_init__(self) -> None:
        rows, base = len(self.documents), len(self.vectors)
        if rows != base + (len(self.delta) if self.delta is not None else 0):
            raise IndexUnavailable(f"index holds {rows} documents but {base} vectors"
                                   + (f" and {len(self.delta)} in its delta" if self.delta is not None else ""))
        if self.sentences is not None and len(self.sentences) != rows:
            raise IndexUnavailable(f"index holds {rows} documents but sentence vectors of {len(self.sentences)}")
        if self.keyword is not None and self.keyword.count != rows:
            raise IndexUnavailable(f"index holds {rows} documents but a BM25 index of {self.keyword.count}")
        if self.ann is None:
            self.ann = FaissVectors.build(self.vectors, self.manifest.index_type)
        elif self.ann.count != rows:
            raise IndexUnavailable(f"index holds {rows} documents but a vector index of {self.ann.count}")
        self._live = None

    @classmethod
    def build(cls, documents: Sequence[Document], vectors: np.ndarray, manifest: Manifest | None = None, *,
              model: str | None = None, index_type: str | None = None, sentences: SentenceVectors | None = None,
              keyword: WordIndex | None = None, ann: VectorIndex | None = None) -> Index:
        """An index over `documents` and their unit `vectors`, its manifest's structure filled in.

        Args:
            documents: the rows, in order.
            vectors: their unit vectors, same order.
            manifest: the provenance (model, corpus...); its structural fields (dimension, count, corpus
                fingerprint, sentence splitter, BM25 parameters) are filled in here.
            model: overrides the manifest's.
            index_type: the FAISS factory string; overrides the manifest's.
            sentences: the summaries' sentence vectors, when there are.
            keyword: the BM25 index, when there is.
            ann: a vector index already over `vectors`, kept rather than built again.

        Raises:
            RuntimeError: FAISS cannot build `index_type`.
            IndexUnavailable: the parts disagree in rows or dimension.
        """
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
        structure = layout.structure(documents, vectors, sentences, keyword)
        return cls(documents, vectors, replace(manifest, **overrides, **structure), sentences=sentences,
                   keyword=keyword, ann=ann)

    @classmethod
    def load(cls, path: Path) -> Index:
        """Read an index folder written by `python -m embeddings.rebuild`, checking that its parts agree
        (`rag.index.layout.read`).

        Args:
            path: the index path.

        Raises:
            IndexUnavailable: no index at `path`, or an unreadable one (saying how to rebuild it).
        """
        return cls(**layout.read(path))

    def changed(self) -> bool:
        """Whether a rebuild has swapped another version in at `path` since this one was read: it looks (one
        `readlink`) at most once a `CHANGE_CHECK_SECONDS`, so a server may ask before every search
        (`rag.search.refreshing`). An index built in memory or read from a plain folder never changes.

        Returns:
            True when `path` now leads to another version folder than the one read.
        """
        import time

        if self.path is None or self.manifest.folder is None:
            return False
        now = time.monotonic()
        if now - self._checked < CHANGE_CHECK_SECONDS:
            return False
        self._checked = now
        try:
            return Path(self.path).resolve() != Path(self.manifest.folder)
        except OSError:
            return False

    def reopen(self) -> Index:
        """The index at `path` read again: the version the last rebuild swapped in.

        Returns:
            A new index (this one stays as it was, for the searches still using it).

        Raises:
            IndexUnavailable: it cannot be read now.
        """
        return Index.load(self.path)

    def save(self, path: Path, *, before_swap: Callable[[], None] | None = None,
             reuse: Mapping[str, Path] | None = None) -> Path:
        """Write atomically to `path`; the manifest's structural fields are refreshed here so they always
        describe the files. Concurrent writers must hold `writer_lock(path)`.

        Args:
            path: the index path.
            before_swap: runs when the new version is complete but not yet visible.
            reuse: files (or bm25/) of the previous version that hold exactly what this one would write, by
                name: hard-linked, not written again.

        Returns:
            The version folder written.
        """
        # The corpus fingerprint `build` (or a delta rebuild) computed stands while the row count does.
        kept = self.manifest.corpus_fingerprint if self.manifest.count == len(self.documents) else None
        self.manifest = replace(self.manifest, **layout.structure(self.documents, self.vectors, self.sentences,
                                                                   self.keyword, self.delta, kept))
        version = layout.publish_index(self, Path(path), before_swap=before_swap, reuse=reuse)
        self.path = Path(path)
        self.manifest = replace(self.manifest, folder=Path(version).resolve())  # where its hashes now live
        return version

    def __len__(self) -> int:
        """Rows, retired ones included: the length of every per-row array (masks, date spans)."""
        return len(self.documents)

    @property
    def dimension(self) -> int:
        """Components per vector."""
        return int(self.vectors.shape[1])

    @property
    def base_rows(self) -> int:
        """Rows of the base segment (`vectors`); the delta's follow."""
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

    def searchable(self, allowed: np.ndarray | None) -> np.ndarray:
        """The rows a search may return: those in the corpus, ascending.

        Args:
            allowed: a boolean mask over rows; None: every row.
        """
        import numpy as np

        live = self.live()
        mask = live if allowed is None else allowed if live is None else allowed & live
        return np.arange(len(self)) if mask is None else np.flatnonzero(mask)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The unit vectors of some rows, (len(rows), dimension).

        Args:
            rows: int64 row numbers, base or delta.
        """
        return self.ann.vectors_of(rows)

    def search(self, vector: np.ndarray, *, min_similarity: float, rows: np.ndarray | None = None,
               k: int | None = None, depth: int | None = None) -> Found:
        """Rows whose cosine to a unit `vector` exceeds `min_similarity`, best first (`VectorIndex.search`).

        Args:
            vector: one unit vector.
            min_similarity: the cosine a row must exceed.
            rows: row numbers or a boolean mask over rows, restricting the search *before* `k` truncates it,
                so a filter never starves the result.
            k: at most this many rows.
            depth: with `k` None, only the first `depth` rows are in order and the rest follow unordered.

        Returns:
            (rows, scores).
        """
        return self.ann.search(vector, min_similarity=min_similarity, k=k, depth=depth, allowed=rows)

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
            self.collection_codes = collection_codes(d.collection for d in self.documents)
        return self.collection_codes

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The unit vectors of row's summary sentences (`rag.documents.sentences` order), (sentences,
        dimension); empty when the summary has none or the index holds no sentence vectors.

        Args:
            row: the row.
        """
        if self.sentences is None:
            import numpy as np

            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.sentences.of(row)

    def keyword_for(self, settings: Settings) -> WordIndex:
        """The saved BM25 index when it was built with `settings`' parameters; otherwise (an index written
        before BM25 was saved, or other settings) one built here from every row's text, retired rows never
        matching.

        Args:
            settings: its `bm25_*` fields.
        """
        if self.keyword is not None and self.keyword.params == params(settings):
            return self.keyword
        texts = [keyword_text(doc) for doc in self.documents]
        return KeywordIndex.build(texts, settings) if self.keyword is None else self.keyword.rebuilt(texts, settings)

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
        """Why this index no longer matches the corpus and the model, in words for a user; empty when fresh.
        A loaded index reads its documents' hashes, and removed ones' titles, only when the corpus fingerprint
        differs.

        Args:
            corpus: a `Corpus` or its documents.
            model: the model name asked for.
            bm25: the BM25 parameters asked for: lacking or outdated sentence vectors or BM25 index are stale.
            model_cache: where a model installed as split pip packages is unpacked.
        """
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
