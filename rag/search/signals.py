"""Steps 2 to 4 of a search, for an index that does not fuse its signals itself: each signal (meaning, words,
best sentence) over the allowed rows, merged by weighted reciprocal rank fusion (`rag.search.fusion`), cut to k.
What `rag.index.backend.Backend.fused_search` does in a backend that can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.index.backend import Matches, Request
from rag.index.topk import best_first
from rag.search.fusion import fuse
from rag.search.results import Signal

if TYPE_CHECKING:
    import numpy as np

    from rag.index.backend import Backend, WordIndex
    from rag.settings import Settings


@dataclass(frozen=True)
class Ranking:
    """One signal's matched rows, best first (at least its first `fusion_depth`), with their raw scores.
    `dense`, when the signal scored every row anyway (BM25), holds those scores (0: not matched), so the rows
    past the depth still count as matched and keep their score without being sorted."""

    rows: np.ndarray
    scores: np.ndarray
    dense: np.ndarray | None = None

    def of(self, rows: np.ndarray) -> dict[int, float]:
        """The raw scores of those of `rows` this signal matched (the hits shown: never an array per row).

        Args:
            rows: int64 rows.

        Returns:
            row -> score.
        """
        import numpy as np

        if self.dense is not None:
            scores = self.dense[rows]
            return {int(r): float(s) for r, s in zip(rows.tolist(), scores.tolist(), strict=True) if s > 0}
        shown = np.isin(self.rows, rows)
        return dict(zip(self.rows[shown].tolist(), self.scores[shown].tolist(), strict=True))

    def mark(self, matched: np.ndarray) -> None:
        """Set the rows this signal matched.

        Args:
            matched: a boolean mask, one entry per row, changed in place.
        """
        if self.dense is not None:
            matched |= self.dense > 0
        else:
            matched[self.rows] = True


class Signals:
    """Runs a `Request`'s signals on one index and fuses them; immutable, so it serves many threads."""

    def __init__(self, index: Backend, keyword: WordIndex, settings: Settings):
        """Args:
            index: what is searched.
            keyword: its words for `settings`' BM25 parameters (`Backend.keyword_for`).
            settings: the ranking constants (`min_similarity`, `rrf_k`, `fusion_depth`).
        """
        self.index, self.keyword, self.settings = index, keyword, settings

    def __call__(self, request: Request) -> Matches:
        """The top `request.k` rows by weighted reciprocal rank fusion of its signals over its allowed rows.

        Args:
            request: the words and vector searched, the signals and their weights, k, the allowed rows and the
                preferred ones.

        Returns:
            The fused rows and scores, each signal's raw scores of them, and how many rows any signal matched.
        """
        rankings: dict[Signal, Ranking] = {}
        if Signal.SEMANTIC in request.weights:
            rankings[Signal.SEMANTIC] = self._semantic(request.vector, request.allowed)
        if Signal.KEYWORD in request.weights:
            rankings[Signal.KEYWORD] = self._keyword(request.query, request.allowed)
        if Signal.SENTENCE in request.weights:
            rankings[Signal.SENTENCE] = Ranking(*self.index.sentences.search(
                request.vector, min_similarity=self.settings.min_similarity, allowed=request.allowed))
        fused = fuse({signal: ranking.rows for signal, ranking in rankings.items()}, request.weights,
                     rrf_k=self.settings.rrf_k, k=request.k, depth=self.settings.fusion_depth,
                     preferred=request.preferred or None)
        raw = {signal: ranking.of(fused.rows) for signal, ranking in rankings.items()}
        return Matches(fused.rows, fused.scores, raw, self._matched(rankings.values()))

    def _semantic(self, vector: np.ndarray, allowed: np.ndarray | None) -> Ranking:
        """Rows whose cosine to the question exceeds MIN_SIMILARITY, best first, within the allowed rows."""
        rows, scores = self.index.search(vector, min_similarity=self.settings.min_similarity, rows=allowed,
                                         depth=self.settings.fusion_depth)
        return Ranking(rows, scores)

    def _keyword(self, query: str, allowed: np.ndarray | None) -> Ranking:
        """Rows sharing at least one (stemmed) word with the question, by BM25: the first `fusion_depth` best
        first (ties: lower row first), the rest only in `dense`. A common word matches most of a large
        archive; sorting every match took 50 ms a question at a million documents."""
        import numpy as np

        scores = self.keyword.scores(query, allowed)
        rows = np.flatnonzero(scores > 0)
        matched = scores[rows]
        order = best_first(matched, self.settings.fusion_depth)
        return Ranking(rows[order], matched[order], dense=scores)

    def _matched(self, rankings) -> int:
        """How many rows any signal matched: one boolean mask over the rows (np.unique over the signals'
        lists took 300 ms a question at a million documents, when a common word matches most of them)."""
        import numpy as np

        matched = np.zeros(len(self.index), dtype=bool)
        for ranking in rankings:
            ranking.mark(matched)
        return int(np.count_nonzero(matched))
