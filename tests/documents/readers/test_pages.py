"""The page layouts (bullets, dashes) and the grammar they share: the seed page, both layouts, every malformed
case, each error with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEED_DATES

from rag.documents.corpus import read_file
from rag.documents.readers.registry import READERS, parse_page
from rag.errors import CorpusError

NEW_LAYOUT = """\
Sino-Soviet Split, 1960-1984
Documents on the growing division and worsening relations between China and the Soviet Union from 1960 onward.
-
January 07, 1964
Memorandum of a Conversation with the USSR Ambassador, c. V. P. Moskovskyi
Soviet Ambassador Moskovsky talks with the Cuban Ambassador to Pyongyang about the foreign policies
of North Korea and, in particular, North Korea's position in the Sino-Soviet split.
-
March, 1964
Transcript of Conversations between Delegations (Excerpts)
Romanian and Chinese officials on the Soviet use of informal channels to interfere in Romania’s domestic affairs.
-
July 08, 1963
Meeting of the Delegations of the CPSU and the CCP, Moscow, 5-20 July 1963
"""


def error_of(path: Path) -> str:
    with pytest.raises(CorpusError) as info:
        read_file(path)
    return str(info.value)


# ------------------------------------------------------------------------------------ the seed page


def test_seed_page_has_its_twenty_entries_in_order(seed_page):
    docs = read_file(seed_page).documents
    assert [d.date for d in docs] == SEED_DATES
    assert docs[0].date_text == "April 03, 1963"
    assert docs[0].title == ("Memorandum of Conversation between Yuri Andropov and the Central Committee of the "
                             "Romanian Worker’s Party")
    assert docs[-1].date_text == "March, 1964"
    assert docs[-1].summary.endswith("interfere in Romania’s domestic affairs.")


def test_seed_page_collection_comes_from_the_page(seed_page):
    page = read_file(seed_page)
    assert page.collection == "Sino-Soviet Split, 1960-1984"
    assert {d.collection for d in page.documents} == {"Sino-Soviet Split, 1960-1984"}


def test_seed_page_entry_without_summary_is_kept(seed_page):
    docs = {d.date: d for d in read_file(seed_page).documents}
    meeting = docs["1963-07-08"]
    assert meeting.title.startswith("Meeting of the Delegations of the Communist Party of the Soviet Union")
    assert meeting.summary is None


def test_seed_page_keeps_curly_quotes_and_records_lines(seed_page):
    docs = read_file(seed_page).documents
    assert "Khrushchev’s anti-Chinese vanguard" in docs[2].summary
    assert docs[0].source == str(seed_page)
    assert seed_page.read_text(encoding="utf-8").splitlines()[docs[0].line - 1].strip() == "• April 03, 1963"


def test_navigation_noise_never_becomes_a_document(seed_page):
    text = " ".join(d.title + " " + (d.summary or "") for d in read_file(seed_page).documents)
    for noise in ("Search in", "ADD SEARCH FILTER", "No image found", "Documents on the growing division"):
        assert noise not in text


# ------------------------------------------------------------------------------------ layouts


def test_newer_layout_parses_with_wrapped_summary(write_page):
    page = read_file(write_page(NEW_LAYOUT))
    assert page.collection == "Sino-Soviet Split, 1960-1984"
    assert [d.date for d in page.documents] == ["1964-01-07", "1964-03", "1963-07-08"]
    assert page.documents[0].summary == (
        "Soviet Ambassador Moskovsky talks with the Cuban Ambassador to Pyongyang about the foreign policies "
        "of North Korea and, in particular, North Korea's position in the Sino-Soviet split.")
    assert page.documents[2].summary is None
    assert page.documents[0].line == 3


def test_newer_layout_with_blank_lines_between_fields(write_page):
    text = "Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n-\n\nApril 3, 1963\n\nA title\n\nA summary.\n"
    (doc,) = read_file(write_page(text)).documents
    assert (doc.date, doc.date_text, doc.title, doc.summary) == ("1963-04-03", "April 3, 1963", "A title", "A summary.")


def test_bullet_summary_wrapping_over_lines_is_joined(write_page):
    text = ("Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n  • May 31, 1963\n\n    A title\n\n"
            "    First line of the summary\n    and its second line.\n")
    (doc,) = read_file(write_page(text)).documents
    assert doc.summary == "First line of the summary and its second line."


def test_footer_after_the_listing_is_ignored_with_a_warning(seed_page, write_page):
    text = seed_page.read_text(encoding="utf-8")
    path = write_page(text + "\n\nAbout the Digital Archive\nContact us\n")
    footer_line = len(text.splitlines()) + 2
    page = read_file(path)
    assert len(page.documents) == 20
    assert page.documents[-1].summary.endswith("domestic affairs.")
    assert [str(w) for w in page.warnings] == [
        f"{path}:{footer_line}: ignored 2 line(s) after the last entry (less indented than the listing: page footer)"]


def test_year_only_and_circa_dates_keep_their_precision(write_page):
    text = "Collection X\nDescribed here.\n-\n1964\nA title\n-\nc. 1965\nAnother title\n"
    docs = read_file(write_page(text)).documents
    assert [(d.date, d.date_text) for d in docs] == [("1964", "1964"), ("1965", "c. 1965")]



def test_dash_list_items_holding_the_date_start_entries(write_page):
    text = "Collection X\nDescribed here.\n- April 03, 1963\nA title\nA summary.\n- March, 1964\nAnother title\n"
    docs = read_file(write_page(text)).documents
    assert [(d.date, d.title, d.summary) for d in docs] == [
        ("1963-04-03", "A title", "A summary."), ("1964-03", "Another title", None)]


# ------------------------------------------------------------------------------------ malformed pages

HEADER = "Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n"


def test_bullet_with_unreadable_date_names_file_and_line(write_page):
    path = write_page(HEADER + "  • Aprill 3, 1963\n\n    A title\n")
    assert error_of(path) == (f"{path}:5: unreadable date 'Aprill 3, 1963' "
                              "(expected e.g. 'April 03, 1963', 'March, 1964' or '1964')")


def test_impossible_date_is_unreadable(write_page):
    path = write_page(HEADER + "  • February 30, 1963\n\n    A title\n")
    assert error_of(path).startswith(f"{path}:5: unreadable date 'February 30, 1963'")


def test_entry_with_title_missing_names_file_and_line(write_page):
    path = write_page(HEADER + "  • April 03, 1963\n\n  • April 04, 1963\n\n    A title\n")
    assert error_of(path) == f"{path}:5: entry dated 'April 03, 1963' has no title"


def test_entry_whose_only_text_is_a_summary_has_no_title(write_page):
    summary = "Soviet politburo member Yuri Andropov and Gheorghe Gheorghiu-Dej discuss " * 3 + "many issues."
    path = write_page(HEADER + f"  • April 03, 1963\n\n    {summary}\n")
    assert error_of(path) == f"{path}:7: entry dated 'April 03, 1963' has no title: its only text reads like a summary"


def test_dash_marker_without_date_names_its_line(write_page):
    path = write_page("Collection X\nDescribed here.\n-\nApril 3, 1963\nA title\n-\n")
    assert error_of(path) == f"{path}:6: entry marker not followed by a date"


def test_every_bad_entry_of_a_file_is_reported(write_page):
    path = write_page(HEADER + "  • Aprill 3, 1963\n    A\n  • April 03, 1963\n  • 1963\n    B\n")
    assert error_of(path).splitlines() == [
        f"{path}:5: unreadable date 'Aprill 3, 1963' (expected e.g. 'April 03, 1963', 'March, 1964' or '1964')",
        f"{path}:7: entry dated 'April 03, 1963' has no title",
    ]


def test_a_file_that_is_not_a_listing_page(write_page):
    path = write_page("Dear colleague,\n\nplease find attached the minutes of our meeting.\n")
    assert error_of(path) == (f"{path}: not a listing page of the archive: no entries found (expected lines "
                              "starting with '•', or lines holding only '-', or a 'Results: 41 - 50 of 62' header, "
                              "each followed by a date)")


def test_page_without_collection_title(write_page):
    path = write_page("  • April 03, 1963\n    A title\n")
    assert error_of(path) == f"{path}:1: no collection title found before the first entry"


def test_ids_do_not_depend_on_whitespace(write_page):
    a = parse_page(HEADER + "  • 1963\n    A  title\n", "a").documents[0]
    b = parse_page(HEADER + "  • 1963\n    A title\n", "b").documents[0]
    assert a.id == b.id


def test_a_page_in_two_layouts_is_refused(write_page):
    path = write_page(HEADER + "  • April 03, 1963\n    A title\n-\nApril 04, 1963\nAnother title\n")
    assert error_of(path) == (f"{path}: mixes two layouts (bullets and dashes): keep one kind of entry marker "
                              "per page")


def test_each_layout_detects_only_its_own_pages(seed_page):
    bullets, dashes, results = READERS
    old_layout = seed_page.read_text(encoding="utf-8")
    assert bullets.detects(old_layout) and not dashes.detects(old_layout) and not results.detects(old_layout)
    assert dashes.detects(NEW_LAYOUT) and not bullets.detects(NEW_LAYOUT) and not results.detects(NEW_LAYOUT)
