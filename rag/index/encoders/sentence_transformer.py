"""Texts into vectors with sentence-transformers on torch: L2-normalised float32, offline by default.

The only module that imports torch and sentence_transformers, and only inside functions: importing it, or
asking an `Encoder` for its fingerprint, costs no torch (the no-op rebuild must not pay for it). Besides
encoding, it runs the model where the ONNX export needs torch: tracing the transformer (`trace_onnx`) and
asking which GPU a rebuild may use (`gpu_device`).
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ModelError
from rag.index.encoders import weights
from rag.index.encoders.batches import Progress, encode_by_length
from rag.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer


class Encoder:
    """Lazily loaded sentence-transformers model; `encode` returns unit-length float32 rows."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", *, model_cache: Path | None = None):
        """Name the model; nothing is loaded until it is used.

        Args:
            model: a model name or a local folder.
            device: the torch device it runs on ("cpu", "cuda", "cuda:N").
            model_cache: where a model installed as split pip packages is unpacked (`Settings.model_cache`).
        """
        self.name = model
        self.device = device
        self.model_cache = model_cache
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> SentenceTransformer:
        """The loaded sentence-transformers model (torch is imported here, the first time).

        Raises:
            ModelError: one line saying why the model cannot be loaded.
        """
        path = weights.resolve_model(self.name, self.model_cache)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars are noise; ours is the only bar
        downloads = weights.downloads_allowed()
        try:
            return SentenceTransformer(path, device=self.device, local_files_only=not downloads)
        except Exception as exc:  # noqa: BLE001 - any loader failure means the same thing to the user
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not Path(path).exists() and not downloads:
                reason = ("not a local model folder, and not in the Hugging Face cache "
                          "(downloads are off; set HF_HUB_OFFLINE=0 to allow them)")
            raise ModelError(f"cannot load embedding model {self.name!r}: {reason}") from exc

    @property
    def dimension(self) -> int:
        """The length of the model's vectors (loads the model)."""
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    @cached_property
    def fingerprint(self) -> str:
        """`rag.index.encoders.weights.fingerprint` of the model (no torch)."""
        return weights.fingerprint(self.name, self.model_cache)

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: Progress = False) -> np.ndarray:
        """Embed texts, longest first in batches (`rag.index.encoders.batches`).

        Args:
            texts: the texts to embed.
            batch_size: texts per batch given to sentence-transformers.
            progress: False, True (a tqdm bar on stderr counting documents) or a function told each batch's
                size.

        Returns:
            An (n, dimension) float32 array of unit-length rows, row i for texts[i].
        """
        with self._lock:  # torch modules are not guaranteed re-entrant across threads
            return encode_by_length(texts, self._encode, dimension=self.dimension, batch_size=batch_size,
                                    progress=progress)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=len(texts), show_progress_bar=False, convert_to_numpy=True,
                                 normalize_embeddings=True)


def gpu_device(device: str) -> str | None:
    """The torch device a rebuild embeds on.

    Args:
        device: the `device` setting ("cpu", "auto", "cuda", "cuda:N").

    Returns:
        "cuda" or "cuda:N", or None for the CPU (the ONNX export). "cpu" imports no torch.

    Raises:
        ModelError: one line, when a GPU is asked for and torch sees none (or not that one).
    """
    if device == "cpu":
        return None
    import torch

    available = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if available else None
    number = int(device.partition(":")[2] or 0)
    if not available or number >= torch.cuda.device_count():
        seen = f"{torch.cuda.device_count()} CUDA device(s)" if available else "no CUDA device"
        raise ModelError(f"device {device!r} (--device or RAG_DEVICE) asks for a GPU, but torch sees {seen} "
                         f"(torch {torch.__version__}, CUDA {torch.version.cuda or 'not built in'}); "
                         "use --device cpu")
    return device


def trace_onnx(encoder: Encoder, path: Path, *, input_names: tuple[str, ...], max_seq_length: int) -> None:
    """Trace the transformer of `encoder`'s model into an ONNX graph whose output is `last_hidden_state`
    (the torch side of `rag.index.encoders.onnx_export`).

    Args:
        encoder: the loaded model to trace.
        path: the model.onnx file to write.
        input_names: the tokenizer outputs the graph takes, in order.
        max_seq_length: the model's token limit (the sample inputs are truncated there).

    Raises:
        ModelError: when the exporter fails, with its first line.
    """
    import warnings

    import torch

    model = encoder.model
    hf_model = model[0].auto_model
    tokenizer = model.tokenizer

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(input_names, inputs, strict=True))).last_hidden_state

    # Eager attention traces into plain MatMul/Softmax that onnxruntime's optimizer fuses into its Attention
    # kernel (issue 9: ~1.15x torch batch throughput, against ~0.85x unfused). Restored afterwards.
    attention = getattr(hf_model.config, "_attn_implementation", None)
    switch = getattr(hf_model, "set_attn_implementation", None)
    sample = tokenizer(["A short question?", "A somewhat longer sentence about the Sino-Soviet split, 1963."],
                       padding=True, truncation=True, max_length=max_seq_length, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in (*input_names, "last_hidden_state")}
    try:
        if switch and attention not in (None, "eager"):
            switch("eager")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's deprecation/trace warnings; the check judges the graph
            torch.onnx.export(LastHiddenState(hf_model).eval(), tuple(sample[n] for n in input_names), str(path),
                              input_names=list(input_names), output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=18, dynamo=False)
    except Exception as exc:  # noqa: BLE001 - any exporter failure means "use torch"
        raise ModelError(f"ONNX export of {encoder.name!r} failed: {str(exc).splitlines()[0]}") from exc
    finally:
        if switch and attention not in (None, "eager"):
            switch(attention)
