"""The files of an index folder: their names, and the one fsynced writer every part of a crash-safe save uses.

A leaf module (nothing of `rag` imported), so each part of the index can name and write its own files. What
each file holds: `rag.index.layout`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

MANIFEST = "manifest.json"
DOCUMENTS_DB = "documents.sqlite"
DOCUMENTS = "documents.jsonl"  # an index's documents before documents.sqlite (still read)
VECTORS = "vectors.npy"
FAISS_INDEX = "index.faiss"
SENTENCES = "sentences.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
BM25 = "bm25"
DATE_SPANS = "date_spans.npy"
COLLECTIONS = "collections.npy"
DELTA = "delta"


def write_synced(path: Path, fill: bytes | Callable[[BinaryIO], object]) -> None:
    """Write a file and fsync it before returning: part of a crash-safe save.

    Args:
        path: the file to create (or replace).
        fill: its bytes, or a function writing them to the open binary file (e.g. `np.save`).
    """
    with Path(path).open("wb") as fh:
        if isinstance(fill, bytes):
            fh.write(fill)
        else:
            fill(fh)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk.

    Args:
        path: the file or folder.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """fsync every file of `folder` (not recursing) and then the folder itself, for files a library wrote.

    Args:
        folder: the folder just written.
    """
    for file in Path(folder).iterdir():
        fsync_path(file)
    fsync_path(folder)
