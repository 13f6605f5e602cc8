"""The summary sentence that best matches a question."""

from __future__ import annotations

import numpy as np

from rag.search.highlight import best_sentence, sentences
from rag.search.keyword import KeywordIndex


def _terms(text: str) -> list[str]:
    return KeywordIndex.tokenize([text])[0]


def test_sentences_do_not_break_at_initials_or_abbreviations():
    text = "Talks with c. V. P. Moskovskyi on Korea. The Cuban envoy listened. Then the talks ended!"
    assert sentences(text) == ["Talks with c. V. P. Moskovskyi on Korea.", "The Cuban envoy listened.",
                               "Then the talks ended!"]


def test_no_summary_has_no_sentences():
    assert sentences(None) == [] and sentences("  ") == []


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


def test_real_model_highlights_the_relevant_sentence(retriever):
    hit = retriever.search("Did Soviet citizens hear Chinese radio?", k=1)[0]
    assert hit.doc.id == "dc673033469e6c9c"
    assert "Radio Beijing" in hit.highlight
