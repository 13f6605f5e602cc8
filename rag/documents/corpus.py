"""Read the corpus: the files of a folder (or a list of files), each through its reader, merged into one
`Corpus` in which each document id appears once.

`.jsonl` files are JSON Lines records (readers/jsonl.py); `.html`/`.htm` saved web pages and `.mhtml` single-file
saves are read by structure (readers/html.py, readers/mhtml.py); any other file is a saved listing page of the
Wilson Center Digital Archive in one of its text layouts (readers/registry.py). Every problem of every file is
reported at once, with file:line.

One document listed on several pages is kept once. Pages naming the same collection give it the same id
(`document_id(collection, date, title)`, the id saved indexes hold). A search-result page names no collection: its
entries get collection '' and the id of ('', date, title); when a page or record naming a collection lists the
same date and title, the entry is that document (its id and collection), so a document's id is the named one as
soon as any file names its collection, whichever file came first. A kept entry takes what it lacks (URL,
summary) from the entries merged into it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.documents.document import Document, _normalise
from rag.documents.readers import html, mhtml
from rag.documents.readers.base import Page, Problem
from rag.documents.readers.jsonl import parse_records, parse_records_fast
from rag.documents.readers.registry import parse_page
from rag.errors import CorpusError

PAGE_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
MHTML_SUFFIXES = (".mhtml", ".mht")
RECORD_SUFFIXES = (".jsonl",)
#: Every file name ending a corpus folder's documents may have.
CORPUS_SUFFIXES = PAGE_SUFFIXES + HTML_SUFFIXES + MHTML_SUFFIXES + RECORD_SUFFIXES


@dataclass(frozen=True)
class Duplicate:
    """An entry seen again: `kept` stays in the corpus, `dropped` (same id) does not."""

    kept: Document
    dropped: Document
    #: the fields the kept document lacked and took from the dropped one ("url", "summary")
    filled: tuple[str, ...] = ()

    @property
    def differs(self) -> bool:
        """Whether the dropped entry's text differs from the kept one's (a correction under the same id): its
        title, or its summary when both have one (a missing summary is filled, not a difference)."""
        kept, dropped = self.kept, self.dropped
        return kept.title != dropped.title or bool(kept.summary and dropped.summary and kept.summary != dropped.summary)

    def __str__(self) -> str:
        detail = " with different text" if self.differs else ""
        filled = f", taking its {' and '.join(self.filled)} from this one" if self.filled else ""
        return (f"{self.dropped.origin}: duplicate of {self.kept.origin}{detail} "
                f"({self.kept.date_text}, {self.kept.title!r}); kept the first{filled}")


@dataclass
class Corpus:
    """Documents of one or more files, each id once, in file order."""

    documents: list[Document]
    files: list[str]
    duplicates: list[Duplicate] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: what each file yielded, in file order (its layout, entries, position), for `corpus stats`
    pages: list[Page] = field(default_factory=list)

    def __len__(self) -> int:
        """The number of documents (each id once)."""
        return len(self.documents)

    @property
    def merged(self) -> int:
        """How many documents were listed on more than one page (or twice on one) and merged into one."""
        return len({duplicate.kept.id for duplicate in self.duplicates})


def read_file(path: Path) -> Page:
    """Parse one file: `.jsonl` as records, `.html`/`.htm`/`.mhtml` as a saved web page, anything else as a saved
    listing page in one of its text layouts.

    Args:
        path: The file.

    Returns:
        What the file yielded: its documents in file order, its collection (pages) and warnings.

    Raises:
        CorpusError: When the file cannot be read or is not UTF-8 text, or listing every malformed entry,
            each with file:line.
    """
    source = str(path)
    suffix = path.suffix.lower()
    if suffix in MHTML_SUFFIXES:
        try:
            saved = mhtml.unwrap(path.read_bytes(), source)
        except OSError as exc:
            raise CorpusError([Problem(source, None, f"cannot read: {exc.strerror}")]) from None
        return html.READER.read(saved.html, source, saved.location, layout="mhtml")
    if suffix in RECORD_SUFFIXES:
        try:
            page = parse_records_fast(path.read_bytes(), source)
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
    if suffix in RECORD_SUFFIXES:
        return parse_records(text, source)
    if suffix in HTML_SUFFIXES:
        return html.READER.read(text, source)
    return parse_page(text, source)


def corpus_files(folder: Path) -> list[Path]:
    """List the files of a corpus folder that hold documents.

    Args:
        folder: The corpus folder.

    Returns:
        Its .txt, .html, .htm, .mhtml and .jsonl files, in name order; the folder a browser saves beside a
        "Web page, complete" (`X_files/`) and anything else in subfolders is not read.

    Raises:
        CorpusError: When the folder does not exist.
    """
    if not folder.is_dir():
        raise CorpusError([Problem(str(folder), None, "corpus folder does not exist")])
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES)


def load_corpus(paths: Path | Iterable[Path]) -> Corpus:
    """Load a corpus folder or a list of files; each id is kept once and duplicates are reported.

    Args:
        paths: A corpus folder (its files `corpus_files` lists, in name order), or the files themselves.

    Returns:
        The documents of every file, each id once in file order, with the duplicates dropped and the warnings.

    Raises:
        CorpusError: Listing every malformed file and line (and an empty or missing folder).
    """
    if isinstance(paths, Path):
        files = corpus_files(paths)
        if not files:
            raise CorpusError([Problem(str(paths), None, "corpus folder holds no .txt, .html, .mhtml or .jsonl files")])
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
    corpus = Corpus(documents=[], files=files, pages=pages)
    for page in pages:
        corpus.warnings.extend(page.warnings)
    documents = [doc for page in pages for doc in page.documents]
    unnamed = any(not doc.collection for doc in documents)
    if not unnamed and len({doc.id for doc in documents}) == len(documents):  # no id twice: 0.15 s a million
        corpus.documents = documents
        return corpus
    named: dict[tuple[str, str], Document] = {}
    if unnamed:
        for doc in documents:
            if doc.collection:
                named.setdefault(_date_and_title(doc), doc)
    seen: dict[str, int] = {}
    for doc in documents:
        if not doc.collection and (match := named.get(_date_and_title(doc))) is not None:
            doc = replace(doc, id=match.id, collection=match.collection)
        at = seen.get(doc.id)
        if at is None:
            seen[doc.id] = len(corpus.documents)
            corpus.documents.append(doc)
            continue
        kept = corpus.documents[at]
        filled = tuple(name for name in ("url", "summary") if getattr(kept, name) is None and getattr(doc, name))
        corpus.duplicates.append(Duplicate(kept=kept, dropped=doc, filled=filled))
        if filled:
            corpus.documents[at] = replace(kept, **{name: getattr(doc, name) for name in filled})
    return corpus


def _date_and_title(doc: Document) -> tuple[str, str]:
    """What identifies a document across pages that do and do not name its collection (as `document_id`
    compares them: case and spacing do not matter)."""
    return doc.date, _normalise(doc.title).casefold()
