"""Ordering what a search found: the top k best first without a full sort, and the allowed-row filter's form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.index.backend import Found

if TYPE_CHECKING:
    import numpy as np


def best_first(scores: np.ndarray, k: int | None) -> np.ndarray:
    """Positions of the k highest scores, best first (ties: earlier position first), without a full sort
    when k is smaller than the number of scores.

    Args:
        scores: one score per position.
        k: how many positions (None: all).

    Returns:
        int64 positions into `scores`.
    """
    import numpy as np

    if k is None or k >= len(scores):
        return np.argsort(-scores, kind="stable")
    cut = -np.partition(-scores, k - 1)[k - 1]  # the k-th best score
    top = np.flatnonzero(scores >= cut)  # every position tied at the cut, in order, then the stable sort
    return top[np.argsort(-scores[top], kind="stable")][:k]


def ordered(found: Found, k: int | None, depth: int | None) -> Found:
    """`found` (unordered) best first, cut to `k`; with `k` None and a `depth`, only the first `depth` rows in
    order and the rest after them unordered (fusion reads only its depth: a full sort of every match is wasted).

    Args:
        found: rows and scores in no particular order.
        k: at most this many rows (None: all).
        depth: with `k` None, how many rows to put in order.

    Returns:
        The rows and scores in that order.
    """
    import numpy as np

    order = best_first(found.scores, k if k is not None else depth)
    if k is None and depth is not None and len(order) < len(found.rows):  # the unordered rest after the depth
        rest = np.ones(len(found.rows), dtype=bool)
        rest[order] = False
        order = np.concatenate([order, np.flatnonzero(rest)])
    return Found(found.rows[order][:k], found.scores[order][:k])


def allowed_rows(allowed: np.ndarray | None) -> np.ndarray | None:
    """An allowed-row filter as sorted int64 row numbers (None: every row allowed).

    Args:
        allowed: a boolean mask over rows, or row numbers in any order; None.
    """
    import numpy as np

    if allowed is None:
        return None
    allowed = np.asarray(allowed)
    return np.flatnonzero(allowed) if allowed.dtype == bool else np.sort(allowed.astype(np.int64))


def nothing() -> Found:
    """An empty result: no row, no score."""
    import numpy as np

    return Found(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def ranked(best: np.ndarray, floor: float, allowed: np.ndarray | None) -> Found:
    """Rows (within the boolean mask `allowed`, when given) whose score (NaN: none) reaches `floor`, best first
    (ties: lower row first), and those scores: the best-sentence signal's ranking.

    Args:
        best: each row's score, NaN for a row that has none.
        floor: the score a row must reach.
        allowed: a boolean mask over rows, or None.
    """
    import numpy as np

    keep = ~np.isnan(best)
    keep[keep] = best[keep] >= floor
    if allowed is not None:
        keep &= allowed
    rows = np.flatnonzero(keep)
    order = np.argsort(-best[rows], kind="stable")
    return Found(rows[order], best[rows][order])
