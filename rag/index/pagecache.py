"""Warm the page cache: read an index's search files once, in the background, when it is loaded.

The index files are memory-mapped, so a question reads the pages it touches from disk the first time. On a
cold page cache (after a reboot, or once a rebuild's other work pushed the files out) an inverted-file search
at a million documents reads about 30 of its 1,024 lists, some 50 MB at random: measured, 1,000 questions on a
cold cache took p50 / p95 57 / 815 ms with no filter against 19 / 28 ms warm (bench/scale.py's measuring
process on the same folder, run twice). Reading the files once, sequentially, in the background (3.3 GB/s on
this disk, against page faults of a few KB at random) costs about a second and no process memory: the page
cache is the kernel's, shared and reclaimable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

#: Files larger in all than this share of the memory the kernel reports available are left alone: reading
#: them would evict each other (and everything else) before a question needs them.
MAX_SHARE = 0.5


def warm(paths: Iterable[Path]) -> threading.Thread | None:
    """Start reading files into the page cache on a daemon thread.

    Args:
        paths: Files, or folders whose files are read.

    Returns:
        The thread, or None when there is nothing to read, the available memory is unknown (not Linux), or the
        files would not fit in MAX_SHARE of it.
    """
    files = [f for p in map(Path, paths) for f in (sorted(p.iterdir()) if p.is_dir() else [p]) if f.is_file()]
    total = sum(f.stat().st_size for f in files)
    available = _available_bytes()
    if not files or available is None or total > MAX_SHARE * available:
        return None
    thread = threading.Thread(target=_read, args=(files,), name="page-cache-warmer", daemon=True)
    thread.start()
    return thread


def _read(files: list[Path]) -> None:
    """Read each file once, in 8 MB blocks (the GIL is released while the kernel reads). Advising the kernel
    instead (posix_fadvise WILLNEED) returned at once and cached nothing here: 25 MB of a 1.5 GB file after 3 s."""
    block = bytearray(8 << 20)
    for file in files:
        try:
            with open(file, "rb", buffering=0) as fh:
                while fh.readinto(block):
                    pass
        except OSError:
            continue  # a newer version replaced this one: nothing to warm


def _available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None
