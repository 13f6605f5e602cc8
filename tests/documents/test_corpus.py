"""Loading a corpus: files merged with each id once and duplicates reported, folders, the cycle collector."""

from __future__ import annotations

import json

import pytest

from rag.documents.corpus import load_corpus, read_file
from rag.errors import CorpusError


def record(**fields) -> str:
    return json.dumps({"date": "1963-04-03", "title": "T", "collection": "C", **fields}, ensure_ascii=False)


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(b"Collection\n\xff\xfe\x00garbage")
    with pytest.raises(CorpusError) as info:
        read_file(path)
    assert str(info.value) == f"{path}: not UTF-8 text (invalid start byte at byte 11)"


# ------------------------------------------------------------------------------------ ids and duplicates


def test_same_entry_twice_gets_the_same_id_and_is_kept_once(seed_page, tmp_path):
    copy = tmp_path / "again.txt"
    copy.write_text(seed_page.read_text(encoding="utf-8"), encoding="utf-8")
    corpus = load_corpus([seed_page, copy])
    assert len(corpus) == 20
    assert len(corpus.duplicates) == 20
    first = corpus.duplicates[0]
    assert str(first) == (f"{copy}:12: duplicate of {seed_page}:12 (April 03, 1963, "
                          f"{first.kept.title!r}); kept the first")


def test_corrected_summary_keeps_id_but_changes_content_hash(seed_page, write_page):
    original = read_file(seed_page).documents[1]
    edited_text = seed_page.read_text(encoding="utf-8").replace("criticisms of Stalin", "criticism of Stalin")
    edited = read_file(write_page(edited_text)).documents[1]
    assert edited.id == original.id
    assert edited.content_hash != original.content_hash
    corpus = load_corpus([seed_page, write_page(edited_text, "edited.txt")])
    assert [d.differs for d in corpus.duplicates].count(True) == 1


def test_loading_leaves_the_cycle_collector_as_it_was(write_page):
    import gc

    path = write_page(record() + "\n", "r.jsonl")
    load_corpus([path])
    assert gc.isenabled()
    gc.disable()
    try:
        load_corpus([path])
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(CorpusError):
        load_corpus([write_page("{", "bad.jsonl")])
    assert gc.isenabled()


def test_duplicate_ids_across_jsonl_files_keep_the_first(write_page, tmp_path):
    first = write_page(record(id="x", title="first") + "\n" + record(id="y") + "\n", "a.jsonl")
    second = write_page(record(id="x", title="second") + "\n", "b.jsonl")
    corpus = load_corpus([first, second])
    assert [d.title for d in corpus.documents] == ["first", "T"]
    assert [(d.kept.title, d.dropped.title) for d in corpus.duplicates] == [("first", "second")]


def test_empty_corpus_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder holds no .txt, .html, .mhtml or .jsonl files"):
        load_corpus(tmp_path)
