"""Weighted reciprocal rank fusion on hand-made rankings: no model, no index."""

from __future__ import annotations

import pytest

from rag.search.fusion import fuse

WEIGHTS = {"semantic": 1.0, "keyword": 0.7}


def test_rrf_arithmetic_and_normalisation():
    fused = fuse({"semantic": [3, 1, 2], "keyword": [1, 3]}, WEIGHTS, rrf_k=2, k=10, depth=200)
    raw = {3: 1.0 / 3 + 0.7 / 4, 1: 1.0 / 4 + 0.7 / 3, 2: 1.0 / 5}
    best = (1.0 + 0.7) / 3
    assert fused.rows.tolist() == [3, 1, 2]
    assert fused.scores.tolist() == pytest.approx([raw[3] / best, raw[1] / best, raw[2] / best])


def test_first_in_every_signal_scores_one():
    fused = fuse({"semantic": [4, 0], "keyword": [4]}, WEIGHTS, rrf_k=60, k=1, depth=200)
    assert fused.rows.tolist() == [4] and fused.scores.tolist() == pytest.approx([1.0])


def test_the_weights_decide_between_the_signals():
    rankings = {"semantic": [0, 1], "keyword": [1, 2, 3, 0]}
    assert fuse(rankings, WEIGHTS, rrf_k=2, k=1, depth=200).rows.tolist() == [1]  # 1/4+.7/3 > 1/3+.7/6
    weights = {"semantic": 1.0, "keyword": 0.2}
    assert fuse(rankings, weights, rrf_k=2, k=1, depth=200).rows.tolist() == [0]


def test_k_cuts_the_list():
    fused = fuse({"keyword": [5, 6, 7, 8]}, WEIGHTS, rrf_k=2, k=2, depth=200)
    assert fused.rows.tolist() == [5, 6]


def test_rows_below_the_depth_do_not_score():
    fused = fuse({"semantic": [0, 1, 2], "keyword": [2]}, WEIGHTS, rrf_k=2, k=10, depth=1)
    assert fused.rows.tolist() == [0, 2]  # row 1 is only below the depth
    assert fused.scores.tolist() == pytest.approx([(1.0 / 3) / (1.7 / 3), (0.7 / 3) / (1.7 / 3)])


def test_preferred_rows_come_first_whatever_their_score():
    fused = fuse({"semantic": [0, 1, 2, 3]}, WEIGHTS, rrf_k=2, k=3, depth=200, preferred=[3, 2])
    assert fused.rows.tolist() == [2, 3, 0]
    assert fused.scores[0] > fused.scores[1]  # still ordered by score among the preferred


def test_equal_scores_keep_the_lower_row_first():
    fused = fuse({"semantic": [9, 1], "keyword": [1, 9]}, {"semantic": 1.0, "keyword": 1.0}, rrf_k=2, k=10,
                 depth=200)
    assert fused.rows.tolist() == [1, 9] and fused.scores[0] == fused.scores[1]


@pytest.mark.parametrize("rankings", [{}, {"semantic": []}, {"semantic": [], "keyword": []}])
def test_nothing_matched_gives_no_rows(rankings):
    fused = fuse(rankings, WEIGHTS, rrf_k=2, k=10, depth=200)
    assert fused.rows.tolist() == [] and fused.scores.tolist() == []


def test_one_signal_alone_is_normalised_by_its_own_weight():
    fused = fuse({"keyword": [2, 0]}, WEIGHTS, rrf_k=2, k=10, depth=200)
    assert fused.scores.tolist() == pytest.approx([1.0, 3 / 4])


def test_fusion_works_on_the_candidate_rows_only():
    # Row numbers of a huge corpus: an array indexed by row would need terabytes.
    fused = fuse({"semantic": [10**12, 5], "keyword": [5, 7 * 10**11]}, {"semantic": 1.0, "keyword": 1.0},
                 rrf_k=2, k=3, depth=10)
    assert fused.rows.tolist() == [5, 10**12, 7 * 10**11]
