"""Answer questions from the index: date filter first, then dense (FAISS) and keyword (BM25) search fused by
reciprocal rank fusion, each hit with a citation and the summary sentence that best matches.

Scores: a document's fused score is the sum over signals of weight / (RRF_K + its rank in that signal), divided by
the best possible (ranked first by every signal in use), so 1.0 means "top of every list" and the score falls
with rank; it orders hits within one search and means nothing across searches.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.dates import bounds, sort_key
from rag.errors import IndexUnavailable, StaleIndex
from rag.index.store import Index
from rag.search.citation import cite
from rag.search.highlight import best_sentence, sentences
from rag.search.keyword import KeywordIndex, keyword_text
from rag.search.question import QueryError, Question, parse_date_param, understand, warm_up
from rag.search.results import Hit, Results, Signal
from rag.settings import Settings

if TYPE_CHECKING:
    import datetime as dt

    import numpy as np

    from rag.index.encoder import Encoder
    from rag.index.manifest import Manifest

log = logging.getLogger(__name__)

#: Weighted reciprocal rank fusion: score = sum over signals of weight / (RRF_K + rank). A small constant (not
#: the usual 60) lets each list's first places count, and keyword evidence counts 0.7 of semantic evidence,
#: the stronger signal on paraphrased questions. Chosen by a small grid on eval/ itself (RRF_K 2/5/10/60,
#: keyword weight 0.5/0.7/0.85/1): hybrid wins there by about one question; see README.
RRF_K = 2
SIGNAL_WEIGHTS = {Signal.SEMANTIC: 1.0, Signal.KEYWORD: 0.7}
#: Cosine below which the dense search does not count a document as matched, so a question about nothing
#: in the archive says so instead of returning the least-bad documents. From eval/: relevant documents score
#: 0.20-0.80 (median 0.56, 5th percentile 0.38); off-topic questions ("weather in Paris") top out at 0.09-0.23.
MIN_SIMILARITY = 0.2
#: How deep into each signal's ranking fusion looks; a document below this in both lists cannot reach the top k.
FUSION_DEPTH = 200
#: Summaries' sentences are embedded at load time (for highlights) only up to this many documents.
SENTENCE_VECTOR_LIMIT = 5_000


class _ChoiceEnum(StrEnum):
    """A string choice that accepts any case and whose error lists the valid values."""

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().lower():
                    return member
        valid = ", ".join(m.value for m in cls)
        raise QueryError(f"{cls.__name__.lower()} must be one of {valid}; got {value!r}")


class Mode(_ChoiceEnum):
    """Which signals search: both fused, or one alone."""

    HYBRID = "hybrid"
    SEMANTIC = "semantic"
    KEYWORD = "keyword"


class SortOrder(_ChoiceEnum):
    """How the top k hits are ordered: by fused relevance or chronologically."""

    RELEVANCE = "relevance"
    DATE = "date"



@dataclass(frozen=True)
class _Ranking:
    """One signal's matched rows, best first, with their raw scores."""

    rows: np.ndarray
    scores: np.ndarray

    def by_row(self, size: int) -> np.ndarray:
        """Scores indexed by row, NaN where this signal did not match."""
        import numpy as np

        full = np.full(size, np.nan, dtype=np.float64)
        full[self.rows] = self.scores
        return full


class Retriever:
    """Searches one index; immutable after construction, so one instance serves many threads."""

    notes: tuple[str, ...] = ()  # said in every Results.notes, e.g. that the index's staleness was not checked
    corpus_dir: Path | None = None  # the corpus folder `load` checked the index against

    def __init__(self, index: Index, encoder: Encoder | None = None, *, rrf_k: int = RRF_K,
                 min_similarity: float = MIN_SIMILARITY):
        import numpy as np

        from rag.index.encoder import Encoder

        self.index = index
        self.encoder = encoder or Encoder(index.manifest.get("model") or Settings().model)
        self.rrf_k = rrf_k
        self.min_similarity = min_similarity
        docs = index.documents
        self.keyword = KeywordIndex([keyword_text(doc) for doc in docs])
        spans = [bounds(doc.date) for doc in docs]
        self._starts = np.array([start.toordinal() for start, _ in spans], dtype=np.int64)
        self._ends = np.array([end.toordinal() for _, end in spans], dtype=np.int64)
        self._sentences = [sentences(doc.summary) for doc in docs]
        names = {doc.collection for doc in docs}
        self._collections = {name: np.array([doc.collection == name for doc in docs]) for name in names} \
            if len(names) > 1 else {}
        self._sentence_vectors = self._embed_sentences() if len(docs) <= SENTENCE_VECTOR_LIMIT else None
        warm_up()

    @classmethod
    def load(cls, path: str | Path | None = None, *, corpus: str | Path | None = None, model: str | None = None,
             check: bool = True, rebuild: bool = False) -> Retriever:
        """Open an index folder (default: the configured `embeddings/index/`) and load the model.

        With `check`, an index that no longer matches its corpus or the model raises `StaleIndex` naming
        the rebuild command. The corpus is the folder the index was built from (recorded in its manifest);
        `corpus` overrides it; a recorded folder that no longer exists is not checked (said in every
        `Results.notes` and logged). With `rebuild`, a missing or stale index is first rebuilt, in this
        process, from that same corpus.
        """
        from rag.index.encoder import Encoder
        from rag.index.manifest import read_manifest, rebuild_command

        settings = Settings.from_env(index_dir=path, model=model)
        try:
            manifest = read_manifest(settings.index_dir)
        except IndexUnavailable:
            manifest = None  # Index.load below says what is wrong and how to rebuild
        corpus_dir, notes = corpus_of(settings, manifest, corpus)
        settings = replace(settings, corpus_dir=corpus_dir or settings.corpus_dir)
        # The command to suggest names the index's own corpus, even a vanished one, never the default.
        command = rebuild_command(settings.index_dir, corpus_dir or (manifest and manifest.corpus_folder),
                                  settings.model)
        try:
            index = Index.load(settings.index_dir)
        except IndexUnavailable:
            if not rebuild or corpus_dir is None:
                raise
            log.warning("no usable index at %s; building it from %s", settings.index_dir, corpus_dir)
            rebuild_index(settings)
            index = Index.load(settings.index_dir)
        if check:
            reasons = current_staleness(index, corpus_dir, settings.model)
            if reasons and rebuild and corpus_dir is not None:
                log.warning("the index at %s is out of date (%s); rebuilding it from %s",
                            settings.index_dir, "; ".join(reasons), corpus_dir)
                rebuild_index(settings)
                index = Index.load(settings.index_dir)
                reasons = current_staleness(index, corpus_dir, settings.model)
            if reasons:
                raise StaleIndex(f"the index at {settings.index_dir} is out of date ({'; '.join(reasons)}); "
                                 f"rebuild it with `{command}`")
        encoder = Encoder(settings.model)
        if encoder.dimension != index.dimension:
            raise StaleIndex(f"the index holds {index.dimension}-dimensional vectors but {settings.model} makes "
                             f"{encoder.dimension}; rebuild it with `{command}`")
        retriever = cls(index, encoder)
        retriever.notes = tuple(notes)
        retriever.corpus_dir = corpus_dir
        return retriever

    # ------------------------------------------------------------------------------------------ search

    def search(self, question: str, k: int = 10, date_from: str | dt.date | None = None,
               date_to: str | dt.date | None = None, sort: str | SortOrder = "relevance",
               mode: str | Mode = "hybrid") -> Results:
        """The k documents that best answer the question, within the date range asked for.

        Explicit `date_from`/`date_to` replace any date range read from the question.
        """
        k = min(checked_k(k), max(len(self.index), 1))
        mode, sort = Mode(mode), SortOrder(sort)
        asked = understand(question)
        date_from, date_to, phrase, notes = self._date_range(asked, date_from, date_to)
        notes[:0] = self.notes
        allowed = self._allowed(date_from, date_to)
        if not asked.query:
            return self._listing(asked, k, date_from, date_to, phrase, allowed, notes)

        query_vector = self.encoder.encode([asked.query])[0] if mode is not Mode.KEYWORD else None
        rankings: dict[Signal, _Ranking] = {}
        if query_vector is not None:
            rankings[Signal.SEMANTIC] = self._semantic(query_vector, allowed)
        if mode is not Mode.SEMANTIC:
            rankings[Signal.KEYWORD] = self._keyword(asked.query, allowed)
        preferred = self._named_collections(asked.query, notes)
        rows, fused, total = self._fuse(rankings, k, preferred)
        if total == 0:
            notes.append("nothing in the archive matched the question" + (" in that period" if allowed is not None
                                                                             else ""))
        terms = set(self.keyword.terms(asked.query))
        by_signal = {signal: ranking.by_row(len(self.index)) for signal, ranking in rankings.items()}
        hits = [self._hit(int(row), float(score), rank, by_signal, terms, query_vector)
                for rank, (row, score) in enumerate(zip(rows, fused, strict=True), start=1)]
        if sort is SortOrder.DATE:
            hits.sort(key=lambda hit: sort_key(hit.doc.date))
        return Results(tuple(hits), question, asked.query, date_from, date_to, phrase, total, tuple(notes))

    @staticmethod
    def _date_range(asked: Question, date_from, date_to) -> tuple[str | None, str | None, str | None, list[str]]:
        """The range to filter on: explicit parameters if any were given, else what the question said."""
        notes = list(asked.notes)
        if date_from is None and date_to is None:
            return asked.date_from, asked.date_to, asked.phrase, notes
        date_from, date_to = parse_date_param(date_from, "date_from"), parse_date_param(date_to, "date_to")
        if date_from and date_to and bounds(date_from)[0] > bounds(date_to)[1]:
            raise QueryError(f"date_from {date_from} is after date_to {date_to}")
        if asked.phrase:
            notes.append(f"the dates given replace {asked.phrase!r} in the question")
        return date_from, date_to, None, notes

    def _allowed(self, date_from: str | None, date_to: str | None) -> np.ndarray | None:
        """Rows whose date overlaps the range (a month-only date overlaps any range touching that month)."""
        if date_from is None and date_to is None:
            return None
        import numpy as np

        mask = np.ones(len(self._starts), dtype=bool)
        if date_from:
            mask &= self._ends >= bounds(date_from)[0].toordinal()
        if date_to:
            mask &= self._starts <= bounds(date_to)[1].toordinal()
        return mask

    def _semantic(self, vector: np.ndarray, allowed: np.ndarray | None) -> _Ranking:
        """Rows whose cosine to the question exceeds MIN_SIMILARITY, best first, within the allowed rows."""
        rows, scores = self.index.search(vector, min_similarity=self.min_similarity, rows=allowed)
        return _Ranking(rows, scores)

    def _keyword(self, query: str, allowed: np.ndarray | None) -> _Ranking:
        """Rows sharing at least one (stemmed) word with the question, by BM25, best first."""
        import numpy as np

        scores = self.keyword.scores(query, allowed)
        rows = np.flatnonzero(scores > 0)
        order = np.argsort(-scores[rows], kind="stable")
        return _Ranking(rows[order], scores[rows][order])

    def _named_collections(self, query: str, notes: list[str]) -> np.ndarray | None:
        """Rows of the collections the question names ("... in the Cuban Missile Crisis collection"), if any."""
        import numpy as np

        named = [name for name in self._collections if _short_name(name) in query.casefold()]
        if not named:
            return None
        notes.append(f"the question names {', '.join(named)}: its documents come first")
        return np.logical_or.reduce([self._collections[name] for name in named])

    def _fuse(self, rankings: dict[Signal, _Ranking], k: int,
              preferred: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """Top k rows by reciprocal rank fusion with normalised scores (rows of `preferred` first), and how
        many rows matched at all."""
        import numpy as np

        fused = np.zeros(len(self.index), dtype=np.float64)
        matched = np.zeros(len(self.index), dtype=bool)
        for signal, ranking in rankings.items():
            top = ranking.rows[:FUSION_DEPTH]
            fused[top] += SIGNAL_WEIGHTS[signal] / (self.rrf_k + np.arange(1, len(top) + 1))
            matched[ranking.rows] = True
        total = int(matched.sum())
        candidates = np.flatnonzero(fused > 0)
        first = np.zeros(len(candidates)) if preferred is None else ~preferred[candidates]
        order = candidates[np.lexsort((-fused[candidates], first))][:k]
        best_possible = sum(SIGNAL_WEIGHTS[signal] for signal in rankings) / (self.rrf_k + 1)
        return order, fused[order] / best_possible, total

    def _hit(self, row: int, score: float, rank: int, by_signal: dict[Signal, np.ndarray],
             terms: set[str], query_vector: np.ndarray | None) -> Hit:
        doc = self.index.documents[row]
        raw = {signal: float(scores[row]) for signal, scores in by_signal.items() if not math.isnan(scores[row])}
        return Hit(doc=doc, score=score, rank=rank, matched=tuple(raw), citation=cite(doc),
                   highlight=self._highlight(row, terms, query_vector),
                   semantic_score=raw.get(Signal.SEMANTIC), keyword_score=raw.get(Signal.KEYWORD))

    def _highlight(self, row: int, terms: set[str], query_vector: np.ndarray | None) -> str | None:
        vectors = None if self._sentence_vectors is None or query_vector is None else self._sentence_vectors[row]
        return best_sentence(self._sentences[row], terms, _terms_of, query_vector, vectors)

    def _listing(self, asked: Question, k: int, date_from, date_to, phrase, allowed, notes) -> Results:
        """A question that is only a date ("November 1963"): the documents of that period, oldest first."""
        import numpy as np

        rows = sorted(np.flatnonzero(allowed).tolist(), key=lambda r: sort_key(self.index.documents[r].date))
        notes.append("the question names only a period: listing its documents in date order")
        hits = tuple(Hit(doc=self.index.documents[r], score=0.0, rank=rank, matched=(),
                         citation=cite(self.index.documents[r]), highlight=(self._sentences[r] or [None])[0])
                     for rank, r in enumerate(rows[:k], start=1))
        return Results(hits, asked.text, "", date_from, date_to, phrase, len(rows), tuple(notes))

    def _embed_sentences(self) -> list[np.ndarray | None]:
        """Vectors of every summary sentence, per document, for highlights (one batch at load time)."""
        flat = [part for parts in self._sentences for part in parts]
        if not flat:
            return [None] * len(self._sentences)
        vectors = self.encoder.encode(flat, batch_size=64)
        out, start = [], 0
        for parts in self._sentences:
            out.append(vectors[start:start + len(parts)] if parts else None)
            start += len(parts)
        return out


def checked_k(k) -> int:
    """k as a positive whole number of hits, or a QueryError saying what is wrong with it."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise QueryError(f"k must be a whole number of hits, got {k!r}")
    if k <= 0:
        raise QueryError(f"k must be at least 1, got {k}")
    return k


def _short_name(collection: str) -> str:
    """A collection's name without its date span: "Sino-Soviet Split, 1960-1984" → "sino-soviet split"."""
    return re.sub(r",?\s*\d{4}\s*[-–]\s*\d{4}\s*$", "", collection).strip().casefold()


def _terms_of(text: str) -> list[str]:
    return KeywordIndex.tokenize([text])[0]


# ------------------------------------------------------------------------------------ stale index guard


def corpus_of(settings: Settings, manifest: Manifest | None,
              corpus: str | Path | None) -> tuple[Path | None, list[str]]:
    """The corpus folder an index is checked (and rebuilt) against, and notes for the user: `corpus` when
    given, else the folder the manifest records, else (no index yet, or an index that records none) the
    configured one. None, with a note, when the recorded folder no longer exists."""
    if corpus is not None:
        return Path(corpus).expanduser(), []
    if manifest is None or manifest.corpus_folder is None:
        return settings.corpus_dir, []
    if manifest.corpus_folder.is_dir():
        return manifest.corpus_folder, []
    note = (f"staleness not checked: the corpus folder the index was built from, {manifest.corpus_folder}, "
            "no longer exists")
    log.warning("index at %s: %s", settings.index_dir, note)
    return None, [note]


def current_staleness(index: Index, corpus_dir: Path | None, model: str) -> list[str]:
    """Why the index no longer matches the corpus in `corpus_dir` (None: not checked) or the model."""
    from rag.documents.corpus import load_corpus
    from rag.index.manifest import model_staleness

    if corpus_dir is None:
        return model_staleness(index.manifest, model)
    return index.staleness(load_corpus(corpus_dir), model)


def rebuild_index(settings: Settings) -> None:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir, in this process
    (progress bar only on a terminal). Raises RebuildError, CorpusError or ModelError when it cannot."""
    from rag.index.build import rebuild

    rebuild(settings, progress=sys.stderr.isatty())

