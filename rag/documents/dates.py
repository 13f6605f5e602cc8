"""Dates with precision: the archive prints `April 03, 1963`, `March, 1964` or `1964`, and a
month-only date must stay a month, never become the 1st."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from enum import Enum

from rag.errors import DateError


class Precision(Enum):
    """How much of a date is known."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"


# strptime formats for the archive's printed dates, most precise first. Month names are English on
# every page of the archive, so the C locale strptime uses is the right one.
_PRINTED_FORMATS = (
    ("%B %d, %Y", Precision.DAY),   # April 03, 1963
    ("%B %d %Y", Precision.DAY),    # April 03 1963
    ("%b %d, %Y", Precision.DAY),   # Apr 03, 1963
    ("%d %B %Y", Precision.DAY),    # 03 April 1963
    ("%B, %Y", Precision.MONTH),    # March, 1964
    ("%B %Y", Precision.MONTH),     # March 1964
    ("%b, %Y", Precision.MONTH),    # Mar, 1964
    ("%b %Y", Precision.MONTH),     # Mar 1964
    ("%Y", Precision.YEAR),         # 1964
)

_ISO_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
# A line that is shaped like a printed date (month name and/or a four-digit year), used to tell a
# date that is merely unreadable ("Febuary 30, 1963") from a line that is no date at all.
_DATE_SHAPED_RE = re.compile(
    r"^(?:c\.\s*|circa\s+)?(?:[A-Za-z]{3,9}\.?,?\s+(?:\d{1,2},?\s+)?|\d{1,2}\s+[A-Za-z]{3,9}\s+)?\d{4}$",
    re.IGNORECASE,
)



def parse_printed(text: str) -> str:
    """Turn a date as printed by the archive into ISO 8601 keeping its precision.

    Args:
        text: The date as printed ("April 03, 1963", "March, 1964", "1964"; spacing does not matter).

    Returns:
        The ISO partial date at the printed precision.

    Raises:
        DateError: Naming the forms accepted, when the text is no such date.

    >>> parse_printed("April 03, 1963"), parse_printed("March, 1964"), parse_printed("1964")
    ('1963-04-03', '1964-03', '1964')
    """
    cleaned = " ".join(text.split())
    for fmt, precision in _PRINTED_FORMATS:
        try:
            parsed = dt.datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return _to_iso(parsed.date(), precision)
    raise DateError(
        f"unreadable date {text.strip()!r} (expected e.g. 'April 03, 1963', 'March, 1964' or '1964')"
    )


def looks_like_date(text: str) -> bool:
    """Tell a line shaped like a printed date (readable or not) from a line that is no date at all.

    Args:
        text: One line.

    Returns:
        True for a month name and/or a four-digit year shape ("Febuary 30, 1963" too).
    """
    return bool(_DATE_SHAPED_RE.match(" ".join(text.split())))


def _to_iso(day: dt.date, precision: Precision) -> str:
    if precision is Precision.YEAR:
        return f"{day.year:04d}"
    if precision is Precision.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def validate_iso(value: str) -> str:
    """Check an ISO partial date.

    Args:
        value: `1963`, `1963-11` or `1963-11-27` (surrounding spaces allowed).

    Returns:
        The date, stripped of surrounding spaces.

    Raises:
        DateError: When it is not of those shapes, or no such day exists.
    """
    match = _ISO_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise DateError(f"unreadable date {value!r} (expected YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise DateError(f"impossible date {value!r}: {exc}") from None
    return value.strip()


def bounds(value: str | dt.date) -> tuple[dt.date, dt.date]:
    """The days a partial date covers.

    Args:
        value: An ISO partial date, or a day.

    Returns:
        Its first and last day: `1962` → (1962-01-01, 1962-12-31); a day is both.

    Raises:
        DateError: When `value` is not a valid ISO partial date.
    """
    if isinstance(value, dt.date):
        return value, value
    iso = validate_iso(value)
    parts = [int(p) for p in iso.split("-")]
    year = parts[0]
    if len(parts) == 1:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = parts[1]
    if len(parts) == 2:
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(year, month, parts[2]), dt.date(year, month, parts[2])


def sort_key(iso: str) -> tuple[dt.date, int]:
    """Order partial dates chronologically.

    Args:
        iso: A valid ISO partial date.

    Returns:
        A key by which a month-only date sorts before the days of that month (and a year before its months).
    """
    start, _ = bounds(iso)
    return start, len(iso)
