"""The summary sentence that best matches a question."""

from __future__ import annotations

import numpy as np

from rag.index.keyword import KeywordIndex
from rag.search.highlight import Highlighter, best_sentence


def _terms(texts: list[str]) -> list[list[str]]:
    return KeywordIndex.tokenize(texts)


def test_keyword_overlap_picks_the_sentence():
    parts = ["The group visited Moscow and Riga.", "They asked whether Soviet listeners heard Radio Beijing."]
    assert best_sentence(parts, set(_terms(["radio broadcasts"])[0]), _terms) == parts[1]


def test_sentence_vectors_decide_when_no_words_are_shared():
    parts = ["First sentence.", "Second sentence."]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert best_sentence(parts, set(), _terms, np.array([0.1, 0.9], dtype=np.float32), vectors) == parts[1]


def test_a_single_sentence_or_none():
    assert best_sentence(["Only one."], set(), _terms) == "Only one."
    assert best_sentence([], set(), _terms) is None


SUMMARIES = ["The group visited Moscow. They heard Radio Beijing.", None, "One sentence only."]
# Stored sentence vectors by hand: 'radio' sentences point one way, the rest the other.
STORED = {0: np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32), 1: np.zeros((0, 2), dtype=np.float32),
          2: np.array([[0.0, 1.0]], dtype=np.float32)}


def test_highlighter_uses_the_stored_sentence_vectors():
    highlighter = Highlighter(SUMMARIES, _terms, STORED.__getitem__)
    assert highlighter.best(0, set(), np.array([1.0, 0.0], dtype=np.float32)) == "They heard Radio Beijing."
    assert highlighter.best(0, set(), np.array([0.0, 1.0], dtype=np.float32)) == "The group visited Moscow."
    assert highlighter.best(1, set(), None) is None and highlighter.best(2, set(), None) == "One sentence only."


def test_without_stored_vectors_shared_words_alone_decide():
    query = np.array([1.0, 0.0], dtype=np.float32)
    highlighter = Highlighter(SUMMARIES, _terms)
    assert highlighter.best(0, set(_terms(["Moscow"])[0]), query) == "The group visited Moscow."
    assert highlighter.best(0, set(), query) == "The group visited Moscow."  # a tie: the earlier sentence


def test_vectors_of_another_split_are_not_used():
    highlighter = Highlighter(SUMMARIES, _terms, {0: np.array([[1.0, 0.0]], dtype=np.float32)}.__getitem__)
    assert highlighter.best(0, set(_terms(["Moscow"])[0]), np.array([1.0, 0.0], dtype=np.float32)) == (
        "The group visited Moscow.")


def test_first_sentence_for_hits_found_by_date():
    highlighter = Highlighter(SUMMARIES, _terms)
    assert [highlighter.first(row) for row in range(3)] == ["The group visited Moscow.", None, "One sentence only."]


def test_real_model_highlights_the_relevant_sentence(retriever):
    hit = retriever.search("Did Soviet citizens hear Chinese radio?", k=1)[0]
    assert hit.doc.id == "dc673033469e6c9c"
    assert "Radio Beijing" in hit.highlight


def test_highlights_come_from_the_index_sentence_vectors(retriever, bundled_index, encoder):
    from rag.documents.sentences import sentences

    hit = retriever.search("Did Soviet citizens hear Chinese radio?", k=1)[0]
    row = [d.id for d in bundled_index.documents].index(hit.doc.id)
    parts = sentences(hit.doc.summary)
    stored = bundled_index.sentence_vectors(row)
    assert len(parts) > 1 and stored.shape == (len(parts), encoder.dimension)
    np.testing.assert_allclose(stored, encoder.encode(parts), atol=1e-5)
