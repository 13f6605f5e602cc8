"""What a rebuild has to do, decided before any model loads: how the corpus differs from the index, why everything
is embedded again (when it is), which documents and summary sentences to embed, where the rest of the rows come
from, and which files of the previous version the new one can hard-link.

Reads the manifest and the document hashes first (JSON and one table, no vectors); loads the previous index only
when the rebuild is incremental and something changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rag.documents.sentences import SPLITTER, sentences
from rag.errors import IndexUnavailable, RebuildError
from rag.index import segments
from rag.index.ann import for_size
from rag.index.files import (
    BM25,
    COLLECTIONS,
    DATE_SPANS,
    DOCUMENTS_DB,
    FAISS_INDEX,
    SENTENCE_OFFSETS,
    SENTENCES,
    VECTORS,
)
from rag.index.keyword import params
from rag.index.manifest import Changes, changes, document_hashes, model_staleness, parts_staleness, read_manifest
from rag.index.store import Index

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from rag.documents.corpus import Corpus
    from rag.documents.document import Document
    from rag.index.manifest import Manifest
    from rag.settings import Settings


@dataclass(frozen=True)
class Plan:
    """What a rebuild does.

    Attributes:
        manifest: The index's, as read; None when there is none (or `--full` over one that cannot be read).
        index_type: The FAISS type the new version gets.
        full_reason: Why every document is embedded again; None for an incremental rebuild.
        diff: How the corpus differs from the index.
        bm25: The BM25 parameters the settings ask for (`rag.index.keyword.params`).
        retyped: "Flat -> HNSW32" when the FAISS type changes.
        refreshed: Why sentence vectors or BM25 are (re)made without re-embedding documents.
        old: The previous index, loaded when the rebuild is incremental; None otherwise.
        old_folder: Its folder (resolved), whose files the new version may hard-link.
        old_rows: Each of its live documents' row, by id.
        to_embed: The documents to embed, in corpus order.
        split: The summary sentences to embed, by document id.
    """

    manifest: Manifest | None
    index_type: str
    full_reason: str | None
    diff: Changes
    bm25: dict
    retyped: str | None = None
    refreshed: tuple[str, ...] = ()
    old: Index | None = None
    old_folder: Path | None = None
    old_rows: dict[str, int] = field(default_factory=dict)
    to_embed: Sequence[Document] = ()
    split: dict[str, list[str]] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        """Nothing to do: the corpus, the model, the FAISS type and the parts all match the index."""
        return self.full_reason is None and not self.diff and not self.retyped and not self.refreshed

    @property
    def needs_model(self) -> bool:
        """Some document or summary sentence is to be embedded (else the previous index's model facts stay)."""
        return bool(self.to_embed) or any(self.split.values())

    def from_scratch(self, corpus: Corpus, reason: str) -> Plan:
        """This plan with every document embedded again, nothing taken from the previous index.

        Args:
            corpus: The corpus being indexed.
            reason: Why (the report's `full_reason`).

        Returns:
            The new plan.
        """
        return replace(self, full_reason=reason, old=None, old_folder=None, old_rows={}, to_embed=corpus.documents,
                       split=sentences_to_embed(corpus, None, corpus.documents))

    def delta(self, min_rows: int) -> segments.Plan | None:
        """The delta segment this rebuild writes, or None when it writes one new base (`segments.plan`): also
        for a full rebuild, a new FAISS type or parts refreshed.

        Args:
            min_rows: `Settings.delta_min_rows`.

        Returns:
            The delta's documents and the base rows it retires, or None.
        """
        if self.old is None or self.full_reason or self.retyped or self.refreshed:
            return None
        return segments.plan(self.old, self.diff, self.old_rows, self.bm25, min_rows)


def plan(corpus: Corpus, settings: Settings, *, full: bool, index_type: str | None) -> Plan:
    """What a rebuild of the index at `settings.index_dir` from `corpus` with `settings.model` does.

    Args:
        corpus: The corpus to index.
        settings: The index folder, the model, the BM25 parameters.
        full: Embed everything again (`--full`), also over an index that cannot be read.
        index_type: The FAISS type asked for; None keeps the index's (chosen by size for a new one).

    Returns:
        The plan; the previous index is loaded only when the rebuild is incremental and not up to date.

    Raises:
        RebuildError: The index cannot be read and `full` is not set.
    """
    out = settings.index_dir
    try:
        manifest = read_manifest(out)
    except IndexUnavailable as exc:
        if not full:
            raise RebuildError(f"{exc}; pass --full to rebuild it from scratch") from None
        manifest = None
    index_type = index_type or _index_type(manifest, len(corpus))
    full_reason = _full_reason(manifest, settings.model, full, settings.model_cache)
    held = document_hashes(manifest) if manifest is not None else {}  # read once: a second per million rows
    diff = changes(manifest, corpus.documents, held)
    bm25 = params(settings)
    retyped = (f"{manifest.index_type} -> {index_type}" if manifest is not None and index_type != manifest.index_type
               else None)
    refreshed = tuple(parts_staleness(manifest, bm25)) if manifest is not None and full_reason is None else ()
    found = Plan(manifest, index_type, full_reason, diff, bm25, retyped, refreshed)
    if found.up_to_date:
        return found
    if full_reason:
        return replace(found, to_embed=corpus.documents, split=sentences_to_embed(corpus, None, corpus.documents))
    old = _load_old(out)
    to_embed = diff.added + diff.changed
    return replace(found, old=old, old_folder=out.resolve(), old_rows=_old_rows(old, held), to_embed=to_embed,
                   split=sentences_to_embed(corpus, old, to_embed))


def sentences_to_embed(corpus: Corpus, old: Index | None, embedded: Sequence[Document]) -> dict[str, list[str]]:
    """Summary sentences to embed: those of the `embedded` documents, or of every document when the old index
    has none, or had them split another way.

    Args:
        corpus: The corpus being indexed.
        old: The previous index, or None.
        embedded: The documents being embedded.

    Returns:
        Each document's summary sentences, by id.
    """
    keep = old is not None and old.sentences is not None and old.sentences.splitter == SPLITTER
    return {d.id: sentences(d.summary) for d in (embedded if keep else corpus.documents)}


def unchanged_files(old_folder: Path | None, *, same_documents: bool, same_vectors: bool, same_ann: bool,
                    same_sentences: bool, same_bm25: bool) -> dict[str, Path]:
    """The files of the new version that would hold exactly what the previous version's do: the save hard-links
    them instead of writing gigabytes again.

    Args:
        old_folder: The previous version's folder; None when there is none to link from.
        same_documents: The document table, date spans and collection codes are unchanged.
        same_vectors: The document vectors are.
        same_ann: The FAISS index is.
        same_sentences: The sentence vectors and their offsets are.
        same_bm25: The BM25 index is.

    Returns:
        The previous version's path of each such file, by name.
    """
    if old_folder is None:
        return {}
    groups = [((DOCUMENTS_DB, DATE_SPANS, COLLECTIONS), same_documents), ((VECTORS,), same_vectors),
              ((FAISS_INDEX,), same_ann), ((SENTENCES, SENTENCE_OFFSETS), same_sentences), ((BM25,), same_bm25)]
    # A group is written together (the collection codes come with the document table): linked whole or not at all.
    return {name: old_folder / name for names, same in groups
            if same and all((old_folder / name).exists() for name in names) for name in names}


def _old_rows(old: Index, held: Mapping[str, str]) -> dict[str, int]:
    """Each document id of the old index and its row (from `held`, its row-ordered ids and content hashes, so
    no document record is parsed)."""
    ids = list(held) or [d.id for d in old.documents]
    live = old.live()  # `held` leaves out the rows a delta retired
    return dict(zip(ids, range(len(ids)) if live is None else live.nonzero()[0].tolist(), strict=True))


def _index_type(manifest: Manifest | None, count: int) -> str:
    """The FAISS type when none is asked for: chosen by size (`ann.for_size`), so a corpus that grows past
    FLAT_MAX_ROWS becomes approximate; a type the size would not have chosen was asked for once and is kept."""
    if manifest is not None and manifest.index_type != for_size(manifest.count):
        return manifest.index_type
    return for_size(count)


def _full_reason(manifest: Manifest | None, model: str, full: bool, model_cache: Path) -> str | None:
    """Why everything must be embedded again, or None for an incremental rebuild."""
    if full:
        return "--full"
    if manifest is None:
        return "no index yet"
    reasons = model_staleness(manifest, model, model_cache)
    return reasons[0] if reasons else None


def _load_old(out: Path) -> Index:
    try:
        return Index.load(out)
    except IndexUnavailable as exc:
        raise RebuildError(str(exc)) from None
