"""The sentence of a summary that best answers a question, shown under each hit.

A sentence's score is its cosine similarity to the question, from the sentence vectors the rebuild stored
with the index (`Index.sentence_vectors`), plus the share of the question's keywords it contains; the keyword
share alone decides when the index holds no sentence vectors. Ties go to the earlier sentence. Nothing is
embedded here, and summaries are split only when a hit is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.documents.sentences import sentences

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np


@dataclass(frozen=True)
class SentenceScore:
    """One summary sentence and how well it matches a question: cosine to the question's vector, and the share
    of the question's keywords it contains (0-1)."""

    sentence: str
    cosine: float
    words: float


class Highlighter:
    """Each document's summary sentences, their stored vectors (`sentence_vectors(row)`, None when the index
    has none), and the choice of the one to show for a question."""

    def __init__(self, summaries: Sequence[str | None], tokenize: Callable[[list[str]], list[list[str]]],
                 sentence_vectors: Callable[[int], np.ndarray] | None = None):
        self._summaries = summaries
        self._tokenize = tokenize
        self._vectors = sentence_vectors

    def best(self, row: int, terms: set[str], query_vector: np.ndarray | None = None) -> str | None:
        """The sentence of row's summary closest to the question.

        Args:
            row: The hit's row.
            terms: The question's stemmed words.
            query_vector: The question's vector; None: words alone decide.

        Returns:
            The sentence, or None for a row without a summary.
        """
        parts = sentences(self._summaries[row])
        vectors = None
        if self._vectors is not None and query_vector is not None and len(parts) > 1:
            vectors = self._vectors(row)
            if len(vectors) != len(parts):  # split another way than when stored: words alone decide
                vectors = None
        return best_sentence(parts, terms, self._tokenize, query_vector, vectors)

    def scored(self, row: int, terms: set[str], query_vector: np.ndarray | None = None) -> list[SentenceScore]:
        """Every sentence of row's summary with its scores, in summary order: what the chat's synthesis chooses from.

        Args:
            row: The hit's row.
            terms: The question's stemmed words.
            query_vector: The question's vector; None: cosines are 0.0.

        Returns:
            Each sentence's cosine to the question (0.0 without stored vectors) and share of `terms` it contains.
        """
        parts = sentences(self._summaries[row])
        cosines = [0.0] * len(parts)
        if self._vectors is not None and query_vector is not None and parts:
            vectors = self._vectors(row)
            if len(vectors) == len(parts):
                cosines = [float(c) for c in vectors @ query_vector]
        words = self._tokenize(parts) if parts else []
        return [SentenceScore(part, cosine, len(terms & set(own)) / max(len(terms), 1))
                for part, cosine, own in zip(parts, cosines, words, strict=True)]

    def first(self, row: int) -> str | None:
        """The summary's first sentence (for hits found by date alone).

        Args:
            row: The hit's row.

        Returns:
            The sentence, or None for a row without a summary.
        """
        return (sentences(self._summaries[row]) or [None])[0]


def best_sentence(
    parts: list[str],
    query_terms: set[str],
    tokenize: Callable[[list[str]], list[list[str]]],
    query_vector: np.ndarray | None = None,
    sentence_vectors: np.ndarray | None = None,
) -> str | None:
    """The sentence among `parts` closest to the question.

    Args:
        parts: The summary's sentences.
        query_terms: The question's stemmed words.
        tokenize: Stems all the parts at once (one call per summary: bm25s's per-call overhead was most of a hit's
            highlight time).
        query_vector: The question's vector; None: words alone decide.
        sentence_vectors: The parts' vectors, one a row; None: words alone decide.

    Returns:
        The sentence, or None when there are none.
    """
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    scores = [len(query_terms & set(words)) / max(len(query_terms), 1) for words in tokenize(parts)]
    if query_vector is not None and sentence_vectors is not None:
        cosines = sentence_vectors @ query_vector
        scores = [score + float(cos) for score, cos in zip(scores, cosines, strict=True)]
    best = max(range(len(parts)), key=lambda i: (scores[i], -i))
    return parts[best]
