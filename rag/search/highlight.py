"""The sentence of a summary that best answers a question, shown under each hit.

A sentence's score is its cosine similarity to the question when sentence vectors were computed
at load time (small corpora), plus the share of the question's keywords it contains; the keyword share
alone decides when there are no vectors. Ties go to the earlier sentence.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

# A candidate sentence end: . ! or ? (maybe inside a closing quote) then space and a capital or opening quote.
_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[A-Z\"“‘(])")
# ...unless the text before it ends in an initial ("V. P.") or a short abbreviation ("c.", "No.", "Dr.").
_NOT_AN_END = re.compile(r"(?:\b[A-Za-z]|\b(?:c|ca|No|Dr|Mr|Mrs|St|Gen|Col|vs|cf|e\.g|i\.e))\.$")


def sentences(summary: str | None) -> list[str]:
    """A summary split into sentences (empty for no summary)."""
    if not summary or not summary.strip():
        return []
    found: list[str] = []
    for piece in _BREAK.split(summary.strip()):
        if found and _NOT_AN_END.search(found[-1]):
            found[-1] = f"{found[-1]} {piece}"
        else:
            found.append(piece)
    return [part.strip() for part in found if part.strip()]


def best_sentence(
    parts: list[str],
    query_terms: set[str],
    tokenize: Callable[[str], list[str]],
    query_vector: np.ndarray | None = None,
    sentence_vectors: np.ndarray | None = None,
) -> str | None:
    """The sentence among `parts` closest to the question; None when there are none."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    scores = [len(query_terms & set(tokenize(part))) / max(len(query_terms), 1) for part in parts]
    if query_vector is not None and sentence_vectors is not None:
        cosines = sentence_vectors @ query_vector
        scores = [score + float(cos) for score, cos in zip(scores, cosines, strict=True)]
    best = max(range(len(parts)), key=lambda i: (scores[i], -i))
    return parts[best]
