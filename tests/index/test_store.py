"""The index: building, atomic versioned saves, loading with consistency checks, filtered search."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import yearly_documents

from rag.documents.document import Document
from rag.documents.sentences import SPLITTER, sentences
from rag.errors import IndexUnavailable
from rag.index import ann
from rag.index.encoders.sentence_transformer import Encoder
from rag.index.faiss_vectors import EXACT_SCAN_ROWS, FaissVectors
from rag.index.files import (
    BM25,
    COLLECTIONS,
    DATE_SPANS,
    DOCUMENTS,
    DOCUMENTS_DB,
    FAISS_INDEX,
    MANIFEST,
    SENTENCE_OFFSETS,
    SENTENCES,
    VECTORS,
)
from rag.index.keyword import KeywordIndex, keyword_text, params
from rag.index.manifest import Manifest, changes, document_hashes, read_manifest
from rag.index.schema import DocumentTable, date_spans
from rag.index.sentence_vectors import SentenceVectors
from rag.index.store import Index
from rag.settings import Settings

MODEL = "fake-model"  # not a folder: its fingerprint is a hash of the name, no weights needed


def _unit(n: int, d: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _index(n: int = 6, index_type: str | None = None) -> Index:
    manifest = Manifest(model=MODEL, model_fingerprint=Encoder(MODEL).fingerprint)
    return Index.build(yearly_documents(n), _unit(n), manifest, index_type=index_type)


def _full_index(n: int = 6) -> Index:
    """An index with sentence vectors (summary i has i % 3 sentences: none, one, two) and a BM25 index."""
    docs = [Document.create(date=f"{1960 + i}", date_text=f"{1960 + i}", title=f"Title {i}", collection="C",
                            summary=" ".join(f"Sentence {j} of {i}." for j in range(i % 3)) or None)
            for i in range(n)]
    counts = [i % 3 for i in range(n)]
    manifest = Manifest(model=MODEL, model_fingerprint=Encoder(MODEL).fingerprint)
    return Index.build(docs, _unit(n), manifest, sentences=SentenceVectors.assemble(counts, _unit(sum(counts), seed=1)),
                       keyword=KeywordIndex.build([keyword_text(d) for d in docs], Settings()))


def _best(index: Index, vector: np.ndarray, **options) -> list[tuple[int, float]]:
    rows, scores = index.search(vector, min_similarity=options.pop("min_similarity", -1.0), **options)
    return [(int(r), float(s)) for r, s in zip(rows, scores, strict=True)]


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
    assert loaded.manifest == index.manifest
    assert loaded.manifest.count == 6 and loaded.manifest.dimension == 8
    assert document_hashes(loaded.manifest) == {d.id: d.content_hash for d in index.documents}
    assert _best(loaded, index.vectors[2], k=1) == [(2, pytest.approx(1.0, abs=1e-5))]


def test_second_save_replaces_the_version_and_removes_the_old_one(tmp_path):
    first = _index(4).save(tmp_path / "idx")
    second = _index(5).save(tmp_path / "idx")
    assert not first.exists() and second.exists()
    assert len(Index.load(tmp_path / "idx")) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", second.name]


def test_sentence_vectors_and_bm25_are_saved_and_memory_mapped(tmp_path):
    index = _full_index()
    index.save(tmp_path / "idx")
    folder = tmp_path / "idx"
    assert {SENTENCES, SENTENCE_OFFSETS, BM25} <= {p.name for p in folder.iterdir()}
    np.testing.assert_array_equal(np.load(folder / SENTENCE_OFFSETS), [0, 0, 1, 3, 3, 4, 6])
    loaded = Index.load(folder)
    assert isinstance(loaded.sentences.vectors, np.memmap) and loaded.manifest == index.manifest
    assert loaded.manifest.sentences == {"splitter": SPLITTER, "count": 6, "dtype": "float32"}
    assert loaded.manifest.bm25 == params(Settings()) == loaded.keyword.params
    for row in range(6):
        assert loaded.sentence_vectors(row).shape == (row % 3, 8)
        np.testing.assert_array_equal(loaded.sentence_vectors(row), index.sentence_vectors(row))
    np.testing.assert_array_equal(loaded.keyword.scores("title sentence"), index.keyword.scores("title sentence"))


def test_an_index_without_sentence_vectors_or_bm25_still_loads(tmp_path):
    _index().save(tmp_path / "idx")  # as written before they were stored
    loaded = Index.load(tmp_path / "idx")
    assert loaded.sentences is None and loaded.keyword is None
    assert loaded.sentence_vectors(0).shape == (0, 8)
    assert loaded.manifest.sentences is None and loaded.manifest.bm25 is None


@pytest.mark.parametrize("damage", ["missing_sentences", "short_offsets", "offsets_past_the_end", "missing_bm25"])
def test_damaged_sentence_or_bm25_files_raise_index_unavailable(tmp_path, damage):
    _full_index().save(tmp_path / "idx")
    folder = tmp_path / "idx"
    if damage == "missing_sentences":
        (folder / SENTENCES).unlink()
    elif damage == "short_offsets":
        np.save(folder / SENTENCE_OFFSETS, np.array([0, 0, 1, 3], dtype=np.int64))
    elif damage == "offsets_past_the_end":
        np.save(folder / SENTENCE_OFFSETS, np.array([0, 0, 1, 3, 3, 4, 9], dtype=np.int64))
    else:
        for file in (folder / BM25).iterdir():
            file.unlink()
    with pytest.raises(IndexUnavailable, match="--full"):
        Index.load(folder)


def test_metadata_is_plain_json_in_sqlite(tmp_path):
    _index().save(tmp_path / "idx")
    json.loads((tmp_path / "idx" / MANIFEST).read_text())
    with sqlite3.connect(tmp_path / "idx" / DOCUMENTS_DB) as connection:
        records = [json.loads(r) for (r,) in connection.execute("SELECT record FROM documents ORDER BY row")]
    assert [record["title"] for record in records] == [f"Title {i}" for i in range(6)]


def test_loading_reads_documents_on_demand_and_the_filter_arrays_from_disk(tmp_path):
    built = _index(6)
    built.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert isinstance(loaded.documents, DocumentTable) and isinstance(loaded.vectors, np.memmap)
    assert isinstance(loaded.spans, np.memmap) and loaded.date_spans().tolist() == date_spans(built.documents).tolist()
    assert loaded.documents[4] == built.documents[4] and loaded.documents[-1] == built.documents[-1]
    assert list(loaded.documents) == built.documents and loaded.documents[1:3] == built.documents[1:3]
    assert loaded.collections()[0] == ["C"] and loaded.collections()[1].tolist() == [0] * 6
    with pytest.raises(IndexError):
        loaded.documents[6]


def _to_format_2(folder: Path, documents: list[Document]) -> None:
    """Make a saved index look as one written before manifest format 3: the hashes listed in manifest.json,
    documents.sqlite without them."""
    manifest = json.loads((folder / MANIFEST).read_text())
    del manifest["count"]
    manifest.update(format=2, documents={d.id: d.content_hash for d in documents})
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with sqlite3.connect(folder / DOCUMENTS_DB) as connection:
        connection.execute("ALTER TABLE documents DROP COLUMN hash")


def test_an_index_with_documents_jsonl_still_loads(tmp_path):
    # The format before documents.sqlite: documents.jsonl, no date or collection arrays, hashes in the manifest.
    built = _index(6)
    built.save(tmp_path / "idx")
    folder = (tmp_path / "idx").resolve()
    _to_format_2(folder, built.documents)
    (folder / DOCUMENTS).write_text("".join(json.dumps(d.to_record()) + "\n" for d in built.documents))
    for name in (DOCUMENTS_DB, DATE_SPANS, COLLECTIONS):
        (folder / name).unlink()
    loaded = Index.load(tmp_path / "idx")
    assert loaded.documents == built.documents
    assert loaded.date_spans().tolist() == date_spans(built.documents).tolist()
    assert loaded.staleness(built.documents[:5], MODEL) == ["1 document removed from the corpus: 1965 'Title 5'"]


def test_an_index_whose_manifest_lists_the_hashes_still_loads_and_checks(tmp_path):
    built = _index(6)
    built.save(tmp_path / "idx")
    folder = (tmp_path / "idx").resolve()
    _to_format_2(folder, built.documents)
    loaded = Index.load(tmp_path / "idx")
    assert loaded.manifest.count == 6 and loaded.documents[5] == built.documents[5]
    assert document_hashes(read_manifest(folder)) == {d.id: d.content_hash for d in built.documents}
    assert changes(read_manifest(folder), built.documents[1:]).removed == [built.documents[0].id]
    assert loaded.staleness(built.documents[1:], MODEL) == ["1 document removed from the corpus: 1960 'Title 0'"]
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["documents"] = dict(reversed(manifest["documents"].items()))  # a table that disagrees is caught
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailable, match="does not list the manifest's documents"):
        Index.load(folder)


def _exact(index: Index, vector: np.ndarray, min_similarity: float, rows: np.ndarray) -> list[int]:
    """The allowed rows above the threshold, best first, by brute force in numpy."""
    scores = index.vectors[rows] @ vector
    keep = scores > min_similarity
    return [int(r) for r in rows[keep][np.argsort(-scores[keep], kind="stable")]]


def test_search_is_a_range_search_best_first():
    index = _index(40)
    rows, scores = index.search(index.vectors[0], min_similarity=0.2)
    assert rows[0] == 0 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True) and (scores > 0.2).all()
    assert rows.tolist() == _exact(index, index.vectors[0], 0.2, np.arange(40))
    assert len(index.search(index.vectors[0], min_similarity=0.2, k=3)[0]) == 3


def test_search_with_rows_filters_before_truncation():
    index = _index(6)
    assert {row for row, _ in _best(index, index.vectors[0], k=2, rows=np.array([3, 4]))} == {3, 4}
    assert _best(index, index.vectors[0], k=3, rows=np.array([], dtype=np.int64)) == []
    mask = np.zeros(6, dtype=bool)
    mask[[1, 5]] = True
    assert {row for row, _ in _best(index, index.vectors[0], rows=mask)} == {1, 5}
    assert _best(index, index.vectors[0], k=6)[0][0] == 0


def test_date_restricted_search_on_hnsw_finds_every_allowed_row(tmp_path):
    # A few hundred documents, one per day; the "date filter" allows an eleven-day window. HNSW searched
    # through a FAISS ID selector misses some of those rows; Index.search must find exactly what brute force does.
    n = 400
    docs = [Document.create(date=str(np.datetime64("1963-01-01") + i), date_text=f"day {i}", title=f"Cable {i}",
                            collection="C") for i in range(n)]
    index = Index.build(docs, _unit(n, d=16, seed=3), index_type="HNSW32")
    index.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert "HNSW" in type(loaded.ann.faiss).__name__ and loaded.manifest.index_type == "HNSW32"
    allowed = np.array(["1963-03-01" <= d.date <= "1963-03-11" for d in docs])
    rows = np.flatnonzero(allowed)
    for seed in range(5):
        query = _unit(1, d=16, seed=100 + seed)[0]
        found, scores = loaded.search(query, min_similarity=0.0, rows=allowed)
        assert found.tolist() == _exact(loaded, query, 0.0, rows)
        assert all(docs[r].date.startswith("1963-03") for r in found)
        assert loaded.search(query, min_similarity=0.0, rows=allowed, k=2)[0].tolist() == found[:2].tolist()
    assert _best(loaded, index.vectors[7], k=1)[0][0] == 7


def test_hnsw_with_a_large_restriction_uses_the_selector():
    # Above EXACT_SCAN_ROWS the restriction goes to FAISS; its results are still inside the allowed rows.
    index = Index.build(yearly_documents(60), _unit(60), index_type="HNSW32")
    assert not ann.is_exact(index.ann.faiss) and EXACT_SCAN_ROWS >= 60
    rows = np.arange(0, 60, 2)
    found, _ = ann.range_search(index.ann.faiss, index.vectors[0], -1.0, rows)
    assert set(found.tolist()) <= set(rows.tolist()) and 0 in found


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
        with sqlite3.connect(folder / DOCUMENTS_DB) as connection:
            connection.execute("DELETE FROM documents WHERE row = 5")
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


@pytest.mark.slow
def test_built_index_is_consistent_with_the_bundled_corpus(built_index, encoder):
    from rag.documents.corpus import load_corpus
    from rag.settings import Settings

    index = Index.load(built_index)
    corpus = load_corpus(Settings().corpus_dir)
    assert index.staleness(corpus, Settings().model, bm25=params(Settings())) == []
    assert len(index) == len(corpus) == index.manifest.count
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)
    query = encoder.encode(["Andropov meets the Romanian Workers' Party"])[0]
    (row,), (score,) = index.search(query, min_similarity=0.2, k=1)
    assert "Andropov" in index.documents[row].title and score > 0.5


@pytest.mark.slow
def test_rebuilt_sentence_vectors_equal_encoding_the_sentences(built_index, encoder):
    index = Index.load(built_index)
    texts = [sentences(doc.summary) for doc in index.documents]
    assert sum(map(len, texts)) == len(index.sentences.vectors) > len(index)
    expected = encoder.encode([part for parts in texts for part in parts])
    np.testing.assert_allclose(np.asarray(index.sentences.vectors), expected, atol=1e-5)
    for row, parts in enumerate(texts):
        assert len(index.sentence_vectors(row)) == len(parts)


def test_search_orders_only_the_first_depth_rows_and_keeps_the_rest():
    index = _index(40)
    every, _ = index.search(index.vectors[0], min_similarity=-1.0)
    rows, scores = index.search(index.vectors[0], min_similarity=-1.0, depth=5)
    assert rows[:5].tolist() == every[:5].tolist() and sorted(rows.tolist()) == sorted(every.tolist())


# ------------------------------------------------------------------------------------ a delta segment


def _delta_index(index_type: str, base: int = 600, ahead: int = 20) -> Index:
    """`base` rows in FAISS, `ahead` delta rows after them; every third base row below 300 retired."""
    from rag.index.delta import Delta

    vectors, extra = _unit(base, 8, seed=1), _unit(ahead, 8, seed=2)
    docs = [Document.create(date="1965", date_text="1965", title=f"Title {i}", collection="C")
            for i in range(base + ahead)]
    dead = np.arange(0, 300, 3)
    return Index(docs, vectors, Manifest(index_type=index_type),
                 ann=FaissVectors(vectors, ann.build(vectors, index_type)).with_delta(extra, dead),
                 delta=Delta(extra, None, dead))


@pytest.mark.parametrize("index_type", ["Flat", "IVF16,Flat"])
def test_a_delta_is_searched_beside_the_base_and_a_retired_row_never_found(index_type):
    index = _delta_index(index_type)
    every = np.concatenate([index.vectors, index.delta.vectors])
    live = index.live()
    assert live.sum() == 620 - 100 and not live[index.delta.dead].any()
    for query in _unit(10, 8, seed=3):
        rows, scores = index.search(query, min_similarity=-1.0, k=10)
        assert live[rows].all() and np.allclose(scores, every[rows] @ query, atol=1e-5)
        if index_type == "Flat":  # exact: the brute-force top 10 of the live rows
            exact = np.flatnonzero(live)[np.argsort(-(every[live] @ query), kind="stable")[:10]]
            assert set(rows) == set(exact)
        allowed = np.zeros(620, dtype=bool)
        allowed[[0, 3, 4, 5, 610, 615]] = True  # two retired base rows, two live, two delta rows
        rows, _ = index.search(query, min_similarity=-1.0, rows=allowed)
        assert set(rows) == {4, 5, 610, 615}
    rows, scores = index.search(index.delta.vectors[7], min_similarity=0.5, k=1)
    assert rows.tolist() == [607] and scores[0] == pytest.approx(1.0)
    assert np.array_equal(index.vectors_of(np.array([607, 1])), every[[607, 1]])
