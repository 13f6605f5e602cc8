"""A searcher that follows its index: before each search it asks the index whether a rebuild has committed since
it was opened (`changed()`: an index folder compares the version its link leads to with the one read, a database
its `generation`, each at most once a second) and, when one has, swaps in a retriever over the index reopened.
`Retriever` stays immutable; this is the one object a serving process (the page, the REST API) holds instead.
Indexes without `changed` are served as they were opened.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.search.highlight import SentenceScore
    from rag.search.results import Results
    from rag.search.retriever import Retriever

log = logging.getLogger(__name__)


class Refreshing:
    """A `rag.chat.answer.Searcher` over the current retriever of one index; safe to share between threads.
    Other attributes (`model`, `notes`, `corpus_dir`, `settings`, `index`) are the current retriever's."""

    def __init__(self, retriever: Retriever):
        """Args:
            retriever: the retriever as first opened.
        """
        self._retriever = retriever
        self._lock = threading.Lock()
        self._origin: dict[int, Retriever] = {}  # id(results) -> the retriever whose rows they hold

    @property
    def current(self) -> Retriever:
        """The retriever over the index as last committed (reopened here when a rebuild has committed)."""
        retriever = self._retriever
        changed = getattr(retriever.index, "changed", None)
        try:
            if changed is None or not changed():
                return retriever
        except RagError as exc:  # the database is away: the search says so itself
            log.warning("cannot ask the index whether it changed: %s", exc.line())
            return retriever
        with self._lock:
            if self._retriever is retriever:
                try:
                    self._retriever = _reopened(retriever)
                    log.warning("the index was rebuilt: serving its new version (%d documents)",
                                len(self._retriever.index))
                except RagError as exc:
                    log.warning("the index was rebuilt but cannot be reopened, serving the old one: %s", exc.line())
            return self._retriever

    def search(self, question: str, *args, **kwargs) -> Results:
        """`Retriever.search` on the current retriever.

        Args:
            question: the question.
            *args, **kwargs: as for `Retriever.search`.

        Returns:
            Its results.
        """
        retriever = self.current
        results = retriever.search(question, *args, **kwargs)
        self._origin[id(results)] = retriever
        weakref.finalize(results, self._origin.pop, id(results), None)
        return results

    def sentence_scores(self, results: Results) -> list[list[SentenceScore]]:
        """`Retriever.sentence_scores` on the retriever that found `results` (its rows are that index's).

        Args:
            results: what `search` returned.
        """
        return self._origin.get(id(results), self._retriever).sentence_scores(results)

    def __getattr__(self, name: str):
        return getattr(self._retriever, name)


def _reopened(retriever: Retriever) -> Retriever:
    """A retriever over the index reopened, sharing the encoder when the model is the same."""
    from rag.search.retriever import Retriever

    index = retriever.index.reopen()
    old = retriever.index.manifest
    if (index.manifest.model, index.manifest.model_fingerprint, index.dimension) != (
            old.model, old.model_fingerprint, old.dimension):
        return Retriever.load(settings=retriever.settings, check=False)
    fresh = Retriever(index, retriever.encoder, retriever.settings)
    fresh.notes, fresh.corpus_dir = retriever.notes, retriever.corpus_dir
    return fresh
