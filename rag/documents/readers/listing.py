"""The grammar the archive's listing pages share, whatever marks their entries: a header naming the collection,
then entries, each a marker line, a date, a title and a summary, then perhaps a footer.

A layout differs only in what marks an entry: `ListingReader(name, expects, marker)` is the whole of one
(bullets.py, dashes.py). Every marker line starts an entry; an entry whose date or title cannot be read is an
error naming file and line, never a silently dropped or invented document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.documents.dates import DateError, parse_printed
from rag.documents.document import Document
from rag.documents.readers.base import Page, Problem
from rag.errors import CorpusError

#: An entry marker: for a line (its whitespace collapsed), the text after the marker ('' when none), or None
#: when the line marks no entry.
Marker = Callable[[str], "str | None"]

# Navigation and decoration the archive's pages carry around the listing, compared case-insensitively.
NOISE_LINES = frozenset(
    line.casefold()
    for line in (
        "Search in",
        "ADD SEARCH FILTER CANCEL SEARCH FILTER",
        "ADD SEARCH FILTER",
        "CANCEL SEARCH FILTER",
        "Digital Archive International History Declassified",
        "Digital Archive",
        "International History Declassified",
        "No image found.",
        "Load more",
        "Show more",
        "Back to top",
    )
)
# A summary reads like prose; a title this long ending in a full stop is a summary whose title is missing.
_SUMMARY_LIKE_LENGTH = 200
_CIRCA_RE = re.compile(r"^(?:c\.|ca\.|circa)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ListingReader:
    """A listing-page layout: the shared grammar with its own entry marker (a `PageReader`)."""

    name: str
    expects: str
    marker: Marker

    def detects(self, text: str) -> bool:
        """Whether any line of the page marks an entry of this layout.

        Args:
            text: The page's whole text.

        Returns:
            True when at least one line is this layout's entry marker.
        """
        return any(self.marker(" ".join(raw.split())) is not None for raw in text.splitlines())

    def read(self, text: str, source: str) -> Page:
        """Read a page in this layout.

        Args:
            text: The page's whole text.
            source: The file's name, for documents' origins and errors.

        Returns:
            The page's collection and documents, in page order, with a warning for an ignored footer.

        Raises:
            CorpusError: Listing every entry that cannot be read (and a missing collection title), each with
                file:line.
        """
        page = _parse(text, source, self.marker)
        page.layout = self.name
        return page


@dataclass
class _Entry:
    marker_line: int  # 1-based
    indent: int
    date_line: int | None = None
    date_text: str | None = None
    body: list[tuple[int, str]] = field(default_factory=list)  # (line number, text or "" for blank)


def _indent(raw: str) -> int:
    return len(raw) - len(raw.lstrip())


def _parse(text: str, source: str, marker: Marker) -> Page:
    """`ListingReader.read` for the layout whose entries `marker` recognises."""
    lines = text.splitlines()
    header: list[str] = []
    entries: list[_Entry] = []
    trailing: list[int] = []
    for number, raw in enumerate(lines, start=1):
        stripped = " ".join(raw.split())
        if stripped.casefold() in NOISE_LINES:
            continue
        rest = marker(stripped)
        if rest is not None:
            entries.append(_Entry(marker_line=number, indent=_indent(raw)))
            if rest:
                entries[-1].date_line, entries[-1].date_text = number, rest
            continue
        if not entries:
            header.append(stripped)
            continue
        entry = entries[-1]
        if stripped and entry.indent > 0 and _indent(raw) < entry.indent:
            trailing.append(number)  # less indented than the bullets: the page's footer
            continue
        if trailing:
            if stripped:
                trailing.append(number)
            continue
        if entry.date_text is None:
            if stripped:
                entry.date_line, entry.date_text = number, stripped
            continue
        entry.body.append((number, stripped))

    collection = _collection_name(header)
    problems: list[Problem] = []
    if collection is None:
        problems.append(Problem(source, entries[0].marker_line,
                                "no collection title found before the first entry"))
    documents = []
    for entry in entries:
        try:
            documents.append(_entry_document(entry, source, collection or ""))
        except CorpusError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CorpusError(problems)
    warnings = []
    if trailing:
        warnings.append(Problem(source, trailing[0], f"ignored {len(trailing)} line(s) after the last "
                                                     "entry (less indented than the listing: page footer)"))
    return Page(source, collection, documents, warnings)


def _collection_name(header: list[str]) -> str | None:
    """The collection's title: the header line just before its description (the first long or
    sentence-like line), or the last header line when there is no description."""
    lines = [line for line in header if line]
    for i, line in enumerate(lines):
        if i > 0 and (len(line) >= 100 or line.endswith(".")):
            return lines[i - 1]
    return lines[-1] if lines else None


def _paragraphs(body: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    paragraphs: list[list[tuple[int, str]]] = [[]]
    for number, text in body:
        if text:
            paragraphs[-1].append((number, text))
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _entry_document(entry: _Entry, source: str, collection: str) -> Document:
    if entry.date_text is None:
        raise CorpusError([Problem(source, entry.marker_line, "entry marker not followed by a date")])
    try:
        date = parse_printed(_CIRCA_RE.sub("", entry.date_text))
    except DateError as exc:
        raise CorpusError([Problem(source, entry.date_line, str(exc))]) from None
    paragraphs = _paragraphs(entry.body)
    if len(paragraphs) == 1 and len(paragraphs[0]) > 1:
        # Compact layout, one field per line: the title, then the summary's lines.
        paragraphs = [paragraphs[0][:1], paragraphs[0][1:]]
    if not paragraphs:
        raise CorpusError([Problem(source, entry.date_line, f"entry dated {entry.date_text!r} has no title")])
    title = " ".join(text for _, text in paragraphs[0])
    summary = " ".join(text for p in paragraphs[1:] for _, text in p) or None
    if summary is None and len(title) > _SUMMARY_LIKE_LENGTH and title.endswith("."):
        raise CorpusError([Problem(source, paragraphs[0][0][0],
                                   f"entry dated {entry.date_text!r} has no title: its only text reads "
                                   "like a summary")])
    return Document.create(date=date, date_text=entry.date_text, title=title, summary=summary,
                           collection=collection, source=source, line=entry.marker_line)
