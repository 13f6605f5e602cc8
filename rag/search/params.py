"""Search parameters checked in one place, with the same words for the Python API, the chat and the CLI:
`k`, the date range, the search mode and the sort order."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from numbers import Integral

from rag.documents.dates import bounds, validate_iso
from rag.errors import DateError, QueryError


class _Choice(StrEnum):
    """A string choice that accepts any case and whose error lists the valid values."""

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().lower():
                    return member
        valid = ", ".join(m.value for m in cls)
        raise QueryError(f"{cls._label()} must be one of {valid}; got {value!r}")

    @classmethod
    def _label(cls) -> str:
        return cls.__name__.lower()


class Mode(_Choice):
    """Which signals search: both fused, or one alone."""

    HYBRID = "hybrid"
    SEMANTIC = "semantic"
    KEYWORD = "keyword"


class SortOrder(_Choice):
    """How hits are ordered (and the chat lists its cited documents): by fused relevance or chronologically."""

    RELEVANCE = "relevance"
    DATE = "date"

    @classmethod
    def _label(cls) -> str:
        return "sort"


def checked_k(k, max_k: int) -> int:
    """k as a whole number of hits from 1 to max_k.

    Args:
        k: The value asked for (an int, or a float that is whole).
        max_k: The largest allowed.

    Returns:
        k as an int.

    Raises:
        QueryError: k is no whole number in range (naming the allowed range).
    """
    allowed = f"k must be a whole number from 1 to {max_k}"
    if isinstance(k, bool) or not (isinstance(k, Integral) or isinstance(k, float) and k.is_integer()):
        raise QueryError(f"{allowed}, got {k!r}")
    if not 1 <= k <= max_k:
        raise QueryError(f"{allowed}, got {k}")
    return int(k)


def parse_date_param(value: str | dt.date | None, name: str) -> str | None:
    """A `date_from`/`date_to` value as an ISO partial date.

    Args:
        value: A date, or text in a form `validate_iso` reads.
        name: The parameter's name, for the error message.

    Returns:
        The ISO partial date; None for none or blank text.

    Raises:
        QueryError: The value cannot be read (naming the parameter).
    """
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return validate_iso(str(value).strip())
    except DateError as exc:
        raise QueryError(f"{name}: {exc}") from None


def checked_range(date_from: str | dt.date | None, date_to: str | dt.date | None) -> tuple[str | None, str | None]:
    """The date range as ISO partial dates.

    Args:
        date_from: The start, as for `parse_date_param`.
        date_to: The end, as for `parse_date_param`.

    Returns:
        The start and the end; None for an open end.

    Raises:
        QueryError: A date cannot be read, or the range starts after it ends.
    """
    start, end = parse_date_param(date_from, "date_from"), parse_date_param(date_to, "date_to")
    if start and end and bounds(start)[0] > bounds(end)[1]:
        raise QueryError(f"the range starts ({start}) after it ends ({end}): date_from must not be after date_to")
    return start, end
