"""The search-results layout saved as text (results.py): the header is the page's place in the listing, never an
entry; entries of date, title and summary; one with no summary kept; no collection invented; errors at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.documents.corpus import read_file
from rag.documents.document import document_id
from rag.documents.readers.registry import parse_page
from rag.documents.readers.results import position_of
from rag.errors import CorpusError

FIXTURE = Path(__file__).parent / "fixtures" / "search_results.txt"


def test_a_result_page_reads_its_entries_and_its_place_in_the_listing():
    page = read_file(FIXTURE)
    assert (page.layout, page.position, page.collection) == ("results", "41 - 50 of 62", "")
    assert [(d.date, d.date_text) for d in page.documents] == [
        ("1970-06-16", "June 16, 1970"), ("1964-03", "March, 1964"), ("1969", "1969"), ("1963-07-04", "July 4, 1963")]
    assert not any(d.title in ("Results:", "41 - 50 of 62", "Documents") for d in page.documents)
    first = page.documents[0]
    assert first.title == "Record of Conversation between Zhou Enlai and Pham Van Dong"
    assert first.summary == "Zhou Enlai and Pham Van Dong discuss the war in Cambodia and Soviet aid."
    assert first.line == 8


def test_an_entry_without_summary_is_kept_and_no_collection_is_invented():
    talk = read_file(FIXTURE).documents[2]
    assert talk.title == "Zhou Enlai's Talk with Kosygin at Beijing Airport"
    assert (talk.summary, talk.collection) == (None, "")
    assert talk.id == document_id("", "1969", talk.title)  # date and title only: the page names no collection


@pytest.mark.parametrize(("line", "position"), [
    ("41 - 50 of 62", "41 - 50 of 62"), ("Results: 1 – 10 of 1,204", "1 - 10 of 1,204"), ("Results:", None),
    ("1963", None)])
def test_the_position_header(line, position):
    assert position_of(line) == position


def test_a_bad_entry_is_an_error_at_its_line():
    with pytest.raises(CorpusError) as info:
        parse_page("Results:\n1 - 2 of 2\n\nJune 31, 1970\nA title\n\nJuly 01, 1970\n", "r.txt")
    assert str(info.value).splitlines() == [
        "r.txt:4: unreadable date 'June 31, 1970' (expected e.g. 'April 03, 1963', 'March, 1964' or '1964')",
        "r.txt:7: entry dated 'July 01, 1970' has no title"]


def test_a_result_header_with_no_entries_is_an_error():
    with pytest.raises(CorpusError, match="r.txt: a result page with no entries"):
        parse_page("Results:\n0 - 0 of 0\nDocuments\n", "r.txt")
