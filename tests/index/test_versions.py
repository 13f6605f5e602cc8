"""Crash-safe index folders: versions behind a symlink, cleaning up after killed writers, the writer lock, and
refusing to write over anything at the index path that is not an index."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FOREIGN, foreign_path, listing

from rag.documents.document import Document
from rag.errors import RebuildError
from rag.index.files import VECTORS
from rag.index.store import Index
from rag.index.versions import check_output_path, clean_leftovers, publish, writer_lock


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
    with pytest.raises(RebuildError, match="is a folder of other files"):
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


# ----------------------------------------------------------------------- what may stand at the index path


@pytest.mark.parametrize("kind", FOREIGN)
def test_check_output_path_refuses_what_is_not_an_index_and_touches_nothing(kind, tmp_path):
    out = foreign_path(kind, tmp_path)
    before = listing(tmp_path)
    with pytest.raises(RebuildError) as refused:
        check_output_path(out)
    assert str(out) in str(refused.value) and "choose another --out/--index path, or remove it" in str(refused.value)
    assert listing(tmp_path) == before


def test_publish_refuses_the_same_paths_before_making_anything(tmp_path):
    written = []
    for kind in FOREIGN:
        if kind == "character device":
            continue  # may be impossible here (it skips); refused by the same check as the fifo
        folder = tmp_path / kind.replace(" ", "-")
        folder.mkdir()
        out = foreign_path(kind, folder)
        before = listing(folder)
        with pytest.raises(RebuildError, match="not writing an index there"):
            publish(out, written.append)
        assert listing(folder) == before, kind
    assert written == []  # no version was ever started


def test_the_real_dev_null_is_refused_as_a_device():
    # Only the check, which inspects: a test must not risk the machine's /dev/null on a broken guard.
    with pytest.raises(RebuildError, match=r"/dev/null is a character device"):
        check_output_path(Path("/dev/null"))


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "out"
    if len(str(path)) > 100:  # AF_UNIX addresses are limited to about 108 bytes
        pytest.skip("temporary folder too deep for a socket address")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(RebuildError, match="is a socket"):
            check_output_path(path)


def test_a_link_named_like_a_version_must_point_at_an_index(tmp_path):
    (tmp_path / "out.v1").mkdir()
    (tmp_path / "out.v1" / "notes.txt").write_text("not an index")
    (tmp_path / "out").symlink_to("out.v1")
    with pytest.raises(RebuildError, match="symbolic link to out.v1"):
        check_output_path(tmp_path / "out")
    (tmp_path / "elsewhere").symlink_to(tmp_path / "out.v1")  # absolute, and not its own name: not our layout
    with pytest.raises(RebuildError, match="symbolic link to"):
        check_output_path(tmp_path / "elsewhere")


@pytest.mark.parametrize("name", [".", "..", "/"])
def test_a_path_without_a_name_is_refused(name):
    with pytest.raises(RebuildError, match="is not a name an index folder can take"):
        check_output_path(Path(name))


def _plain_copy(index_path: Path, folder: Path) -> Path:
    """A plain folder holding the files of the index at `index_path`: an index written before versions."""
    shutil.copytree(index_path.resolve(), folder)
    return folder


@pytest.mark.parametrize("kind", ["absent", "absent, parents too", "empty folder", "plain index folder",
                                  "versioned link", "dangling versioned link"])
def test_what_may_be_written_is_accepted_and_written(kind, tmp_path):
    out = tmp_path / "out"
    if kind == "absent, parents too":
        out = tmp_path / "new" / "deeper" / "out"
    elif kind == "empty folder":
        out.mkdir()
    elif kind == "plain index folder":
        _index().save(tmp_path / "made")
        _plain_copy(tmp_path / "made", out)
    elif kind == "versioned link":
        _index().save(out)
    elif kind == "dangling versioned link":  # its version gone, as after a crash
        out.symlink_to("out.v7")
    before = listing(tmp_path)
    check_output_path(out)
    assert listing(tmp_path) == before  # the check itself makes nothing, not even the parent folders
    version = _index(4).save(out)
    assert out.is_symlink() and out.resolve() == version.resolve() and len(Index.load(out)) == 4
