"""Loading a corpus: files merged with each id once and duplicates reported, folders, the cycle collector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.documents.corpus import load_corpus, read_file
from rag.documents.document import document_id
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


# ------------------------------------------------------------------------ mixed layouts, merged by date and title

FIXTURES = Path(__file__).parent / "readers" / "fixtures"
MIXED = ["chrome_html_only.html", "search_results.txt", "search_results.html", "chrome_single_file.mhtml"]


def test_mixed_layouts_merge_the_same_document_and_keep_the_named_ids(seed_page):
    alone = {d.id: d for d in load_corpus([seed_page]).documents}
    corpus = load_corpus([seed_page, *(FIXTURES / name for name in MIXED)])
    entries = sum(len(page.documents) for page in corpus.pages)
    assert (entries, len(corpus), corpus.merged) == (33, 23, 9)
    assert [page.layout for page in corpus.pages] == ["bullets", "html", "results", "html", "mhtml"]
    by_id = {d.id: d for d in corpus.documents}
    assert set(alone) <= set(by_id)  # every id of the seed page as it was: saved indexes keep theirs
    # a result page's entry (no collection) is the seed page's document: its id and collection, the result's URL
    transcript = by_id[next(i for i, d in alone.items() if d.date == "1964-03")]
    assert transcript.collection == "Sino-Soviet Split, 1960-1984"
    assert transcript.url == "https://digitalarchive.wilsoncenter.org/document/117500"
    assert transcript.summary == alone[transcript.id].summary  # the first text is kept
    # listed only on result pages: collection unknown, id from date and title
    talk = next(d for d in corpus.documents if d.date == "1969")
    assert (talk.collection, talk.id) == ("", document_id("", "1969", talk.title))


def test_the_merged_id_does_not_depend_on_which_file_came_first(seed_page):
    forward = load_corpus([seed_page, FIXTURES / "search_results.txt"])
    backward = load_corpus([FIXTURES / "search_results.txt", seed_page])
    assert sorted(d.id for d in forward.documents) == sorted(d.id for d in backward.documents)
    assert forward.merged == backward.merged == 2
    meeting = next(d for d in backward.documents if d.date == "1963-07-04")
    assert (meeting.collection, meeting.date_text) == ("Sino-Soviet Split, 1960-1984", "July 4, 1963")


def test_a_later_page_fills_a_missing_url_and_the_duplicate_says_so(seed_page):
    corpus = load_corpus([seed_page, FIXTURES / "chrome_html_only.html"])
    filled = [d for d in corpus.duplicates if d.filled]
    assert len(filled) == 3 and all(d.filled == ("url",) for d in filled)
    assert str(filled[0]).endswith("kept the first, taking its url from this one")
    assert not any(d.differs for d in filled)
