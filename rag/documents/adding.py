"""Add saved pages to a corpus folder: every file is checked and parsed first, and nothing is copied unless all
of them read; then each is copied under a free name (never over another file) and the report says which
documents are new, updated or already there, against the corpus as it was.

`coldwar-rag corpus add` (rag/cli_corpus.py) prints the report and rebuilds the index; the page's upload will
call `add_pages` the same way. Nothing here prints, and nothing in a file is ever run: a page is only parsed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.corpus import CORPUS_SUFFIXES, HTML_SUFFIXES, MHTML_SUFFIXES, corpus_files, load_corpus, read_file
from rag.documents.readers.base import Problem
from rag.documents.readers.html import looks_like_html
from rag.documents.readers.mhtml import looks_like_mhtml
from rag.errors import CorpusError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rag.documents.document import Document

#: The largest file `add_pages` takes: a saved listing page is tens of kilobytes, a single-file save with its
#: images a few megabytes.
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class AddReport:
    """What `add_pages` did: the files copied (given path, path in the corpus), those whose bytes were there
    already (given path, the file holding them), and the documents new, updated (same id, other text) and
    already in the corpus, with how many documents listed on several pages were merged."""

    copied: list[tuple[Path, Path]] = field(default_factory=list)
    duplicate_files: list[tuple[Path, Path]] = field(default_factory=list)
    new: list[Document] = field(default_factory=list)
    updated: list[Document] = field(default_factory=list)
    unchanged: list[Document] = field(default_factory=list)
    merged: int = 0

    def lines(self) -> list[str]:
        """The report as lines for a terminal or a page.

        Returns:
            One line per file, one per new or updated document, then the counts.
        """
        out = [f"copied {given} to {kept}" for given, kept in self.copied]
        out += [f"{given}: the same file is in the corpus already ({there}); not copied"
                for given, there in self.duplicate_files]
        out += [f"  new: {d.date_text}, {d.title}" for d in self.new]
        out += [f"  updated: {d.date_text}, {d.title}" for d in self.updated]
        out.append(f"{len(self.new)} new, {len(self.updated)} updated, {len(self.unchanged)} already in the corpus "
                   f"({self.merged} documents listed on several pages merged)")
        return out


def add_pages(paths: Iterable[Path], corpus_dir: Path) -> AddReport:
    """Check, parse, then copy saved pages into a corpus folder.

    Args:
        paths: The files: listing or result pages (.txt), saved web pages (.html, .htm, .mhtml) or records
            (.jsonl), each at most `MAX_FILE_BYTES`.
        corpus_dir: The corpus folder (it must exist; it may be empty).

    Returns:
        What was copied and what it changes in the corpus.

    Raises:
        CorpusError: Listing every file that is too large, of another type (by name or by content) or does not
            parse, with file:line; nothing was copied. Also for a missing corpus folder.
    """
    paths = [Path(p) for p in paths]
    if not corpus_dir.is_dir():
        raise CorpusError([Problem(str(corpus_dir), None, "corpus folder does not exist")])
    problems: list[Problem] = []
    contents: dict[Path, bytes] = {}
    for path in paths:
        try:
            contents[path] = _checked_bytes(path)
            read_file(path)
        except CorpusError as exc:
            problems.extend(exc.problems)
    if not paths:
        problems.append(Problem(str(corpus_dir), None, "no files given to add"))
    if problems:
        raise CorpusError(problems)

    existing = corpus_files(corpus_dir)
    before = load_corpus(existing) if existing else None
    held = {_digest(p.read_bytes()): p for p in existing}
    report = AddReport()
    taken = {p.name.casefold() for p in corpus_dir.iterdir()}
    plan: list[tuple[Path, Path]] = []
    for path, raw in contents.items():
        digest = _digest(raw)
        if digest in held:
            report.duplicate_files.append((path, held[digest]))
            continue
        target = _free_name(corpus_dir, path.name, taken)
        taken.add(target.name.casefold())
        held[digest] = target
        plan.append((path, target))

    after = load_corpus([*existing, *(given for given, _ in plan)])
    old = {d.id: d.content_hash for d in before.documents} if before else {}
    for doc in after.documents:
        if doc.id not in old:
            report.new.append(doc)
        elif old[doc.id] != doc.content_hash:
            report.updated.append(doc)
        else:
            report.unchanged.append(doc)
    report.merged = after.merged
    for given, target in plan:
        with open(target, "xb") as out:  # "x": never over a file that appeared meanwhile
            out.write(contents[given])
        report.copied.append((given, target))
    return report


def _checked_bytes(path: Path) -> bytes:
    """The file's bytes once its size, name and content agree with a page the corpus reads."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in CORPUS_SUFFIXES:
        raise CorpusError([Problem(source, None, f"not a page the corpus reads: expected a name ending in "
                                                 f"{', '.join(CORPUS_SUFFIXES)}")])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusError([Problem(source, None, f"too large ({size / 2**20:.1f} MB; at most "
                                                     f"{MAX_FILE_BYTES // 2**20} MB a file)")])
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError([Problem(source, None, f"cannot read: {exc.strerror}")]) from None
    if suffix in MHTML_SUFFIXES:
        ok, expected = looks_like_mhtml(raw), "a single-file web page (MIME multipart/related)"
    elif suffix in HTML_SUFFIXES:
        ok, expected = looks_like_html(raw) and not looks_like_mhtml(raw), "an HTML page"
    else:
        ok, expected = b"\x00" not in raw[:8192] and not looks_like_html(raw), "plain text"
    if not ok:
        raise CorpusError([Problem(source, None, f"named {suffix} but its content is not {expected}: save the page "
                                                 "again in that format, or name it after what it holds")])
    return raw


def _free_name(folder: Path, name: str, taken: set[str]) -> Path:
    """`name` in `folder`, or `stem-2.ext`, `stem-3.ext`, ... when a file of that name is there (any case)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return folder / candidate


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
