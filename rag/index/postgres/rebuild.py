"""Bring a database index up to date with a corpus (`coldwar-rag rebuild --backend URL`): incremental by content
hash, one transaction, one rebuild at a time.

The corpus is read and compared with the hashes the table holds; only new and changed documents are embedded
(with the encoder a folder rebuild uses, `rag.index.encoders.choose`; progress bars on stderr), their summary
sentences too, and their BM25 terms counted. Then, in ONE transaction: removed documents deleted (their
sentences and terms with them), changed ones updated in place (keeping their key, so their row), new ones
inserted, the BM25 statistics and the manifest written and `generation` bumped. An exception before the commit
(a crash, a lost connection) leaves the previous state; serving processes see the new one when it commits.
Another model (name, weights or dimension), sentence splitter or tokenizer rewrites every row. Two rebuilds
into one database at once: the second is refused (`pg_try_advisory_lock`).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.documents.corpus import load_corpus
from rag.documents.sentences import SPLITTER
from rag.documents.sentences import sentences as split_sentences
from rag.errors import RebuildError
from rag.index.assemble import ModelFacts, provenance
from rag.index.keyword import TOKENIZER, KeywordIndex, keyword_text, params
from rag.index.manifest import Manifest, changes, corpus_fingerprint, model_staleness
from rag.index.postgres import schema
from rag.index.postgres.connection import Database, DatabaseError, literal
from rag.index.report import Report, Written
from rag.index.schema import date_spans

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    import numpy as np

    from rag.documents.document import Document
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder
    from rag.settings import Settings

#: `pg_try_advisory_lock` key every rebuild into a database takes first.
REBUILD_LOCK = 0x7261_6702
#: The vector index type a database index records (the manifest's `index_type`).
INDEX_TYPE = "pgvector HNSW (vector_ip_ops)"
_BATCH = 64


def rebuild_into(url: str, corpus_dir: Path, settings: Settings, *, full: bool = False,
                 encoder: Encoder | OnnxEncoder | None = None, progress: bool = True,
                 before_commit: Callable[[], None] | None = None) -> Report:
    """Bring the index in the database at `url` up to date with the corpus at `corpus_dir`.

    Args:
        url: `postgresql://...` (its schema is created or migrated first).
        corpus_dir: the corpus folder.
        settings: the model, model cache, ONNX cache, device and BM25 tokenizer.
        full: embed and write every document again.
        encoder: an already loaded encoder to share; None chooses one as a folder rebuild does.
        progress: progress bars and status lines on stderr.
        before_commit: called when every row is written, before the commit (a test's crash).

    Returns:
        What it did; `report.rows` says which rows it wrote, deleted and left.

    Raises:
        RebuildError: another rebuild into the same database is running, or the database refused.
        CorpusError, ModelError: the corpus cannot be read, the model cannot be loaded.
    """
    started = time.perf_counter()
    settings = replace(settings, corpus_dir=corpus_dir)
    corpus = load_corpus(corpus_dir)
    db = Database(url)
    try:
        with db.advisory_lock(REBUILD_LOCK) as had:
            if not had:
                raise RebuildError(f"another rebuild into {db.shown} is running; wait for it to finish")
            schema.migrate(db)
            report = _rebuild_locked(db, corpus, settings, full, encoder, progress, before_commit)
    except DatabaseError as exc:
        raise RebuildError(f"rebuild into {db.shown} failed, nothing changed: {exc}") from None
    finally:
        db.close()
    report.seconds = time.perf_counter() - started
    return report


def _rebuild_locked(db: Database, corpus, settings: Settings, full: bool, encoder, progress: bool,
                    before_commit) -> Report:
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else (lambda line: None)
    stored = db.one("SELECT manifest FROM meta")[0]
    old = Manifest.from_json(stored) if stored else None
    held = dict(db.rows("SELECT id, content_hash FROM documents ORDER BY key"))
    diff = changes(None, corpus.documents, held)
    reason = _full_reason(old, settings, full, bool(held))
    report = Report(added=len(diff.added), changed=len(diff.changed), removed=len(diff.removed),
                    total=len(corpus), full_reason=reason)
    if reason is None and not diff:
        report.up_to_date = True
        report.rows = Written(unchanged=len(held))
        return report
    facts, encoder, report.notice = _model(settings, encoder, old if reason is None else None, corpus, say)
    if reason is None and old is not None and facts.dimension != old.dimension:
        reason = report.full_reason = f"dimension changed from {old.dimension} to {facts.dimension}"
    todo = list(corpus.documents) if reason else diff.added + diff.changed
    embedding = time.perf_counter()
    vectors = _embed(encoder, [d.embedding_text for d in todo], "embedding", "docs", progress)
    report.embed_seconds = time.perf_counter() - embedding  # the rate counts document encoding alone, as a folder's
    parts = [split_sentences(d.summary) for d in todo]
    flat = _embed(encoder, [s for p in parts for s in p], "sentences", "sentences", progress)
    report.embedded, report.sentences, report.encoder = len(todo), len(flat), facts.encoder.backend
    tokens = KeywordIndex.tokenize([keyword_text(d) for d in todo])
    manifest = _manifest(settings, corpus, facts)
    say(f"writing {len(todo)} document rows into {db.shown}")
    with db.transaction() as tx:
        rewrite = bool(reason) or schema.dimension(tx) != facts.dimension
        if rewrite:
            tx.execute("TRUNCATE documents, sentences, terms")
            schema.set_dimension(tx, facts.dimension)
        elif diff.removed:
            tx.execute("DELETE FROM documents WHERE id = ANY(%s)", (diff.removed,))
        keys = _upsert(tx, todo, vectors, tokens)
        if not rewrite and diff.changed:
            changed = [keys[d.id] for d in diff.changed]
            tx.execute("DELETE FROM sentences WHERE key = ANY(%s)", (changed,))
            tx.execute("DELETE FROM terms WHERE key = ANY(%s)", (changed,))
        _write_parts(tx, todo, keys, parts, flat, tokens)
        if rewrite:
            schema.create_vector_index(tx)
        count = tx.rows("SELECT count(*) FROM sentences")[0][0]
        manifest["sentences"] = {"splitter": SPLITTER, "count": int(count), "dtype": "float32"}
        tx.execute("UPDATE meta SET manifest = %s::jsonb, documents = (SELECT count(*) FROM documents), "
                   "average_length = (SELECT coalesce(avg(length), 0)::float8 FROM documents), "
                   "generation = generation + 1", (json.dumps(manifest),))
        if before_commit is not None:
            before_commit()
    deleted = len(held) if rewrite else len(diff.removed)
    report.rows = Written(written=len(todo), deleted=deleted, unchanged=len(corpus) - len(todo))
    return report


def _full_reason(old: Manifest | None, settings: Settings, full: bool, has_rows: bool) -> str | None:
    """Why every row is written again; None for an incremental rebuild."""
    if full:
        return "asked for (--full)"
    if old is None:
        return "the database held no index" if has_rows else None
    reasons = model_staleness(old, settings.model, settings.model_cache)
    if reasons:
        return reasons[0]
    if (old.sentences or {}).get("splitter") != SPLITTER:
        return f"sentence splitter changed to {SPLITTER!r}"
    if (old.bm25 or {}).get("tokenizer") != TOKENIZER:
        return f"BM25 tokenizer changed to {TOKENIZER!r}"
    return None


def _model(settings: Settings, encoder, kept: Manifest | None, corpus, say) -> tuple[ModelFacts, object, str | None]:
    """The encoder (chosen as a folder rebuild chooses it unless given) and the facts the manifest records."""
    from rag.index.encoders.check_texts import for_corpus
    from rag.index.encoders.choose import choose, fallback_notice, record_of
    from rag.index.encoders.weights import weights_signature

    if encoder is not None:
        record = record_of(encoder)
    else:
        chosen = choose(settings, built=kept, check_texts=for_corpus(corpus.documents), log=say)
        encoder, record = chosen.encoder, chosen.record
    notice = fallback_notice(record.fallback) if record.fallback else None
    facts = ModelFacts(settings.model, encoder.fingerprint, weights_signature(settings.model, settings.model_cache),
                       encoder.dimension, record)
    return facts, encoder, notice


def _embed(encoder, texts: list[str], label: str, unit: str, progress: bool) -> np.ndarray:
    """Unit vectors of `texts`, with a progress bar on stderr as the folder rebuild shows."""
    import numpy as np

    if not texts:
        return np.zeros((0, encoder.dimension), dtype=np.float32)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), unit=f" {unit}", desc=label, file=sys.stderr, dynamic_ncols=True)
    try:
        return np.asarray(encoder.encode(texts, batch_size=_BATCH, progress=False if bar is None else bar.update),
                          dtype=np.float32)
    finally:
        if bar is not None:
            bar.close()


def _manifest(settings: Settings, corpus, facts: ModelFacts) -> dict:
    """The manifest JSON `meta` holds (the sentence count is added once written)."""
    described = replace(provenance(settings, corpus, facts), dimension=facts.dimension, index_type=INDEX_TYPE,
                        corpus_fingerprint=corpus_fingerprint(corpus.documents), count=len(corpus),
                        bm25=params(settings))
    return described.to_json()


def _upsert(tx, documents: Sequence[Document], vectors: np.ndarray, tokens: list[list[str]]) -> dict[str, int]:
    """Insert new documents and update changed ones in place (their key kept); their keys by id."""
    if not documents:
        return {}
    tx.execute("CREATE TEMP TABLE staged (ord integer, id text, collection text, date text, date_text text, "
               "first_day integer, last_day integer, title text, summary text, url text, content_hash text, "
               "length integer, embedding text) ON COMMIT DROP")
    spans = date_spans(documents)
    tx.copy("COPY staged FROM STDIN", (
        (n, d.id, d.collection, d.date, d.date_text, int(spans[n, 0]), int(spans[n, 1]), d.title, d.summary, d.url,
         d.content_hash, len(tokens[n]), literal(vectors[n])) for n, d in enumerate(documents)))
    columns = "id, collection, date, date_text, first_day, last_day, title, summary, url, content_hash, length"
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*columns.split(", ")[1:], "embedding"))
    found = tx.rows(f"INSERT INTO documents ({columns}, embedding) SELECT {columns}, embedding::vector FROM staged "
                    f"ORDER BY ord ON CONFLICT (id) DO UPDATE SET {updates} RETURNING id, key")
    return dict(found)


def _write_parts(tx, documents: Sequence[Document], keys: dict[str, int], parts: list[list[str]],
                 flat: np.ndarray, tokens: list[list[str]]) -> None:
    """The sentences' vectors and the BM25 terms of the documents written."""
    def sentence_rows():
        at = 0
        for doc, sentences in zip(documents, parts, strict=True):
            for position in range(len(sentences)):
                yield keys[doc.id], position, literal(flat[at])
                at += 1

    tx.copy("COPY sentences (key, position, embedding) FROM STDIN", sentence_rows())
    tx.copy("COPY terms (term, key, tf) FROM STDIN", (
        (term, keys[doc.id], tf) for doc, words in zip(documents, tokens, strict=True)
        for term, tf in Counter(words).items()))
