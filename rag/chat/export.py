"""The cited documents of an answer as a reader downloads or copies them: a plain-text list and a CSV table,
numbered in date order as the answer numbers them, written as citations.txt and citations.csv. Each citation is
the Chicago-style note of `rag.search.citation.cite`, with the day of the export as its access date."""

from __future__ import annotations

import csv
import datetime
import io
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rag.chat.answer import number_by_date
from rag.search.citation import cite

if TYPE_CHECKING:
    from rag.search.results import Results

CSV_COLUMNS = ("number", "date", "date_text", "title", "collection", "url", "accessed", "citation", "score",
               "matched")


def _day(accessed: datetime.date | None) -> datetime.date:
    """The access date given, else today's (the day of the export or copy)."""
    return datetime.date.today() if accessed is None else accessed


def citations_text(results: Results, accessed: datetime.date | None = None) -> str:
    """List the citations as plain text, as the page's copy box and citations.txt give them.

    Args:
        results: The hits of one search.
        accessed: The access date the notes give; None: today.

    Returns:
        One line per cited document, `[n] note` (`cite`), numbered in date order.
    """
    day = _day(accessed)
    return "".join(f"{item.label} {cite(item.hit.doc, day)}\n" for item in number_by_date(results))


def citations_csv(results: Results, accessed: datetime.date | None = None) -> str:
    """Tabulate the cited documents as CSV.

    Args:
        results: The hits of one search.
        accessed: The access date the notes give (and the `accessed` column, ISO); None: today.

    Returns:
        The CSV text: a header row (`CSV_COLUMNS`), then one row per cited document, numbered in date order; `url`
        is empty when the record has none, `collection` when a results page named none.
    """
    day = _day(accessed)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in number_by_date(results):
        doc = item.hit.doc
        writer.writerow([item.number, doc.date, doc.date_text, _cell(doc.title), _cell(doc.collection),
                         _cell(doc.url or ""), day.isoformat(), _cell(cite(doc, day)), round(item.hit.score, 6),
                         "+".join(s.value for s in item.hit.matched)])
    return buffer.getvalue()


def _cell(text: str) -> str:
    """Stop a spreadsheet from reading corpus text as a formula (`=HYPERLINK(...)`)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_exports(results: Results, folder: Path, accessed: datetime.date | None = None) -> tuple[Path, Path]:
    """Write the citations as files to download.

    Args:
        results: The hits of one search.
        folder: Where a fresh folder for the two files is made.
        accessed: The access date the notes give; None: today.

    Returns:
        The paths of citations.txt and citations.csv, in a new folder under `folder`.
    """
    out = Path(tempfile.mkdtemp(prefix="answer-", dir=folder))
    txt, csv_path = out / "citations.txt", out / "citations.csv"
    day = _day(accessed)
    txt.write_text(citations_text(results, day), encoding="utf-8")
    csv_path.write_text(citations_csv(results, day), encoding="utf-8", newline="")
    return txt, csv_path
