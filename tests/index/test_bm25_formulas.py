"""Our written-out BM25 components against bm25s's own (private) ones: the delta segment's scores are only right
while the two agree, so a bm25s release that changes its formulas must fail here."""

import itertools

import numpy as np
import pytest
from bm25s import scoring

from rag.index import bm25_formulas
from rag.settings import BM25_METHODS


@pytest.mark.parametrize("method", BM25_METHODS)
def test_idf_is_bm25s_idf(method):
    theirs = scoring._select_idf_scorer(method)
    for df, n in itertools.product((1, 2, 7, 50, 99, 100), (100, 1000)):
        assert bm25_formulas.idf(method)(df, n) == pytest.approx(theirs(df, N=n), rel=1e-12), (df, n)


@pytest.mark.parametrize("method", BM25_METHODS)
def test_term_frequency_is_bm25s_term_frequency(method):
    theirs = scoring._select_tfc_scorer(method)
    tf = np.array([0.0, 1.0, 2.0, 5.0, 30.0])
    for length, average, k1, b, delta in itertools.product((1, 12, 80), (9.5, 40.0), (0.0, 1.2, 1.5), (0.0, 0.3, 1.0),
                                                           (0.5, 1.0)):
        ours = bm25_formulas.term_frequency(method)(tf, length, average, k1, b, delta)
        expected = theirs(tf_array=tf, l_d=length, l_avg=average, k1=k1, b=b, delta=delta)
        np.testing.assert_allclose(ours, expected, rtol=1e-12, err_msg=f"{length=} {average=} {k1=} {b=} {delta=}")
