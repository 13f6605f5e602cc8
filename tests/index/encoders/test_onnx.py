"""The ONNX encoder: exported from the real bundled model, same vectors as sentence-transformers, no torch
when serving, unsupported pipelines refused, exports all-or-nothing, safe across threads."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from rag.errors import ModelError
from rag.index.encoders import onnx_export, weights
from rag.index.encoders.onnx_export import MIN_COSINE, export_onnx, find_onnx, onnx_model_for, verify
from rag.index.encoders.onnx_runtime import META_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxEncoder, OnnxSettings
from rag.index.encoders.weights import resolve_model, weights_signature
from rag.settings import DEFAULT_MODEL

pytestmark = pytest.mark.slow

MIXED = ["Mao", "Khrushchev's letter to Mao about the withdrawal of Soviet specialists, July 1960",
         "?", "Беседа Н. С. Хрущева с Мао Цзэдуном", "the " * 40 + "end",
         "Telegram from the Hungarian Embassy in Beijing on the Cultural Revolution and Red Guards"]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_folder(onnx_cache) -> Path:
    """The bundled model exported and checked once, through the fingerprint cache."""
    return onnx_model_for(DEFAULT_MODEL, onnx_cache)


@pytest.fixture(scope="session")
def onnx_encoder(onnx_folder) -> OnnxEncoder:
    return OnnxEncoder(onnx_folder, threads=1)


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).min())


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_export_writes_the_model_tokenizer_and_settings_under_the_weights_fingerprint(onnx_folder, encoder):
    assert onnx_folder.name == encoder.fingerprint
    assert sorted(p.name for p in onnx_folder.iterdir()) == sorted([MODEL_FILE, TOKENIZER_FILE, META_FILE])
    settings = OnnxSettings.read(onnx_folder)
    assert (settings.model, settings.fingerprint, settings.dimension) == (DEFAULT_MODEL, encoder.fingerprint, 384)
    assert settings.max_seq_length == json.loads(
        (Path(resolve_model(DEFAULT_MODEL)) / "sentence_bert_config.json").read_text())["max_seq_length"] == 256
    assert settings.pooling == "mean" and settings.optimized and settings.min_cosine >= MIN_COSINE
    assert {"torch", "onnxruntime", "tokenizers"} <= set(settings.versions)
    assert [p.name for p in onnx_folder.parent.iterdir()] == [onnx_folder.name]  # no temp folder left


def test_vectors_equal_sentence_transformers_on_the_bundled_corpus(onnx_encoder, encoder, bundled_corpus):
    texts = [doc.embedding_text for doc in bundled_corpus.documents]
    vectors = onnx_encoder.encode(texts, batch_size=8)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert _min_cosine(vectors, encoder.encode(texts)) >= MIN_COSINE
    assert (onnx_encoder.name, onnx_encoder.dimension, onnx_encoder.fingerprint) == \
        (encoder.name, encoder.dimension, encoder.fingerprint)


def test_a_text_past_256_tokens_is_truncated_like_sentence_transformers(onnx_encoder, encoder):
    long = " ".join(f"paragraph {i}: the delegation discussed trade, borders and ideology." for i in range(60))
    assert len(encoder.model.tokenizer(long)["input_ids"]) > 256
    # Truncated at 256, not at the tokenizer file's 128: a text differing only after token 200 moves.
    changed = long[:1200] + " completely different words about the nuclear test ban " * 30
    ours, theirs = onnx_encoder.encode([long, changed]), encoder.encode([long, changed])
    assert _min_cosine(ours, theirs) >= MIN_COSINE
    assert float(ours[0] @ ours[1]) < 0.999


def test_a_batch_of_mixed_lengths_matches_and_pads_without_changing_vectors(onnx_encoder, encoder):
    batched = onnx_encoder.encode(MIXED, batch_size=64)
    one_by_one = np.vstack([onnx_encoder.encode([text]) for text in MIXED])
    assert _min_cosine(batched, encoder.encode(MIXED)) >= MIN_COSINE
    assert _min_cosine(batched, one_by_one) >= MIN_COSINE
    assert onnx_encoder.encode([]).shape == (0, 384)


def test_verify_reports_the_smallest_cosine(onnx_folder, encoder):
    assert MIN_COSINE <= verify(onnx_folder, MIXED, reference=encoder) <= 1.0 + 1e-6


def test_serving_from_the_cache_imports_neither_torch_nor_sentence_transformers(onnx_folder, onnx_cache):
    result = _python(
        "import sys, json\n"
        "from rag.index.encoders.onnx_export import onnx_model_for\n"
        "from rag.index.encoders.onnx_runtime import OnnxEncoder\n"
        f"folder = onnx_model_for({DEFAULT_MODEL!r}, {str(onnx_cache)!r})\n"
        "vectors = OnnxEncoder(folder, threads=1).encode(['Romania and the split', 'Mao'], progress=True)\n"
        "print(json.dumps([str(folder), vectors.shape, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'sentence_transformers', 'transformers'))]))")
    assert result.returncode == 0, result.stderr
    folder, shape, heavy = json.loads(result.stdout)
    assert (Path(folder), shape, heavy) == (onnx_folder, [2, 384], [])
    assert "embedding" in result.stderr  # the progress bar, on stderr like Encoder's


def test_concurrent_encodes_from_four_threads_give_the_same_vectors(onnx_encoder):
    texts = MIXED * 5
    expected = onnx_encoder.encode(texts, batch_size=4)
    results, errors = [None] * 4, []

    def run(slot: int) -> None:
        try:
            results[slot] = [onnx_encoder.encode(texts, batch_size=4) for _ in range(3)]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for runs in results:
        for vectors in runs:
            np.testing.assert_array_equal(vectors, expected)


def _model_copy(tmp_path: Path, pooling: dict) -> Path:
    """The bundled model's folder with its own pooling config; large files are linked, not copied."""
    source, copy = Path(resolve_model(DEFAULT_MODEL)), tmp_path / "model"
    shutil.copytree(source, copy, copy_function=lambda s, d: os.symlink(s, d) if s.endswith(".safetensors")
                    else shutil.copy2(s, d))
    (copy / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return copy


def test_a_model_with_cls_pooling_is_refused_and_nothing_is_written(tmp_path):
    model = _model_copy(tmp_path, {"word_embedding_dimension": 384, "pooling_mode_cls_token": True,
                                   "pooling_mode_mean_tokens": False})
    out = tmp_path / "exports"
    with pytest.raises(ModelError, match="ONNX is not supported for 'cls' pooling"):
        export_onnx(str(model), out / "cls")
    assert list(out.iterdir()) == []


def test_a_failed_check_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_export, "MIN_COSINE", 1.5)  # no export can pass this
    with pytest.raises(ModelError, match="differs from sentence-transformers"):
        onnx_model_for(DEFAULT_MODEL, tmp_path, check_texts=MIXED)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_export_leaves_no_half_folder_and_the_next_one_succeeds(tmp_path):
    target = tmp_path / "exports" / "model"
    # The child stops for good after model.onnx is written, inside the optimizer step; then it is killed.
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom rag.index.encoders import onnx_runtime\n"
         "def stall(path, **kw):\n    print('stalled', flush=True)\n    time.sleep(600)\n"
         "onnx_runtime.optimize = stall\nfrom rag.index.encoders.onnx_export import export_onnx\n"
         f"export_onnx({DEFAULT_MODEL!r}, {str(target)!r})\n"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline().strip() == "stalled"
        partial = [p for p in target.parent.iterdir() if (p / MODEL_FILE).exists()]
        assert partial and all(p.name.startswith(".") for p in partial)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert not target.exists()
    assert (export_onnx(DEFAULT_MODEL, target) / META_FILE).is_file()
    assert [p.name for p in target.parent.iterdir()] == ["model"]  # the dead export's temp folder is swept
    OnnxEncoder(target, threads=1).encode(["after the crash"])


def test_the_cache_finds_an_unchanged_model_without_hashing_its_weights(onnx_folder, onnx_cache, tmp_path,
                                                                        monkeypatch):
    copy = tmp_path / "model"
    shutil.copytree(resolve_model(DEFAULT_MODEL), copy)
    os.utime(copy / "config.json", ns=(1, 1))  # same bytes, other time: the signature differs, the hash not
    assert find_onnx(str(copy), onnx_cache) == onnx_folder  # found by hashing, once
    assert OnnxSettings.read(onnx_folder).model_files == weights_signature(str(copy))

    def no_hashing(*args, **kwargs):
        raise AssertionError("the weights were hashed")

    monkeypatch.setattr(weights, "fingerprint", no_hashing)
    assert find_onnx(str(copy), onnx_cache) == onnx_folder
    assert onnx_model_for(str(copy), onnx_cache) == onnx_folder
