"""The encoder: the real bundled model, offline; unit-length float32 rows; clear errors; cheap fingerprint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from rag.index.encoder import Encoder, resolve_model, weight_files, weights_signature
from rag.settings import DEFAULT_MODEL


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HF_HUB_OFFLINE", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_both_names_of_the_default_model_resolve_to_the_bundled_copy():
    path = Path(resolve_model(DEFAULT_MODEL))
    assert path == Path(resolve_model("all-MiniLM-L6-v2"))
    assert (path / "model.safetensors").is_file()
    assert resolve_model("/some/local/model") == "/some/local/model"


def test_fingerprint_hashes_weights_without_importing_torch():
    result = _python("import sys, json; from rag.index.encoder import Encoder\n"
                     "e = Encoder(); print(json.dumps([e.fingerprint, sorted(m for m in sys.modules "
                     "if m.split('.')[0] in ('torch', 'sentence_transformers', 'transformers'))]))")
    fingerprint, heavy = json.loads(result.stdout)
    assert heavy == [] and len(fingerprint) == 16
    assert fingerprint == Encoder().fingerprint != Encoder("some-other-model").fingerprint


def test_weights_signature_lists_the_weight_files():
    signature = weights_signature(DEFAULT_MODEL)
    assert "model.safetensors" in signature and signature["model.safetensors"][0] > 10_000_000
    assert len(signature) == len(weight_files(DEFAULT_MODEL))
    assert weights_signature("not-a-local-model") == {}


@pytest.mark.slow
def test_vectors_are_unit_length_float32_of_the_model_dimension(encoder):
    vectors = encoder.encode(["Khrushchev and Mao", "Border clashes on the Ussuri", "x"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, encoder.dimension) == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) < 0.99


@pytest.mark.slow
def test_progress_bar_is_ours_on_stderr_and_changes_nothing(encoder, capsys):
    texts = [f"Cable number {i} on the Sino-Soviet split" + " and more" * (i % 7) for i in range(70)]
    quiet = encoder.encode(texts, batch_size=16)
    shown = encoder.encode(texts, batch_size=16, progress=True)
    captured = capsys.readouterr()
    assert "embedding" in captured.err and "70/70" in captured.err and captured.out == ""
    np.testing.assert_allclose(shown, quiet, atol=1e-5)


@pytest.mark.slow
def test_loads_offline_and_a_bad_name_fails_clearly_without_network():
    # Every socket connection raises: loading the bundled model must not need one, and an unknown
    # model name must fail fast with a message naming it.
    result = _python(
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "from rag.index.encoder import Encoder, ModelError\n"
        "print(Encoder().encode(['test ban treaty']).shape)\n"
        "try:\n    Encoder('no-such-org/no-such-model').dimension\n"
        "except ModelError as exc:\n    print('ModelError:', exc)\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "(1, 384)"
    assert lines[1] == ("ModelError: cannot load embedding model 'no-such-org/no-such-model': not a local model "
                        "folder, and not in the Hugging Face cache (downloads are off; set HF_HUB_OFFLINE=0 to "
                        "allow them)")


@pytest.mark.slow
def test_a_folder_that_is_not_a_model_fails_with_model_error(tmp_path):
    from rag.index.encoder import ModelError

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=f"cannot load embedding model '{tmp_path}'"):
        _ = Encoder(str(tmp_path)).dimension


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_asked_for_without_one_is_a_one_line_model_error():
    from rag.index.encoder import ModelError, gpu_device, rebuild_encoder
    from rag.settings import Settings

    assert gpu_device("cpu") is None and gpu_device("auto") is None
    with pytest.raises(ModelError, match=r"^device 'cuda' \(--device or RAG_DEVICE\) asks for a GPU, but torch "
                                         r"sees no CUDA device \(torch .*\); use --device cpu$") as caught:
        rebuild_encoder(Settings(device="cuda"))  # not swallowed into the ONNX fallback
    assert caught.value.exit_code == 5 and len(caught.value.line().splitlines()) == 1


def test_the_device_setting_reaches_sentence_transformers(monkeypatch):
    import sentence_transformers
    import torch

    from rag.index.encoder import rebuild_encoder
    from rag.settings import Settings

    made = []

    class FakeSentenceTransformer:
        def __init__(self, path, device=None, **options):
            made.append(device)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", FakeSentenceTransformer)
    encoder, record = rebuild_encoder(Settings(device="cuda:1"))
    assert type(encoder) is Encoder and encoder.device == "cuda:1"
    assert record.backend == "sentence-transformers" and record.fallback is None
    encoder.model  # noqa: B018 - loading the model is what is tested
    assert made == ["cuda:1"]
    assert rebuild_encoder(Settings(device="auto"))[0].device == "cuda"
