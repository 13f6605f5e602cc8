"""The on-disk index: atomic versioned saves, loading with consistency checks, filtered search, staleness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.documents.document import Document
from rag.index.encoder import Encoder
from rag.index.store import (
    DOCUMENTS,
    FAISS_INDEX,
    MANIFEST,
    VECTORS,
    Index,
    IndexUnavailable,
    changes,
    clean_leftovers,
    corpus_fingerprint,
    read_manifest,
    staleness,
    writer_lock,
)

MODEL = "fake-model"  # not a folder: its fingerprint is a hash of the name, no weights needed


def _docs(n: int) -> list[Document]:
    return [Document.create(date=f"{1960 + i}", date_text=f"{1960 + i}", title=f"Title {i}",
                            collection="C", summary=f"Summary {i}" if i % 3 else None) for i in range(n)]


def _unit(n: int, d: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _index(n: int = 6, **manifest) -> Index:
    return Index(_docs(n), _unit(n), {"model": MODEL, "model_fingerprint": Encoder(MODEL).fingerprint, **manifest})


def _saved(tmp_path: Path, n: int) -> Index:
    _index(n).save(tmp_path / "idx")
    return Index.load(tmp_path / "idx")


def test_save_load_roundtrip_through_a_version_symlink(tmp_path):
    index = _index()
    version = index.save(tmp_path / "idx")
    path = tmp_path / "idx"
    assert path.is_symlink() and path.resolve() == version.resolve()
    loaded = Index.load(path)
    assert loaded.documents == index.documents
    np.testing.assert_array_equal(loaded.vectors, index.vectors)
    assert loaded.manifest["count"] == 6 and loaded.manifest["dimension"] == 8
    assert loaded.manifest["documents"] == {d.id: d.content_hash for d in index.documents}
    assert loaded.similar(index.vectors[2], 1) == [(2, pytest.approx(1.0, abs=1e-5))]


def test_second_save_replaces_the_version_and_removes_the_old_one(tmp_path):
    first = _index(4).save(tmp_path / "idx")
    second = _index(5).save(tmp_path / "idx")
    assert not first.exists() and second.exists()
    assert len(Index.load(tmp_path / "idx")) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", second.name]


def test_metadata_is_plain_json(tmp_path):
    _index().save(tmp_path / "idx")
    json.loads((tmp_path / "idx" / MANIFEST).read_text())
    lines = (tmp_path / "idx" / DOCUMENTS).read_text().splitlines()
    assert [json.loads(line)["title"] for line in lines] == [f"Title {i}" for i in range(6)]


def test_similar_with_rows_filters_before_top_k():
    index = _index(6)
    hits = index.similar(index.vectors[0], k=2, rows=np.array([3, 4]))
    assert {row for row, _ in hits} == {3, 4}
    assert index.similar(index.vectors[0], k=3, rows=np.array([], dtype=np.int64)) == []
    assert [row for row, _ in index.similar(index.vectors[0], k=6)][0] == 0


def test_hnsw_index_type_is_built_and_recorded(tmp_path):
    index = _index(30, index_type="HNSW32")
    index.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert loaded.manifest["index_type"] == "HNSW32"
    assert "HNSW" in type(loaded.faiss_index).__name__
    assert loaded.similar(index.vectors[7], 1)[0][0] == 7


@pytest.mark.parametrize("damage", ["truncate_vectors", "garbage_faiss", "drop_document", "missing_vectors",
                                    "bad_manifest"])
def test_damaged_index_raises_index_unavailable(tmp_path, damage):
    _index().save(tmp_path / "idx")
    folder = tmp_path / "idx"
    if damage == "truncate_vectors":
        (folder / VECTORS).write_bytes((folder / VECTORS).read_bytes()[:100])
    elif damage == "garbage_faiss":
        (folder / FAISS_INDEX).write_bytes(b"not a faiss index")
    elif damage == "drop_document":
        lines = (folder / DOCUMENTS).read_text().splitlines()
        (folder / DOCUMENTS).write_text("\n".join(lines[:-1]) + "\n")
    elif damage == "missing_vectors":
        (folder / VECTORS).unlink()
    else:
        (folder / MANIFEST).write_text("{not json")
    with pytest.raises(IndexUnavailable, match="--full"):
        Index.load(folder)


def test_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexUnavailable, match="embeddings.rebuild"):
        Index.load(tmp_path / "nothing")


def test_pickled_vectors_are_refused(tmp_path):
    _index().save(tmp_path / "idx")
    np.save(tmp_path / "idx" / VECTORS, np.array([{"evil": 1}] * 6, dtype=object), allow_pickle=True)
    with pytest.raises(IndexUnavailable, match="pickle"):
        Index.load(tmp_path / "idx")


def test_corpus_fingerprint_ignores_order_and_sees_edits():
    docs = _docs(5)
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


def test_staleness_names_a_model_change(tmp_path):
    index = _saved(tmp_path, 3)
    assert index.staleness(index.documents, "other-model") == [
        "model changed: index built with 'fake-model', now 'other-model'"]
    index.manifest["model_fingerprint"] = "0" * 16
    assert index.staleness(index.documents, MODEL) == [f"model weights of {MODEL!r} changed since the index was built"]


def test_staleness_from_manifest_alone_notes_index_type(tmp_path):
    index = _index(3)
    index.save(tmp_path / "idx")
    manifest = read_manifest(tmp_path / "idx")
    assert staleness(manifest, index.documents, MODEL) == []
    assert staleness(manifest, index.documents, MODEL, index_type="HNSW32") == [
        "index type changed: built as 'Flat', asked for 'HNSW32'"]


def test_clean_leftovers_removes_killed_writers_debris_and_keeps_the_index(tmp_path):
    version = _index().save(tmp_path / "idx")
    (tmp_path / "idx.tmp-99999").mkdir()
    (tmp_path / "idx.tmp-99999" / VECTORS).write_bytes(b"half")
    (tmp_path / "idx.v999").mkdir()
    os.symlink(version.name, tmp_path / "idx.link-99999")
    removed = clean_leftovers(tmp_path / "idx")
    assert sorted(p.name for p in removed) == ["idx.link-99999", "idx.tmp-99999", "idx.v999"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", version.name]
    assert len(Index.load(tmp_path / "idx")) == 6


def test_clean_leftovers_relinks_a_version_left_without_its_link(tmp_path):
    version = _index().save(tmp_path / "idx")
    (tmp_path / "idx").unlink()
    clean_leftovers(tmp_path / "idx")
    assert (tmp_path / "idx").resolve() == version.resolve()
    assert len(Index.load(tmp_path / "idx")) == 6


def test_clean_leftovers_adopts_a_plain_index_folder_and_refuses_other_folders(tmp_path):
    _index().save(tmp_path / "made")
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in (MANIFEST, DOCUMENTS, VECTORS, FAISS_INDEX):
        (plain / name).write_bytes((tmp_path / "made" / name).read_bytes())
    clean_leftovers(plain)
    assert plain.is_symlink() and len(Index.load(plain)) == 6

    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(IndexUnavailable, match="not an index folder"):
        clean_leftovers(other)
    assert (other / "holiday.jpg").exists()


def test_lock_of_a_killed_holder_does_not_block(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from rag.index.store import writer_lock\n"
         "with writer_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(tmp_path / "idx")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with writer_lock(tmp_path / "idx"):
        assert time.monotonic() - started < 5


@pytest.mark.slow
def test_built_index_is_consistent_with_the_bundled_corpus(built_index, encoder):
    from rag.documents.corpus import load_corpus
    from rag.settings import Settings

    index = Index.load(built_index)
    corpus = load_corpus(Settings().corpus_dir)
    assert index.staleness(corpus, Settings().model) == []
    assert len(index) == len(corpus) == index.manifest["count"]
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)
    query = encoder.encode(["Andropov meets the Romanian Workers' Party"])[0]
    row, score = index.similar(query, 1)[0]
    assert "Andropov" in index.documents[row].title and score > 0.5
