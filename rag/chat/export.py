"""The cited documents of an answer as a reader downloads them: a plain-text list and a CSV table, numbered in
date order as the answer numbers them, written as citations.txt and citations.csv."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rag.chat.answer import number_by_date

if TYPE_CHECKING:
    from rag.search.results import Results

CSV_COLUMNS = ("number", "date", "date_text", "title", "collection", "url", "citation", "score", "matched")


def citations_text(results: Results) -> str:
    """List the citations as plain text.

    Args:
        results: The hits of one search.

    Returns:
        One line per cited document, `[n] citation`, numbered in date order.
    """
    return "".join(f"{item.label} {item.hit.citation}\n" for item in number_by_date(results))


def citations_csv(results: Results) -> str:
    """Tabulate the cited documents as CSV.

    Args:
        results: The hits of one search.

    Returns:
        The CSV text: a header row (`CSV_COLUMNS`), then one row per cited document, numbered in date order.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in number_by_date(results):
        doc = item.hit.doc
        writer.writerow([item.number, doc.date, doc.date_text, _cell(doc.title), _cell(doc.collection),
                         _cell(doc.url or ""), _cell(item.hit.citation), round(item.hit.score, 6),
                         "+".join(s.value for s in item.hit.matched)])
    return buffer.getvalue()


def _cell(text: str) -> str:
    """Stop a spreadsheet from reading corpus text as a formula (`=HYPERLINK(...)`)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_exports(results: Results, folder: Path) -> tuple[Path, Path]:
    """Write the citations as files to download.

    Args:
        results: The hits of one search.
        folder: Where a fresh folder for the two files is made.

    Returns:
        The paths of citations.txt and citations.csv, in a new folder under `folder`.
    """
    out = Path(tempfile.mkdtemp(prefix="answer-", dir=folder))
    txt, csv_path = out / "citations.txt", out / "citations.csv"
    txt.write_text(citations_text(results), encoding="utf-8")
    csv_path.write_text(citations_csv(results), encoding="utf-8", newline="")
    return txt, csv_path
