"""Citations ready to paste into a footnote: Chicago-style notes, and which URLs may be links."""

from __future__ import annotations

import datetime

import pytest

from rag.documents.document import Document
from rag.search.citation import accessed_text, cite, web_url

URL = "https://digitalarchive.wilsoncenter.org/document/116543"


def _doc(**changes) -> Document:
    fields = dict(date="1963-04-03", date_text="April 03, 1963", collection="Sino-Soviet Split, 1960-1984",
                  title="Memorandum of Conversation between Yuri Andropov and the Central Committee")
    fields.update(changes)
    return Document.create(**fields)


def test_title_in_quotes_printed_date_collection_and_archive():
    assert cite(_doc()) == ('"Memorandum of Conversation between Yuri Andropov and the Central Committee," '
                            "April 03, 1963, Sino-Soviet Split, 1960-1984, Wilson Center Digital Archive.")


def test_url_follows_when_known():
    assert cite(_doc(url=URL)).endswith(f"Wilson Center Digital Archive, {URL}.")


def test_a_chicago_note_with_url_and_access_date():
    """Chicago places the access date immediately before the URL; the note ends with a full stop."""
    assert cite(_doc(url=URL), datetime.date(2025, 5, 2)) == (
        '"Memorandum of Conversation between Yuri Andropov and the Central Committee," April 03, 1963, '
        "Sino-Soviet Split, 1960-1984, Wilson Center Digital Archive, accessed May 2, 2025, "
        "https://digitalarchive.wilsoncenter.org/document/116543.")


def test_without_url_nothing_is_invented():
    note = cite(_doc(), datetime.date(2025, 5, 2))
    assert note.endswith("Wilson Center Digital Archive, accessed May 2, 2025.")
    assert "http" not in note and "116543" not in note


def test_an_unknown_collection_is_left_out_not_printed_empty():
    note = cite(_doc(collection="", url=URL), datetime.date(2025, 11, 30))
    assert note == ('"Memorandum of Conversation between Yuri Andropov and the Central Committee," April 03, 1963, '
                    f"Wilson Center Digital Archive, accessed November 30, 2025, {URL}.")
    assert ", ," not in cite(_doc(collection="  "))


@pytest.mark.parametrize(("day", "text"), [(datetime.date(2025, 1, 9), "January 9, 2025"),
                                           (datetime.date(1999, 12, 31), "December 31, 1999")])
def test_access_dates_read_month_day_year_without_a_leading_zero(day, text):
    assert accessed_text(day) == text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "javascript:alert(1)\n<b>x</b>", "/document/116543",
                                 "https://example.org/\x1b[31mred"])
def test_a_url_no_reader_could_follow_is_left_out_of_the_note(url):
    """The note gives a web address or none; the record's url field still shows what it holds."""
    assert cite(_doc(url=url), datetime.date(2025, 5, 2)).endswith(
        "Wilson Center Digital Archive, accessed May 2, 2025.")


@pytest.mark.parametrize("url", [URL, "http://digitalarchive.wilsoncenter.org/document/1?lang=en&x=1",
                                 "HTTPS://Example.org/a_b*c"])
def test_web_urls_are_http_or_https_with_a_host(url):
    assert web_url(url) == url and web_url(f"  {url} ") == url


@pytest.mark.parametrize("url", [None, "", "   ", "javascript:alert(1)", "JavaScript:alert(1)",
                                 " javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>",
                                 "vbscript:msgbox", "file:///etc/passwd", "/document/116543",
                                 "digitalarchive.wilsoncenter.org/document/116543", "https://", "http:///path",
                                 "https://exa mple.org/", "https://example.org/\x00", "https://example.org/a\nb",
                                 "http://[::1", "ftp://example.org/x"])
def test_anything_else_is_no_web_url(url):
    assert web_url(url) is None


def test_double_quotes_inside_a_title_become_single():
    citation = cite(_doc(title='Cable, "On Anti-Revisionist Propaganda"'))
    assert citation.startswith('"Cable, \'On Anti-Revisionist Propaganda\'," ')


def test_a_title_ending_in_a_question_mark_keeps_it_without_a_comma():
    assert cite(_doc(title="Who Leads the Movement?")).startswith('"Who Leads the Movement?" April 03, 1963')


def test_month_only_dates_are_cited_as_printed():
    assert '," March, 1964, ' in cite(_doc(date="1964-03", date_text="March, 1964"))
