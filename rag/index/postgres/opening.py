"""Opening a database index to answer questions (`rag.index.opening.open_index` hands over here when
`Settings.backend` is a URL): the manifest the database holds, the model it is asked with, the corpus it is
checked against (content hashes, as for an index folder), a rebuild into it first when asked, and the encoder.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import IndexUnavailable, StaleIndex
from rag.index.postgres.backend import PostgresIndex, rebuild_hint

if TYPE_CHECKING:
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder
    from rag.settings import Settings

log = logging.getLogger(__name__)


def open_database(settings: Settings, *, corpus: str | Path | None = None, model_given: bool = False,
                  check: bool = True, rebuild: bool = False
                  ) -> tuple[PostgresIndex, Encoder | OnnxEncoder, Settings, tuple[str, ...], Path | None]:
    """Open the index in the database `settings.backend` names, and its query encoder.

    Args:
        settings: the database URL, the model asked for, the BM25 parameters, the ONNX cache.
        corpus: the corpus folder to check against; None: the one the manifest records (else the configured).
        model_given: `settings.model` was asked for; otherwise the index's own model is used.
        check: raise `StaleIndex` when the index no longer matches its corpus or the model.
        rebuild: rebuild a missing or stale index into the database first, from that corpus.

    Returns:
        The index, its encoder, the settings as used, notes and the corpus folder: the fields of
        `rag.index.opening.Opened`.

    Raises:
        IndexUnavailable: no index in the database (and no rebuild asked for), or it cannot be reached.
        StaleIndex: the index is stale (with `check`) or its vectors have another dimension than the model's.
    """
    from rag.index.encoders.choose import choose

    url = settings.backend
    try:
        index = PostgresIndex.open(url, settings)
    except IndexUnavailable:
        if not rebuild:
            raise
        log.warning("no index in %s; building it from %s", index_name(url), settings.corpus_dir)
        index = _rebuilt(settings, Path(corpus or settings.corpus_dir))
    if not model_given and index.manifest.model:
        settings = replace(settings, model=index.manifest.model)
    corpus_dir, notes = _corpus_of(settings, index, corpus)
    settings = replace(settings, corpus_dir=corpus_dir or settings.corpus_dir)
    if check:
        reasons = _staleness(index, corpus_dir, settings)
        if reasons and rebuild and corpus_dir is not None:
            log.warning("the index in %s is out of date (%s); rebuilding it from %s", index_name(url),
                        "; ".join(reasons), corpus_dir)
            index = _rebuilt(settings, corpus_dir)
            reasons = _staleness(index, corpus_dir, settings)
        if reasons:
            raise StaleIndex(f"the index in {index_name(url)} is out of date ({'; '.join(reasons)}); rebuild it "
                             f"with `{rebuild_hint(url)} --corpus {corpus_dir or settings.corpus_dir}`")
    chosen = choose(settings, built=index.manifest, questions=True,
                    check_texts=[doc.embedding_text for doc in index.documents[:256]])
    if chosen.notice:
        log.warning("index in %s: %s", index_name(url), chosen.notice)
        notes.append(chosen.notice)
    if chosen.encoder.dimension != index.dimension:
        raise StaleIndex(f"the index holds {index.dimension}-dimensional vectors but {settings.model} makes "
                         f"{chosen.encoder.dimension}; rebuild it with `{rebuild_hint(url)}`")
    return index, chosen.encoder, settings, tuple(notes), corpus_dir


def database_staleness(settings: Settings) -> list[str]:
    """Why the database index is stale for `settings.corpus_dir` and `settings.model` (`rebuild --check`).

    Args:
        settings: the database URL, the corpus folder and the model.

    Returns:
        The reasons; empty when up to date.
    """
    try:
        index = PostgresIndex.open(settings.backend, settings)
    except IndexUnavailable as exc:
        return [exc.line()]
    return _staleness(index, settings.corpus_dir, settings)


def index_name(url: str) -> str:
    """The database as messages name it (no password).

    Args:
        url: its URL.
    """
    from rag.settings import redacted_url

    return redacted_url(url)


def _corpus_of(settings: Settings, index: PostgresIndex, corpus) -> tuple[Path | None, list[str]]:
    """As `rag.index.opening.corpus_of`, for the manifest the database holds."""
    if corpus is not None:
        return Path(corpus).expanduser(), []
    recorded = index.manifest.corpus_folder
    if recorded is None:
        return settings.corpus_dir, []
    if recorded.is_dir():
        return recorded, []
    note = f"staleness not checked: the corpus folder the index was built from, {recorded}, no longer exists"
    log.warning("index in %s: %s", index.location, note)
    return None, [note]


def _staleness(index: PostgresIndex, corpus_dir: Path | None, settings: Settings) -> list[str]:
    from rag.documents.corpus import load_corpus
    from rag.index.manifest import model_staleness

    if corpus_dir is None:
        return model_staleness(index.manifest, settings.model, settings.model_cache)
    return index.staleness(load_corpus(corpus_dir).documents, settings.model, model_cache=settings.model_cache)


def _rebuilt(settings: Settings, corpus_dir: Path) -> PostgresIndex:
    """Rebuild into the database in this process (progress only on a terminal), log its line, reopen."""
    import sys

    from rag.index.postgres.rebuild import rebuild_into

    report = rebuild_into(settings.backend, corpus_dir, settings, progress=sys.stderr.isatty())
    if report.notice:
        log.warning("%s", report.notice)
    log.warning("%s", report.line(index_name(settings.backend)))
    return PostgresIndex.open(settings.backend, settings)
