"""JSON Lines records, one document a line: `date`, `title`, `collection` required; `id`, `date_text`, `summary`,
`url` optional. `parse_records` is the reference reader; `parse_records_fast` reads the common file (valid
records, clean fields) from bytes with orjson, measured below, and leaves everything else to it.
"""

from __future__ import annotations

import json

from rag.documents.dates import DateError, validate_iso
from rag.documents.document import Document, document_id
from rag.documents.readers.base import Page, Problem
from rag.errors import CorpusError

#: The layout name `corpus stats` gives a records file.
LAYOUT = "records"
_RECORD_FIELDS = {"id", "date", "date_text", "title", "summary", "collection", "url"}
_REQUIRED_FIELDS = ("date", "title", "collection")
_FIELD_ORDER = ("id", "date", "date_text", "title", "collection", "summary", "url")  # Document's, for positional calls


def parse_records(text: str, source: str) -> Page:
    """Parse JSON Lines records, validated like the pages: the reference path, which every error comes from.

    Args:
        text: The file's decoded text, one JSON object a line (blank lines skipped).
        source: The file's name, for documents' origins and errors.

    Returns:
        The records as documents, in file order.

    Raises:
        CorpusError: Listing every line that is not a valid record, each with file:line.
    """
    documents, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            documents.append(_record_document(json.loads(raw), source, number))
        except json.JSONDecodeError as exc:
            problems.append(Problem(source, number, f"not valid JSON: {exc.msg} (column {exc.colno})"))
        except CorpusError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CorpusError(problems)
    if not documents:
        raise CorpusError([Problem(source, None, "no records found")])
    return Page(source, None, documents, layout=LAYOUT)


def _record_document(record: object, source: str, number: int) -> Document:
    def fail(message: str) -> CorpusError:
        return CorpusError([Problem(source, number, message)])

    if not isinstance(record, dict):
        raise fail("a record must be a JSON object")
    unknown = sorted(set(record) - _RECORD_FIELDS)
    if unknown:
        raise fail(f"unknown field(s) {', '.join(unknown)}; valid fields: {', '.join(sorted(_RECORD_FIELDS))}")
    for name in _REQUIRED_FIELDS:
        if not isinstance(record.get(name), str) or not record[name].strip():
            raise fail(f"field {name!r} is required and must be a non-empty string")
    for name in ("id", "date_text", "summary", "url"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise fail(f"field {name!r} must be a string")
    try:
        date = validate_iso(record["date"])
    except DateError as exc:
        raise fail(str(exc)) from None
    clean = {k: " ".join(v.split()) if isinstance(v, str) else v for k, v in record.items()}
    return Document.create(
        id=clean.get("id") or None, date=date, date_text=clean.get("date_text") or date,
        title=clean["title"], summary=clean.get("summary") or None, collection=clean["collection"],
        url=clean.get("url") or None, source=source, line=number,
    )


# ------------------------------------------------------------------------------------------ fast path
#
# At a million records `parse_records` took 14 s (measured): decoding the text and splitting its lines 1.8 s,
# json.loads 3.2 s, cleaning the whitespace of every field 3.1 s, the checks and Document construction the
# rest. The fast path below reads the common file (valid records whose fields are already clean) from bytes
# with orjson, and gives up (None) on anything else, which `parse_records` then reads exactly as before: every
# error, warning, id and line number comes from the one reference path.

#: Line breaks of str.splitlines that bytes.splitlines does not split on (\v, \f, \x1c-\x1e, U+0085,
#: U+2028, U+2029): with any of them in a file the two would number its lines differently.
_OTHER_LINE_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")
_BOM = b"\xef\xbb\xbf"


def parse_records_fast(raw: bytes, source: str) -> Page | None:
    """Read a JSON Lines file whose every record is valid, as `parse_records` reads it, from its bytes.

    Args:
        raw: The file's bytes (a UTF-8 byte order mark is dropped, as the reference path's decoding does).
        source: The file's name, for documents' origins.

    Returns:
        The records as documents, in file order; None when a line needs the reference path (any error, or a
        break the two line splitters number differently).
    """
    import orjson

    if raw.startswith(_BOM):  # what the utf-8-sig decoding of corpus.read_file drops
        raw = raw[len(_BOM):]
    # Each multi-byte break is looked for only when its last byte is in the file: memchr over 400 MB takes
    # 0.02 s, a search for the three bytes 0.3.
    if any(brk[-1:] in raw and brk in raw for brk in _OTHER_LINE_BREAKS):
        return None
    # Looked for once in the file (a backslash 0.02 s, two spaces 0.6 s a million records: a space is every
    # sixth byte) rather than in each line (0.8 µs a line); only a file holding them looks line by line.
    backslashes, double_spaces = b"\\" in raw, b"  " in raw
    documents, valid_dates = [], {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue  # a line holding a non-ASCII space only is not blank here, fails orjson and goes the slow way
        try:
            record = orjson.loads(line)  # also refuses invalid UTF-8, which read_file's decoding would refuse
        except orjson.JSONDecodeError:
            return None
        unescaped = not (backslashes and b"\\" in line)
        doc = _plain_record_document(record, unescaped, unescaped and not (double_spaces and b"  " in line),
                                     source, number, valid_dates)
        if doc is None:
            return None
        documents.append(doc)
    return Page(source, None, documents, layout=LAYOUT) if documents else None


def _plain_record_document(record: object, unescaped: bool, spaced: bool, source: str, number: int,
                           valid_dates: dict[str, str]) -> Document | None:
    """`_record_document` for a valid record, None for any other. `unescaped`: its line holds no backslash,
    so no string has an escape (JSON refuses a raw control character, so no tab or newline either); `spaced`:
    nor two spaces running. Then an ASCII string (so no non-ASCII space) with no space at either end is clean
    as it is: cleaning every string with split and join took 3.1 s a million records, these checks 1.2.
    `valid_dates` caches `validate_iso` (a few thousand distinct dates a million records)."""
    if type(record) is not dict or not record.keys() <= _RECORD_FIELDS:
        return None
    values = []
    for name in _FIELD_ORDER:
        value = record.get(name)
        if type(value) is str:
            if not (spaced and value.isascii() and value[:1] != " " and value[-1:] != " "):
                value = " ".join(value.split())
        elif value is not None:
            return None
        values.append(value)
    given_id, date, date_text, title, collection, summary, url = values
    if not (date and title and collection):
        return None
    given = record["date"]
    date = valid_dates.get(given)
    if date is None:
        try:
            date = valid_dates[given] = validate_iso(given)
        except DateError:
            return None
    make = Document.unescaped if unescaped else Document
    return make(given_id or document_id(collection, date, title), date, date_text or date, title, collection,
                summary or None, url or None, source, number)
