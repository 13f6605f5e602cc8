"""Crash-safe placement of index folders: the index path is a symlink to a complete version folder.

The index path (e.g. `embeddings/index`) points at a version folder beside it (`index.v3`). A save writes
and fsyncs a temporary sibling (`index.tmp-<pid>`), renames it to the next version and replaces the
symlink in one `os.replace`, so at every instant the path names a whole index. Leftovers of killed writers
are removed by `clean_leftovers` under `writer_lock`. Files a new version shares unchanged with the previous
one are hard-linked into it (`link_or_copy`), not written again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import IndexUnavailable
from rag.index.manifest import MANIFEST


@contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Exclusive lock for writing the index at `path` (a `.lock` file beside it). flock is released by
    the kernel when its holder dies, so a killed rebuild never leaves a lock that blocks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def publish(path: Path, write: Callable[[Path], None], *, before_swap: Callable[[], None] | None = None) -> Path:
    """Make `path` name a new version whose files `write(folder)` creates; returns the version folder.
    A plain index folder already at `path` is adopted first; the previous version is removed after the swap."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        _adopt_plain_folder(path)
    tmp = path.parent / f"{path.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp)
    fsync_path(tmp)
    if before_swap is not None:
        before_swap()
    old = _current_version(path)
    version = path.parent / f"{path.name}.v{_next_version(path)}"
    os.rename(tmp, version)
    _swap_link(path, version)
    if old is not None and old != version:
        shutil.rmtree(old, ignore_errors=True)
    return version


def clean_leftovers(path: Path) -> list[Path]:
    """Remove what killed writers left beside `path` (temporary folders and links, superseded versions)
    and adopt a plain index folder as a version; returns what was removed. Call under `writer_lock`."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    if path.is_dir() and not path.is_symlink():
        _adopt_plain_folder(path)
    if not path.exists() and not path.is_symlink():
        newest = max(_versions(path), key=_version_number, default=None)
        if newest is not None and (newest / MANIFEST).is_file():
            _swap_link(path, newest)  # killed between moving a plain folder aside and linking it
    current = _current_version(path)
    removed = []
    for item in path.parent.iterdir():
        name = item.name
        leftover = name.startswith((f"{path.name}.tmp-", f"{path.name}.link-")) or (
            item in _versions(path) and item != current)
        if leftover:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
            removed.append(item)
    return removed


def link_or_copy(source: Path, target: Path) -> None:
    """Give `target` the content of `source` (a file, or a folder of files) by a hard link: versions share
    the bytes, nothing is written. Safe because a published version's files are never written again, and
    removing the old version only drops its names. Copied (and fsynced) when a link cannot be made (another
    filesystem, or one without hard links)."""
    source, target = Path(source), Path(target)
    if source.is_dir():
        target.mkdir()
        for item in source.iterdir():
            link_or_copy(item, target / item.name)
        return
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        shutil.copyfile(source, target)
        fsync_path(target)


def fsync_path(path: Path) -> None:
    """Flush a file or a folder's entries to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _adopt_plain_folder(path: Path) -> None:
    """A plain folder at `path`: an empty one is removed; an index written some other way becomes a
    version folder behind a symlink; anything else is not ours to touch."""
    if not any(path.iterdir()):
        path.rmdir()
    elif (path / MANIFEST).is_file():
        version = path.parent / f"{path.name}.v{_next_version(path)}"
        os.rename(path, version)
        _swap_link(path, version)
    else:
        raise IndexUnavailable(f"{path} exists and is not an index folder; not overwriting it "
                               "(choose another --out or remove it)")


def _versions(path: Path) -> list[Path]:
    pattern = re.compile(re.escape(path.name) + r"\.v\d+")
    return [p for p in path.parent.iterdir() if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]


def _version_number(version: Path) -> int:
    return int(version.name.rsplit(".v", 1)[1])


def _next_version(path: Path) -> int:
    return max((_version_number(v) for v in _versions(path)), default=0) + 1


def _current_version(path: Path) -> Path | None:
    """The version folder the `path` symlink points at, or None."""
    if not path.is_symlink():
        return None
    target = path.parent / os.readlink(path)
    return target if target.is_dir() else None


def _swap_link(path: Path, version: Path) -> None:
    """Point `path` at `version` in one atomic rename of a fresh symlink over it."""
    link = path.parent / f"{path.name}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(version.name, link)
    os.replace(link, path)
    fsync_path(path.parent)
