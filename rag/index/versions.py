"""Crash-safe placement of index folders: the index path is a symlink to a complete version folder.

The index path (e.g. `embeddings/index`) points at a version folder beside it (`index.v3`). A save writes
and fsyncs a temporary sibling (`index.tmp-<pid>`), renames it to the next version and replaces the
symlink in one `os.replace`, so at every instant the path names a whole index. Leftovers of killed writers
are removed by `clean_leftovers` under `writer_lock`. Files a new version shares unchanged with the previous
one are hard-linked into it (`link_or_copy`), not written again. Only a path that is absent, an empty folder or
an index this project wrote is ever written (`check_output_path`): anything else is the user's and is refused.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import RebuildError
from rag.index.files import MANIFEST, VECTORS, fsync_path


def check_output_path(path: Path) -> None:
    """Refuse to write an index at `path` unless nothing of the user's can be lost there.

    Accepted: an absent path (missing parent folders are made later, when writing starts), an empty folder, a
    folder holding a manifest (an index written before versions, adopted as one), and the versioned layout: a
    symlink `X -> X.vN` to a sibling version folder holding a manifest, or to a missing one (a crash's
    leftover, which `clean_leftovers` tidies). Anything else would be replaced by the new symlink or, for a
    symlink to a folder, deleted as the "previous version" after the swap. Only inspects: creates nothing.

    Args:
        path: where an index is about to be written (`--out`, `--index`).

    Raises:
        RebuildError: naming the path, what stands there and what to do instead.
    """
    path = Path(path)
    try:
        problem = _output_problem(path)
    except OSError as exc:  # e.g. a folder on the way that cannot be read: we cannot tell what is there
        problem = f"cannot be inspected ({exc.strerror or exc})"
    if problem:
        raise RebuildError(f"{path} {problem}; not writing an index there (choose another --out/--index path, "
                           "or remove it)")


def _output_problem(path: Path) -> str | None:
    """Why an index must not be written at `path`, or None when it may (see `check_output_path`)."""
    if path.name in ("", ".."):  # `.`, `/`, `..`: the index would have no name to put versions beside
        return "is not a name an index folder can take"
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return _parent_problem(path)
    if stat.S_ISLNK(mode):
        target = os.readlink(path)
        if _is_version_link(path, target):
            return None
        return f"is a symbolic link to {target}, not to a version of an index beside it ({path.name}.vN)"
    if stat.S_ISDIR(mode):
        if _holds_index(path) or not any(path.iterdir()):
            return None
        return f"is a folder of other files (no {MANIFEST} beside {VECTORS}: not an index)"
    if stat.S_ISREG(mode):
        return "is a file, not an index folder"
    kind = ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    return f"is {kind}, not an index folder"


def _parent_problem(path: Path) -> str | None:
    """For an absent `path`: why its folder cannot be made, or None. Missing folders are made when writing
    starts; the nearest existing one must be a folder (or a symlink to one), else mkdir would fail."""
    for ancestor in path.parents:
        if not os.path.lexists(ancestor):
            continue
        try:
            if stat.S_ISDIR(os.stat(ancestor).st_mode):
                return None
        except FileNotFoundError:  # a dangling symlink
            pass
        return f"cannot be made: {ancestor} is not a folder"
    return None


def _is_version_link(path: Path, target: str) -> bool:
    """Whether the symlink `path -> target` is our layout: a sibling `path.name.vN` holding a manifest, or
    missing (the link outlived its version in a crash; the rebuild starts afresh)."""
    if not re.fullmatch(re.escape(path.name) + r"\.v\d+", target):
        return False
    version = path.parent / target
    if not os.path.lexists(version):
        return True
    return version.is_dir() and not version.is_symlink() and _holds_index(version)


def _holds_index(folder: Path) -> bool:
    """Whether `folder` holds an index this project wrote: its manifest and its vectors. Every format this project
    wrote has both; a manifest alone is no proof (a web app's folder holds a `manifest.json` too, and adopting it
    would delete it after the next swap)."""
    return (folder / MANIFEST).is_file() and (folder / VECTORS).is_file()


@contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Exclusive lock for writing an index (a `.lock` file beside it).

    flock is released by the kernel when its holder dies, so a killed rebuild never leaves a lock that blocks.

    Args:
        path: The index's path.

    Returns:
        A context manager holding the lock while its block runs.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def publish(path: Path, write: Callable[[Path], None], *, before_swap: Callable[[], None] | None = None) -> Path:
    """Make `path` name a new version; the previous version is removed after the swap.

    A plain index folder already at `path` is adopted first.

    Args:
        path: The index's path.
        write: Creates the new version's files in the folder it is given.
        before_swap: Called after writing, before `path` names the new version.

    Returns:
        The new version's folder.

    Raises:
        RebuildError: Before making anything, for a path `check_output_path` refuses.
    """
    path = Path(path)
    check_output_path(path)  # also here, not only in the rebuild: `Index.save` is public
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
    """Remove what killed writers left beside `path`, and adopt a plain index folder as a version.

    What is removed: temporary folders and links, superseded versions. Call under `writer_lock`.

    Args:
        path: The index's path.

    Returns:
        What was removed.

    Raises:
        RebuildError: For a path `check_output_path` refuses, touching nothing.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    check_output_path(path)  # adopting or relinking what stands at `path` is only for our own layout
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
    """Give `target` the content of `source` by a hard link: versions share the bytes, nothing is written.

    Safe because a published version's files are never written again, and removing the old version only drops its
    names. Copied (and fsynced) when a link cannot be made (another filesystem, or one without hard links).

    Args:
        source: A file, or a folder of files.
        target: Where its content goes; must not exist yet.
    """
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


def _adopt_plain_folder(path: Path) -> None:
    """A plain folder at `path`, which `check_output_path` accepted: an empty one is removed; an index
    written some other way becomes a version folder behind a symlink."""
    if not any(path.iterdir()):
        path.rmdir()
    else:
        version = path.parent / f"{path.name}.v{_next_version(path)}"
        os.rename(path, version)
        _swap_link(path, version)


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
