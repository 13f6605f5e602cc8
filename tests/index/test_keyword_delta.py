"""A delta segment's words on disk: saved and loaded beside the base, searched with it, retired rows never
matching (the vectors' and sentences' segmented forms: test_backend.py, test_store.py)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.keyword import KeywordIndex
from rag.index.keyword_delta import KeywordDelta, SegmentedKeywordIndex
from rag.settings import Settings


def test_a_segmented_index_finds_delta_words_and_never_a_retired_row(tmp_path):
    texts = ["Soviet envoy in Peking", "Rumania mediates the split", "Test ban treaty signed"]
    base = KeywordIndex.build(texts, Settings())
    base.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path, base.params, 3)
    assert loaded.average_length == pytest.approx(base.average_length)
    delta = loaded.delta(["Rumania mediates again, Zanzibar watches"])  # supersedes row 1
    delta.save(tmp_path / "delta")
    segmented = SegmentedKeywordIndex(loaded, KeywordDelta.load(tmp_path / "delta"), np.array([1]))
    assert segmented.count == 4 and "zanzibar" in segmented.terms("Zanzibar")
    scores = segmented.scores("Rumania mediates Zanzibar")
    assert scores[1] == 0 and scores[3] > 0
    assert segmented.scores("Rumania", allowed=np.array([True, True, True, False]))[3] == 0
