"""Variant spellings: questions written with old spellings find what the modern spelling finds."""

from __future__ import annotations

import pytest
from conftest import load_script

from rag.documents.names import modernise

variants = load_script("eval/variants.py")

pytestmark = pytest.mark.slow


def test_every_pair_differs_only_in_spelling_and_there_are_enough():
    pairs = variants.load_pairs()
    assert len(pairs) >= 15
    for pair in pairs:
        assert pair["modern"] != pair["variant"] and modernise(pair["variant"]).text == pair["modern"]


def test_variant_questions_hold_the_modern_top_five(retriever):
    summary = variants.summary(variants.compare(retriever, variants.load_pairs()))
    assert summary["mean_overlap"] >= 0.9 and summary["worst"]["overlap"] >= 0.8 and summary["max_shift"] <= 1
