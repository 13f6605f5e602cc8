"""Bring an index folder up to date with a corpus and a model: incremental, crash-safe, with progress.

Only new or changed documents are embedded, and only their summaries' sentences; removed ones leave the
index; another model (name or weights) re-embeds everything. The BM25 index is rebuilt from all documents
whenever they changed (cheap: no model). An index lacking sentence vectors or a BM25 index, or with another
sentence splitter or BM25 settings, gets them without re-embedding documents. When nothing changed it says so
without loading the model (no torch). Documents are embedded by the model's verified ONNX export (exported and
checked against sentence-transformers once per model, the only time torch is imported), else by
sentence-transformers with a one-line notice; the manifest records which (with `Settings.device` a GPU,
sentence-transformers runs there). Embeddings are saved chunk by chunk as they are made (`rag.index.chunks`), so a
stopped rebuild resumes; files the new version shares unchanged with the previous one are hard-linked, not
written again. The command line around it is `embeddings/rebuild.py`.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.corpus import Corpus, load_corpus
from rag.documents.sentences import SPLITTER, sentences
from rag.errors import IndexUnavailable, RebuildError
from rag.index import chunks, segments
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
from rag.index.keyword import KeywordIndex, keyword_text, params
from rag.index.manifest import (
    Manifest,
    changes,
    corpus_fingerprint,
    document_hashes,
    model_staleness,
    parts_staleness,
    read_manifest,
    removed_titles,
    staleness,
)
from rag.index.sentence_vectors import SentenceVectors
from rag.index.store import Index
from rag.index.versions import check_output_path, clean_leftovers, writer_lock
from rag.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy as np

    from rag.documents.document import Document
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder

#: Test-only hook: seconds to sleep once the new version is fully written but not yet swapped in, so a
#: test can SIGKILL the process inside the write/swap window deterministically. Unset in normal use.
PAUSE_BEFORE_SWAP_ENV = "RAG_REBUILD_PAUSE_BEFORE_SWAP"
_LIBRARIES = ("faiss-cpu", "numpy", "sentence-transformers", "transformers", "torch", "onnxruntime", "tokenizers")



@dataclass
class Report:
    """What a rebuild did, for the one-line summary."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    total: int = 0
    seconds: float = 0.0
    full_reason: str | None = None  # why everything was re-embedded, when it was
    retyped: str | None = None  # "Flat -> HNSW32" when only the FAISS index type changed
    refreshed: list[str] = field(default_factory=list)  # why sentence vectors or BM25 were (re)made
    sentences: int = 0  # summary sentences embedded
    up_to_date: bool = False
    encoder: str | None = None  # the Backend value that embedded, None when nothing was embedded
    embedded: int = 0  # documents embedded by this run (not those resumed)
    embed_seconds: float = 0.0  # encoding alone: not imports, model load or export
    notice: str | None = None  # one line: why ONNX was not used
    resumed: int = 0  # documents whose vectors an interrupted rebuild had saved (`rag.index.chunks`)
    resumed_sentences: int = 0
    linked: list[str] = field(default_factory=list)  # files hard-linked from the previous version, unchanged
    delta: tuple[int, int, int] | None = None  # written as a delta segment: (its documents, retired, base rows)

    def line(self, out: Path) -> str:
        if self.up_to_date:
            return f"index at {out} is up to date ({self.total} documents); nothing to do"
        prefix = f"full rebuild ({self.full_reason}): " if self.full_reason else ""
        if self.retyped and not self.full_reason:
            prefix = f"FAISS index type {self.retyped}: "
        if self.refreshed and not self.full_reason:
            prefix += "; ".join(self.refreshed) + ": "
        if self.embedded:
            rate = self.embedded / self.embed_seconds if self.embed_seconds > 0 else float("inf")
            detail = f"embedding {self.embed_seconds:.1f} s, {rate:.0f} docs/s, {self.encoder}"
        else:
            detail = "no document embedded"
        sentences = f"; {self.sentences} summary sentences embedded" if self.sentences else ""
        if self.resumed or self.resumed_sentences:
            sentences += (f"; resumed {self.resumed} documents and {self.resumed_sentences} sentences "
                          "embedded by an interrupted rebuild")
        if self.delta:
            ahead, dead, base = self.delta
            sentences += (f"; kept the {base:,}-row base, with {ahead:,} document{'s' * (ahead != 1)} in its "
                          f"delta segment retiring {dead:,} base row{'s' * (dead != 1)} (merged into a new base past "
                          f"{segments.DELTA_MAX_SHARE:.0%} of it, or with --full)")
        return (f"{prefix}added {self.added}, changed {self.changed}, removed {self.removed}, "
                f"total {self.total} in {self.seconds:.1f} s ({detail}){sentences}")


def rebuild(settings: Settings, *, full: bool = False, index_type: str | None = None,
            encoder: Encoder | OnnxEncoder | None = None, progress: bool = True) -> Report:
    """Bring the index at `settings.index_dir` up to date with the corpus and model.
    `index_type` None keeps the existing index's FAISS type (Flat for a new index); `encoder` lets a
    caller share an already loaded model (an `Encoder` or `OnnxEncoder`); otherwise the verified ONNX
    export is used (`rag.index.encoders.choose.choose`), else sentence-transformers with `Report.notice`.
    Raises RebuildError, having made nothing (no lock file, folder or chunk), when `settings.index_dir` is
    neither absent, an empty folder nor an index this project wrote (`versions.check_output_path`)."""
    started = time.perf_counter()
    out = settings.index_dir
    check_output_path(out)  # first: the lock file, parent folders and working folder below are all made beside it
    corpus = load_corpus(settings.corpus_dir)
    with ExitStack() as stack:
        try:
            stack.enter_context(writer_lock(out))
        except OSError as exc:
            raise RebuildError(f"output folder {out} is not writable: {exc.strerror or exc}") from None
        check_output_path(out)  # again, holding the lock: another process may have put something there meanwhile
        report = _rebuild_locked(corpus, settings, full, index_type, encoder, progress)
    report.seconds = time.perf_counter() - started
    return report


def _rebuild_locked(corpus: Corpus, settings: Settings, full: bool, index_type: str | None,
                    encoder: Encoder | OnnxEncoder | None, progress: bool) -> Report:
    out = settings.index_dir
    clean_leftovers(out)
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
    report = Report(added=len(diff.added), changed=len(diff.changed), removed=len(diff.removed),
                    total=len(corpus), full_reason=full_reason)
    if manifest is not None and index_type != manifest.index_type:
        report.retyped = f"{manifest.index_type} -> {index_type}"
    bm25 = params(settings)
    if manifest is not None and full_reason is None:
        report.refreshed = parts_staleness(manifest, bm25)
    work = chunks.work_folder(out)
    if full_reason is None and not diff and not report.retyped and not report.refreshed:
        report.up_to_date = True
        chunks.WorkFolder(work, {}).remove()  # left by a run killed before the corpus came back to the index
        return report

    say = _say if progress else (lambda line: None)
    old = None if full_reason else _load_old(out)
    old_folder = out.resolve() if old is not None else None  # its files may be linked into the new version
    to_embed = corpus.documents if full_reason else diff.added + diff.changed
    split = _sentences_to_embed(corpus, old, to_embed)
    model_info = _model_info(settings, encoder, old, manifest if full_reason is None else None,
                             bool(to_embed) or any(split.values()), corpus, progress)
    report.notice = model_info.pop("notice")
    encoder = model_info.pop("embedder")
    if old is not None and encoder is not None and model_info["dimension"] != old.dimension:
        report.full_reason = f"dimension changed from {old.dimension} to {model_info['dimension']}"
        old, old_folder, to_embed = None, None, corpus.documents
        split = _sentences_to_embed(corpus, old, to_embed)
    dimension = model_info["dimension"]
    backend = getattr(model_info["encoder"], "backend", None)
    saved = chunks.WorkFolder(work, {"model": model_info["model"], "fingerprint": model_info["model_fingerprint"],
                                     "backend": backend, "dimension": dimension})
    started = time.perf_counter()
    fresh, report.resumed, _ = chunks.embed(saved, "documents", [[d.embedding_text] for d in to_embed], encoder,
                                            label="embedding", unit="docs", progress=progress, say=say)
    if len(to_embed) > report.resumed:  # docs/s counts document encoding alone: not model load or sentences
        report.embed_seconds, report.embedded = time.perf_counter() - started, len(to_embed) - report.resumed
        report.encoder = model_info["encoder"].backend
    old_rows = _old_rows(old, held)
    fresh_sentences, report.sentences, report.resumed_sentences = _embed_sentences(split, saved, encoder, progress,
                                                                                   say)
    delta = None
    if old is not None and not report.full_reason and not report.retyped and not report.refreshed:
        delta = segments.plan(old, diff, old_rows, bm25, settings.delta_min_rows)
    if delta is not None:
        provenance = replace(_provenance(settings, corpus, model_info), corpus_fingerprint=corpus_fingerprint(
            corpus.documents))
        fresh_by_id = {d.id: vector[0] for d, vector in zip(to_embed, fresh, strict=True)}
        index = segments.assemble(old, delta, old_rows, fresh_by_id, fresh_sentences, provenance)
        report.delta = (len(delta.ahead), len(delta.dead), old.base_rows)
        linked = segments.base_files(old_folder)
        report.linked = sorted(linked)
        return _save(index, out, linked, report, saved, say)
    same_rows = old is not None and old.delta is None and list(old_rows) == [d.id for d in corpus.documents]
    vectors = _assemble(corpus, old, old_rows, to_embed, fresh, dimension)
    sentence_vectors = _assemble_sentences(corpus, old, old_rows, fresh_sentences, dimension)
    reuse_bm25 = same_rows and old.keyword is not None and not diff and old.keyword.params == bm25
    if not reuse_bm25:
        say(f"building the BM25 keyword index ({len(corpus):,} documents)")
    keyword = old.keyword if reuse_bm25 else KeywordIndex.build([keyword_text(d) for d in corpus.documents],
                                                                settings)
    same_vectors = same_rows and not to_embed
    same_ann = same_vectors and index_type == old.manifest.index_type
    if not same_ann:
        say(f"building the FAISS {index_type} index ({len(corpus):,} vectors)")
    try:
        index = Index.build(corpus.documents, vectors, _provenance(settings, corpus, model_info),
                            index_type=index_type, sentences=sentence_vectors, keyword=keyword,
                            ann=old.ann if same_ann else None)
    except RuntimeError as exc:  # FAISS rejects the factory string or cannot train on this many vectors
        raise RebuildError(f"FAISS index type {index_type!r} cannot be built: {str(exc).splitlines()[0]}") from None
    same_sentences = same_rows and not split and old.manifest.sentences == index.manifest.sentences  # and dtype
    # A documents.sqlite from before manifest format 3 lacks the content hashes: written again, never linked.
    same_documents = same_rows and not diff and old.manifest.listed is None
    unchanged = _unchanged_files(old_folder, same_documents, same_vectors, same_ann, same_sentences, reuse_bm25)
    report.linked = sorted(unchanged)
    return _save(index, out, unchanged, report, saved, say)


def _save(index: Index, out: Path, unchanged: dict[str, Path], report: Report, saved: chunks.WorkFolder,
          say) -> Report:
    """Publish the new version, hard-linking the `unchanged` files of the previous one."""
    say(f"writing the index to {out}" + (f" (linking unchanged {', '.join(report.linked)})" if unchanged else ""))
    try:
        index.save(out, before_swap=_pause_before_swap, reuse=unchanged)
    except OSError as exc:
        raise RebuildError(f"cannot write the index to {out}: {exc.strerror or exc}") from None
    saved.remove()  # the new version is in place: the embeddings kept for a resume are no longer needed
    return report


def _say(line: str) -> None:
    """A status line on stderr, for the phases without a bar."""
    print(line, file=sys.stderr, flush=True)


def _old_rows(old: Index | None, held: Mapping[str, str]) -> dict[str, int]:
    """Each document id of the old index and its row (from `held`, its row-ordered ids and content hashes, so
    no document record is parsed)."""
    if old is None:
        return {}
    ids = list(held) or [d.id for d in old.documents]
    live = old.live()  # `held` leaves out the rows a delta retired
    return dict(zip(ids, range(len(ids)) if live is None else live.nonzero()[0].tolist(), strict=True))


def _unchanged_files(old_folder: Path | None, same_documents: bool, same_vectors: bool, same_ann: bool,
                     same_sentences: bool, same_bm25: bool) -> dict[str, Path]:
    """The files of the new version that would hold exactly what the previous version's do, by name, with
    the previous version's path: the save hard-links them instead of writing gigabytes again."""
    if old_folder is None:
        return {}
    groups = [((DOCUMENTS_DB, DATE_SPANS, COLLECTIONS), same_documents), ((VECTORS,), same_vectors),
              ((FAISS_INDEX,), same_ann), ((SENTENCES, SENTENCE_OFFSETS), same_sentences), ((BM25,), same_bm25)]
    # A group is written together (the collection codes come with the document table): linked whole or not at all.
    return {name: old_folder / name for names, same in groups
            if same and all((old_folder / name).exists() for name in names) for name in names}


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


def _model_info(settings: Settings, encoder: Encoder | OnnxEncoder | None, old: Index | None,
                kept: Manifest | None, needed: bool, corpus: Corpus, progress: bool) -> dict:
    """Model name, fingerprint, weight-file signature, dimension, encoder record and the encoder itself
    ("embedder"); loads an encoder only when something must be embedded (a removal-only rebuild keeps the
    old index's facts). `kept` is the manifest of an index whose model is unchanged: a recorded fallback to
    sentence-transformers is kept rather than the export retried (`--full` retries it)."""
    from rag.index.encoders.check_texts import for_corpus
    from rag.index.encoders.choose import choose, fallback_notice, record_of
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.weights import weights_signature

    if not needed and old is not None:
        keep = ("model", "model_fingerprint", "model_files", "dimension", "encoder")
        return {**{k: getattr(old.manifest, k) for k in keep}, "embedder": None, "notice": None}
    if encoder is not None:
        record = record_of(encoder)
    else:
        log = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else None
        chosen = choose(settings, built=kept, check_texts=for_corpus(corpus.documents), log=log)
        encoder, record = chosen.encoder, chosen.record
    notice = fallback_notice(record.fallback) if record.fallback else None
    dimension = encoder.dimension  # a ModelError stays one: its own exit status (5), not a RebuildError's
    if isinstance(encoder, OnnxEncoder):
        encoder.load()  # the session, so that embedding time is embedding alone (torch loads above)
    return {"model": settings.model, "model_fingerprint": encoder.fingerprint,
            "model_files": weights_signature(settings.model, settings.model_cache), "dimension": dimension,
            "encoder": record, "embedder": encoder, "notice": notice}


def _assemble(corpus: Corpus, old: Index | None, old_rows: dict[str, int], embedded: list,
              fresh: list[np.ndarray], dimension: int) -> np.ndarray:
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


def _sentences_to_embed(corpus: Corpus, old: Index | None, embedded: list) -> dict[str, list[str]]:
    """Summary sentences to embed, by document id: those of the `embedded` documents, or of every document
    when the old index has none, or had them split another way."""
    keep = old is not None and old.sentences is not None and old.sentences.splitter == SPLITTER
    return {d.id: sentences(d.summary) for d in (embedded if keep else corpus.documents)}


def _embed_sentences(split: dict[str, list[str]], saved: chunks.WorkFolder, encoder: Encoder | None,
                     progress: bool, say) -> tuple[dict[str, np.ndarray], int, int]:
    """Sentence vectors of the documents in `split`, by id (saved chunk by chunk, reusing an interrupted
    run's), with the counts embedded and resumed."""
    ids = list(split)
    fresh, _, resumed = chunks.embed(saved, "sentences", [split[i] for i in ids], encoder, label="sentences",
                                     unit="sentences", progress=progress, say=say)
    embedded = sum(len(p) for p in split.values()) - resumed
    return dict(zip(ids, fresh, strict=True)), embedded, resumed


def _assemble_sentences(corpus: Corpus, old: Index | None, old_rows: dict[str, int],
                        fresh: Mapping[str, np.ndarray], dimension: int) -> SentenceVectors:
    """Sentence vectors in corpus order: `fresh` ones (by id), the old index's for the rest."""
    import numpy as np

    parts = [fresh[d.id] if d.id in fresh else old.sentence_vectors(old_rows[d.id]) for d in corpus.documents]
    vectors = np.concatenate(parts) if parts else np.zeros((0, dimension), dtype=np.float32)
    return SentenceVectors.assemble([len(p) for p in parts], vectors)


def _provenance(settings: Settings, corpus: Corpus, model_info: dict) -> Manifest:
    """The manifest's descriptive fields (Index.build adds the structural ones)."""
    versions = {"python": sys.version.split()[0]}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return Manifest(model=model_info["model"], model_fingerprint=model_info["model_fingerprint"],
                    model_files=model_info["model_files"], encoder=model_info["encoder"],
                    corpus_folder=Path(settings.corpus_dir).resolve(),
                    corpus_files=tuple(Path(f).name for f in corpus.files), versions=versions,
                    built_at=datetime.now(UTC).isoformat(timespec="seconds"))


def _pause_before_swap() -> None:
    seconds = float(os.environ.get(PAUSE_BEFORE_SWAP_ENV) or 0)
    if seconds > 0:
        print(f"pausing {seconds} s before swapping the new index in ({PAUSE_BEFORE_SWAP_ENV})", file=sys.stderr,
              flush=True)
        time.sleep(seconds)


# --------------------------------------------------------------------------------------- in memory


def in_memory(documents: Sequence[Document], encoder: Encoder | OnnxEncoder, *, index_type: str | None = None,
              settings: Settings | None = None) -> Index:
    """An index over `documents` embedded by `encoder`, never written to disk (evaluation, tests, benchmarks):
    the same vectors, sentence vectors and BM25 index (`settings`' parameters, default from the environment)
    as the rebuild writes; `rag.index.encoders.choose.choose` gives the encoder a rebuild would use."""
    from rag.index.encoders.choose import record_of

    vectors = encoder.encode([d.embedding_text for d in documents])
    keyword = KeywordIndex.build([keyword_text(d) for d in documents], settings or Settings.from_env())
    return Index.build(documents, vectors, Manifest(model=encoder.name, encoder=record_of(encoder)),
                       index_type=index_type, sentences=SentenceVectors.embed(documents, encoder), keyword=keyword)


# ------------------------------------------------------------------------------------------- check


def check(settings: Settings, index_type: str | None = None) -> list[str]:
    """Reasons the index is stale for the corpus and model (empty when fresh); reads only JSON unless it
    is fresh, then loads it to prove its files are whole."""
    corpus = load_corpus(settings.corpus_dir)
    out = settings.index_dir
    manifest = read_manifest(out)
    if manifest is None:
        return [f"no index at {out}"]
    held = document_hashes(manifest)  # read once for both comparisons
    diff = changes(manifest, corpus.documents, held)
    titles = removed_titles(out, diff.removed) if diff.removed else None
    reasons = staleness(manifest, corpus.documents, settings.model, index_type=index_type, titles=titles,
                        bm25=params(settings), held=held, model_cache=settings.model_cache)
    if not reasons:
        Index.load(out)
    return reasons


