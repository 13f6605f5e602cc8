"""The BM25 variants' two components (Kamphuis, de Vries, Boytsov and Lin, ECIR 2020), written out as bm25s
computes them, so a delta segment is scored with the base's statistics without reaching into bm25s's private
scoring functions. `tests/index/test_bm25_formulas.py` checks them against bm25s's own on a grid of inputs: a
bm25s release that changes its formulas fails there, not silently in a delta's scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def idf(method: str) -> Callable[[int, int], float]:
    """The inverse document frequency of a word in `df` of `n` documents, for a variant.

    Args:
        method: one of `rag.settings.BM25_METHODS`.

    Returns:
        `idf(df, n)`.
    """
    return _IDF[method]


def term_frequency(method: str) -> Callable[..., np.ndarray]:
    """The term-frequency component of a variant.

    Args:
        method: one of `rag.settings.BM25_METHODS`.

    Returns:
        `tfc(tf, length, average, k1, b, delta)` over an array of term counts (or 0) in a document of `length`.
    """
    return _TFC[method]


def _robertson_tf(tf, length, average, k1, b, delta):
    return tf / (k1 * ((1 - b) + b * length / average) + tf)


def _atire_tf(tf, length, average, k1, b, delta):
    return (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * length / average))


def _bm25l_tf(tf, length, average, k1, b, delta):
    c = tf / (1 - b + b * length / average)
    return ((k1 + 1) * (c + delta)) / (k1 + c + delta)


def _bm25plus_tf(tf, length, average, k1, b, delta):
    return (k1 + 1) * tf / (k1 * (1 - b + b * length / average) + tf) + delta


_IDF: dict[str, Callable[[int, int], float]] = {
    "robertson": lambda df, n: math.log(max(1.0, (n - df + 0.5) / (df + 0.5))),
    "lucene": lambda df, n: math.log(1 + (n - df + 0.5) / (df + 0.5)),
    "atire": lambda df, n: math.log(n / df),
    "bm25l": lambda df, n: math.log((n + 1) / (df + 0.5)),
    "bm25+": lambda df, n: math.log((n + 1) / df),
}
_TFC: dict[str, Callable[..., np.ndarray]] = {"robertson": _robertson_tf, "lucene": _robertson_tf,
                                              "atire": _atire_tf, "bm25l": _bm25l_tf, "bm25+": _bm25plus_tf}
