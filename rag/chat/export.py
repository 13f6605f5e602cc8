"""The cited documents of an answer as files a reader downloads: citations.txt and citations.csv."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rag.chat.render import citations_csv, citations_text

if TYPE_CHECKING:
    from rag.search.results import Results


def write_exports(results: Results, folder: Path) -> tuple[Path, Path]:
    """The citations as citations.txt and citations.csv in a fresh folder."""
    out = Path(tempfile.mkdtemp(prefix="answer-", dir=folder))
    txt, csv = out / "citations.txt", out / "citations.csv"
    txt.write_text(citations_text(results), encoding="utf-8")
    csv.write_text(citations_csv(results), encoding="utf-8", newline="")
    return txt, csv
