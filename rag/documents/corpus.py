"""Read the corpus: listing pages saved from the Wilson Center Digital Archive, and JSON Lines records.

Two page layouts exist. The older site's, as in the bundled page::

    Sino-Soviet Split, 1960-1984
    Documents on the growing division ...
      • April 03, 1963
        Memorandum of Conversation between ...
        Soviet politburo member ...

and the newer site's, with no bullets or indentation, each entry preceded by a line holding only `-`::

    Sino-Soviet Split, 1960-1984
    Documents on the growing division ...
    -
    April 03, 1963
    Memorandum of Conversation between ...
    Soviet politburo member ...

Every bullet or `-` line starts an entry; an entry whose date or title cannot be read is an error
naming file and line, never a silently dropped or invented document.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.dates import DateError, looks_like_date, parse_printed, validate_iso
from rag.documents.document import Document, document_id
from rag.errors import CommandParser, CorpusError, run_command

if TYPE_CHECKING:
    import argparse

PAGE_SUFFIXES = (".txt",)
RECORD_SUFFIXES = (".jsonl",)

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
BULLETS = "•●◦▪"
DASHES = ("-", "–", "—")
# A summary reads like prose; a title this long ending in a full stop is a summary whose title is missing.
_SUMMARY_LIKE_LENGTH = 200
_CIRCA_RE = re.compile(r"^(?:c\.|ca\.|circa)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """Something wrong at a place in a file."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"




@dataclass
class Page:
    """What one file yielded."""

    source: str
    collection: str | None
    documents: list[Document]
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Duplicate:
    """An entry seen again: `kept` stays in the corpus, `dropped` (same id) does not."""

    kept: Document
    dropped: Document

    @property
    def differs(self) -> bool:
        return self.kept.content_hash != self.dropped.content_hash

    def __str__(self) -> str:
        detail = " with different text" if self.differs else ""
        return (f"{self.dropped.origin}: duplicate of {self.kept.origin}{detail} "
                f"({self.kept.date_text}, {self.kept.title!r}); kept the first")


@dataclass
class Corpus:
    """Documents of one or more files, each id once, in file order."""

    documents: list[Document]
    files: list[str]
    duplicates: list[Duplicate] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.documents)


# ---------------------------------------------------------------------------------------------- pages


@dataclass
class _Entry:
    marker_line: int  # 1-based
    indent: int
    date_line: int | None = None
    date_text: str | None = None
    body: list[tuple[int, str]] = field(default_factory=list)  # (line number, text or "" for blank)


def _indent(raw: str) -> int:
    return len(raw) - len(raw.lstrip())


def _marker_rest(stripped: str) -> str | None:
    """For an entry-marker line, the text after the marker ('' when none); None for other lines."""
    if stripped and stripped[0] in BULLETS:
        return stripped[1:].strip()
    if stripped in DASHES:
        return ""
    if stripped[:2] in {f"{d} " for d in (*DASHES, "*")} and looks_like_date(stripped[2:]):
        return stripped[2:].strip()  # "- April 03, 1963": a list item holding the date
    return None


def parse_page(text: str, source: str) -> Page:
    """Parse one saved listing page into documents, in page order."""
    lines = text.splitlines()
    header: list[str] = []
    entries: list[_Entry] = []
    trailing: list[int] = []
    for number, raw in enumerate(lines, start=1):
        stripped = " ".join(raw.split())
        if stripped.casefold() in NOISE_LINES:
            continue
        rest = _marker_rest(stripped)
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

    if not entries:
        raise CorpusError([Problem(source, None, "not a listing page of the archive: no entries found "
                                   "(expected lines starting with '•', or lines holding only '-', "
                                   "each followed by a date)")])
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


# --------------------------------------------------------------------------------------- JSON Lines

_RECORD_FIELDS = {"id", "date", "date_text", "title", "summary", "collection", "url"}
_REQUIRED_FIELDS = ("date", "title", "collection")
_FIELD_ORDER = ("id", "date", "date_text", "title", "collection", "summary", "url")  # Document's, for positional calls


def parse_records(text: str, source: str) -> Page:
    """Parse JSON Lines records (`date`, `title`, `collection` required; `id`, `date_text`, `summary`,
    `url` optional), validated like the pages."""
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
    return Page(source, None, documents)


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


# ----------------------------------------------------------------------------- JSON Lines, fast path
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


def _parse_records_fast(raw: bytes, source: str) -> Page | None:
    """The documents of a JSON Lines file whose every record is valid, as `parse_records` reads them; None
    when a line needs the reference path (any error, or a break the two line splitters number differently)."""
    import orjson

    if raw.startswith(_BOM):  # what the utf-8-sig decoding of read_file drops
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
    return Page(source, None, documents) if documents else None


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


# ------------------------------------------------------------------------------------------ corpus


def read_file(path: Path) -> Page:
    """Parse one file: `.jsonl` as records, anything else as a saved listing page."""
    source = str(path)
    if path.suffix.lower() in RECORD_SUFFIXES:
        try:
            page = _parse_records_fast(path.read_bytes(), source)
        except OSError:
            page = None  # reported below, as before
        if page is not None:
            return page
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError([Problem(source, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise CorpusError([Problem(source, None, f"cannot read: {exc.strerror}")]) from None
    if path.suffix.lower() in RECORD_SUFFIXES:
        return parse_records(text, source)
    return parse_page(text, source)


def corpus_files(folder: Path) -> list[Path]:
    """The files of a corpus folder that hold documents, in name order."""
    if not folder.is_dir():
        raise CorpusError([Problem(str(folder), None, "corpus folder does not exist")])
    suffixes = PAGE_SUFFIXES + RECORD_SUFFIXES
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def load_corpus(paths: Path | Iterable[Path]) -> Corpus:
    """Load a corpus folder or a list of files; each id is kept once and duplicates are reported.
    Raises CorpusError listing every malformed file and line."""
    if isinstance(paths, Path):
        files = corpus_files(paths)
        if not files:
            raise CorpusError([Problem(str(paths), None, "corpus folder holds no .txt or .jsonl files")])
    else:
        files = list(paths)
    pages, problems = [], []
    with _without_cycle_collection():
        for path in files:
            try:
                pages.append(read_file(path))
            except CorpusError as exc:
                problems.extend(exc.problems)
        if problems:
            raise CorpusError(problems)
        return _merge(pages, [str(f) for f in files])


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector: reading a corpus makes millions of objects and no reference cycles, yet
    the collector walked the growing heap again and again, 2.5 of the 8.8 s a million records took (measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _merge(pages: list[Page], files: list[str]) -> Corpus:
    corpus = Corpus(documents=[], files=files)
    for page in pages:
        corpus.warnings.extend(page.warnings)
    documents = [doc for page in pages for doc in page.documents]
    if len({doc.id for doc in documents}) == len(documents):  # no id twice: 0.15 s a million, the loop 0.5
        corpus.documents = documents
        return corpus
    seen: dict[str, Document] = {}
    for page in pages:
        for doc in page.documents:
            if doc.id in seen:
                corpus.duplicates.append(Duplicate(kept=seen[doc.id], dropped=doc))
                continue
            seen[doc.id] = doc
            corpus.documents.append(doc)
    return corpus


def iter_records(corpus: Corpus) -> Iterator[dict]:
    """The public JSON shape of each document (what `parse` prints)."""
    for doc in corpus.documents:
        record = doc.to_record()
        if record["url"] is None:
            record.pop("url")
        yield record


# --------------------------------------------------------------------------------------------- CLI


def _stats(corpus: Corpus) -> dict:
    from rag.documents.dates import sort_key

    ordered = sorted(corpus.documents, key=lambda d: sort_key(d.date))
    collections: dict[str, int] = {}
    years: dict[str, int] = {}
    for doc in corpus.documents:
        collections[doc.collection] = collections.get(doc.collection, 0) + 1
        years[doc.date[:4]] = years.get(doc.date[:4], 0) + 1
    return {
        "files": len(corpus.files),
        "documents": len(corpus),
        "collections": collections,
        "date_range": [ordered[0].date, ordered[-1].date] if ordered else None,
        "by_year": dict(sorted(years.items())),
        "month_or_year_precision": sum(len(d.date) < 10 for d in corpus.documents),
        "without_summary": [{"id": d.id, "date_text": d.date_text, "title": d.title}
                            for d in corpus.documents if not d.summary],
        "duplicates": [str(d) for d in corpus.duplicates],
        "warnings": [str(w) for w in corpus.warnings],
    }


def _print_stats(stats: dict) -> None:
    first, last = stats["date_range"] or ("-", "-")
    print(f"files:            {stats['files']}")
    print(f"documents:        {stats['documents']}")
    for name, count in stats["collections"].items():
        print(f"  collection:     {name} ({count})")
    print(f"date range:       {first} .. {last}")
    print("by year:          " + ", ".join(f"{y}: {n}" for y, n in stats["by_year"].items()))
    print(f"dated to month or year only: {stats['month_or_year_precision']}")
    print(f"without summary:  {len(stats['without_summary'])}")
    for entry in stats["without_summary"]:
        print(f"  {entry['date_text']}: {entry['title']}")
    print(f"duplicates:       {len(stats['duplicates'])}")
    for line in stats["duplicates"] + stats["warnings"]:
        print(f"  {line}")


CLI_USAGE = """Read and check corpus files: each entry becomes a document; a malformed entry stops with file:line.

    python -m rag.documents.corpus parse corpus/*.txt     # one JSON object per document
    python -m rag.documents.corpus stats [DIR] [--json]   # counts, date range, missing summaries, duplicates
    coldwar-rag corpus parse FILE... | stats [DIR] [--json]   (the same)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `parse` and `stats` subcommands, shared by `python -m rag.documents.corpus` and `coldwar-rag corpus`."""
    commands = parser.add_subparsers(dest="corpus_command", required=True, metavar="{parse,stats}")
    parse_cmd = commands.add_parser("parse", help="print one JSON object per document",
                                    description="Print one JSON object per document of the given files; "
                                                "duplicates and warnings go to stderr.")
    parse_cmd.add_argument("files", nargs="+", type=Path, metavar="FILE", help=".txt listing pages or .jsonl records")
    stats_cmd = commands.add_parser("stats", help="counts, date range, entries without summary, duplicates",
                                    description="Counts, date range, entries without summary, duplicates.")
    stats_cmd.add_argument("folder", nargs="?", type=Path, metavar="DIR",
                           help="corpus folder (default: $RAG_CORPUS_DIR or corpus/)")
    stats_cmd.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Parse or summarise the corpus the arguments name; a CorpusError is left to the caller to report."""
    import sys

    from rag.settings import Settings

    if args.corpus_command == "parse":
        corpus = load_corpus(args.files)
    else:
        corpus = load_corpus(args.folder or Settings.from_env().corpus_dir)
    for line in [*corpus.warnings, *corpus.duplicates]:
        print(f"warning: {line}", file=sys.stderr)
    if args.corpus_command == "parse":
        for record in iter_records(corpus):
            print(json.dumps(record, ensure_ascii=False))
    elif args.json:
        print(json.dumps(_stats(corpus), ensure_ascii=False, indent=2))
    else:
        _print_stats(_stats(corpus))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m rag.documents.corpus parse FILE...` / `python -m rag.documents.corpus stats [DIR]`."""
    parser = CommandParser(prog="python -m rag.documents.corpus", description=CLI_USAGE)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
