"""BM25 computed in SQL from the stored term statistics equals bm25s's (`KeywordIndex`) on the bundled corpus."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.keyword import KeywordIndex, keyword_text
from rag.index.postgres.backend import PostgresIndex
from rag.settings import Settings

pytestmark = pytest.mark.slow

QUESTIONS = ["Zhou Enlai on the nuclear test ban treaty", "Romanian mediation between Moscow and Beijing in 1964",
             "Albania Albania Soviet split"]  # a repeated word counts twice, as bm25s counts it


@pytest.mark.parametrize("method", ["bm25+", "lucene", "robertson", "bm25l", "atire"])
def test_sql_bm25_equals_bm25s_for_each_method(bundled_database, bundled_corpus, method):
    settings = Settings(bm25_method=method, bm25_k1=1.2, bm25_b=0.75)
    index = PostgresIndex.open(bundled_database, Settings())
    words = index.keyword_for(settings)  # other parameters: query parameters, no rebuild
    expected = KeywordIndex.build([keyword_text(d) for d in bundled_corpus.documents], settings)
    assert words.params == expected.params
    for question in QUESTIONS:
        got, want = words.scores(question), expected.scores(question)
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.count_nonzero(want) > 0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert words.terms(question) == expected.terms(question)
        allowed = np.zeros(len(want), dtype=bool)
        allowed[::3] = True
        np.testing.assert_allclose(words.scores(question, allowed), expected.scores(question, allowed), rtol=1e-5,
                                   atol=1e-6)


def test_a_word_no_document_holds_scores_nothing(bundled_database):
    words = PostgresIndex.open(bundled_database, Settings()).keyword
    assert not words.scores("xylophone quetzal").any()
    assert words.terms("xylophone quetzal") == []
