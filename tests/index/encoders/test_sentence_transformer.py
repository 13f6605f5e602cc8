"""The sentence-transformers encoder: the real bundled model, offline; unit-length float32 rows; our progress
bar; clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from rag.errors import ModelError
from rag.index.encoders.sentence_transformer import Encoder


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HF_HUB_OFFLINE", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


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
        "from rag.errors import ModelError\nfrom rag.index.encoders.sentence_transformer import Encoder\n"
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
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=f"cannot load embedding model '{tmp_path}'"):
        _ = Encoder(str(tmp_path)).dimension
