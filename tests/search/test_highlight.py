"""The summary sentence that best matches a question."""

from __future__ import annotations

import numpy as np

from rag.search.highlight import Highlighter, best_sentence
from rag.search.keyword import KeywordIndex


def _terms(text: str) -> list[str]:
    return KeywordIndex.tokenize([text])[0]


def test_keyword_overlap_picks_the_sentence():
    parts = ["The group visited Moscow and Riga.", "They asked whether Soviet listeners heard Radio Beijing."]
    assert best_sentence(parts, set(_terms("radio broadcasts")), _terms) == parts[1]


def test_sentence_vectors_decide_when_no_words_are_shared():
    parts = ["First sentence.", "Second sentence."]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert best_sentence(parts, set(), _terms, np.array([0.1, 0.9], dtype=np.float32), vectors) == parts[1]


def test_a_single_sentence_or_none():
    assert best_sentence(["Only one."], set(), _terms) == "Only one."
    assert best_sentence([], set(), _terms) is None


class FakeEncoder:
    """Sentence vectors by hand: 'radio' sentences point one way, the rest the other."""

    calls = 0

    def encode(self, texts, batch_size=64):
        FakeEncoder.calls += 1
        return np.array([[1.0, 0.0] if "radio" in t.lower() else [0.0, 1.0] for t in texts], dtype=np.float32)


SUMMARIES = ["The group visited Moscow. They heard Radio Beijing.", None, "One sentence only."]


def test_highlighter_uses_sentence_vectors_within_the_limit():
    highlighter = Highlighter(SUMMARIES, _terms, FakeEncoder(), vector_limit=3)
    assert highlighter.best(0, set(), np.array([1.0, 0.0], dtype=np.float32)) == "They heard Radio Beijing."
    assert highlighter.best(0, set(), np.array([0.0, 1.0], dtype=np.float32)) == "The group visited Moscow."
    assert highlighter.best(1, set(), None) is None and highlighter.best(2, set(), None) == "One sentence only."


def test_above_the_limit_shared_words_alone_decide_and_nothing_is_embedded():
    before = FakeEncoder.calls
    highlighter = Highlighter(SUMMARIES, _terms, FakeEncoder(), vector_limit=2)
    assert FakeEncoder.calls == before
    query = np.array([1.0, 0.0], dtype=np.float32)
    assert highlighter.best(0, set(_terms("Moscow")), query) == "The group visited Moscow."


def test_first_sentence_for_hits_found_by_date():
    highlighter = Highlighter(SUMMARIES, _terms)
    assert [highlighter.first(row) for row in range(3)] == ["The group visited Moscow.", None, "One sentence only."]


def test_real_model_highlights_the_relevant_sentence(retriever):
    hit = retriever.search("Did Soviet citizens hear Chinese radio?", k=1)[0]
    assert hit.doc.id == "dc673033469e6c9c"
    assert "Radio Beijing" in hit.highlight
