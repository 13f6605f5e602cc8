"""A model's weights: both names of the default model find the bundled copy; the fingerprint hashes them
without torch; the signature lists them cheaply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from rag.index.encoders.sentence_transformer import Encoder
from rag.index.encoders.weights import resolve_model, weight_files, weights_signature
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
    result = _python("import sys, json; from rag.index.encoders.sentence_transformer import Encoder\n"
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
