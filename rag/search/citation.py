"""Footnote-ready references for archive records: the Chicago-style note the Wilson Center itself suggests, and
which of a record's addresses may be offered as a link."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rag.documents.document import ARCHIVE_NAME

if TYPE_CHECKING:
    import datetime

    from rag.documents.document import Document

# Double quotes inside a title become single quotes, as for a quotation within a quotation.
_INNER_QUOTES = str.maketrans({'"': "'", "“": "‘", "”": "’"})
# English month names, whatever the process's locale (strftime's %B follows it).
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_WEB_SCHEMES = ("http", "https")
# A space or control character: no address holds one. A regex search took 0.6 µs on an archive URL, a scan by
# character 5.5 (measured); `cite` runs for every hit.
_NOT_IN_A_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def _flat(text: str) -> str:
    """One line, single spaces: a note is one line of citations.txt."""
    return " ".join(text.split())


def accessed_text(day: datetime.date) -> str:
    """A day as a Chicago note's access date gives it.

    Args:
        day: The day the document was consulted (a search's export or copy).

    Returns:
        `May 2, 2025`: the English month, the day without a leading zero, the year.
    """
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def web_url(url: str | None) -> str | None:
    """The record's address when a browser may be sent to it: an absolute http(s) URL with a host, nothing else.

    Args:
        url: A record's `url`, as read (anything: None, `javascript:alert(1)`, a path, a URL with spaces).

    Returns:
        The URL, stripped of surrounding spaces; None for no URL, another scheme, no host, or a URL holding a
        space or control character (which no reader wrote and no browser reads as one address).
    """
    if not url:
        return None
    url = url.strip()
    if _NOT_IN_A_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed [ in the host
        return None
    return url if parts.scheme.lower() in _WEB_SCHEMES and parts.hostname else None


def cite(doc: Document, accessed: datetime.date | None = None) -> str:
    """A Chicago-style note: `"Title," April 03, 1963, Collection, Wilson Center Digital Archive, accessed
    May 2, 2025, URL.`

    The comma goes inside the closing quote unless the title ends in its own ? or !; the date is as the archive
    printed it; an unknown collection (empty: a search-results page names none) is left out, not printed empty;
    the access date precedes the URL, as Chicago places it; the URL is the record's when it is a web address
    (`web_url`) and is left out otherwise: unknown (nothing is made up from the id), or anything a reader could
    not follow (`javascript:`, a bare path), which the record's `url` field still shows as it is.

    Args:
        doc: The document cited.
        accessed: The day it was consulted (the export's or copy's day); None leaves the access date out.

    Returns:
        The note, on one line, ending with a full stop.
    """
    title = _flat(doc.title.translate(_INNER_QUOTES)).rstrip(".,;: ")
    quoted = f'"{title}"' if title.endswith(("?", "!")) else f'"{title},"'
    parts = [_flat(doc.date_text), _flat(doc.collection), ARCHIVE_NAME]
    if accessed is not None:
        parts.append(f"accessed {accessed_text(accessed)}")
    link = web_url(doc.url)
    if link is not None:
        parts.append(link)
    return f"{quoted} {', '.join(part for part in parts if part)}."
