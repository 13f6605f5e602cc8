"""The corpus reader: both page layouts of the archive, JSON Lines records, and every malformed case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from rag.documents.corpus import (
    CorpusError,
    _parse_records_fast,
    load_corpus,
    parse_page,
    parse_records,
    read_file,
)

SEED_DATES = [
    "1963-04-03", "1963-04-04", "1963-04-27", "1963-05-31", "1963-07-04", "1963-07-08", "1963-07-23",
    "1963-08-01", "1963-08-14", "1963-09-05", "1963-09-24", "1963-11-12", "1963-11-22", "1963-11-27",
    "1963-11-29", "1963-12-07", "1963-12-08", "1964-01-07", "1964-02-19", "1964-03",
]

NEW_LAYOUT = """\
Sino-Soviet Split, 1960-1984
Documents on the growing division and worsening relations between China and the Soviet Union from 1960 onward.
-
January 07, 1964
Memorandum of a Conversation with the USSR Ambassador, c. V. P. Moskovskyi
Soviet Ambassador Moskovsky talks with the Cuban Ambassador to Pyongyang about the foreign policies
of North Korea and, in particular, North Korea's position in the Sino-Soviet split.
-
March, 1964
Transcript of Conversations between Delegations (Excerpts)
Romanian and Chinese officials on the Soviet use of informal channels to interfere in Romania’s domestic affairs.
-
July 08, 1963
Meeting of the Delegations of the CPSU and the CCP, Moscow, 5-20 July 1963
"""


def error_of(path: Path) -> str:
    with pytest.raises(CorpusError) as info:
        read_file(path)
    return str(info.value)


# ------------------------------------------------------------------------------------ the seed page


def test_seed_page_has_its_twenty_entries_in_order(seed_page):
    docs = read_file(seed_page).documents
    assert [d.date for d in docs] == SEED_DATES
    assert docs[0].date_text == "April 03, 1963"
    assert docs[0].title == ("Memorandum of Conversation between Yuri Andropov and the Central Committee of the "
                             "Romanian Worker’s Party")
    assert docs[-1].date_text == "March, 1964"
    assert docs[-1].summary.endswith("interfere in Romania’s domestic affairs.")


def test_seed_page_collection_comes_from_the_page(seed_page):
    page = read_file(seed_page)
    assert page.collection == "Sino-Soviet Split, 1960-1984"
    assert {d.collection for d in page.documents} == {"Sino-Soviet Split, 1960-1984"}


def test_seed_page_entry_without_summary_is_kept(seed_page):
    docs = {d.date: d for d in read_file(seed_page).documents}
    meeting = docs["1963-07-08"]
    assert meeting.title.startswith("Meeting of the Delegations of the Communist Party of the Soviet Union")
    assert meeting.summary is None


def test_seed_page_keeps_curly_quotes_and_records_lines(seed_page):
    docs = read_file(seed_page).documents
    assert "Khrushchev’s anti-Chinese vanguard" in docs[2].summary
    assert docs[0].source == str(seed_page)
    assert seed_page.read_text(encoding="utf-8").splitlines()[docs[0].line - 1].strip() == "• April 03, 1963"


def test_navigation_noise_never_becomes_a_document(seed_page):
    text = " ".join(d.title + " " + (d.summary or "") for d in read_file(seed_page).documents)
    for noise in ("Search in", "ADD SEARCH FILTER", "No image found", "Documents on the growing division"):
        assert noise not in text


# ------------------------------------------------------------------------------------ layouts


def test_newer_layout_parses_with_wrapped_summary(write_page):
    page = read_file(write_page(NEW_LAYOUT))
    assert page.collection == "Sino-Soviet Split, 1960-1984"
    assert [d.date for d in page.documents] == ["1964-01-07", "1964-03", "1963-07-08"]
    assert page.documents[0].summary == (
        "Soviet Ambassador Moskovsky talks with the Cuban Ambassador to Pyongyang about the foreign policies "
        "of North Korea and, in particular, North Korea's position in the Sino-Soviet split.")
    assert page.documents[2].summary is None
    assert page.documents[0].line == 3


def test_newer_layout_with_blank_lines_between_fields(write_page):
    text = "Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n-\n\nApril 3, 1963\n\nA title\n\nA summary.\n"
    (doc,) = read_file(write_page(text)).documents
    assert (doc.date, doc.date_text, doc.title, doc.summary) == ("1963-04-03", "April 3, 1963", "A title", "A summary.")


def test_bullet_summary_wrapping_over_lines_is_joined(write_page):
    text = ("Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n  • May 31, 1963\n\n    A title\n\n"
            "    First line of the summary\n    and its second line.\n")
    (doc,) = read_file(write_page(text)).documents
    assert doc.summary == "First line of the summary and its second line."


def test_footer_after_the_listing_is_ignored_with_a_warning(seed_page, write_page):
    text = seed_page.read_text(encoding="utf-8")
    path = write_page(text + "\n\nAbout the Digital Archive\nContact us\n")
    footer_line = len(text.splitlines()) + 2
    page = read_file(path)
    assert len(page.documents) == 20
    assert page.documents[-1].summary.endswith("domestic affairs.")
    assert [str(w) for w in page.warnings] == [
        f"{path}:{footer_line}: ignored 2 line(s) after the last entry (less indented than the listing: page footer)"]


def test_year_only_and_circa_dates_keep_their_precision(write_page):
    text = "Collection X\nDescribed here.\n-\n1964\nA title\n-\nc. 1965\nAnother title\n"
    docs = read_file(write_page(text)).documents
    assert [(d.date, d.date_text) for d in docs] == [("1964", "1964"), ("1965", "c. 1965")]


# ------------------------------------------------------------------------------------ malformed pages

HEADER = "Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n"


def test_bullet_with_unreadable_date_names_file_and_line(write_page):
    path = write_page(HEADER + "  • Aprill 3, 1963\n\n    A title\n")
    assert error_of(path) == (f"{path}:5: unreadable date 'Aprill 3, 1963' "
                              "(expected e.g. 'April 03, 1963', 'March, 1964' or '1964')")


def test_impossible_date_is_unreadable(write_page):
    path = write_page(HEADER + "  • February 30, 1963\n\n    A title\n")
    assert error_of(path).startswith(f"{path}:5: unreadable date 'February 30, 1963'")


def test_entry_with_title_missing_names_file_and_line(write_page):
    path = write_page(HEADER + "  • April 03, 1963\n\n  • April 04, 1963\n\n    A title\n")
    assert error_of(path) == f"{path}:5: entry dated 'April 03, 1963' has no title"


def test_entry_whose_only_text_is_a_summary_has_no_title(write_page):
    summary = "Soviet politburo member Yuri Andropov and Gheorghe Gheorghiu-Dej discuss " * 3 + "many issues."
    path = write_page(HEADER + f"  • April 03, 1963\n\n    {summary}\n")
    assert error_of(path) == f"{path}:7: entry dated 'April 03, 1963' has no title: its only text reads like a summary"


def test_dash_marker_without_date_names_its_line(write_page):
    path = write_page("Collection X\nDescribed here.\n-\nApril 3, 1963\nA title\n-\n")
    assert error_of(path) == f"{path}:6: entry marker not followed by a date"


def test_every_bad_entry_of_a_file_is_reported(write_page):
    path = write_page(HEADER + "  • Aprill 3, 1963\n    A\n  • April 03, 1963\n  • 1963\n    B\n")
    assert error_of(path).splitlines() == [
        f"{path}:5: unreadable date 'Aprill 3, 1963' (expected e.g. 'April 03, 1963', 'March, 1964' or '1964')",
        f"{path}:7: entry dated 'April 03, 1963' has no title",
    ]


def test_a_file_that_is_not_a_listing_page(write_page):
    path = write_page("Dear colleague,\n\nplease find attached the minutes of our meeting.\n")
    assert error_of(path) == (f"{path}: not a listing page of the archive: no entries found (expected lines "
                              "starting with '•', or lines holding only '-', each followed by a date)")


def test_page_without_collection_title(write_page):
    path = write_page("  • April 03, 1963\n    A title\n")
    assert error_of(path) == f"{path}:1: no collection title found before the first entry"


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(b"Collection\n\xff\xfe\x00garbage")
    assert error_of(path) == f"{path}: not UTF-8 text (invalid start byte at byte 11)"


# ------------------------------------------------------------------------------------ ids and duplicates


def test_same_entry_twice_gets_the_same_id_and_is_kept_once(seed_page, tmp_path):
    copy = tmp_path / "again.txt"
    copy.write_text(seed_page.read_text(encoding="utf-8"), encoding="utf-8")
    corpus = load_corpus([seed_page, copy])
    assert len(corpus) == 20
    assert len(corpus.duplicates) == 20
    first = corpus.duplicates[0]
    assert str(first) == (f"{copy}:12: duplicate of {seed_page}:12 (April 03, 1963, "
                          f"{first.kept.title!r}); kept the first")


def test_corrected_summary_keeps_id_but_changes_content_hash(seed_page, write_page):
    original = read_file(seed_page).documents[1]
    edited_text = seed_page.read_text(encoding="utf-8").replace("criticisms of Stalin", "criticism of Stalin")
    edited = read_file(write_page(edited_text)).documents[1]
    assert edited.id == original.id
    assert edited.content_hash != original.content_hash
    corpus = load_corpus([seed_page, write_page(edited_text, "edited.txt")])
    assert [d.differs for d in corpus.duplicates].count(True) == 1


def test_ids_do_not_depend_on_whitespace(write_page):
    a = parse_page(HEADER + "  • 1963\n    A  title\n", "a").documents[0]
    b = parse_page(HEADER + "  • 1963\n    A title\n", "b").documents[0]
    assert a.id == b.id


# ------------------------------------------------------------------------------------ JSON Lines


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
    assert _parse_records_fast(path.read_bytes(), str(path)) is not None  # not the reference path again
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


def test_loading_leaves_the_cycle_collector_as_it_was(write_page):
    import gc

    path = write_page(record() + "\n", "r.jsonl")
    load_corpus([path])
    assert gc.isenabled()
    gc.disable()
    try:
        load_corpus([path])
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(CorpusError):
        load_corpus([write_page("{", "bad.jsonl")])
    assert gc.isenabled()


def test_duplicate_ids_across_jsonl_files_keep_the_first(write_page, tmp_path):
    first = write_page(record(id="x", title="first") + "\n" + record(id="y") + "\n", "a.jsonl")
    second = write_page(record(id="x", title="second") + "\n", "b.jsonl")
    corpus = load_corpus([first, second])
    assert [d.title for d in corpus.documents] == ["first", "T"]
    assert [(d.kept.title, d.dropped.title) for d in corpus.duplicates] == [("first", "second")]


# ------------------------------------------------------------------------------------ folders and CLI


def test_empty_corpus_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder holds no .txt or .jsonl files"):
        load_corpus(tmp_path)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.documents.corpus", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_cli_parse_prints_one_json_object_per_document(seed_page):
    result = run_cli("parse", str(seed_page))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["date"] for r in records] == SEED_DATES
    assert set(records[0]) == {"id", "date", "date_text", "title", "summary", "collection"}
    assert records[5]["summary"] is None


def test_cli_parse_reports_errors_on_stderr_with_nonzero_exit(write_page):
    path = write_page(HEADER + "  • Aprill 3, 1963\n    A title\n")
    result = run_cli("parse", str(path))
    assert result.returncode == 3
    assert result.stdout == ""
    assert f"{path}:5: unreadable date 'Aprill 3, 1963'" in result.stderr


def test_cli_parse_reports_duplicates_on_stderr(seed_page, tmp_path):
    copy = tmp_path / "again.txt"
    copy.write_text(seed_page.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("parse", str(seed_page), str(copy))
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 20
    assert result.stderr.count("duplicate of") == 20


def test_cli_stats_on_the_bundled_corpus():
    result = run_cli("stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["documents"] == 20
    assert stats["date_range"] == ["1963-04-03", "1964-03"]
    assert stats["by_year"] == {"1963": 17, "1964": 3}
    assert [e["date_text"] for e in stats["without_summary"]] == ["July 08, 1963"]
    assert stats["duplicates"] == []
    text = run_cli("stats", str(ROOT / "corpus")).stdout
    assert "documents:        20" in text and "without summary:  1" in text


def test_dash_list_items_holding_the_date_start_entries(write_page):
    text = "Collection X\nDescribed here.\n- April 03, 1963\nA title\nA summary.\n- March, 1964\nAnother title\n"
    docs = read_file(write_page(text)).documents
    assert [(d.date, d.title, d.summary) for d in docs] == [
        ("1963-04-03", "A title", "A summary."), ("1964-03", "Another title", None)]
