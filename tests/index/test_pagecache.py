"""Warming the page cache: the files questions read are read once in the background, when they fit."""

from __future__ import annotations

from rag.index import pagecache
from rag.index.store import Index


def test_the_search_files_of_a_loaded_index_are_read_on_a_daemon_thread(built_index, monkeypatch):
    files = Index.load(built_index).search_files()
    assert {f.name for f in files} >= {"index.faiss", "vectors.npy", "bm25", "date_spans.npy"}
    read = []
    monkeypatch.setattr(pagecache, "_read", lambda found: read.extend(found))
    thread = pagecache.warm(files)
    thread.join(timeout=60)
    assert thread.daemon and not thread.is_alive()
    assert {f.name for f in read} >= {"index.faiss", "vectors.npy", "data.csc.index.npy"}  # bm25/ read file by file


def test_files_that_would_not_fit_in_half_the_available_memory_are_left_alone(built_index, monkeypatch):
    files = Index.load(built_index).search_files()
    monkeypatch.setattr(pagecache, "_available_bytes", lambda: 1000)
    assert pagecache.warm(files) is None
    monkeypatch.setattr(pagecache, "_available_bytes", lambda: None)  # not Linux
    assert pagecache.warm(files) is None
    assert pagecache.warm([]) is None


def test_reading_a_file_that_a_new_version_removed_is_no_error(tmp_path):
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"x" * 100)
    pagecache._read([tmp_path / "gone.bin", kept])  # no exception


def test_an_index_built_in_memory_has_no_files_to_warm(encoder, bundled_corpus):
    from rag.index.build import in_memory
    from rag.settings import Settings

    assert in_memory(bundled_corpus.documents[:3], encoder, settings=Settings()).search_files() == []
