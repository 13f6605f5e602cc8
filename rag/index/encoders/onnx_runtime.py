"""The onnxruntime seam: a torch-free encoder over an exported model folder, giving the same unit-length
float32 vectors as sentence-transformers (mean pooling over the attention mask, then L2 normalisation).

An exported folder (written by `rag.index.encoders.onnx_export.export_onnx`) holds `model.onnx` (the
transformer, output `last_hidden_state`), `tokenizer.json` and `onnx.json` (the settings below). This is the
only module that imports onnxruntime and tokenizers; importing it or encoding never imports torch.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ModelError
from rag.index.encoders.batches import Progress, encode_by_length

if TYPE_CHECKING:
    import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "onnx.json"

@dataclass(frozen=True)
class OnnxSettings:
    """What `onnx.json` records: what the encoder needs to tokenise and pool like sentence-transformers,
    and where the export came from (model, weights fingerprint, library versions, verified cosine)."""

    model: str
    fingerprint: str
    dimension: int
    max_seq_length: int
    pad_id: int
    pad_token: str
    input_names: tuple[str, ...]
    pooling: str = "mean"
    do_lower_case: bool = False
    optimized: bool = False
    min_cosine: float | None = None
    #: The weight files' sizes and times when exported (`weights.weights_signature`): finds this export for
    #: an unchanged model without hashing its ~90 MB of weights.
    model_files: dict[str, list[int]] | None = None
    versions: dict[str, str] = field(default_factory=dict)

    def write(self, folder: Path) -> None:
        """Write onnx.json atomically (a reader never sees half a file, even when a cached export's
        weights signature is refreshed while another process reads it).

        Args:
            folder: the export's folder.
        """
        data = {**asdict(self), "input_names": list(self.input_names)}
        temp = Path(folder) / f".{META_FILE}.{os.getpid()}-{threading.get_ident()}"
        temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, Path(folder) / META_FILE)

    @classmethod
    def read(cls, folder: Path) -> OnnxSettings:
        """Read an export's onnx.json.

        Args:
            folder: the export's folder.

        Returns:
            Its settings.

        Raises:
            ModelError: when the file is missing or damaged.
        """
        path = Path(folder) / META_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["input_names"] = tuple(data["input_names"])
            return cls(**data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"cannot read ONNX model settings {path}: {exc}") from exc


def optimize(path: Path, *, num_heads: int, hidden_size: int) -> bool:
    """Fuse attention/layer-norm/GELU in place with onnxruntime's transformer optimizer (offline; lifted
    batch throughput from about 0.85x to 1.15x torch, issue 9).

    Args:
        path: the model.onnx file, rewritten in place.
        num_heads: the transformer's attention heads.
        hidden_size: its hidden size.

    Returns:
        True when optimised; False when the optimizer cannot run on this graph (it is left as it was).
    """
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        optimized = optimize_model(str(path), model_type="bert", num_heads=num_heads, hidden_size=hidden_size)
        optimized.save_model_to_file(str(path))
    except Exception:  # noqa: BLE001 - an unoptimised graph is still correct; the check decides
        return False
    return True


class OnnxEncoder:
    """Encodes like `rag.index.encoders.sentence_transformer.Encoder` (same `name`, `dimension`,
    `fingerprint`, `encode`) from an exported folder, with onnxruntime; safe to call from several threads at
    once."""

    def __init__(self, folder: str | Path, *, threads: int, name: str | None = None):
        """Read the export's settings; the session and tokenizer load on first use (or `load`).

        Args:
            folder: the exported folder.
            threads: onnxruntime intra-op threads (`Settings.encoder_threads` for questions).
            name: the model's name as the caller knows it (default: the name it was exported under, which is
                the first name the weights were used with: a path and an alias share one export).

        Raises:
            ModelError: when threads is below 1 or the folder's onnx.json cannot be read.
        """
        if threads < 1:
            raise ModelError(f"ONNX intra-op threads must be at least 1, got {threads}")
        self.folder = Path(folder)
        self.settings = OnnxSettings.read(self.folder)
        self.name = name or self.settings.model
        self.fingerprint = self.settings.fingerprint
        self.dimension = self.settings.dimension
        self.threads = threads
        # The Rust tokenizer is shared; a lock keeps its padding/truncation state out of concurrent calls.
        self._tokenizer_lock = threading.Lock()
        self._init_lock = threading.Lock()

    @cached_property
    def _session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return ort.InferenceSession(str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a missing or corrupt graph means the same to the user
            raise ModelError(f"cannot load ONNX model {self.folder / MODEL_FILE}: {exc}") from exc

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"cannot load tokenizer {self.folder / TOKENIZER_FILE}: {exc}") from exc
        # Override what the file says (the bundled one pads every text to 128 and truncates at 128):
        # truncate at the model's max_seq_length and pad to the longest text of the batch, as ST does.
        tokenizer.enable_truncation(max_length=self.settings.max_seq_length)
        tokenizer.enable_padding(pad_id=self.settings.pad_id, pad_token=self.settings.pad_token)
        return tokenizer

    def load(self) -> OnnxEncoder:
        """Open the session and tokenizer now (otherwise on first encode).

        Returns:
            self.
        """
        with self._init_lock:
            self._session, self._tokenizer  # noqa: B018 - touching the cached properties loads them
        return self

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: Progress = False) -> np.ndarray:
        """Embed texts, longest first in batches (`rag.index.encoders.batches`), so each batch pads little.

        Args:
            texts: the texts to embed.
            batch_size: texts per onnxruntime call, at least 1.
            progress: False, True (a tqdm bar on stderr counting documents) or a function told each batch's
                size.

        Returns:
            An (n, dimension) float32 array of unit-length rows, row i for texts[i].
        """
        self.load()
        return encode_by_length(texts, self._encode_batch, dimension=self.dimension, batch_size=batch_size,
                                progress=progress)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if self.settings.do_lower_case:
            texts = [text.lower() for text in texts]
        with self._tokenizer_lock:
            encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        feeds = {name: feeds[name] for name in self.settings.input_names}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return pool(hidden, feeds["attention_mask"])


def pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under the attention mask, then L2-normalised: sentence-transformers'
    Pooling(mean) + normalize_embeddings, as `Encoder` asks for (same 1e-9 and 1e-12 guards).

    Args:
        hidden: (batch, tokens, dimension) last hidden states.
        attention_mask: (batch, tokens), 1 for a real token.

    Returns:
        (batch, dimension) float32 unit vectors.
    """
    import numpy as np

    mask = attention_mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * mask).sum(axis=1)
    vectors = summed / np.maximum(mask.sum(axis=1), 1e-9)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype(np.float32, copy=False)


def save_tokenizer(tokenizer_json: str, path: Path, *, max_seq_length: int, pad_id: int, pad_token: str) -> None:
    """Write a fast tokenizer that truncates at `max_seq_length` and pads to the longest text, so the file
    alone tokenises as sentence-transformers does.

    Args:
        tokenizer_json: the fast tokenizer's JSON.
        path: the tokenizer.json to write.
        max_seq_length: the model's token limit.
        pad_id: the padding token's id.
        pad_token: the padding token.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.enable_truncation(max_length=max_seq_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    tokenizer.save(str(path))
