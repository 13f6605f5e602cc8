"""One settings object: defaults, then RAG_* environment variables, then CLI flags."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import pytest

from rag.errors import QueryError, SettingsError
from rag.settings import (
    DEFAULT_K,
    DEFAULT_MODEL,
    ENV_VARS,
    README_TABLE,
    ROOT,
    Settings,
    settings_help,
    settings_table,
)


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
    with pytest.raises(ValueError, match=r"^setting port \(RAG_PORT\): must be a whole number, got 'eighty'$"):
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
    ({"RAG_RRF_K": "two"}, r"^setting rrf_k \(RAG_RRF_K\): must be a whole number, got 'two'$"),
    ({"RAG_RRF_K": "-1"}, r"^setting rrf_k \(RAG_RRF_K\): must be at least 0, got -1$"),
    ({"RAG_FUSION_DEPTH": "2.5"}, r"^setting fusion_depth \(RAG_FUSION_DEPTH\): must be a whole number, got '2.5'$"),
    ({"RAG_DEVICE": "gpu"}, r"^setting device \(RAG_DEVICE\): must be one of cpu, cuda, cuda:N \(a GPU number\), auto, "
                            r"got 'gpu'$"),
    ({"RAG_KEYWORD_WEIGHT": "0"}, r"^setting keyword_weight \(RAG_KEYWORD_WEIGHT\): must be greater than 0 \(use a "
                                  r"search mode to leave a signal out\), got 0.0$"),
    ({"RAG_SEMANTIC_WEIGHT": "nan"}, r"^setting semantic_weight \(RAG_SEMANTIC_WEIGHT\): must be a finite number, "
                                     r"got 'nan'$"),
    ({"RAG_MIN_SIMILARITY": "1.5"}, r"^setting min_similarity \(RAG_MIN_SIMILARITY\): must be a cosine between -1 "
                                    r"and 1, got 1.5$"),
    ({"RAG_BM25_B": "2"}, r"^setting bm25_b \(RAG_BM25_B\): must be between 0 and 1, got 2.0$"),
    ({"RAG_BM25_METHOD": "tfidf"}, r"^setting bm25_method \(RAG_BM25_METHOD\): must be one of robertson, atire, "
                                   r"bm25l, bm25\+, lucene, got 'tfidf'$"),
    ({"RAG_MAX_K": "0"}, r"^setting max_k \(RAG_MAX_K\): must be at least 1, got 0$"),
    ({"RAG_CHAT_MAX_K": "2000"}, r"^setting chat_max_k \(RAG_CHAT_MAX_K\): must be at most max_k \(1000\), got 2000$"),
    ({"RAG_CHAT_K": "60"}, r"^setting chat_k \(RAG_CHAT_K\): must be at most chat_max_k \(50\), got 60$"),
    ({"RAG_CONCURRENCY": "0"}, r"^setting concurrency \(RAG_CONCURRENCY\): must be at least 1, got 0$"),
    ({"RAG_PORT": "70000"}, r"^setting port \(RAG_PORT\): must be at most 65535, got 70000$"),
    ({"RAG_SENTENCE_WEIGHT": "-1"}, r"^setting sentence_weight \(RAG_SENTENCE_WEIGHT\): must be at least 0 \(0 "
                                    r"leaves the sentence signal out\), got -1.0$"),
    ({"RAG_MODERN_NAMES": "maybe"}, r"^setting modern_names \(RAG_MODERN_NAMES\): must be one of 1, true, yes, on, "
                                    r"0, false, no, off, got 'maybe'$"),
])
def test_bad_values_name_the_setting_its_variable_and_what_is_allowed(env, message):
    with pytest.raises(SettingsError, match=message) as raised:
        Settings.from_env(env)
    assert raised.value.exit_code == 2 and not isinstance(raised.value, QueryError)  # a setting, not a question


def test_values_are_checked_however_settings_are_made():
    with pytest.raises(SettingsError, match=r"^setting rrf_k \(RAG_RRF_K\): must be a whole number, got True$"):
        Settings(rrf_k=True)
    with pytest.raises(SettingsError, match=r"^setting bm25_k1 \(RAG_BM25_K1\): must be a number, got None$"):
        Settings(bm25_k1=None)
    assert Settings(max_k="20", chat_max_k=20).max_k == 20


def test_one_default_k_for_search_chat_and_command_line():
    from rag.chat.answer import Searcher
    from rag.cli_search import add_shared_search_arguments
    from rag.search.retriever import Retriever

    assert DEFAULT_K == Settings().chat_k == 10
    assert inspect.signature(Retriever.search).parameters["k"].default == DEFAULT_K
    assert inspect.signature(Searcher.search).parameters["k"].default == DEFAULT_K
    parser = argparse.ArgumentParser()
    add_shared_search_arguments(parser, "how many hits")
    assert parser.parse_args([]).k == str(DEFAULT_K)


def test_every_setting_has_help_and_is_in_the_table_and_the_help_text():
    table, text = settings_table(), settings_help()
    assert len(table.splitlines()) == 2 + len(ENV_VARS)
    for name, var in ENV_VARS.items():
        assert f"| `{name}` | `{var}` |" in table and f"\n  {var} " in text
    assert "| `port` | `RAG_PORT` | 7860 | " in table and "| `modern_names` | `RAG_MODERN_NAMES` | on | " in table
    assert str(Path.home()) not in table  # defaults under the home folder are shown as ~/..., not this machine's
    assert "RAG_CORPUS_DIR" in text and "(default corpus/)" in text and "`" not in text


def test_readme_table_matches_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = README_TABLE
    assert readme.count(start) == 1 and readme.count(end) == 1, f"README.md needs the markers {start} ... {end}"
    shown = readme.partition(start)[2].partition(end)[0].strip()
    assert shown == settings_table(), "README.md's settings table is out of date: run `python -m rag.settings --readme`"
