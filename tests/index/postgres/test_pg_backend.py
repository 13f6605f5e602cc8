"""The same answers through PostgreSQL as through FAISS: the eval questions' top 5 in semantic and hybrid mode,
filters that never lose a row exact search returns, staleness against the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.index.postgres.backend import PostgresIndex
from rag.search.retriever import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.slow
EVAL = Path(__file__).resolve().parents[3] / "eval"


def _questions() -> list[str]:
    return [json.loads(line)["question"] for name in ("tune.jsonl", "heldout.jsonl")
            for line in (EVAL / name).read_text(encoding="utf-8").splitlines() if line.strip()]


class _Remembering:
    """The real encoder, each question encoded once for both backends (the encoder, not the backends, is what
    costs here: about 0.3 s a question on this shared machine)."""

    def __init__(self, encoder):
        self._encoder, self._seen = encoder, {}

    def encode(self, texts, **options):
        key = tuple(texts)
        if key not in self._seen:
            self._seen[key] = self._encoder.encode(list(texts), **options)
        return self._seen[key]

    def __getattr__(self, name):
        return getattr(self._encoder, name)


@pytest.fixture(scope="module")
def both(bundled_database, bundled_index, encoder):
    settings, remembering = Settings(), _Remembering(encoder)
    return (Retriever(PostgresIndex.open(bundled_database, settings), remembering, settings),
            Retriever(bundled_index, remembering, settings))


def _top(retriever, question, mode, **options):
    return [hit.doc.id for hit in retriever.search(question, k=5, mode=mode, **options)]


@pytest.mark.parametrize("mode", ["semantic", "hybrid", "keyword"])
def test_every_eval_question_has_the_same_top_5_on_both_backends(both, mode):
    postgres, faiss = both
    questions = _questions()
    assert len(questions) >= 60
    differ = [q for q in questions if _top(postgres, q, mode) != _top(faiss, q, mode)]
    assert differ == []


def test_the_sentence_signal_ranks_the_same(bundled_database, bundled_index, encoder):
    settings = Settings(sentence_weight=0.5)
    postgres = Retriever(PostgresIndex.open(bundled_database, settings), encoder, settings)
    faiss = Retriever(bundled_index, encoder, settings)
    for question in _questions()[:20]:
        assert _top(postgres, question, "hybrid") == _top(faiss, question, "hybrid")


@pytest.mark.parametrize("options", [{"date_from": "1963", "date_to": "1963"}, {"date_from": "1964-03"},
                                     {"date_to": "1963-06"}, {"collections": ["Sino-Soviet Split, 1960-1984"]}])
def test_a_filter_never_loses_a_row_exact_search_returns(both, options):
    postgres, faiss = both
    for question in _questions()[:15]:
        for mode in ("semantic", "hybrid"):
            got = postgres.search(question, k=20, mode=mode, **options)
            want = faiss.search(question, k=20, mode=mode, **options)
            assert [h.doc.id for h in got] == [h.doc.id for h in want]
            assert got.total == want.total


def test_the_vector_search_equals_numpy_exact_search_under_any_mask(both, bundled_index, encoder):
    postgres, _ = both
    query = encoder.encode(["Soviet pressure on Albania"])[0]
    rng = np.random.default_rng(7)
    for _ in range(5):
        mask = rng.random(len(bundled_index)) < 0.5
        scores = bundled_index.vectors @ query
        want = [r for r in np.argsort(-scores, kind="stable") if mask[r] and scores[r] > 0.1]
        found = postgres.index.search(query, min_similarity=0.1, rows=mask)
        assert found.rows.tolist() == want
        np.testing.assert_allclose(found.scores, scores[want], atol=1e-5)


def test_documents_and_arrays_read_at_open_match_the_corpus(both, bundled_corpus, bundled_index):
    postgres = both[0].index
    assert list(postgres.documents) == list(bundled_corpus.documents)
    assert postgres.documents[3] == bundled_corpus.documents[3]
    np.testing.assert_array_equal(postgres.date_spans(), bundled_index.date_spans())
    assert postgres.collections()[0] == bundled_index.collections()[0]
    assert postgres.staleness(bundled_corpus.documents, postgres.manifest.model) == []
    np.testing.assert_array_equal(postgres.sentence_vectors(2), bundled_index.sentence_vectors(2))


def test_staleness_names_the_changed_and_removed_documents(both, bundled_corpus):
    from dataclasses import replace

    postgres = both[0].index
    documents = list(bundled_corpus.documents)
    documents[0] = replace(documents[0], summary="A different summary.")
    removed = documents.pop()
    reasons = postgres.staleness(documents, postgres.manifest.model)
    assert any("1 document changed in the corpus" in r for r in reasons), reasons
    assert any("removed from the corpus" in r and removed.title[:30] in r for r in reasons), reasons
