"""`rebuild_into`: incremental by content hash, one transaction (a crash before the commit leaves the previous
state), one rebuild at a time (advisory lock), every row rewritten for another model."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EDITED_FROM as OLD

from rag.documents.corpus import load_corpus
from rag.errors import RebuildError
from rag.index.postgres.backend import PostgresIndex
from rag.index.postgres.connection import Database
from rag.index.postgres.rebuild import REBUILD_LOCK, rebuild_into
from rag.settings import Settings

pytestmark = pytest.mark.slow
CORPUS = Path(__file__).resolve().parents[3] / "corpus"
def _generation(url: str) -> int:
    db = Database(url)
    try:
        return db.one("SELECT generation FROM meta")[0]
    finally:
        db.close()


def test_a_second_rebuild_writes_nothing_and_one_changed_summary_writes_one_row(fresh_database, encoder, edited_corpus):
    first = rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False)
    assert (first.rows.written, first.rows.deleted, first.added, first.total) == (20, 0, 20, 20)
    key_before = PostgresIndex.open(fresh_database, Settings()).keys.tolist()

    again = rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False)
    assert again.up_to_date and again.rows.written == 0 and again.rows.unchanged == 20
    assert _generation(fresh_database) == 1  # nothing committed

    edited = rebuild_into(fresh_database, edited_corpus, Settings(), encoder=encoder,
                          progress=False)
    assert (edited.changed, edited.added, edited.removed) == (1, 0, 0)
    assert (edited.rows.written, edited.rows.deleted, edited.rows.unchanged) == (1, 0, 19)
    assert "document rows written 1, deleted 0, unchanged 19" in edited.line("db")
    index = PostgresIndex.open(fresh_database, Settings())
    assert index.keys.tolist() == key_before  # updated in place: same rows
    assert index.generation == 2
    assert index.keyword.terms("zeppelins") == ["zeppelin"]
    assert index.staleness(load_corpus(edited_corpus).documents, index.manifest.model) == []


def test_a_removed_document_leaves_with_its_sentences_and_terms(fresh_database, encoder, tmp_path):
    rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False)
    folder = tmp_path / "corpus"
    folder.mkdir()
    documents = load_corpus(CORPUS).documents
    import json

    (folder / "docs.jsonl").write_text("".join(json.dumps(d.to_record()) + "\n" for d in documents[1:]),
                                       encoding="utf-8")
    report = rebuild_into(fresh_database, folder, Settings(), encoder=encoder, progress=False)
    assert (report.removed, report.rows.deleted, report.rows.written) == (1, 1, 0)
    db = Database(fresh_database)
    try:
        assert db.one("SELECT count(*) FROM documents WHERE id = %s", (documents[0].id,))[0] == 0
        orphans = db.one("SELECT count(*) FROM terms t LEFT JOIN documents d USING (key) WHERE d.key IS NULL")[0]
        assert orphans == 0
        assert db.one("SELECT documents FROM meta")[0] == 19
    finally:
        db.close()


def test_a_crash_before_the_commit_leaves_the_previous_documents_answering(fresh_database, encoder, edited_corpus):
    rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False)

    def crash():
        raise RuntimeError("power cut after the rows were written")

    with pytest.raises(RuntimeError, match="power cut"):
        rebuild_into(fresh_database, edited_corpus, Settings(), encoder=encoder,
                     progress=False, before_commit=crash)
    index = PostgresIndex.open(fresh_database, Settings())
    assert index.generation == 1
    assert index.keyword.terms("zeppelins") == []
    assert any(OLD in (d.summary or "") for d in index.documents)
    from rag.search.retriever import Retriever

    results = Retriever(index, encoder, Settings()).search("East German policies toward the split", k=3)
    assert any(OLD in (h.doc.summary or "") for h in results)


def test_a_second_rebuild_at_once_is_refused(fresh_database, encoder):
    holder = Database(fresh_database)
    try:
        with holder.advisory_lock(REBUILD_LOCK) as had:
            assert had
            with pytest.raises(RebuildError, match="another rebuild into .* is running"):
                rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False)
    finally:
        holder.close()
    rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False)  # free again


def test_full_rewrites_every_row(fresh_database, encoder):
    rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False)
    report = rebuild_into(fresh_database, CORPUS, Settings(), encoder=encoder, progress=False, full=True)
    assert report.full_reason and (report.rows.written, report.rows.deleted) == (20, 20)
    assert len(PostgresIndex.open(fresh_database, Settings())) == 20


def test_the_password_never_shows_in_a_failure(encoder):
    with pytest.raises(RebuildError) as caught:
        rebuild_into("postgresql://someone:hunter2@127.0.0.1:1/nothing", CORPUS, Settings(), encoder=encoder,
                     progress=False)
    assert "hunter2" not in str(caught.value) and "someone:***@" in str(caught.value)
