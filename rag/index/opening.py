"""Opening an index to answer questions: its manifest, the model it is asked with, the corpus it is checked
against, a rebuild first when asked for one, its search files read into the page cache, and the encoder that
serves its questions. `rag.search.retriever.Retriever.load` is the entry point around it.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import IndexUnavailable, StaleIndex
from rag.index.keyword import params
from rag.index.store import Index

if TYPE_CHECKING:
    from rag.index.backend import Backend
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder
    from rag.index.manifest import Manifest
    from rag.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    """An index opened to answer questions.

    Attributes:
        index: The index, checked when asked.
        encoder: What encodes its questions.
        settings: The settings it was opened with: the index's own model unless another was asked for, the
            corpus folder it was checked against.
        notes: Said in every `Results.notes`, e.g. that its staleness was not checked.
        corpus_dir: The corpus folder it was checked against; None when the recorded one no longer exists.
    """

    index: Backend
    encoder: Encoder | OnnxEncoder
    settings: Settings
    notes: tuple[str, ...]
    corpus_dir: Path | None


def open_index(settings: Settings, *, corpus: str | Path | None = None, model_given: bool = False,
               check: bool = True, rebuild: bool = False) -> Opened:
    """Open the index at `settings.index_dir` (or in the database `settings.backend` names) and its query
    encoder.

    Args:
        settings: The index folder, the model asked for, the BM25 parameters, the ONNX cache.
        corpus: The corpus folder to check against; None: the one the manifest records.
        model_given: `settings.model` was asked for (an argument or `RAG_MODEL`); otherwise the index's own
            model is used.
        check: Raise `StaleIndex` when the index no longer matches its corpus or the model, or lacks
            up-to-date sentence vectors or BM25 index for the settings.
        rebuild: Rebuild a missing or stale index first, in this process, from that corpus.

    Returns:
        The index, its encoder, the settings as used, notes and the corpus folder.

    Raises:
        IndexUnavailable: No usable index (and no rebuild asked for, or no corpus to rebuild from).
        StaleIndex: The index is stale (with `check`) or holds vectors of another dimension than the model's.
    """
    from rag.index.encoders.choose import choose
    from rag.index.manifest import read_manifest, rebuild_command
    from rag.index.pagecache import warm
    from rag.index.versions import check_output_path

    if settings.backend:  # a database (`rag.index.postgres`), not the index folder
        from rag.index.postgres.opening import open_database

        return Opened(*open_database(settings, corpus=corpus, model_given=model_given, check=check, rebuild=rebuild))
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexUnavailable:
        manifest = None  # Index.load below says what is wrong and how to rebuild
    if not model_given and manifest is not None and manifest.model:
        settings = replace(settings, model=manifest.model)  # nobody asked for another: the index's own
    corpus_dir, notes = corpus_of(settings, manifest, corpus)
    settings = replace(settings, corpus_dir=corpus_dir or settings.corpus_dir)
    # The command to suggest names the index's own corpus, even a vanished one, never the default.
    command = rebuild_command(settings.index_dir, corpus_dir or (manifest and manifest.corpus_folder),
                              settings.model)
    try:
        index = Index.load(settings.index_dir)
    except IndexUnavailable:
        if not rebuild or corpus_dir is None:
            raise
        check_output_path(settings.index_dir)  # refused before saying it builds there
        log.warning("no usable index at %s; building it from %s", settings.index_dir, corpus_dir)
        rebuild_index(settings)
        index = Index.load(settings.index_dir)
    if check:
        reasons = current_staleness(index, corpus_dir, settings)
        if reasons and rebuild and corpus_dir is not None:
            log.warning("the index at %s is out of date (%s); rebuilding it from %s",
                        settings.index_dir, "; ".join(reasons), corpus_dir)
            rebuild_index(settings)
            index = Index.load(settings.index_dir)
            reasons = current_staleness(index, corpus_dir, settings)
        if reasons:
            raise StaleIndex(f"the index at {settings.index_dir} is out of date ({'; '.join(reasons)}); "
                             f"rebuild it with `{command}`")
    warm(index.search_files())  # read into the page cache while the encoder loads (`rag.index.pagecache`)
    chosen = choose(settings, built=index.manifest, questions=True,
                    check_texts=[doc.embedding_text for doc in index.documents[:256]])
    encoder, notice = chosen.encoder, chosen.notice
    if notice:
        log.warning("index at %s: %s", settings.index_dir, notice)
        notes.append(notice)
    if encoder.dimension != index.dimension:
        raise StaleIndex(f"the index holds {index.dimension}-dimensional vectors but {settings.model} makes "
                         f"{encoder.dimension}; rebuild it with `{command}`")
    return Opened(index, encoder, settings, tuple(notes), corpus_dir)


def corpus_of(settings: Settings, manifest: Manifest | None,
              corpus: str | Path | None) -> tuple[Path | None, list[str]]:
    """The corpus folder an index is checked (and rebuilt) against, and notes for the user.

    Args:
        settings: The configured corpus folder, and the index folder (named in the log).
        manifest: The index's; None when there is none yet.
        corpus: The folder asked for, which wins.

    Returns:
        `corpus` when given, else the folder the manifest records, else (no index yet, or an index that records
        none) the configured one; None, with a note, when the recorded folder no longer exists.
    """
    if corpus is not None:
        return Path(corpus).expanduser(), []
    if manifest is None or manifest.corpus_folder is None:
        return settings.corpus_dir, []
    if manifest.corpus_folder.is_dir():
        return manifest.corpus_folder, []
    note = (f"staleness not checked: the corpus folder the index was built from, {manifest.corpus_folder}, "
            "no longer exists")
    log.warning("index at %s: %s", settings.index_dir, note)
    return None, [note]


def current_staleness(index: Index, corpus_dir: Path | None, settings: Settings) -> list[str]:
    """Why the index no longer matches its corpus or the model, or lacks up-to-date sentence vectors and BM25
    index for the settings.

    Args:
        index: The index.
        corpus_dir: The corpus folder to compare with; None: not checked (the model and parts still are).
        settings: The model and the BM25 parameters.

    Returns:
        The reasons, empty when it is up to date.
    """
    from rag.documents.corpus import load_corpus
    from rag.index.manifest import model_staleness, parts_staleness

    bm25 = params(settings)
    if corpus_dir is None:
        return model_staleness(index.manifest, settings.model, settings.model_cache) + parts_staleness(
            index.manifest, bm25)
    return index.staleness(load_corpus(corpus_dir), settings.model, bm25=bm25, model_cache=settings.model_cache)


def rebuild_index(settings: Settings) -> None:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir, in this process (progress
    bar only on a terminal), and log the rebuild's one-line summary as the rebuild script prints it.

    Args:
        settings: The folders and the model.

    Raises:
        RebuildError, CorpusError, ModelError: It cannot.
    """
    from rag.index.build import rebuild

    report = rebuild(settings, progress=sys.stderr.isatty())
    if report.notice:
        log.warning("%s", report.notice)
    log.warning("%s", report.line(settings.index_dir))
