"""Weighted reciprocal rank fusion of several rankings of the same rows, as a pure function.

A row's fused score is the sum over signals of weight / (rrf_k + its 1-based rank in that signal), counting
only the first `depth` places of each ranking. Scores are divided by the best possible (first in every
signal), so 1.0 means "top of every list"; they order rows within one search and mean nothing across searches.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Fused:
    """The top rows, best first, their normalised scores (0..1], and how many rows any signal matched."""

    rows: np.ndarray
    scores: np.ndarray
    total: int


def fuse(rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float], *, rrf_k: int, k: int, depth: int,
         preferred: Collection[int] | None = None) -> Fused:
    """The top k rows by weighted reciprocal rank fusion of `rankings` (signal → rows, best first).

    Rows in `preferred` come before all others whatever their score; equal scores keep the lower row first.
    `total` counts every row matched by any signal, also below `depth`.
    """
    import numpy as np

    lists = {signal: np.asarray(rows, dtype=np.int64) for signal, rows in rankings.items()}
    size = 1 + max((int(rows.max()) for rows in lists.values() if len(rows)), default=-1)
    fused = np.zeros(size, dtype=np.float64)
    matched = np.zeros(size, dtype=bool)
    for signal, rows in lists.items():
        top = rows[:depth]
        fused[top] += weights[signal] / (rrf_k + np.arange(1, len(top) + 1))
        matched[rows] = True
    candidates = np.flatnonzero(fused > 0)
    later = np.zeros(len(candidates)) if preferred is None else ~np.isin(candidates, np.fromiter(preferred, np.int64))
    order = candidates[np.lexsort((-fused[candidates], later))][:k]
    best_possible = sum(weights[signal] for signal in lists) / (rrf_k + 1)
    scores = fused[order] / best_possible if len(order) else np.zeros(0, dtype=np.float64)
    return Fused(order, scores, int(matched.sum()))
