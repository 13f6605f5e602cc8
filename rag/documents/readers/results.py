"""The newer site's search results (and filtered topic pages), saved as text: a header giving the page's place in
the listing, then entries of a date line, a title line and usually a summary line, blank lines between them::

    Results:
    41 - 50 of 62
    Documents

    June 16, 1970
    Record of Conversation between Zhou Enlai and Pham Van Dong
    Zhou Enlai and Pham Van Dong discuss the war in Cambodia and Soviet aid.

    1969
    Zhou Enlai's Talk with Kosygin at Beijing Airport

The header ("Results:", "41 - 50 of 62") is the page's `position`, never an entry. Every line shaped like a
printed date (`June 16, 1970`, `March, 1964`, `1969`) starts an entry; the next text line is its title, the
lines after it its summary (none: the entry is kept, summary None). A result page spans collections and names
none: its documents get the collection '' (unknown), which the corpus merge fills from a page or record naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.documents.dates import DateError, looks_like_date, parse_printed
from rag.documents.document import Document
from rag.documents.readers import bullets, dashes
from rag.documents.readers.base import Page, Problem
from rag.documents.readers.listing import NOISE_LINES
from rag.errors import CorpusError

#: "41 - 50 of 62", also after "Results:" on the same line, with thousands separators.
POSITION_RE = re.compile(r"^(?:results:?\s*)?(\d[\d,]*)\s*[-–]\s*(\d[\d,]*)\s+of\s+(\d[\d,]*)$", re.IGNORECASE)
_HEADER_WORDS = frozenset(("results", "results:", "documents", "search results", "search results:"))
_CIRCA_RE = re.compile(r"^(?:c\.|ca\.|circa)\s*", re.IGNORECASE)


def position_of(line: str) -> str | None:
    """Read a result page's place in its listing.

    Args:
        line: One line (or text block) of the page, its whitespace collapsed.

    Returns:
        The place as "41 - 50 of 62", or None when the line is no such header.
    """
    match = POSITION_RE.match(line)
    return f"{match[1]} - {match[2]} of {match[3]}" if match else None


def _is_header(line: str) -> bool:
    return line.casefold() in _HEADER_WORDS or position_of(line) is not None


@dataclass(frozen=True)
class ResultsReader:
    """Search-result pages saved as text (a `PageReader`)."""

    name: str = "results"
    expects: str = "a 'Results: 41 - 50 of 62' header"

    def detects(self, text: str) -> bool:
        """Whether the page has a results header and none of the listing layouts' entry markers.

        Args:
            text: The page's whole text.

        Returns:
            True for a result page.
        """
        lines = [" ".join(raw.split()) for raw in text.splitlines()]
        if any(bullets.marker(line) is not None or dashes.marker(line) is not None for line in lines):
            return False
        return any(_is_header(line) for line in lines)

    def read(self, text: str, source: str) -> Page:
        """Read a result page.

        Args:
            text: The page's whole text.
            source: The file's name, for documents' origins and errors.

        Returns:
            Its documents (collection ''), in page order, with the page's position in the listing.

        Raises:
            CorpusError: Listing every entry that cannot be read (an unreadable date, a date with no title), each
                with file:line, and a page with no entries.
        """
        position = None
        entries: list[list[tuple[int, str]]] = []  # each: (line, text) of its date, then its text lines
        for number, raw in enumerate(text.splitlines(), start=1):
            line = " ".join(raw.split())
            if not line or line.casefold() in NOISE_LINES:
                continue
            if not entries and _is_header(line):
                position = position or position_of(line)
                continue
            if looks_like_date(line):
                entries.append([(number, line)])
            elif entries:
                entries[-1].append((number, line))
        if not entries:
            raise CorpusError([Problem(source, None, "a result page with no entries (no line holds a date)")])
        documents, problems = [], []
        for entry in entries:
            try:
                documents.append(_entry_document(entry, source))
            except CorpusError as exc:
                problems.extend(exc.problems)
        if problems:
            raise CorpusError(problems)
        return Page(source, "", documents, layout=self.name, position=position)


def _entry_document(entry: list[tuple[int, str]], source: str) -> Document:
    (number, date_text), *body = entry
    try:
        date = parse_printed(_CIRCA_RE.sub("", date_text))
    except DateError as exc:
        raise CorpusError([Problem(source, number, str(exc))]) from None
    if not body:
        raise CorpusError([Problem(source, number, f"entry dated {date_text!r} has no title")])
    title = body[0][1]
    summary = " ".join(text for _, text in body[1:]) or None
    return Document.create(date=date, date_text=date_text, title=title, summary=summary, collection="",
                           source=source, line=number)


READER = ResultsReader()
