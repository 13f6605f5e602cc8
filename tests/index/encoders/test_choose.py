"""The choice of encoder: a GPU asked for without one is a one-line error, never the ONNX fallback; the
device setting reaches sentence-transformers."""

from __future__ import annotations

import os

import pytest

from rag.errors import ModelError
from rag.index.encoders.choose import choose
from rag.index.encoders.sentence_transformer import Encoder, gpu_device
from rag.settings import Settings


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_asked_for_without_one_is_a_one_line_model_error():
    assert gpu_device("cpu") is None and gpu_device("auto") is None
    with pytest.raises(ModelError, match=r"^device 'cuda' \(--device or RAG_DEVICE\) asks for a GPU, but torch "
                                         r"sees no CUDA device \(torch .*\); use --device cpu$") as caught:
        choose(Settings(device="cuda"))  # not swallowed into the ONNX fallback
    assert caught.value.exit_code == 5 and len(caught.value.line().splitlines()) == 1


def test_the_device_setting_reaches_sentence_transformers(monkeypatch):
    import sentence_transformers
    import torch

    made = []

    class FakeSentenceTransformer:
        def __init__(self, path, device=None, **options):
            made.append(device)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", FakeSentenceTransformer)
    chosen = choose(Settings(device="cuda:1"))
    encoder, record = chosen.encoder, chosen.record
    assert type(encoder) is Encoder and encoder.device == "cuda:1"
    assert record.backend == "sentence-transformers" and record.fallback is None
    encoder.model  # noqa: B018 - loading the model is what is tested
    assert made == ["cuda:1"]
    assert choose(Settings(device="auto")).encoder.device == "cuda"


@pytest.mark.slow
def test_questions_are_encoded_on_encoder_threads_and_a_rebuild_on_every_core(tmp_path):
    # Serving without the export its index records (gone from the cache) looks the export up again: it used to
    # get the rebuild's thread count, where one question encodes fastest on `encoder_threads`.
    settings = Settings(encoder_threads=1)
    assert choose(settings, questions=True).encoder.threads == 1
    assert choose(settings).encoder.threads == max(os.cpu_count() or 1, 1)
