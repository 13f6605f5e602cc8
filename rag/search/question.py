"""Understand a question: the date range it asks about ("early 1964", "after March 1963") and the words to search.

Rules, applied to every date phrase found (case-insensitive):

* a year, month or day (`1963`, `November 1963`, `Nov. 12, 1963`, `1963-11`) covers that whole period;
  month and day phrases are read by `dateparser`, which also reports their precision;
* `early`/`mid`/`late` a year: January-April, May-August, September-December (`the beginning/end of`
  mean early/late); of a month: days 1-10, 11-20, 21-end;
* seasons are meteorological: spring March-May, summer June-August, autumn/fall September-November,
  winter December of that year to February of the next;
* decades: `the 1960s` is 1960-1969; early/mid/late a decade are its years 0-3, 4-6, 7-9;
* `between A and B`, `from A to B`, `A-B`, `A to B`: from the start of A to the end of B;
* `before A`/`prior to A`: up to the period just before A; `until`/`till`/`through`/`up to A`: to the end of A;
* `after A`/`following A`: from the period just after A; `since A`/`starting A`: from the start of A;
* `in`/`during`/`of`/`from`/`around`/`throughout A` or A alone: within A ("cables from 1963"). Several periods cover
  all of them; before/after bounds then narrow that.

The date phrases are cut out of the question; what remains is what gets searched.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from rag.documents.dates import bounds
from rag.errors import QueryError

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

#: Questions longer than this many characters are shortened (with a note) rather than refused.
MAX_QUESTION_CHARS = 1000
_EXAMPLE = "e.g. 'What did Zhou Enlai say about the test ban?'"


def empty_question(name: str = "the question", how: str = f"type a question, {_EXAMPLE}") -> QueryError:
    """The error for a blank question, worded once for every interface: `NAME is empty: HOW`.

    Args:
        name: What the interface calls the question ("q" for the REST API's parameter).
        how: How to give one there.

    Returns:
        The QueryError to raise.
    """
    return QueryError(f"{name} is empty: {how}")


@dataclass(frozen=True)
class Period:
    """A span of time as ISO partial dates, each at its own precision (`1964-01`..`1964-04`)."""

    start: str
    end: str


@dataclass(frozen=True)
class Question:
    """What a question asks: `query` to search, an optional date range, and the words that set it."""

    text: str
    query: str
    date_from: str | None = None
    date_to: str | None = None
    phrase: str | None = None
    notes: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------- patterns

#: A year, and a month name or abbreviation (with its optional dot), as regular expressions; the chat's
#: follow-up detection uses the same ones.
YEAR = r"(?:1[89]\d\d|20\d\d)"
MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
# A calendar date: `November 1963`, `Nov. 12, 1963`, `12 November 1963`, `November of 1963`, `1963-11-27`.
_CALENDAR = (rf"(?:(?:{_DAY}\s+)?{MONTH}(?:\s+{_DAY})?,?\s+(?:of\s+)?{YEAR}"
             rf"|{YEAR}-[01]\d(?:-[0-3]\d)?)")
_QUALIFIER = r"(?:early|mid|middle|late|the\s+beginning\s+of|the\s+end\s+of|the\s+middle\s+of)"
_SEASON = r"(?:spring|summer|autumn|fall|winter)"
# One period: qualified or not, a calendar date, a season, a decade or a bare year.
_PERIOD = (rf"(?:the\s+)?(?:(?P<q{{n}}>{_QUALIFIER})(?:\s*-\s*|\s+)(?:of\s+)?(?:the\s+)?)?"
           rf"(?:(?P<s{{n}}>{_SEASON})\s+(?:of\s+)?(?P<sy{{n}}>{YEAR})"
           rf"|(?P<d{{n}}>(?:1[89]|20)\d0s)"  # a decade: 1960s
           rf"|(?P<c{{n}}>{_CALENDAR})"
           rf"|(?P<y{{n}}>{YEAR}))")
_RANGE_JOIN = r"(?:and|to|until|till|through|-|–|—)"


_EXPRESSION = re.compile(
    rf"(?:\b(?P<rel>between|on|before|prior\s+to|until|till|through|up\s+to|after|following|since|starting(?:\s+in)?"
    rf"|in|during|of|around|throughout|within|from)\s+)?"
    rf"\b{_PERIOD.format(n=1)}"
    rf"(?:\s*(?P<join>{_RANGE_JOIN})\s*{_PERIOD.format(n=2)})?\b",
    re.IGNORECASE,
)


# ------------------------------------------------------------------------------------------- reading


def understand(question: str) -> Question:
    """Split a question into its date range and the text to search.

    Args:
        question: The question as typed.

    Returns:
        The text to search, the date range, the date phrase found and notes on how it was read.

    Raises:
        QueryError: The question is no text, holds control characters, nothing is left to search, or its dates
            exclude every day.
    """
    if not isinstance(question, str):
        raise QueryError(f"the question must be text, got {type(question).__name__}; {_EXAMPLE}")
    _refuse_control_characters(question)
    notes: list[str] = []
    text = " ".join(question.split())
    if len(text) > MAX_QUESTION_CHARS:
        text = text[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUESTION_CHARS]
        notes.append(f"question shortened to its first {len(text)} characters (limit {MAX_QUESTION_CHARS})")
    if not any(ch.isalnum() for ch in text):
        raise QueryError(f"the question is empty or only punctuation: type a question, {_EXAMPLE}")

    plain: list[Period] = []
    lower: list[str] = []  # date_from bounds set by after/since
    upper: list[str] = []  # date_to bounds set by before/until
    spans: list[tuple[int, int]] = []
    for match in _EXPRESSION.finditer(text):
        first = _read_period(match, 1)
        second = _read_period(match, 2) if match.group("join") else None
        rel = (match.group("rel") or "").lower()
        rel = " ".join(rel.split())
        if second is not None or rel == "between":
            plain.append(Period(first.start, (second or first).end))
        elif rel in ("before", "prior to"):
            upper.append(_previous(first.start))
        elif rel in ("until", "till", "through", "up to"):
            upper.append(first.end)
        elif rel in ("after", "following"):
            lower.append(_next(first.end))
        elif rel == "since" or rel.startswith("starting"):
            lower.append(first.start)
        else:
            plain.append(first)
        spans.append(match.span())
    if not spans:
        return Question(question, text, notes=tuple(notes))

    date_from = min((p.start for p in plain), key=_start_of, default=None)
    date_to = max((p.end for p in plain), key=_end_of, default=None)
    if lower:
        date_from = max([*lower, *([date_from] if date_from else [])], key=_start_of)
    if upper:
        date_to = min([*upper, *([date_to] if date_to else [])], key=_end_of)
    if date_from and date_to and _start_of(date_from) > _end_of(date_to):
        raise QueryError(f"the dates in the question exclude every day ({date_from} is after {date_to})")
    phrase = " … ".join(text[a:b].strip() for a, b in spans)
    return Question(question, _remove(text, spans), date_from, date_to, phrase, tuple(notes))


# Tab, newline and carriage return are whitespace in a question; every other control character is refused.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _refuse_control_characters(question: str) -> None:
    """QueryError naming the first control character (NUL, escape, ...) and its place: such text is pasted
    binary or a broken client, and searching it would hide the mistake. Also for `broken_text`."""
    found = _CONTROL.search(question)
    if found:
        raise QueryError(f"the question contains the control character U+{ord(found.group()):04X} at character "
                         f"{found.start() + 1}: remove it and ask again")
    broken = broken_text(question)
    if broken:
        raise QueryError(broken)


#: Half of a UTF-16 pair with no other half: what a byte that is not UTF-8 becomes in a command line's argv
#: (Python's surrogateescape) or a damaged paste sends. No tokenizer or JSON encoder takes it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def broken_text(question: str) -> str | None:
    """What to say when `question` holds an unpaired surrogate, which nothing can search or even show.

    Args:
        question: the question as received.

    Returns:
        The one-line message naming the character and its place, or None when the text is whole.
    """
    found = _SURROGATE.search(question)
    if found is None:
        return None
    return (f"the question holds broken text (the unpaired surrogate U+{ord(found.group()):04X} at character "
            f"{found.start() + 1}): type it again")


def _read_period(match: re.Match, n: int) -> Period:
    """The period named by group set n of a match, with early/mid/late applied."""
    qualifier = " ".join((match.group(f"q{n}") or "").lower().split())
    if match.group(f"s{n}"):
        period = _season(match.group(f"s{n}").lower(), int(match.group(f"sy{n}")))
    elif match.group(f"d{n}"):
        decade = int(match.group(f"d{n}")[:4])
        period = Period(str(decade), str(decade + 9))
    elif match.group(f"c{n}"):
        period = _calendar(match.group(f"c{n}"))
    else:
        period = Period(match.group(f"y{n}"), match.group(f"y{n}"))
    return _qualify(period, qualifier) if qualifier else period


_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11)}


def _season(name: str, year: int) -> Period:
    if name == "winter":
        return Period(f"{year}-12", f"{year + 1}-02")
    first, last = _SEASONS[name]
    return Period(f"{year}-{first:02d}", f"{year}-{last:02d}")


def _qualify(period: Period, qualifier: str) -> Period:
    """early/mid/late part of a single year, month or decade."""
    part = {"early": 0, "the beginning of": 0, "mid": 1, "middle": 1, "the middle of": 1}.get(qualifier, 2)
    start = period.start
    if period.start != period.end:  # a decade
        decade = int(period.start)
        first, last = ((0, 3), (4, 6), (7, 9))[part]
        return Period(str(decade + first), str(decade + last))
    if len(start) == 4:
        first, last = ((1, 4), (5, 8), (9, 12))[part]
        return Period(f"{start}-{first:02d}", f"{start}-{last:02d}")
    if len(start) == 7:
        year, month = (int(p) for p in start.split("-"))
        last_day = calendar.monthrange(year, month)[1]
        first, last = ((1, 10), (11, 20), (21, last_day))[part]
        return Period(f"{start}-{first:02d}", f"{start}-{last:02d}")
    return period  # "early 12 November 1963": a day has no parts


_parser_lock = threading.Lock()


@cache
def _date_parser() -> DateDataParser:
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={"PREFER_DAY_OF_MONTH": "first"})


def _calendar(text: str) -> Period:
    """A month or day as dateparser reads it, kept at its precision."""
    cleaned = re.sub(r"\bof\b", " ", text, flags=re.IGNORECASE)
    with _parser_lock:  # DateDataParser keeps per-call state; one reader at a time
        data = _date_parser().get_date_data(" ".join(cleaned.split()))
    if data.date_obj is None:
        raise QueryError(f"cannot read the date {text!r} in the question (try e.g. 'November 1963')")
    day = data.date_obj.date()
    iso = day.isoformat() if data.period == "day" else f"{day.year:04d}-{day.month:02d}"
    return Period(iso, iso)


def warm_up() -> None:
    """Load dateparser's language data now (≈0.15 s) rather than during the first dated question."""
    _calendar("November 1963")


def _start_of(iso: str) -> dt.date:
    return bounds(iso)[0]


def _end_of(iso: str) -> dt.date:
    return bounds(iso)[1]


def _previous(iso: str) -> str:
    """The period of the same precision just before: 1964 → 1963, 1964-01 → 1963-12."""
    start = _start_of(iso) - dt.timedelta(days=1)
    return _same_precision(start, iso)


def _next(iso: str) -> str:
    """The period of the same precision just after: 1963-03 → 1963-04."""
    return _same_precision(_end_of(iso) + dt.timedelta(days=1), iso)


def _same_precision(day: dt.date, like: str) -> str:
    return {4: f"{day.year:04d}", 7: f"{day.year:04d}-{day.month:02d}"}.get(len(like), day.isoformat())


# Joining words a removed date phrase leaves at either end ("Albania and" from "Albania after 1963 and before 1965").
_DANGLING = re.compile(r"^(?:and|or|but)\b\s*|\s*\b(?:and|or|but)(?=[?.!]?$)", re.IGNORECASE)


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    """The question without its date phrases, tidied of the punctuation they leave behind."""
    kept, last = [], 0
    for start, end in spans:
        kept.append(text[last:start])
        last = end
    kept.append(text[last:])
    rest = " ".join("".join(kept).split())
    rest = re.sub(r"\s+([,.;:?!])", r"\1", rest)
    rest = _DANGLING.sub("", rest.strip(" ,;:-–—"))
    return rest.strip(" ,;:-–—")
