"""Saved HTML pages (html.py) and single-file saves (mhtml.py): each browser's save shape read to the same entries,
with absolute document URLs; noise blocks are not entries; renamed classes still read; zero entries is an error
naming the file; the `_files/` folder beside a complete save is not read."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.documents.corpus import corpus_files, read_file
from rag.documents.readers import mhtml
from rag.documents.readers.html import READER
from rag.errors import CorpusError

FIXTURES = Path(__file__).parent / "fixtures"
COLLECTION = "Sino-Soviet Split, 1960-1984"
ORIGIN = "https://digitalarchive.wilsoncenter.org"

#: fixture, layout, entries, entries without summary, URLs, collection, position in the listing
TABLE = [
    ("chrome_html_only.html", "html", 4, 1, 4, COLLECTION, None),
    ("chrome_complete.html", "html", 3, 0, 3, COLLECTION, None),
    ("firefox.html", "html", 2, 0, 2, COLLECTION, None),
    ("renamed_classes.html", "html", 4, 1, 4, COLLECTION, None),
    ("search_results.html", "html", 3, 1, 3, "", "41 - 50 of 62"),
    ("chrome_single_file.mhtml", "mhtml", 2, 0, 2, "", "1 - 2 of 2"),
    ("search_results.txt", "results", 4, 1, 0, "", "41 - 50 of 62"),
]


@pytest.mark.parametrize(("name", "layout", "entries", "without_summary", "urls", "collection", "position"), TABLE)
def test_each_fixture_reads_to_its_entries(name, layout, entries, without_summary, urls, collection, position):
    page = read_file(FIXTURES / name)
    assert (page.layout, len(page.documents), sum(not d.summary for d in page.documents),
            sum(bool(d.url) for d in page.documents)) == (layout, entries, without_summary, urls)
    assert page.collection == collection and {d.collection for d in page.documents} == {collection}
    assert page.position == position
    assert all(d.url.startswith(f"{ORIGIN}/document/") for d in page.documents if d.url)


def test_collection_page_fields_are_the_entries_and_the_description():
    page = read_file(FIXTURES / "chrome_html_only.html")
    first, _, no_summary, month = page.documents
    assert (first.date, first.date_text, first.url) == ("1963-04-03", "April 03, 1963", f"{ORIGIN}/document/116566")
    assert first.title.startswith("Memorandum of Conversation between Yuri Andropov")
    assert first.summary.startswith("Soviet politburo member") and first.summary.endswith("Warsaw Pact states.")
    assert no_summary.summary is None and no_summary.date == "1963-07-08"
    assert (month.date, month.summary) == ("1966-03", 'The ambassador restates the Chinese position on the Soviet '
                                                     'leadership & its "revisionism".')
    assert page.description.startswith("Documents on the growing division")
    assert first.line == 36  # the line of its link in the file


def test_scripts_navigation_cookies_related_and_footer_are_not_entries():
    texts = {name: (FIXTURES / name).read_text(encoding="utf-8") for name in ("chrome_html_only.html",)}
    assert "/document/999999" in texts["chrome_html_only.html"]  # the fixture holds each kind of noise
    urls = {d.url for d in read_file(FIXTURES / "chrome_html_only.html").documents}
    for noise in ("999999", "cookie-policy", "featured", "121558", "terms"):
        assert f"{ORIGIN}/document/{noise}" not in urls


def test_renamed_classes_read_the_same_entries():
    plain = read_file(FIXTURES / "chrome_html_only.html").documents
    renamed = read_file(FIXTURES / "renamed_classes.html").documents
    assert "views-row" not in (FIXTURES / "renamed_classes.html").read_text(encoding="utf-8")
    assert [(d.id, d.date_text, d.title, d.summary, d.url) for d in renamed] == [
        (d.id, d.date_text, d.title, d.summary, d.url) for d in plain]


def test_image_and_read_more_links_make_one_entry_titled_by_the_heading_link():
    docs = read_file(FIXTURES / "chrome_complete.html").documents
    assert docs[0].title == "Secret Telegram from Maneli (Saigon) to Spasowski (Warsaw) [Ciphergram No. 7353]"
    assert "Read more" not in docs[0].summary
    assert docs[1].date == "1965"


def test_result_page_links_resolve_against_base_href_without_query_or_fragment():
    docs = read_file(FIXTURES / "search_results.html").documents
    assert [d.url for d in docs] == [f"{ORIGIN}/document/118400", f"{ORIGIN}/document/117500",
                                     f"{ORIGIN}/document/118002"]
    # the first entry's markup is broken (unclosed date and summary): still its date, title and summary
    assert (docs[0].date, docs[0].title, docs[0].summary) == (
        "1970-06-16", "Record of Conversation between Zhou Enlai and Pham Van Dong",
        "Zhou Enlai and Pham Van Dong discuss the war in Cambodia and Soviet aid.")


def test_relative_links_without_base_resolve_against_the_archive_or_where_the_page_was_saved_from():
    page = '<h1>C</h1><div><p>June 16, 1970</p><a href="/document/5">T</a></div>'
    assert READER.read(page, "p.html").documents[0].url == f"{ORIGIN}/document/5"
    saved = "<!-- saved from url=(0030)https://example.org/list -->\n" + page.replace("/document/5", "document/6")
    assert READER.read(saved, "p.html").documents[0].url == "https://example.org/document/6"


def test_a_page_with_no_entries_is_an_error_naming_the_file():
    path = FIXTURES / "no_entries.html"
    with pytest.raises(CorpusError) as info:
        read_file(path)
    assert str(info.value).startswith(f"{path}: no entries found (expected links to the archive's document pages")


def test_an_unreadable_date_next_to_a_link_is_an_error_at_its_line():
    page = '<h1>C</h1>\n<div><p>Febuary 30, 1963</p>\n<a href="/document/5">T</a></div>'
    with pytest.raises(CorpusError) as info:
        READER.read(page, "p.html")
    assert str(info.value).startswith(f"p.html:3: entry linking to {ORIGIN}/document/5: unreadable date")


def test_links_with_no_date_next_to_them_are_warned_about_not_read():
    page = ('<h1>C</h1><div><p>June 16, 1970</p><a href="/document/5">T</a></div>'
            '<div><a href="/document/6">Undated</a></div>')
    read = READER.read(page, "p.html")
    assert [d.title for d in read.documents] == ["T"]
    assert "ignored 1 document link(s) with no date" in str(read.warnings[0])


def test_deeply_unclosed_markup_keeps_every_entry():
    rows = "".join(f'<div class="row"><div><p>June {1 + i % 28}, 1970</p><a href="/document/{i}">T{i}</a></div>'
                   for i in range(600))  # each row left open: 600 levels deep
    docs = READER.read(f"<h1>C</h1>{rows}", "deep.html").documents
    assert len(docs) == 600 and docs[-1].title == "T599"


def test_mhtml_unwraps_the_quoted_printable_page_and_its_address():
    saved = mhtml.unwrap((FIXTURES / "chrome_single_file.mhtml").read_bytes(), "x.mhtml")
    assert saved.location == "https://digitalarchive.wilsoncenter.org/search?search_api_fulltext=Moskovsky"
    assert "Soviet–Chinese talks" in saved.html and "=3D" not in saved.html


def test_a_file_named_mhtml_that_is_not_one_is_refused(write_page):
    path = write_page("<html><body>hello</body></html>", "page.mhtml")
    with pytest.raises(CorpusError, match=r"page\.mhtml: not a single-file web page"):
        read_file(path)


def test_the_folder_beside_a_complete_save_is_not_read(tmp_path):
    (tmp_path / "page.html").write_bytes((FIXTURES / "chrome_complete.html").read_bytes())
    (tmp_path / "page_files").mkdir()
    for name in ("main.js", "style.css"):
        (tmp_path / "page_files" / name).write_bytes((FIXTURES / "chrome_complete_files" / name).read_bytes())
    (tmp_path / "page_files" / "inner.html").write_text("<h1>x</h1>", encoding="utf-8")
    assert corpus_files(tmp_path) == [tmp_path / "page.html"]
