"""The signals and their fusion (the retriever's own, for an index that does not fuse itself), and the hook for
a backend that does: the retriever asks it instead, and makes hits of what it answers. No model: the index and
the question's vector are made by hand."""

from __future__ import annotations

import numpy as np
from conftest import yearly_documents

from rag.index.backend import Matches, Request
from rag.index.keyword import KeywordIndex, keyword_text
from rag.index.sentence_vectors import SentenceVectors
from rag.index.store import Index
from rag.search.results import Signal
from rag.search.retriever import Retriever
from rag.search.signals import Signals
from rag.settings import Settings

DIMENSION = 8


def _unit(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class _Encoder:
    """Encodes every text as the same unit vector, that of row 4."""

    name, dimension = "fake-model", DIMENSION

    def encode(self, texts, **options):
        return np.repeat(_unit(6)[4:5], len(texts), axis=0)


def _index() -> Index:
    docs = yearly_documents(6)
    counts = [int(bool(d.summary)) for d in docs]  # each summary one sentence, of its document's vector
    return Index.build(docs, _unit(6), sentences=SentenceVectors.assemble(counts, _unit(6)[np.flatnonzero(counts)]),
                       keyword=KeywordIndex.build([keyword_text(d) for d in docs], Settings()))


def test_a_request_runs_the_signals_it_weights_over_its_allowed_rows():
    index = _index()
    signals = Signals(index, index.keyword, Settings(min_similarity=-1.0))
    vector = _unit(6)[4]
    both = signals(Request("Summary 4", vector, {Signal.SEMANTIC: 1.0, Signal.KEYWORD: 0.7}, 3, None, []))
    assert both.rows[0] == 4 and len(both.rows) == 3 and set(both.raw) == {Signal.SEMANTIC, Signal.KEYWORD}
    keyword = both.raw[Signal.KEYWORD]  # "summary" is in rows 1, 2, 4 and 5 (0 and 3 have none), "4" in row 4
    assert set(keyword) <= set(both.rows.tolist()) and max(keyword, key=keyword.get) == 4
    allowed = np.array([True, True, False, False, False, True])
    words = signals(Request("Summary 4", vector, {Signal.KEYWORD: 1.0}, 3, allowed, []))
    assert words.total == 2 and sorted(words.rows.tolist()) == [1, 5] and set(words.raw) == {Signal.KEYWORD}
    sentence = signals(Request("Summary 4", vector, {Signal.SENTENCE: 1.0}, 6, allowed, [5]))
    assert sentence.rows.tolist() == [5, 1] and sentence.total == 2  # the preferred row first


def test_a_backend_that_fuses_itself_is_asked_instead_of_the_retrievers_signals():
    index, asked = _index(), []

    def fused_search(request: Request) -> Matches:
        asked.append(request)
        return Matches(np.array([2, 0]), np.array([1.0, 0.5]), {"keyword": {2: 3.5}, "semantic": {0: 0.4}}, 7)

    index.fused_search = fused_search
    results = Retriever(index, _Encoder(), Settings()).search("What did Title 2 say in 1960-1963?", k=2)
    assert [hit.row for hit in results] == [2, 0] and results.total == 7
    assert results[0].matched == (Signal.KEYWORD,) and results[0].keyword_score == 3.5
    assert results[1].matched == (Signal.SEMANTIC,) and results[1].semantic_score == 0.4
    request = asked[0]
    assert request.k == 2 and set(request.weights) == {Signal.SEMANTIC, Signal.KEYWORD}
    assert request.allowed.tolist() == [True] * 4 + [False] * 2  # the date filter's mask: 1960-1963
    np.testing.assert_array_equal(request.vector, _unit(6)[4])
