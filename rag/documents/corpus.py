"""Read the corpus: the files of a folder (or a list of files), each through its reader, merged into one
`Corpus` in which each document id appears once.

`.jsonl` files are JSON Lines records (readers/jsonl.py); any other file is a saved listing page of the Wilson
Center Digital Archive in one of its layouts (readers/). Every problem of every file is reported at once, with
file:line.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag.documents.document import Document
from rag.documents.readers.base import Page, Problem
from rag.documents.readers.jsonl import parse_records, parse_records_fast
from rag.documents.readers.registry import parse_page
from rag.errors import CorpusError

PAGE_SUFFIXES = (".txt",)
RECORD_SUFFIXES = (".jsonl",)


@dataclass(frozen=True)
class Duplicate:
    """An entry seen again: `kept` stays in the corpus, `dropped` (same id) does not."""

    kept: Document
    dropped: Document

    @property
    def differs(self) -> bool:
        """Whether the dropped entry's text differs from the kept one's (a correction under the same id)."""
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
        """The number of documents (each id once)."""
        return len(self.documents)


def read_file(path: Path) -> Page:
    """Parse one file: `.jsonl` as records, anything else as a saved listing page.

    Args:
        path: The file.

    Returns:
        What the file yielded: its documents in file order, its collection (pages) and warnings.

    Raises:
        CorpusError: When the file cannot be read or is not UTF-8 text, or listing every malformed entry,
            each with file:line.
    """
    source = str(path)
    if path.suffix.lower() in RECORD_SUFFIXES:
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
    if path.suffix.lower() in RECORD_SUFFIXES:
        return parse_records(text, source)
    return parse_page(text, source)


def corpus_files(folder: Path) -> list[Path]:
    """List the files of a corpus folder that hold documents.

    Args:
        folder: The corpus folder.

    Returns:
        Its .txt and .jsonl files, in name order.

    Raises:
        CorpusError: When the folder does not exist.
    """
    if not folder.is_dir():
        raise CorpusError([Problem(str(folder), None, "corpus folder does not exist")])
    suffixes = PAGE_SUFFIXES + RECORD_SUFFIXES
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def load_corpus(paths: Path | Iterable[Path]) -> Corpus:
    """Load a corpus folder or a list of files; each id is kept once and duplicates are reported.

    Args:
        paths: A corpus folder (its .txt and .jsonl files, in name order), or the files themselves.

    Returns:
        The documents of every file, each id once in file order, with the duplicates dropped and the warnings.

    Raises:
        CorpusError: Listing every malformed file and line (and an empty or missing folder).
    """
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
