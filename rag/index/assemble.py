"""The new index of a rebuild, put together in memory from the fresh embeddings and the previous index's rows:
a delta segment over the previous base (`rag.index.segments`), or one new base of every row in corpus order,
with its manifest (the model facts and provenance) and the files of the previous version it can hard-link.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RebuildError
from rag.index import schema, segments
from rag.index.keyword import KeywordIndex, keyword_text
from rag.index.manifest import EncoderRecord, Manifest, corpus_fingerprint
from rag.index.plan import unchanged_files
from rag.index.sentence_vectors import SentenceVectors
from rag.index.store import Index

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import numpy as np

    from rag.documents.corpus import Corpus
    from rag.index.plan import Plan
    from rag.settings import Settings

_LIBRARIES = ("faiss-cpu", "numpy", "sentence-transformers", "transformers", "torch", "onnxruntime", "tokenizers")


@dataclass(frozen=True)
class ModelFacts:
    """What the manifest records about the model that made an index's vectors.

    Attributes:
        model: The model's name, as given.
        fingerprint: Its weights' fingerprint.
        files: Its weight files' signature (`rag.index.encoders.weights.weights_signature`).
        dimension: The vectors' dimension.
        encoder: Which encoder embedded (None: an index built before encoders were recorded).
    """

    model: str | None
    fingerprint: str | None
    files: dict[str, list[int]] | None
    dimension: int
    encoder: EncoderRecord | None

    @classmethod
    def of(cls, manifest: Manifest) -> ModelFacts:
        """The facts an index's manifest records (kept by a rebuild that embeds nothing).

        Args:
            manifest: The index's.

        Returns:
            Its model facts.
        """
        return cls(manifest.model, manifest.model_fingerprint, manifest.model_files, manifest.dimension,
                   manifest.encoder)

    def chunk_key(self) -> dict:
        """What the saved chunks of a resumable rebuild must match (`rag.index.chunks.WorkFolder`).

        Returns:
            The model, fingerprint, encoder backend and dimension, as JSON values.
        """
        return {"model": self.model, "fingerprint": self.fingerprint,
                "backend": getattr(self.encoder, "backend", None), "dimension": self.dimension}


@dataclass(frozen=True)
class Assembled:
    """A rebuild's new index, before it is saved.

    Attributes:
        index: The index.
        linked: The previous version's files the new one holds unchanged, by name: hard-linked, not written.
        delta: For a delta segment: (its documents, base rows retired, base rows); None for one new base.
    """

    index: Index
    linked: dict[str, Path]
    delta: tuple[int, int, int] | None = None


def assemble(corpus: Corpus, settings: Settings, plan: Plan, facts: ModelFacts, fresh: list[np.ndarray],
             fresh_sentences: Mapping[str, np.ndarray], say: Callable[[str], None]) -> Assembled:
    """The new index: a delta segment when `plan` allows one, else one base of every row.

    Args:
        corpus: The corpus being indexed.
        settings: Its folder (recorded), the BM25 parameters, `delta_min_rows`.
        plan: What the rebuild does.
        facts: The model facts to record.
        fresh: The new vectors of `plan.to_embed`, one (1, dimension) array each.
        fresh_sentences: The new sentence vectors, by document id.
        say: Where the phases' status lines go.

    Returns:
        The index and the previous version's files it can hard-link.

    Raises:
        RebuildError: FAISS cannot build the index type asked for.
    """
    old, delta = plan.old, plan.delta(settings.delta_min_rows)
    if delta is not None:
        described = replace(provenance(settings, corpus, facts), corpus_fingerprint=corpus_fingerprint(
            corpus.documents))
        fresh_by_id = {d.id: vector[0] for d, vector in zip(plan.to_embed, fresh, strict=True)}
        index = segments.assemble(old, delta, plan.old_rows, fresh_by_id, fresh_sentences, described)
        return Assembled(index, segments.base_files(plan.old_folder), (len(delta.ahead), len(delta.dead),
                                                                       old.base_rows))
    old_rows, diff, index_type = plan.old_rows, plan.diff, plan.index_type
    same_rows = old is not None and old.delta is None and list(old_rows) == [d.id for d in corpus.documents]
    vectors = _vectors(corpus, old, old_rows, plan.to_embed, fresh, facts.dimension)
    sentence_vectors = _sentence_vectors(corpus, old, old_rows, fresh_sentences, facts.dimension)
    reuse_bm25 = same_rows and old.keyword is not None and not diff and old.keyword.params == plan.bm25
    if not reuse_bm25:
        say(f"building the BM25 keyword index ({len(corpus):,} documents)")
    keyword = old.keyword if reuse_bm25 else KeywordIndex.build([keyword_text(d) for d in corpus.documents],
                                                                settings)
    same_vectors = same_rows and not plan.to_embed
    same_ann = same_vectors and index_type == old.manifest.index_type
    if not same_ann:
        say(f"building the FAISS {index_type} index ({len(corpus):,} vectors)")
    try:
        index = Index.build(corpus.documents, vectors, provenance(settings, corpus, facts),
                            index_type=index_type, sentences=sentence_vectors, keyword=keyword,
                            ann=old.ann if same_ann else None)
    except RuntimeError as exc:  # FAISS rejects the factory string or cannot train on this many vectors
        raise RebuildError(f"FAISS index type {index_type!r} cannot be built: {str(exc).splitlines()[0]}") from None
    same_sentences = same_rows and not plan.split and old.manifest.sentences == index.manifest.sentences  # and dtype
    # A document table of an older format (`schema.current`: before manifest format 3 it lacks the content
    # hashes) is written again, never linked.
    same_documents = same_rows and not diff and schema.current(old.manifest, old.documents)
    return Assembled(index, unchanged_files(plan.old_folder, same_documents=same_documents, same_vectors=same_vectors,
                                            same_ann=same_ann, same_sentences=same_sentences, same_bm25=reuse_bm25))


def _vectors(corpus: Corpus, old: Index | None, old_rows: Mapping[str, int], embedded, fresh: list[np.ndarray],
             dimension: int) -> np.ndarray:
    """Vectors in corpus order: fresh embeddings for `embedded`, the old index's rows for the rest."""
    import numpy as np

    vectors = np.empty((len(corpus), dimension), dtype=np.float32)
    position = {d.id: i for i, d in enumerate(embedded)}
    kept = [(row, old_rows[doc.id]) for row, doc in enumerate(corpus.documents) if doc.id not in position]
    if kept:  # gathered in one call: base and delta rows alike
        rows, sources = (np.array(column, dtype=np.int64) for column in zip(*kept, strict=True))
        vectors[rows] = old.vectors_of(sources)
    for row, doc in enumerate(corpus.documents):
        if doc.id in position:
            vectors[row] = fresh[position[doc.id]][0]
    return vectors


def _sentence_vectors(corpus: Corpus, old: Index | None, old_rows: Mapping[str, int],
                      fresh: Mapping[str, np.ndarray], dimension: int) -> SentenceVectors:
    """Sentence vectors in corpus order: `fresh` ones (by id), the old index's for the rest."""
    import numpy as np

    parts = [fresh[d.id] if d.id in fresh else old.sentence_vectors(old_rows[d.id]) for d in corpus.documents]
    vectors = np.concatenate(parts) if parts else np.zeros((0, dimension), dtype=np.float32)
    return SentenceVectors.assemble([len(p) for p in parts], vectors)


def provenance(settings: Settings, corpus: Corpus, facts: ModelFacts) -> Manifest:
    """The manifest's descriptive fields (Index.build, or a database rebuild, adds the structural ones).

    Args:
        settings: The corpus folder.
        corpus: The corpus read.
        facts: The model's.

    Returns:
        The manifest: model, corpus folder and files, library versions, build time.
    """
    versions = {"python": sys.version.split()[0]}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return Manifest(model=facts.model, model_fingerprint=facts.fingerprint, model_files=facts.files,
                    encoder=facts.encoder, corpus_folder=Path(settings.corpus_dir).resolve(),
                    corpus_files=tuple(Path(f).name for f in corpus.files), versions=versions,
                    built_at=datetime.now(UTC).isoformat(timespec="seconds"))
