"""One settings object: defaults, then RAG_* environment variables, then CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.settings import DEFAULT_MODEL, ROOT, Settings


def test_defaults_point_at_the_bundled_corpus_and_model():
    settings = Settings.from_env({})
    assert settings.corpus_dir == ROOT / "corpus"
    assert settings.index_dir == ROOT / "embeddings" / "index"
    assert settings.model == DEFAULT_MODEL
    assert (settings.host, settings.port) == ("127.0.0.1", 7860)


def test_environment_then_flags_override():
    env = {"RAG_CORPUS_DIR": "/data/pages", "RAG_MODEL": "my-model", "RAG_PORT": "8000"}
    settings = Settings.from_env(env, model="flag-model", index_dir=None)
    assert settings.corpus_dir == Path("/data/pages")
    assert settings.model == "flag-model"
    assert settings.port == 8000
    assert settings.index_dir == ROOT / "embeddings" / "index"


def test_bad_port_is_explained():
    with pytest.raises(ValueError, match="port must be a whole number, got 'eighty'"):
        Settings.from_env({"RAG_PORT": "eighty"})
