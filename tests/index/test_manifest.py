"""The manifest: its JSON form, the rebuild command it names, and staleness against a corpus and model."""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import yearly_documents

from rag.documents.document import Document
from rag.errors import IndexUnavailable
from rag.index.encoders.sentence_transformer import Encoder
from rag.index.manifest import (
    DOCUMENTS_DB,
    FORMAT,
    MANIFEST,
    Manifest,
    changes,
    corpus_fingerprint,
    document_hashes,
    read_manifest,
    rebuild_command,
    staleness,
)
from rag.index.store import Index

MODEL = "fake-model"  # not a folder: its fingerprint is a hash of the name, no weights needed


def _index(n: int) -> Index:
    vectors = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = Manifest(model=MODEL, model_fingerprint=Encoder(MODEL).fingerprint)
    return Index.build(yearly_documents(n), vectors, manifest)


def _saved(tmp_path: Path, n: int) -> Index:
    _index(n).save(tmp_path / "idx")
    return Index.load(tmp_path / "idx")


def test_manifest_round_trips_through_json_and_records_the_corpus_folder(tmp_path):
    manifest = replace(_index(3).manifest, corpus_folder=tmp_path / "my pages", corpus_files=("a.txt",),
                       built_at="2026-01-01T00:00:00+00:00")
    record = json.loads(json.dumps(manifest.to_json()))
    assert record["corpus"] == {"folder": str(tmp_path / "my pages"), "files": ["a.txt"]}
    assert record["count"] == 3 and record["model"] == MODEL
    assert Manifest.from_json(record) == manifest


def test_old_manifests_and_unknown_keys_are_read(tmp_path):
    record = {"model": MODEL, "documents": {"a": "1", "b": "2"}, "content_hashes": {"a": "1"}, "format": 2}
    manifest = Manifest.from_json(record)
    assert manifest.corpus_folder is None and manifest.index_type == "Flat" and manifest.count == 2
    assert document_hashes(manifest) == {"a": "1", "b": "2"}
    assert Manifest.from_json(manifest.to_json()).listed == {"a": "1", "b": "2"}  # an old one stays whole


def test_the_manifest_holds_no_per_document_hash(tmp_path):
    index = _index(4)
    index.save(tmp_path / "idx")
    record = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert "documents" not in record and record["count"] == 4 and record["format"] == FORMAT == 3
    manifest = read_manifest(tmp_path / "idx")
    assert manifest.listed is None and manifest.folder == (tmp_path / "idx").resolve()
    assert document_hashes(manifest) == {d.id: d.content_hash for d in index.documents}  # from documents.sqlite
    assert list(document_hashes(manifest)) == [d.id for d in index.documents]  # in row order


@pytest.mark.parametrize("record", [{"model": MODEL}, {"model": MODEL, "count": "3"},
                                    {"model": MODEL, "documents": ["a"]}])
def test_a_manifest_without_document_count_or_list_is_unreadable(tmp_path, record):
    (tmp_path / MANIFEST).write_text(json.dumps(record))
    with pytest.raises(IndexUnavailable, match="document"):
        read_manifest(tmp_path)
    assert read_manifest(tmp_path / "nothing") is None


def test_unreadable_hashes_say_how_to_rebuild(tmp_path):
    _index(3).save(tmp_path / "idx")
    (tmp_path / "idx" / DOCUMENTS_DB).write_bytes(b"not a database")
    with pytest.raises(IndexUnavailable, match="--full"):
        document_hashes(read_manifest(tmp_path / "idx"))


def test_rebuild_command_quotes_paths_so_it_can_be_pasted(tmp_path):
    command = rebuild_command(tmp_path / "my index", tmp_path / "my pages", "some model", full=True)
    assert shlex.split(command) == ["python", "-m", "embeddings.rebuild", "--full", "--corpus",
                                    str(tmp_path / "my pages"), "--out", str(tmp_path / "my index"),
                                    "--model", "some model"]


def old_content_hash(doc: Document) -> str:
    """The content hash formula stored indexes hold."""
    payload = json.dumps([doc.date, doc.date_text, doc.title, doc.summary, doc.collection, doc.url],
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def old_fingerprint(documents) -> str:
    """The corpus fingerprint formula stored manifests hold."""
    digest = hashlib.sha256()
    for key in sorted(f"{d.id}:{old_content_hash(d)}" for d in documents):
        digest.update(key.encode() + b"\n")
    return digest.hexdigest()[:16]


def test_corpus_fingerprint_is_the_stored_formula(tmp_path):
    from rag.documents.corpus import load_corpus

    texts = ["Plain", "Romania’s “affairs”", 'A "quoted" \\ line', "tab\tand\u00a0space", "\u4e2d\u82cf"]
    lines = [json.dumps({"id": f"r{n}", "date": "1963-04-03", "title": text, "collection": "C", "summary": text},
                        ensure_ascii=False) for n, text in enumerate(texts)]
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = [*load_corpus(tmp_path).documents, *yearly_documents(3)]
    for _ in range(2):  # the second time from the cached hashes
        assert corpus_fingerprint(docs) == old_fingerprint(docs)
    assert corpus_fingerprint([]) == old_fingerprint([])


def test_changes_compare_with_the_stored_hashes():
    docs = yearly_documents(4)
    held = {d.id: old_content_hash(d) for d in docs[:3]}  # as an index built before hashes were cached holds
    held[docs[1].id] = "0" * 64
    held["gone"] = "1" * 64
    diff = changes(None, docs, held)
    assert ([d.id for d in diff.added], [d.id for d in diff.changed], diff.removed, len(diff.unchanged)) == (
        [docs[3].id], [docs[1].id], ["gone"], 2)


def test_corpus_fingerprint_ignores_order_and_sees_edits():
    docs = yearly_documents(5)
    assert corpus_fingerprint(docs) == corpus_fingerprint(list(reversed(docs)))
    edited = [docs[0].__class__(**{**docs[0].to_record(), "summary": "Corrected."}), *docs[1:]]
    assert corpus_fingerprint(edited) != corpus_fingerprint(docs)


def test_staleness_names_added_changed_and_removed_documents(tmp_path):
    index = _saved(tmp_path, 5)
    docs = index.documents
    corrected = Document(**{**docs[1].to_record(), "summary": "Corrected summary."})
    new = Document.create(date="1970", date_text="1970", title="A new record", collection="C")
    corpus = [docs[0], corrected, docs[2], docs[3], new]
    diff = changes(index.manifest, corpus)
    assert ([d.id for d in diff.added], [d.id for d in diff.changed], diff.removed) == (
        [new.id], [corrected.id], [docs[4].id])
    reasons = index.staleness(corpus, MODEL)
    assert reasons == [
        "1 document new in the corpus: 1970 'A new record'",
        "1 document changed in the corpus: 1961 'Title 1'",
        "1 document removed from the corpus: 1964 'Title 4'",
    ]
    assert index.staleness(docs, MODEL) == []
    assert staleness(read_manifest(tmp_path / "idx"), corpus, MODEL) == reasons[:2] + [
        "1 document removed from the corpus: id " + docs[4].id]  # titles not given: the id
    in_memory = _index(5)
    assert in_memory.staleness(corpus, MODEL) == reasons and in_memory.staleness(docs, MODEL) == []


def test_a_fresh_index_reads_no_hash(tmp_path, monkeypatch):
    index = _saved(tmp_path, 5)
    (index.manifest.folder / DOCUMENTS_DB).rename(tmp_path / "aside")  # any hash read would now fail
    assert index.staleness(list(reversed(index.documents[:])), MODEL) == []  # the fingerprint is enough


def test_staleness_names_a_model_change(tmp_path):
    index = _saved(tmp_path, 3)
    assert index.staleness(index.documents, "other-model") == [
        "model changed: index built with 'fake-model', now 'other-model'"]
    index.manifest = replace(index.manifest, model_fingerprint="0" * 16)
    assert index.staleness(index.documents, MODEL) == [f"model weights of {MODEL!r} changed since the index was built"]


def test_staleness_from_manifest_alone_notes_index_type(tmp_path):
    index = _index(3)
    index.save(tmp_path / "idx")
    manifest = read_manifest(tmp_path / "idx")
    assert staleness(manifest, index.documents, MODEL) == []
    assert staleness(manifest, index.documents, MODEL, index_type="HNSW32") == [
        "index type changed: built as 'Flat', asked for 'HNSW32'"]
