"""The downloads of an answer: citations as text and CSV, numbered by date, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from rag.chat.export import citations_csv, citations_text, write_exports
from rag.documents.document import Document
from rag.search.results import Hit, Results, Signal


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
    lines = citations_text(results).splitlines()
    assert [line[:3] for line in lines] == ["[1]", "[2]", "[3]"]
    assert lines[0].endswith(results[2].citation)  # the earliest document
    rows = list(csv.DictReader(io.StringIO(citations_csv(results))))
    assert [r["number"] for r in rows] == ["1", "2", "3"]
    assert [r["date"] for r in rows] == ["1963-04-03", "1963-09-05", "1964-03"]
    assert rows[1]["matched"] == "semantic+keyword"


def test_csv_neutralises_formulas():
    doc = Document.create(date="1963", date_text="1963", title="=HYPERLINK(\"http://x\")", collection="c", summary="s")
    res = Results((Hit(doc, 1.0, 1, (Signal.KEYWORD,), citation="@cmd"),), question="q", query="q", total=1)
    row = next(csv.DictReader(io.StringIO(citations_csv(res))))
    assert row["title"].startswith("'=") and row["citation"] == "'@cmd"


def test_each_answer_gets_its_own_pair_of_files(results, tmp_path):
    first, second = write_exports(results, tmp_path), write_exports(results, tmp_path)
    assert [p.name for p in first] == ["citations.txt", "citations.csv"] and first[0].parent != second[0].parent
    assert first[0].read_text(encoding="utf-8") == citations_text(results)
    assert first[1].read_bytes() == citations_csv(results).encode("utf-8")
