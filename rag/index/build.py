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

A rebuild is a few named steps: plan what changed (`rag.index.plan`), load the model (or keep the index's facts),
embed the documents, embed their summary sentences, assemble the new index (`rag.index.assemble`), publish it.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.corpus import Corpus, load_corpus
from rag.errors import RebuildError
from rag.index import chunks
from rag.index.assemble import ModelFacts, assemble
from rag.index.chunks import PAUSE_BEFORE_SWAP_ENV, RebuildHooks
from rag.index.keyword import KeywordIndex, keyword_text, params
from rag.index.manifest import Manifest, changes, document_hashes, read_manifest, removed_titles, staleness
from rag.index.plan import plan
from rag.index.report import Report
from rag.index.sentence_vectors import SentenceVectors
from rag.index.store import Index
from rag.index.versions import check_output_path, clean_leftovers, writer_lock

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np

    from rag.documents.document import Document
    from rag.index.assemble import Assembled
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder
    from rag.index.plan import Plan
    from rag.settings import Settings

__all__ = ["PAUSE_BEFORE_SWAP_ENV", "Report", "check", "in_memory", "rebuild"]


def rebuild(settings: Settings, *, full: bool = False, index_type: str | None = None,
            encoder: Encoder | OnnxEncoder | None = None, progress: bool = True,
            hooks: RebuildHooks | None = None) -> Report:
    """Bring the index at `settings.index_dir` up to date with the corpus and model.

    Args:
        settings: The corpus and index folders, the model, the device, the BM25 parameters, `delta_min_rows`.
        full: Embed everything again, also over an index that cannot be read.
        index_type: The FAISS type; None keeps the existing index's (chosen by size for a new index).
        encoder: An already loaded model to share (an `Encoder` or `OnnxEncoder`); None: the verified ONNX
            export (`rag.index.encoders.choose.choose`), else sentence-transformers with `Report.notice`.
        progress: Progress bars and status lines on stderr.
        hooks: The test-only hooks; None reads them from the environment (`RebuildHooks.from_env`): a rebuild
            is entered here, from the script, the retriever or a test alike.

    Returns:
        What it did.

    Raises:
        RebuildError: Having made nothing (no lock file, folder or chunk), when `settings.index_dir` is neither
            absent, an empty folder nor an index this project wrote (`versions.check_output_path`); or when it
            cannot read the index, build the FAISS type or write the new version.
        CorpusError, ModelError: The corpus cannot be read, the model cannot be loaded.
    """
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
        report = _rebuild_locked(corpus, settings, full, index_type, encoder, progress,
                                 hooks or RebuildHooks.from_env())
    report.seconds = time.perf_counter() - started
    return report


def _rebuild_locked(corpus: Corpus, settings: Settings, full: bool, index_type: str | None,
                    encoder: Encoder | OnnxEncoder | None, progress: bool, hooks: RebuildHooks) -> Report:
    """The steps of a rebuild, holding the writer lock."""
    out = settings.index_dir
    clean_leftovers(out)
    todo = plan(corpus, settings, full=full, index_type=index_type)
    report = Report(added=len(todo.diff.added), changed=len(todo.diff.changed), removed=len(todo.diff.removed),
                    total=len(corpus), full_reason=todo.full_reason, retyped=todo.retyped,
                    refreshed=list(todo.refreshed))
    work = chunks.work_folder(out)
    if todo.up_to_date:
        report.up_to_date = True
        chunks.WorkFolder(work, {}).remove()  # left by a run killed before the corpus came back to the index
        return report
    say = _say if progress else (lambda line: None)
    model = _model(settings, encoder, todo, corpus, progress)
    report.notice = model.notice
    if todo.old is not None and model.encoder is not None and model.facts.dimension != todo.old.dimension:
        todo = todo.from_scratch(corpus, f"dimension changed from {todo.old.dimension} to {model.facts.dimension}")
        report.full_reason = todo.full_reason
    saved = chunks.WorkFolder(work, model.facts.chunk_key())
    fresh = _embed_documents(todo.to_embed, model, saved, report, progress, say, hooks)
    fresh_sentences = _embed_sentences(todo.split, model, saved, report, progress, say, hooks)
    built = assemble(corpus, settings, todo, model.facts, fresh, fresh_sentences, say)
    report.delta, report.linked = built.delta, sorted(built.linked)
    _publish(built, out, report, saved, say, hooks)
    return report


@dataclass(frozen=True)
class _Model:
    """The model of a rebuild: the facts to record, and the encoder that embeds (None when nothing is embedded),
    with the one line saying why ONNX is not used."""

    facts: ModelFacts
    encoder: Encoder | OnnxEncoder | None = None
    notice: str | None = None


def _model(settings: Settings, encoder: Encoder | OnnxEncoder | None, todo: Plan, corpus: Corpus,
           progress: bool) -> _Model:
    """The model facts and the encoder; loads an encoder only when something must be embedded (a removal-only
    rebuild keeps the old index's facts). An index whose model is unchanged keeps a recorded fallback to
    sentence-transformers rather than retrying the export (`--full` retries it)."""
    from rag.index.encoders.check_texts import for_corpus
    from rag.index.encoders.choose import choose, fallback_notice, record_of
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.weights import weights_signature

    old, kept = todo.old, todo.manifest if todo.full_reason is None else None
    if not todo.needs_model and old is not None:
        return _Model(ModelFacts.of(old.manifest))
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
    facts = ModelFacts(settings.model, encoder.fingerprint, weights_signature(settings.model, settings.model_cache),
                       dimension, record)
    return _Model(facts, encoder, notice)


def _embed_documents(documents: Sequence[Document], model: _Model, saved: chunks.WorkFolder, report: Report,
                     progress: bool, say: Callable[[str], None], hooks: RebuildHooks) -> list[np.ndarray]:
    """The vectors of `documents`, saved chunk by chunk (reusing an interrupted run's); `report` counts and
    times them."""
    started = time.perf_counter()
    fresh, report.resumed, _ = chunks.embed(saved, "documents", [[d.embedding_text] for d in documents],
                                            model.encoder, label="embedding", unit="docs", progress=progress,
                                            say=say, hooks=hooks)
    if len(documents) > report.resumed:  # docs/s counts document encoding alone: not model load or sentences
        report.embed_seconds, report.embedded = time.perf_counter() - started, len(documents) - report.resumed
        report.encoder = model.facts.encoder.backend
    return fresh


def _embed_sentences(split: dict[str, list[str]], model: _Model, saved: chunks.WorkFolder, report: Report,
                     progress: bool, say: Callable[[str], None], hooks: RebuildHooks) -> dict[str, np.ndarray]:
    """Sentence vectors of the documents in `split`, by id (saved chunk by chunk, reusing an interrupted
    run's); `report` counts those embedded and resumed."""
    ids = list(split)
    fresh, _, report.resumed_sentences = chunks.embed(saved, "sentences", [split[i] for i in ids], model.encoder,
                                                      label="sentences", unit="sentences", progress=progress,
                                                      say=say, hooks=hooks)
    report.sentences = sum(len(p) for p in split.values()) - report.resumed_sentences
    return dict(zip(ids, fresh, strict=True))


def _publish(built: Assembled, out: Path, report: Report, saved: chunks.WorkFolder, say: Callable[[str], None],
             hooks: RebuildHooks) -> None:
    """Save the new version and swap it in, hard-linking the files it shares unchanged with the previous one."""
    say(f"writing the index to {out}" + (f" (linking unchanged {', '.join(report.linked)})" if built.linked else ""))
    try:
        built.index.save(out, before_swap=lambda: _pause_before_swap(hooks.pause_before_swap), reuse=built.linked)
    except OSError as exc:
        raise RebuildError(f"cannot write the index to {out}: {exc.strerror or exc}") from None
    saved.remove()  # the new version is in place: the embeddings kept for a resume are no longer needed


def _pause_before_swap(seconds: float) -> None:
    """The test-only pause inside the write/swap window (`RebuildHooks.pause_before_swap`)."""
    if seconds > 0:
        print(f"pausing {seconds} s before swapping the new index in ({PAUSE_BEFORE_SWAP_ENV})", file=sys.stderr,
              flush=True)
        time.sleep(seconds)


def _say(line: str) -> None:
    """A status line on stderr, for the phases without a bar."""
    print(line, file=sys.stderr, flush=True)

# --------------------------------------------------------------------------------------- in memory


def in_memory(documents: Sequence[Document], encoder: Encoder | OnnxEncoder, *, index_type: str | None = None,
              settings: Settings) -> Index:
    """An index never written to disk (evaluation, tests, benchmarks): the same vectors, sentence vectors and
    BM25 index as the rebuild writes.

    Args:
        documents: The rows.
        encoder: What embeds them; `rag.index.encoders.choose.choose` gives the encoder a rebuild
            would use.
        index_type: The FAISS type; None: chosen by size.
        settings: The BM25 parameters.

    Returns:
        The index.
    """
    from rag.index.encoders.choose import record_of

    vectors = encoder.encode([d.embedding_text for d in documents])
    keyword = KeywordIndex.build([keyword_text(d) for d in documents], settings)
    return Index.build(documents, vectors, Manifest(model=encoder.name, encoder=record_of(encoder)),
                       index_type=index_type, sentences=SentenceVectors.embed(documents, encoder), keyword=keyword)


# ------------------------------------------------------------------------------------------- check


def check(settings: Settings, index_type: str | None = None) -> list[str]:
    """Why the index is stale for the corpus and model; reads only JSON unless it is fresh, then loads it to
    prove its files are whole.

    Args:
        settings: The corpus and index folders, the model, the BM25 parameters.
        index_type: The FAISS type asked for; None: any.

    Returns:
        The reasons, empty when the index is fresh.

    Raises:
        IndexUnavailable: A fresh-looking index whose files are not whole.
    """
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


