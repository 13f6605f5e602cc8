"""The core record: one archive entry (date, title, summary) and where it came from."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field, fields
from json.encoder import encode_basestring

ARCHIVE_NAME = "Wilson Center Digital Archive"
#: The name a search asks for documents whose collection no file names (entries of search-result pages, whose
#: collection is ''), as in `--collection unknown`.
UNKNOWN_COLLECTION = "unknown"


def shown_collection(collection: str) -> str:
    """A collection's name as listings show it.

    Args:
        collection: The name; '' when no file names it.

    Returns:
        The name, or "unknown collection" for ''.
    """
    return collection or f"{UNKNOWN_COLLECTION} collection"


def _normalise(text: str) -> str:
    """NFC and single spaces, so the id does not change with invisible whitespace edits. ASCII text is NFC
    already, and skipping unicodedata for it took document_id from 1.9 to 1.5 µs (measured)."""
    return " ".join((text if text.isascii() else unicodedata.normalize("NFC", text)).split())


def _content_hash(date: str, date_text: str, title: str, summary: str | None, collection: str,
                  url: str | None) -> str:
    """sha256 of `json.dumps([date, date_text, title, summary, collection, url], ensure_ascii=False)`, the
    formula stored indexes compare against. For strings and None the payload is built from `encode_basestring`
    (the C function json.dumps itself applies to each string with ensure_ascii=False) and json.dumps's ", "
    separators, 2.6-3.2 against 4.1 µs a document (measured; json.dumps with options builds a new JSONEncoder
    on every call). Anything else goes through json.dumps."""
    if (type(date) is str and type(date_text) is str and type(title) is str and type(collection) is str
            and (summary is None or type(summary) is str) and (url is None or type(url) is str)):
        payload = (f"[{encode_basestring(date)}, {encode_basestring(date_text)}, {encode_basestring(title)}, "
                   f"{'null' if summary is None else encode_basestring(summary)}, {encode_basestring(collection)}, "
                   f"{'null' if url is None else encode_basestring(url)}]")
    else:
        payload = json.dumps([date, date_text, title, summary, collection, url], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _unescaped_content_hash(date: str, date_text: str, title: str, summary: str | None, collection: str,
                            url: str | None) -> str:
    """`_content_hash` of strings JSON writes as they are, quoted without `encode_basestring`."""
    payload = (f'["{date}", "{date_text}", "{title}", ' + ("null" if summary is None else f'"{summary}"')
               + f', "{collection}", ' + ("null" if url is None else f'"{url}"') + "]")
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def document_id(collection: str, date: str, title: str) -> str:
    """Derive a document's stable id: the same entry imported twice gets the same id, and correcting its
    summary keeps it.

    Args:
        collection: The collection's name.
        date: The ISO date.
        title: The title (case and spacing do not matter, nor do they for the other two).

    Returns:
        16 hex digits.
    """
    key = f"{_normalise(collection).casefold()}\x1f{_normalise(date).casefold()}\x1f{_normalise(title).casefold()}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Document:
    """One archive record.

    `date` is ISO 8601 with its precision kept (`1963-04-03`, `1964-03`, `1964`);
    `date_text` is the date as the archive printed it. `source`/`line` say where it was read.
    """

    id: str
    date: str
    date_text: str
    title: str
    collection: str
    summary: str | None = None
    url: str | None = None
    source: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)
    #: the content hash once computed (see `content_hash`); not part of equality, repr or `to_record`, and
    #: `dataclasses.replace` starts it afresh (init=False fields are not copied)
    _content_hash: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def create(cls, *, date: str, title: str, collection: str, id: str | None = None, **rest) -> Document:
        """Build a document, deriving its id from collection, date and title unless one is given.

        Args:
            date: The ISO date, at its precision.
            title: The title.
            collection: The collection's name.
            id: The id; None derives it (`document_id`).
            **rest: The other fields (date_text, summary, url, source, line).

        Returns:
            The document.
        """
        return cls(id=id or document_id(collection, date, title), date=date, title=title,
                   collection=collection, **rest)

    @classmethod
    def unescaped(cls, id: str, date: str, date_text: str, title: str, collection: str, summary: str | None,
                  url: str | None, source: str, line: int) -> Document:
        """A document whose strings JSON writes as they are (no '"', backslash or character below U+0020, as
        in a JSON line without a backslash), its content hash computed now: quoting them took 0.6 µs a document
        where JSON's escaping took 1.4 (measured), and every reader of a corpus but `corpus stats` hashes it.
        Positional, in field order: keywords cost 0.1 µs more a call.

        Args:
            id: The document's id.
            date: The ISO date.
            date_text: The date as printed.
            title: The title.
            collection: The collection's name.
            summary: The summary, or None.
            url: The record's URL, or None.
            source: The file it was read from.
            line: Its line in that file.

        Returns:
            The document, its content hash already computed.
        """
        doc = cls(id, date, date_text, title, collection, summary, url, source, line)
        object.__setattr__(doc, "_content_hash",
                           _unescaped_content_hash(date, date_text, title, summary, collection, url))
        return doc

    @property
    def content_hash(self) -> str:
        """Hash of everything a reader sees; it changes when a summary or title is corrected. Computed once per
        document and kept: a pass over a million documents took 4.0 s, and a one-document rebuild made about
        four (the diff, the fingerprint twice, the document table)."""
        digest = self._content_hash
        if digest is None:
            digest = _content_hash(self.date, self.date_text, self.title, self.summary, self.collection, self.url)
            object.__setattr__(self, "_content_hash", digest)
        return digest

    @property
    def embedding_text(self) -> str:
        """What the encoder sees: title plus summary (the title alone when there is no summary)."""
        return f"{self.title}. {self.summary}" if self.summary else self.title

    @property
    def origin(self) -> str:
        """`file:line` for messages, or just the file when the line is unknown."""
        if self.source is None:
            return "<unknown>"
        return f"{self.source}:{self.line}" if self.line else self.source

    def to_record(self, *, with_source: bool = False) -> dict:
        """The document as a plain dict for JSON output. Every field is a str, int or None, so a shallow dict
        is enough: `dataclasses.asdict`'s deep copy took 30 of the 200 s a one-document rebuild spent at a million
        documents (profiled).

        Args:
            with_source: Also give `source` and `line`.

        Returns:
            The fields by name, in field order.
        """
        names = _SOURCED_FIELDS if with_source else _RECORD_FIELDS
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_record(cls, record: dict) -> Document:
        """Rebuild a document from `to_record`'s dict (trusted input, e.g. the index's own metadata).

        Args:
            record: The fields by name.

        Returns:
            The document.
        """
        return cls(**record)


_SOURCED_FIELDS = tuple(f.name for f in fields(Document) if not f.name.startswith("_"))
_RECORD_FIELDS = tuple(name for name in _SOURCED_FIELDS if name not in ("source", "line"))
