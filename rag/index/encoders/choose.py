"""Which encoder turns texts into vectors, for a rebuild or for questions: the one place that decides
between the verified ONNX export and sentence-transformers, and records the choice for the manifest."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ModelError
from rag.index.encoders.onnx_export import find_onnx, onnx_model_for
from rag.index.encoders.onnx_runtime import OnnxEncoder, OnnxSettings
from rag.index.encoders.sentence_transformer import Encoder, gpu_device
from rag.index.encoders.weights import downloads_allowed, resolve_model
from rag.index.manifest import EncoderRecord

if TYPE_CHECKING:
    from rag.index.manifest import Manifest
    from rag.settings import Settings


class Backend(Enum):
    """The library that turns texts into vectors."""

    ONNX = "onnx"
    SENTENCE_TRANSFORMERS = "sentence-transformers"


def fallback_notice(reason: str) -> str:
    """The one line that says sentence-transformers encodes, not ONNX, and why.

    Args:
        reason: why ONNX is not used (an `EncoderRecord.fallback`).

    Returns:
        "using sentence-transformers, not ONNX: <reason>".
    """
    reason = reason.removesuffix("; using sentence-transformers").removesuffix("; not using it")
    return f"using sentence-transformers, not ONNX: {reason}"


def record_of(encoder: Encoder | OnnxEncoder, fallback: str | None = None) -> EncoderRecord:
    """What the manifest says about the encoder that made an index's vectors.

    Args:
        encoder: the encoder.
        fallback: for sentence-transformers, why ONNX was not used (None when a caller chose it).

    Returns:
        Its backend and, for ONNX, the export's folder, fingerprint and checked cosine.
    """
    if isinstance(encoder, OnnxEncoder):
        return EncoderRecord(backend=Backend.ONNX.value, onnx_folder=str(encoder.folder),
                             onnx_fingerprint=encoder.fingerprint, min_cosine=encoder.settings.min_cosine)
    return EncoderRecord(backend=Backend.SENTENCE_TRANSFORMERS.value, fallback=fallback)


@dataclass(frozen=True)
class Choice:
    """The encoder chosen and what the manifest records about it."""

    encoder: Encoder | OnnxEncoder
    record: EncoderRecord

    @property
    def notice(self) -> str | None:
        """`fallback_notice` when sentence-transformers encodes because ONNX could not, else None."""
        return fallback_notice(self.record.fallback) if self.record.fallback else None


def choose(settings: Settings, *, built: Manifest | None = None, questions: bool = False,
           check_texts: Sequence[str] | None = None, log: Callable[[str], None] | None = None) -> Choice:
    """The encoder for `settings.model`.

    The verified ONNX export (from `settings.onnx_cache`; exported and checked against sentence-transformers
    on `check_texts` the first time), else sentence-transformers with the reason in the record's `fallback`.
    A rebuild on a GPU (`settings.device`) uses sentence-transformers there; questions are encoded on the CPU.

    Args:
        settings: model, model_cache, onnx_cache, encoder_threads and, for a rebuild, device.
        built: the manifest of the index the encoder is for, when its model is `settings.model` and still the
            same weights (None for a new index or a full rebuild). If that index's rebuild found ONNX unusable,
            sentence-transformers again (the rebuild keeps the recorded reason); for questions, the export it
            records is used while it still is the one of its weights.
        questions: the encoder answers questions (CPU; the recorded export first) rather than rebuilds.
        check_texts: what a new export is checked on (default `check_texts.CHECK_TEXTS`).
        log: told one line when an export starts.

    Returns:
        The encoder and its record.

    Raises:
        ModelError: when a GPU is asked for and torch sees none (never swallowed into the ONNX fallback).
    """
    model, cache = settings.model, settings.model_cache
    record = built.encoder if built is not None and built.model == model else None
    gpu = None if questions else gpu_device(settings.device)
    if record is not None and record.fallback:
        return Choice(Encoder(model, device=gpu or "cpu", model_cache=cache), record)
    if questions and record is not None and record.onnx_folder:
        try:
            if OnnxSettings.read(Path(record.onnx_folder)).fingerprint == built.model_fingerprint:
                encoder = OnnxEncoder(record.onnx_folder, threads=settings.encoder_threads, name=model)
                return Choice(encoder, record_of(encoder))
        except ModelError:
            pass  # gone from the cache (or damaged): look it up again below
    if gpu is not None:  # onnxruntime here has only its CPU provider; torch runs the model on the GPU
        encoder = Encoder(model, device=gpu, model_cache=cache)
        return Choice(encoder, record_of(encoder))
    try:
        folder = find_onnx(model, settings.onnx_cache, model_cache=cache)
        if folder is None:
            # Not for a model that cannot be found: that is reported as such, without announcing an export.
            if log is not None and (Path(resolve_model(model, cache)).exists() or downloads_allowed()):
                log(f"exporting {model} to ONNX and checking it against sentence-transformers (once per model)")
            folder = onnx_model_for(model, settings.onnx_cache, check_texts=check_texts, model_cache=cache)
        # A rebuild's batches use every core: 150 docs/s at 2 threads vs 75 at 1 (1,500 synthetic documents, 2
        # cores); one question is fastest at `encoder_threads` (1). Torch, too, batches on all cores.
        threads = settings.encoder_threads if questions else max(os.cpu_count() or 1, settings.encoder_threads)
        encoder = OnnxEncoder(folder, threads=threads, name=model)
        return Choice(encoder, record_of(encoder))
    except ModelError as exc:
        encoder = Encoder(model, model_cache=cache)
        return Choice(encoder, record_of(encoder, fallback=str(exc)))
