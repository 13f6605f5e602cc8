"""Documents ranked by their best summary sentence: each row's highest cosine between the question and one of
its sentences (the vectors the rebuild stored, `rag.index.store.SentenceVectors`). A long summary dilutes the
one sentence a question is about in the document's own vector; this signal does not. Pure numpy, no model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np


def best_sentence_scores(vectors: np.ndarray, offsets: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Per row, the best cosine of its sentences (`vectors[offsets[r]:offsets[r + 1]]`, unit rows) to the unit
    `query`; NaN for a row without sentences (no summary)."""
    import numpy as np

    counts = np.diff(offsets)
    best = np.full(len(counts), np.nan, dtype=np.float64)
    has = counts > 0
    if has.any():
        cosines = np.asarray(vectors, dtype=np.float32) @ np.asarray(query, dtype=np.float32)
        # reduceat over the non-empty rows' starts: each span ends where the next non-empty row starts.
        best[has] = np.maximum.reduceat(cosines, offsets[:-1][has])
    return best


def sentence_ranking(segments: Sequence, query: np.ndarray, *, min_similarity: float,
                     allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (within `allowed`, a boolean mask, when given) whose best sentence reaches `min_similarity`, best
    first (ties: lower row first), and those best cosines. `segments`: the index's sentence vectors (each with
    `vectors` and `offsets`), base then delta, whose rows follow one another."""
    import numpy as np

    best = np.concatenate([best_sentence_scores(s.vectors, s.offsets, query) for s in segments])
    keep = ~np.isnan(best)
    keep[keep] = best[keep] >= min_similarity
    if allowed is not None:
        keep &= allowed
    rows = np.flatnonzero(keep)
    order = np.argsort(-best[rows], kind="stable")
    return rows[order], best[rows][order]
