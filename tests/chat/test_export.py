"""The downloads of an answer: citations as text and CSV, numbered by date, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from rag.chat.export import CSV_COLUMNS, citations_csv, citations_text, write_exports
from rag.documents.document import Document
from rag.search.citation import accessed_text, cite
from rag.search.results import Hit, Results, Signal

DAY = datetime.date(2025, 5, 2)
URL = "https://digitalarchive.wilsoncenter.org/document/116543"


@pytest.fixture()
def results(bundled_corpus) -> Results:
    """Three hits in relevance order whose dates are out of order."""
    documents = {doc.date: doc for doc in bundled_corpus.documents}
    hits = tuple(Hit(doc=doc, score=score, rank=rank, matched=(Signal.SEMANTIC, Signal.KEYWORD),
                     citation=f"{doc.title}, {doc.date_text}")
                 for rank, (doc, score) in enumerate(((documents["1963-09-05"], 0.9), (documents["1964-03"], 0.6),
                                                      (documents["1963-04-03"], 0.3)), start=1))
    return Results(hits=hits, question="test ban in 1963", query="test ban", date_from="1963", date_to="1964",
                   date_phrase=None, total=7)


def test_exports_number_by_date(results):
    lines = citations_text(results, DAY).splitlines()
    assert [line[:3] for line in lines] == ["[1]", "[2]", "[3]"]
    assert lines[0] == f"[1] {cite(results[2].doc, DAY)}"  # the earliest document
    rows = list(csv.DictReader(io.StringIO(citations_csv(results, DAY))))
    assert [r["number"] for r in rows] == ["1", "2", "3"]
    assert [r["date"] for r in rows] == ["1963-04-03", "1963-09-05", "1964-03"]
    assert rows[1]["matched"] == "semantic+keyword"


def test_csv_neutralises_formulas():
    doc = Document.create(date="1963", date_text="1963", title="=HYPERLINK(\"http://x\")", collection="c", summary="s")
    res = Results((Hit(doc, 1.0, 1, (Signal.KEYWORD,), citation="c"),), question="q", query="q", total=1)
    row = next(csv.DictReader(io.StringIO(citations_csv(res))))
    assert row["title"].startswith("'=")
    doc = Document.create(date="1963", date_text="1963", title="t", collection="@SUM(A1)", url="=cmd|' /C calc'!A0")
    res = Results((Hit(doc, 1.0, 1, (Signal.KEYWORD,), citation="c"),), question="q", query="q", total=1)
    row = next(csv.DictReader(io.StringIO(citations_csv(res))))
    assert row["collection"] == "'@SUM(A1)" and row["url"] == "'=cmd|' /C calc'!A0"


def test_each_answer_gets_its_own_pair_of_files(results, tmp_path):
    first, second = write_exports(results, tmp_path, DAY), write_exports(results, tmp_path, DAY)
    assert [p.name for p in first] == ["citations.txt", "citations.csv"] and first[0].parent != second[0].parent
    assert first[0].read_text(encoding="utf-8") == citations_text(results, DAY)
    assert first[1].read_bytes() == citations_csv(results, DAY).encode("utf-8")


def _one(doc: Document) -> Results:
    return Results((Hit(doc, 0.5, 1, (Signal.SEMANTIC,), citation=cite(doc)),), question="q", query="q", total=1)


def test_notes_give_the_url_when_known_and_the_access_date():
    doc = Document.create(date="1963-04-03", date_text="April 03, 1963", title="Memorandum of Conversation",
                          collection="Sino-Soviet Split, 1960-1984", url=URL)
    expected = ('"Memorandum of Conversation," April 03, 1963, Sino-Soviet Split, 1960-1984, Wilson Center Digital '
                f"Archive, accessed May 2, 2025, {URL}.")
    assert citations_text(_one(doc), DAY) == f"[1] {expected}\n"
    rows = list(csv.reader(io.StringIO(citations_csv(_one(doc), DAY))))
    assert tuple(rows[0]) == CSV_COLUMNS == ("number", "date", "date_text", "title", "collection", "url",
                                             "accessed", "citation", "score", "matched")
    assert dict(zip(rows[0], rows[1], strict=True)) == {
        "number": "1", "date": "1963-04-03", "date_text": "April 03, 1963", "title": "Memorandum of Conversation",
        "collection": "Sino-Soviet Split, 1960-1984", "url": URL, "accessed": "2025-05-02", "citation": expected,
        "score": "0.5", "matched": "semantic"}


def test_no_url_and_no_collection_are_left_out_not_invented():
    """A record from a search-results page: no collection named, no URL."""
    doc = Document.create(date="1970-06-16", date_text="June 16, 1970", title="Cable", collection="")
    assert citations_text(_one(doc), DAY) == '[1] "Cable," June 16, 1970, Wilson Center Digital Archive, ' \
                                             "accessed May 2, 2025.\n"
    row = next(csv.DictReader(io.StringIO(citations_csv(_one(doc), DAY))))
    assert row["url"] == "" and row["collection"] == "" and "http" not in row["citation"]


def test_the_access_date_is_today_unless_given(results):
    before = datetime.date.today()
    text = citations_text(results)
    days = {before, datetime.date.today()}  # the export may straddle midnight
    assert any(f"accessed {accessed_text(day)}." in text.splitlines()[0] for day in days), text
