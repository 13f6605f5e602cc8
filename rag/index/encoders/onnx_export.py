"""A model's ONNX export: made once (torch, through `sentence_transformer`), checked against
sentence-transformers, and cached under its weights fingerprint so every index of that model shares it.

Finding a cached export (`find_onnx`) imports no torch; only making one does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ModelError
from rag.index.encoders import onnx_runtime, weights
from rag.index.encoders.check_texts import CHECK_TEXTS
from rag.index.encoders.onnx_runtime import META_FILE, OnnxEncoder, OnnxSettings
from rag.index.encoders.sentence_transformer import Encoder, trace_onnx

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: An export is used only if every vector it gives is this close to sentence-transformers' (cosine). fp32
#: onnxruntime matched within 2.4e-7 (issue 9) while int8 quantisation, which reorders results, gave 0.971:
#: 1e-4 accepts float rounding and rejects any change of arithmetic that could move a ranking.
MIN_COSINE = 0.9999


def export_onnx(model_name_or_path: str, folder: str | Path, *, check_texts: Sequence[str] | None = None,
                model_cache: Path | None = None) -> Path:
    """Export a sentence-transformers model whose pipeline is Transformer + Pooling(mean) [+ Normalize], for
    `rag.index.encoders.onnx_runtime.OnnxEncoder`. Atomic: the folder appears complete or not at all.

    Args:
        model_name_or_path: the model.
        folder: where the export goes (model.onnx, tokenizer.json, onnx.json); an older export there is
            replaced.
        check_texts: when given, the export is kept only if its vectors match torch's on them (`MIN_COSINE`).
        model_cache: where a split pip model is unpacked (`Settings.model_cache`).

    Returns:
        `folder`.

    Raises:
        ModelError: saying why (another pooling, a failed export or check).
    """
    import shutil
    import uuid

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_exports(folder)
    temp = folder.parent / f".{folder.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        encoder = Encoder(model_name_or_path, model_cache=model_cache)
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

    model = encoder.model
    pooling = _check_pipeline(model)
    transformer = model[0]
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False) or tokenizer.pad_token_id is None:
        raise ModelError(f"ONNX export of {encoder.name!r} is not supported: it needs a fast tokenizer with a "
                         "padding token")
    input_names = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids")
                        if n in tokenizer.model_input_names)
    max_seq_length = int(model.max_seq_length or tokenizer.model_max_length)
    trace_onnx(encoder, folder / onnx_runtime.MODEL_FILE, input_names=input_names, max_seq_length=max_seq_length)
    config = transformer.auto_model.config
    optimized = bool(getattr(config, "num_attention_heads", None) and getattr(config, "hidden_size", None)) and \
        onnx_runtime.optimize(folder / onnx_runtime.MODEL_FILE, num_heads=config.num_attention_heads,
                              hidden_size=config.hidden_size)
    onnx_runtime.save_tokenizer(tokenizer.backend_tokenizer.to_str(), folder / onnx_runtime.TOKENIZER_FILE,
                                max_seq_length=max_seq_length, pad_id=int(tokenizer.pad_token_id),
                                pad_token=str(tokenizer.pad_token))
    versions = {name: metadata.version(name) for name in
                ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime", "tokenizers")}
    settings = OnnxSettings(
        model=encoder.name, fingerprint=encoder.fingerprint, dimension=encoder.dimension,
        max_seq_length=max_seq_length, pad_id=int(tokenizer.pad_token_id), pad_token=str(tokenizer.pad_token),
        input_names=input_names, pooling=pooling, do_lower_case=bool(getattr(transformer, "do_lower_case", False)),
        optimized=optimized, model_files=weights.weights_signature(encoder.name, encoder.model_cache),
        versions=versions)
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


def verify(folder: str | Path, texts: Sequence[str], *, reference: Encoder) -> float:
    """How close the ONNX export in `folder` encodes to sentence-transformers.

    Args:
        folder: the export.
        texts: what both encode (at least one text).
        reference: the sentence-transformers encoder of the export's model.

    Returns:
        The smallest cosine between the two encoders' vectors over `texts`: 1.0 means identical directions.

    Raises:
        ModelError: when `texts` is empty or the export cannot be loaded.
    """
    onnx_encoder = OnnxEncoder(folder, threads=1)  # a check, once per model: its speed is not the point
    texts = list(texts)
    if not texts:
        raise ModelError("verifying an ONNX export needs at least one text")
    cosines = (onnx_encoder.encode(texts) * reference.encode(texts)).sum(axis=1)
    return float(cosines.min())


def onnx_model_for(model_name: str, cache_dir: Path | str, *, check_texts: Sequence[str] | None = None,
                   model_cache: Path | None = None) -> Path:
    """A verified ONNX export of `model_name`, exported and checked (torch needed) only the first time; later
    calls import no torch.

    Args:
        model_name: the model.
        cache_dir: the export cache (`Settings.onnx_cache`): the export is `cache_dir/<weights fingerprint>/`,
            so indexes of the same model share it.
        check_texts: what a new export is checked on (default `check_texts.CHECK_TEXTS`).
        model_cache: where a split pip model is unpacked (`Settings.model_cache`).

    Returns:
        The export's folder.

    Raises:
        ModelError: with the reason, when the export or its check fails.
    """
    cache = Path(cache_dir).expanduser()
    found = find_onnx(model_name, cache, model_cache=model_cache)
    if found is not None:
        return found
    return export_onnx(model_name, cache / weights.fingerprint(model_name, model_cache),
                       check_texts=CHECK_TEXTS if check_texts is None else check_texts, model_cache=model_cache)


def find_onnx(model_name: str, cache_dir: Path | str, *, model_cache: Path | None = None) -> Path | None:
    """The cached export of `model_name`; never exports. An export whose recorded weight-file sizes and times
    equal the model's is found without hashing ~90 MB of weights (serving start-up and rebuilds pay
    milliseconds); otherwise the weights are hashed once and the new signature recorded.

    Args:
        model_name: the model.
        cache_dir: the export cache (`Settings.onnx_cache`).
        model_cache: where a split pip model is unpacked (`Settings.model_cache`).

    Returns:
        The export's folder, or None when the cache has none for these weights.
    """
    cache = Path(cache_dir).expanduser()
    signature = weights.weights_signature(model_name, model_cache)
    if signature and cache.is_dir():
        for meta in sorted(cache.glob(f"*/{META_FILE}")):
            try:
                settings = OnnxSettings.read(meta.parent)
            except ModelError:
                continue  # a damaged export is never used; the full lookup below may replace it
            if settings.model_files == signature and settings.fingerprint == meta.parent.name:
                return meta.parent
    folder = cache / weights.fingerprint(model_name, model_cache)
    try:
        settings = OnnxSettings.read(folder)
    except ModelError:
        return None
    if signature and settings.model_files != signature:
        with contextlib.suppress(OSError):  # a read-only cache still works, at the cost of hashing
            replace(settings, model_files=signature).write(folder)  # the next lookup is cheap again
    return folder
