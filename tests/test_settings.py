"""One settings object: defaults, then RAG_* environment variables, then CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import QueryError
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


def test_search_and_chat_defaults_are_the_measured_ones():
    s = Settings()
    assert (s.rrf_k, s.semantic_weight, s.keyword_weight, s.min_similarity, s.fusion_depth) == (2, 1.0, 0.7, 0.2, 200)
    assert (s.bm25_method, s.bm25_k1, s.bm25_b) == ("bm25+", 1.5, 0.3)
    assert (s.chat_k, s.chat_max_k, s.concurrency, s.max_k) == (10, 50, 4, 1000)
    assert s.weights == {"semantic": 1.0, "keyword": 0.7, "sentence": 0.0}  # sentence signal off: eval/README.md
    assert s.modern_names is True


def test_every_setting_has_its_environment_variable():
    env = {"RAG_RRF_K": "60", "RAG_SEMANTIC_WEIGHT": "0.5", "RAG_KEYWORD_WEIGHT": "1", "RAG_MIN_SIMILARITY": "0.3",
           "RAG_FUSION_DEPTH": "50", "RAG_BM25_METHOD": "Lucene", "RAG_BM25_K1": "1.2", "RAG_BM25_B": "0.75",
           "RAG_MAX_K": "100", "RAG_CHAT_K": "5", "RAG_CHAT_MAX_K": "20",
           "RAG_CONCURRENCY": "2", "RAG_HOST": "0.0.0.0", "RAG_SENTENCE_WEIGHT": "1.5", "RAG_MODERN_NAMES": "off"}
    s = Settings.from_env(env)
    assert (s.rrf_k, s.semantic_weight, s.keyword_weight, s.min_similarity, s.fusion_depth) == (60, 0.5, 1.0, 0.3, 50)
    assert (s.bm25_method, s.bm25_k1, s.bm25_b) == ("lucene", 1.2, 0.75)
    assert (s.max_k, s.chat_k, s.chat_max_k, s.concurrency, s.host) == (100, 5, 20, 2, "0.0.0.0")
    assert (s.sentence_weight, s.modern_names, s.weights["sentence"]) == (1.5, False, 1.5)


@pytest.mark.parametrize(("env", "message"), [
    ({"RAG_RRF_K": "two"}, r"^rrf_k must be a whole number, got 'two' \(environment variable RAG_RRF_K\)$"),
    ({"RAG_RRF_K": "-1"}, "rrf_k must be at least 0, got -1"),
    ({"RAG_FUSION_DEPTH": "2.5"}, "fusion_depth must be a whole number, got '2.5'"),
    ({"RAG_DEVICE": "gpu"}, r"^device must be one of cpu, cuda, cuda:N \(a GPU number\), auto, got 'gpu'"),
    ({"RAG_KEYWORD_WEIGHT": "0"}, r"keyword_weight must be greater than 0 \(use a search mode"),
    ({"RAG_SEMANTIC_WEIGHT": "nan"}, "semantic_weight must be a finite number"),
    ({"RAG_MIN_SIMILARITY": "1.5"}, "min_similarity must be a cosine between -1 and 1, got 1.5"),
    ({"RAG_BM25_B": "2"}, "bm25_b must be between 0 and 1"),
    ({"RAG_BM25_METHOD": "tfidf"}, "bm25_method must be one of robertson, atire, bm25l, bm25\\+, lucene, got 'tfidf'"),
    ({"RAG_MAX_K": "0"}, "max_k must be at least 1"),
    ({"RAG_CHAT_MAX_K": "2000"}, r"chat_max_k must be at most max_k \(1000\), got 2000"),
    ({"RAG_CHAT_K": "60"}, r"chat_k must be at most chat_max_k \(50\), got 60"),
    ({"RAG_CONCURRENCY": "0"}, "concurrency must be at least 1, got 0 .*RAG_CONCURRENCY"),
    ({"RAG_PORT": "70000"}, "port must be at most 65535"),
    ({"RAG_SENTENCE_WEIGHT": "-1"}, r"sentence_weight must be at least 0 \(0 leaves the sentence signal out\)"),
    ({"RAG_MODERN_NAMES": "maybe"}, "modern_names must be one of 1, true, yes, on, 0, false, no, off, got 'maybe'"),
])
def test_bad_values_name_the_setting_its_variable_and_what_is_allowed(env, message):
    with pytest.raises(QueryError, match=message):
        Settings.from_env(env)


def test_values_are_checked_however_settings_are_made():
    with pytest.raises(QueryError, match="rrf_k must be a whole number, got True"):
        Settings(rrf_k=True)
    with pytest.raises(QueryError, match="bm25_k1 must be a number, got None"):
        Settings(bm25_k1=None)
    assert Settings(max_k="20", chat_max_k=20).max_k == 20
