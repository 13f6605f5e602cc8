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
    """The top rows, best first, and their normalised scores (0..1]."""

    rows: np.ndarray
    scores: np.ndarray


def fuse(rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float], *, rrf_k: int, k: int, depth: int,
         preferred: Collection[int] | None = None) -> Fused:
    """The top k rows by weighted reciprocal rank fusion of `rankings`.

    Args:
        rankings: Signal -> rows, best first; each needs only its first `depth` rows.
        weights: Signal -> weight.
        rrf_k: The constant added to each rank.
        k: How many rows to keep.
        depth: How many rows of each ranking count.
        preferred: Rows that come before all others whatever their score.

    Returns:
        The rows and their scores (1.0: first in every signal); equal scores keep the lower row first.
    """
    import numpy as np

    lists = {signal: np.asarray(rows, dtype=np.int64) for signal, rows in rankings.items()}
    # Only the candidate rows (each signal's first `depth`) are scored: nothing here is the size of the corpus.
    tops = [(signal, rows[:depth]) for signal, rows in lists.items()]
    empty = np.zeros(0, dtype=np.int64)
    candidates, where = np.unique(np.concatenate([top for _, top in tops] or [empty]), return_inverse=True)
    fused = np.zeros(len(candidates), dtype=np.float64)
    start = 0
    for signal, top in tops:
        np.add.at(fused, where[start:start + len(top)], weights[signal] / (rrf_k + np.arange(1, len(top) + 1)))
        start += len(top)
    scored = fused > 0
    candidates, fused = candidates[scored], fused[scored]
    later = np.zeros(len(candidates)) if preferred is None else ~np.isin(candidates, np.fromiter(preferred, np.int64))
    order = np.lexsort((-fused, later))[:k]  # candidates ascend, and lexsort is stable: ties keep the lower row
    best_possible = sum(weights[signal] for signal in lists) / (rrf_k + 1)
    scores = fused[order] / best_possible if len(order) else np.zeros(0, dtype=np.float64)
    return Fused(candidates[order], scores)
