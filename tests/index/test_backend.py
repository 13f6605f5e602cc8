"""The backend seam: each searchable part implements its interface in its one-segment and its segmented form,
the segmented form with no delta answers exactly as its base, and the allowed-row filter never loses a row
brute force returns, with a delta and retired rows or without."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.backend import SentenceIndex, VectorIndex, WordIndex
from rag.index.delta import SegmentedSentences, SegmentedVectors
from rag.index.faiss_vectors import FaissVectors
from rag.index.keyword import KeywordIndex
from rag.index.keyword_delta import KeywordDelta, SegmentedKeywordIndex
from rag.index.sentence_vectors import SentenceVectors
from rag.settings import Settings

NONE = np.zeros(0, dtype=np.int64)
TEXTS = ["Soviet envoy in Peking", "Rumania mediates the split", "Test ban treaty signed", "Radio Moscow on the ban"]


def _unit(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, query: np.ndarray, allowed: np.ndarray, floor: float) -> list[int]:
    """The allowed rows above `floor`, best first, by brute force."""
    rows = np.flatnonzero(allowed)
    scores = vectors[rows] @ query
    keep = scores > floor
    return rows[keep][np.argsort(-scores[keep], kind="stable")].tolist()


def _members(protocol) -> list[str]:
    return [name for name in [*vars(protocol), *protocol.__annotations__]
            if not name.startswith("_") or name == "__len__"]


def test_each_part_implements_its_interface_in_both_forms():
    vectors = FaissVectors.build(_unit(20), "Flat")
    sentences = SentenceVectors.assemble([1] * 20, _unit(20, seed=1))
    words = KeywordIndex.build(TEXTS, Settings())
    parts = {VectorIndex: (vectors, vectors.with_delta(_unit(2, seed=2), np.array([3]))),
             SentenceIndex: (sentences, sentences.with_delta(SentenceVectors.assemble([1], _unit(1)), np.array([3]))),
             WordIndex: (words, words.with_delta(["Zanzibar envoy"], np.array([1])))}
    assert isinstance(parts[VectorIndex][1], SegmentedVectors)
    assert isinstance(parts[SentenceIndex][1], SegmentedSentences)
    assert isinstance(parts[WordIndex][1], SegmentedKeywordIndex)
    for protocol, implementations in parts.items():
        for part in implementations:
            missing = [name for name in _members(protocol) if not hasattr(part, name)]
            assert not missing, (type(part).__name__, missing)


@pytest.mark.parametrize("index_type", ["Flat", "HNSW32", "IVF16,Flat"])
def test_a_segmented_index_with_no_delta_answers_as_its_base(index_type):
    base = FaissVectors.build(_unit(600, seed=1), index_type)
    same = base.with_delta(np.zeros((0, 16), dtype=np.float32), NONE)
    mask = np.random.default_rng(2).random(600) < 0.1
    for query in _unit(8, seed=3):
        for allowed in (None, mask, np.flatnonzero(mask)[::-1].copy(), NONE):
            for k, depth in ((None, None), (5, None), (None, 20)):
                a = base.search(query, min_similarity=0.1, k=k, depth=depth, allowed=allowed)
                b = same.search(query, min_similarity=0.1, k=k, depth=depth, allowed=allowed)
                np.testing.assert_array_equal(a.rows, b.rows)
                np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(same.vectors_of(np.array([5, 1])), base.vectors_of(np.array([5, 1])))


@pytest.mark.parametrize("index_type", ["Flat", "HNSW32", "IVF16,Flat"])
@pytest.mark.parametrize("share", [0.02, 0.3, 1.0])
def test_the_allowed_rows_never_lose_a_row_brute_force_returns(index_type, share):
    vectors, extra = _unit(600, seed=4), _unit(30, seed=5)
    plain = FaissVectors.build(vectors, index_type)
    retired = np.arange(0, 600, 7)
    segmented = plain.with_delta(extra, retired)
    every, live = np.vstack([vectors, extra]), np.ones(630, dtype=bool)
    live[retired] = False
    allowed = np.random.default_rng(6).random(630) < share
    for query in _unit(6, seed=7):
        found = segmented.search(query, min_similarity=0.0, allowed=allowed)
        assert found.rows.tolist() == _exact(every, query, allowed & live, 0.0)
        np.testing.assert_allclose(found.scores, every[found.rows] @ query, atol=1e-5)
        assert plain.search(query, min_similarity=0.0, allowed=allowed[:600]).rows.tolist() == _exact(
            vectors, query, allowed[:600], 0.0)
        top = segmented.search(query, min_similarity=0.0, allowed=allowed, k=3).rows.tolist()
        assert top == _exact(every, query, allowed & live, 0.0)[:3]


def test_unrestricted_search_never_returns_a_retired_row_and_finds_the_delta():
    vectors, extra = _unit(600, seed=8), _unit(10, seed=9)
    segmented = FaissVectors.build(vectors, "Flat").with_delta(extra, np.arange(100))
    rows = segmented.search(vectors[5], min_similarity=-1.0).rows
    assert len(rows) == 510 and rows.min() >= 100 and set(range(600, 610)) <= set(rows.tolist())
    assert segmented.search(extra[3], min_similarity=0.5, k=1).rows.tolist() == [603]
    assert segmented.count == 610 and segmented.with_delta(extra[:2], NONE).count == 602  # the delta is replaced


def test_words_segmented_with_no_delta_score_as_the_base():
    base = KeywordIndex.build(TEXTS, Settings())
    same = SegmentedKeywordIndex(base, KeywordDelta.empty(), NONE)
    for question in ("Rumania split", "ban treaty", "nothing here", "Moscow radio ban"):
        assert same.terms(question) == base.terms(question)
        np.testing.assert_array_equal(same.scores(question), base.scores(question))
        mask = np.array([True, False, True, True])
        np.testing.assert_array_equal(same.scores(question, mask), base.scores(question, mask))


def test_words_built_again_for_other_settings_still_never_match_a_retired_row():
    segmented = KeywordIndex.build(TEXTS, Settings()).with_delta(["Rumania mediates again"], np.array([1]))
    rebuilt = segmented.rebuilt([*TEXTS, "Rumania mediates again"], Settings(bm25_b=0.75))
    assert rebuilt.params["b"] == 0.75 and rebuilt.count == segmented.count == 5
    scores = rebuilt.scores("Rumania mediates")
    assert scores[1] == 0 and scores[4] > 0
    assert rebuilt.with_delta(["Peking envoy"], np.array([0])).count == 6  # the base: all five rows


def test_sentences_segmented_with_no_delta_rank_as_the_base():
    base = SentenceVectors.assemble([2, 0, 1, 3], _unit(6, d=4, seed=10))
    same = base.with_delta(SentenceVectors.assemble([], np.zeros((0, 4), dtype=np.float32)), NONE)
    for query in _unit(5, d=4, seed=11):
        a, b = base.search(query, min_similarity=-1.0), same.search(query, min_similarity=-1.0)
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.scores, b.scores)
    assert [len(same.of(row)) for row in range(4)] == [2, 0, 1, 3] and same.splitter == base.splitter
