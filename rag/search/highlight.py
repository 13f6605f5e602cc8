"""The sentence of a summary that best answers a question, shown under each hit.

A sentence's score is its cosine similarity to the question when sentence vectors were computed
at load time (small corpora), plus the share of the question's keywords it contains; the keyword share
alone decides when there are no vectors. Ties go to the earlier sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.documents.sentences import sentences

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from rag.index.encoder import Encoder


class Highlighter:
    """Each document's summary sentences (and their vectors, for corpora up to `vector_limit` documents),
    and the choice of the one to show for a question."""

    def __init__(self, summaries: Sequence[str | None], tokenize: Callable[[str], list[str]],
                 encoder: Encoder | None = None, vector_limit: int = 0):
        self._tokenize = tokenize
        self._sentences = [sentences(summary) for summary in summaries]
        self._vectors = self._embed(encoder) if encoder is not None and len(summaries) <= vector_limit else None

    def best(self, row: int, terms: set[str], query_vector: np.ndarray | None = None) -> str | None:
        """The sentence of row's summary closest to the question (its stemmed `terms` and vector)."""
        vectors = None if self._vectors is None or query_vector is None else self._vectors[row]
        return best_sentence(self._sentences[row], terms, self._tokenize, query_vector, vectors)

    def first(self, row: int) -> str | None:
        """The summary's first sentence (for hits found by date alone)."""
        return (self._sentences[row] or [None])[0]

    def _embed(self, encoder: Encoder) -> list[np.ndarray | None]:
        """Vectors of every summary sentence, per document (one batch at load time)."""
        flat = [part for parts in self._sentences for part in parts]
        if not flat:
            return [None] * len(self._sentences)
        vectors = encoder.encode(flat, batch_size=64)
        out, start = [], 0
        for parts in self._sentences:
            out.append(vectors[start:start + len(parts)] if parts else None)
            start += len(parts)
        return out


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
