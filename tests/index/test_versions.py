"""Crash-safe index folders: versions behind a symlink, cleaning up after killed writers, the writer lock."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.documents.document import Document
from rag.errors import IndexUnavailable
from rag.index.store import VECTORS, Index
from rag.index.versions import clean_leftovers, writer_lock


def _index(n: int = 6) -> Index:
    docs = [Document.create(date=f"{1960 + i}", date_text=f"{1960 + i}", title=f"Title {i}", collection="C")
            for i in range(n)]
    vectors = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    return Index.build(docs, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def test_clean_leftovers_removes_killed_writers_debris_and_keeps_the_index(tmp_path):
    version = _index().save(tmp_path / "idx")
    (tmp_path / "idx.tmp-99999").mkdir()
    (tmp_path / "idx.tmp-99999" / VECTORS).write_bytes(b"half")
    (tmp_path / "idx.v999").mkdir()
    os.symlink(version.name, tmp_path / "idx.link-99999")
    removed = clean_leftovers(tmp_path / "idx")
    assert sorted(p.name for p in removed) == ["idx.link-99999", "idx.tmp-99999", "idx.v999"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", version.name]
    assert len(Index.load(tmp_path / "idx")) == 6


def test_clean_leftovers_relinks_a_version_left_without_its_link(tmp_path):
    version = _index().save(tmp_path / "idx")
    (tmp_path / "idx").unlink()
    clean_leftovers(tmp_path / "idx")
    assert (tmp_path / "idx").resolve() == version.resolve()
    assert len(Index.load(tmp_path / "idx")) == 6


def test_clean_leftovers_adopts_a_plain_index_folder_and_refuses_other_folders(tmp_path):
    _index().save(tmp_path / "made")
    plain = tmp_path / "plain"
    plain.mkdir()
    for file in (tmp_path / "made").resolve().iterdir():
        if file.is_file():
            (plain / file.name).write_bytes(file.read_bytes())
    clean_leftovers(plain)
    assert plain.is_symlink() and len(Index.load(plain)) == 6

    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(IndexUnavailable, match="not an index folder"):
        clean_leftovers(other)
    assert (other / "holiday.jpg").exists()


def test_lock_of_a_killed_holder_does_not_block(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path\n"
         "from rag.index.versions import writer_lock\n"
         "with writer_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(tmp_path / "idx")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with writer_lock(tmp_path / "idx"):
        assert time.monotonic() - started < 5


def test_link_or_copy_shares_the_bytes_and_copies_across_filesystems(tmp_path, monkeypatch):
    from rag.index import versions

    (tmp_path / "old" / "bm25").mkdir(parents=True)
    (tmp_path / "old" / "vectors.npy").write_bytes(b"vectors")
    (tmp_path / "old" / "bm25" / "vocab.json").write_text("{}")
    (tmp_path / "new").mkdir()
    versions.link_or_copy(tmp_path / "old" / "vectors.npy", tmp_path / "new" / "vectors.npy")
    versions.link_or_copy(tmp_path / "old" / "bm25", tmp_path / "new" / "bm25")
    assert (tmp_path / "new" / "vectors.npy").stat().st_ino == (tmp_path / "old" / "vectors.npy").stat().st_ino
    assert (tmp_path / "new" / "bm25" / "vocab.json").samefile(tmp_path / "old" / "bm25" / "vocab.json")

    def cross_device(source, target):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(versions.os, "link", cross_device)
    versions.link_or_copy(tmp_path / "old" / "vectors.npy", tmp_path / "copy.npy")
    assert (tmp_path / "copy.npy").read_bytes() == b"vectors"
    assert not (tmp_path / "copy.npy").samefile(tmp_path / "old" / "vectors.npy")
