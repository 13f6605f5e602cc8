"""JSON Lines records: the reference reader's checks, each error with file:line, and the fast path reading
exactly what the reference reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.documents.corpus import read_file
from rag.documents.readers.jsonl import parse_records, parse_records_fast
from rag.documents.readers.registry import parse_page
from rag.errors import CorpusError


def error_of(path: Path) -> str:
    with pytest.raises(CorpusError) as info:
        read_file(path)
    return str(info.value)


def test_jsonl_records_load_with_defaults(write_page):
    path = write_page(
        json.dumps({"date": "1964-03", "title": "T", "collection": "C"}) + "\n\n"
        + json.dumps({"id": "mine", "date": "1963-04-03", "date_text": "April 03, 1963", "title": "U",
                      "collection": "C", "summary": "S.", "url": "https://example.org/r/1"}) + "\n",
        "records.jsonl")
    first, second = read_file(path).documents
    assert (first.date, first.date_text, first.summary, first.line) == ("1964-03", "1964-03", None, 1)
    assert (second.id, second.url, second.line) == ("mine", "https://example.org/r/1", 3)
    assert first.id == parse_page("C\nDescribed here.\n-\nMarch, 1964\nT\n", "p").documents[0].id


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"title": "T", "collection": "C"}', "field 'date' is required and must be a non-empty string"),
        ('{"date": "1964-13", "title": "T", "collection": "C"}',
         "impossible date '1964-13': month must be in 1..12"),
        ('{"date": "March 1964", "title": "T", "collection": "C"}',
         "unreadable date 'March 1964' (expected YYYY, YYYY-MM or YYYY-MM-DD)"),
        ('{"date": "1964", "title": "", "collection": "C"}',
         "field 'title' is required and must be a non-empty string"),
        ('{"date": "1964", "title": "T", "collection": "C", "summary": 3}', "field 'summary' must be a string"),
        ('{"date": "1964", "title": "T", "collection": "C", "tags": []}',
         "unknown field(s) tags; valid fields: collection, date, date_text, id, summary, title, url"),
        ('["1964", "T"]', "a record must be a JSON object"),
        ('{"date": "1964", ', "not valid JSON: Expecting property name enclosed in double quotes (column 18)"),
    ],
)
def test_bad_jsonl_record_names_file_and_line(write_page, line, message):
    path = write_page('{"date": "1963", "title": "ok", "collection": "C"}\n' + line + "\n", "r.jsonl")
    assert error_of(path) == f"{path}:2: {message}"


def old_content_hash(doc) -> str:
    """The content hash formula stored indexes were built with."""
    import hashlib

    payload = json.dumps([doc.date, doc.date_text, doc.title, doc.summary, doc.collection, doc.url],
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def reference(path: Path):
    """What the reference path (`parse_records` over the decoded text) reads from a file, or its error."""
    try:
        page = parse_records(path.read_text(encoding="utf-8-sig"), str(path))
    except CorpusError as exc:
        return str(exc)
    return [(d.to_record(with_source=True), old_content_hash(d)) for d in page.documents]


def read(path: Path):
    """What `read_file` (the fast path where it can) reads from a file, or its error."""
    try:
        page = read_file(path)
    except CorpusError as exc:
        return str(exc)
    return [(d.to_record(with_source=True), d.content_hash) for d in page.documents]


def record(**fields) -> str:
    return json.dumps({"date": "1963-04-03", "title": "T", "collection": "C", **fields}, ensure_ascii=False)


MIXED_RECORDS = [
    record(id="s1", summary="Plain ASCII text.", url="https://example.org/1"),
    record(title="Romania’s affairs — Zhou Enlai’s visit", summary="Curly quotes, an em dash."),
    record(title="  Spaces  around and  inside ", summary="tab\there, new\nline"),
    record(title="Non\u00a0breaking\u2003spaces", date_text="April\u00a03, 1963"),
    record(title='A "quoted" \\ backslash', summary="control \x01 and \x7f"),
    json.dumps({"date": " 1964 ", "title": "Escaped ASCII", "collection": "C"}),  # \u escapes of ASCII
    record(summary=None, url=None, date_text="", id=""),
    record(summary="", collection="C", title="duplicate keys", date="1961") [:-1] + ', "title": "last wins"}',
    record(date="1963-11", title="Wrapped\u3000ideographic space"),
    record(title="Raw DEL \x7f, \U0001F600 and \u00e9", summary="Plain apart from them"),
]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_jsonl_fast_path_reads_what_the_reference_reads(write_page, newline, bom):
    path = write_page(bom + newline.join([*MIXED_RECORDS[:3], "", "  ", *MIXED_RECORDS[3:]]) + newline, "r.jsonl")
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", newline.encode()))
    assert parse_records_fast(path.read_bytes(), str(path)) is not None  # not the reference path again
    assert read(path) == reference(path)
    documents = read_file(path).documents
    assert [d.line for d in documents] == [1, 2, 3, 6, 7, 8, 9, 10, 11, 12]
    assert documents[2].title == "Spaces around and inside" and documents[5].date == "1964"
    assert documents[7].title == "last wins"


@pytest.mark.parametrize("text", [
    record(summary="one\u2028two") + "\n" + record(),  # str.splitlines breaks the record: an error, as before
    record(summary="one\x85two") + "\n" + record(),
    record() + "\x0c" + record() + "\n" + record(title="third"),  # a form feed ends a line
    record() + "\n\x1c\n" + record(title="after a separator"),
    record() + "\n\u00a0\n" + record(title="after a line of a non-breaking space"),
    record() + "\n" + '{"date": "1964", "title": "T", "collection": "C", "summary": NaN}',
    record() + "\n" + record(title=" "),
    record() + "\n" + record(date="1964-02-30"),
    "\n\n",
])
def test_jsonl_lines_the_fast_path_leaves_read_as_before(write_page, text):
    path = write_page(text, "r.jsonl")
    assert read(path) == reference(path)


def test_jsonl_lone_surrogate_escape_reads_as_before(write_page):
    path = write_page(record() + "\n" + '{"id": "x", "date": "1964", "title": "\\ud800", "collection": "C"}', "r.jsonl")
    assert [d.title for d in read_file(path).documents] == ["T", "\ud800"]


def test_jsonl_errors_name_file_and_line_past_valid_records(write_page):
    lines = [record(title=f"Record {n}") for n in range(1, 6)]
    lines[3] = '{"date": "1964", "title": "T"}'
    path = write_page("\r\n".join(lines) + "\r\n", "r.jsonl")
    assert error_of(path) == f"{path}:4: field 'collection' is required and must be a non-empty string"


def test_jsonl_file_that_is_not_utf8_is_named(write_page):
    path = write_page(record() + "\n", "r.jsonl")
    path.write_bytes(path.read_bytes() + b'{"date": "1964", "title": "\xff", "collection": "C"}\n')
    assert error_of(path).startswith(f"{path}: not UTF-8 text")
