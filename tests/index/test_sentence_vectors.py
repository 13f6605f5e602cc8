"""Documents ranked by their best summary sentence, on hand-made unit vectors: no model."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.sentence_vectors import SentenceVectors

# Row 0: two sentences; row 1: none (no summary); row 2: three; row 3: one.
VECTORS = np.array([[1, 0], [0, 1], [0.6, 0.8], [-1, 0], [0, 1], [0.8, 0.6]], dtype=np.float32)
OFFSETS = np.array([0, 2, 2, 5, 6])
SENTENCES = SentenceVectors(VECTORS, OFFSETS)
QUERY = np.array([0, 1], dtype=np.float32)
NONE_RETIRED = np.zeros(0, dtype=np.int64)


def test_each_row_scores_its_best_sentence_and_a_row_without_sentences_none():
    best = SENTENCES.best(QUERY)
    assert best[[0, 2, 3]].tolist() == pytest.approx([1.0, 1.0, 0.6]) and np.isnan(best[1])


def test_ranking_best_first_above_the_floor_within_the_allowed_rows():
    rows, scores = SENTENCES.search(QUERY, min_similarity=0.5)
    assert rows.tolist() == [0, 2, 3] and scores.tolist() == pytest.approx([1.0, 1.0, 0.6])
    rows, _ = SENTENCES.search(QUERY, min_similarity=0.7)
    assert rows.tolist() == [0, 2]
    rows, _ = SENTENCES.search(QUERY, min_similarity=0.5, allowed=np.array([False, True, True, True]))
    assert rows.tolist() == [2, 3]


def test_an_index_without_any_sentence_ranks_nothing():
    empty = SentenceVectors(np.zeros((0, 2), dtype=np.float32), np.zeros(3, dtype=np.int64))
    rows, scores = empty.search(QUERY, min_similarity=0.0)
    assert rows.tolist() == [] and scores.tolist() == []


def test_a_delta_segments_rows_follow_the_base_rows():
    delta = SentenceVectors(np.array([[0.0, 1.0]], dtype=np.float32), np.array([0, 1]))
    rows, scores = SENTENCES.with_delta(delta, NONE_RETIRED).search(QUERY, min_similarity=0.5)
    assert rows.tolist() == [0, 2, 4, 3] and scores.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.6])


def test_a_retired_row_is_never_ranked_and_the_delta_rows_sentences_are_read_by_row():
    delta = SentenceVectors(np.array([[0.0, 1.0]], dtype=np.float32), np.array([0, 1]))
    segmented = SENTENCES.with_delta(delta, np.array([2]))  # row 4 supersedes row 2
    rows, _ = segmented.search(QUERY, min_similarity=0.5)
    assert rows.tolist() == [0, 4, 3] and len(segmented) == 5 and segmented.total == 7
    np.testing.assert_array_equal(segmented.of(4), delta.vectors)
    np.testing.assert_array_equal(segmented.of(2), SENTENCES.of(2))  # still readable: only never ranked
