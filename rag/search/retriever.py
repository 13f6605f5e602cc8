"""Answer questions from the index, in the steps README's "How it searches" describes: the date filter first,
then dense (FAISS) and keyword (BM25) search over the allowed rows, fused by weighted reciprocal rank fusion
(`rag.search.signals`; or by the index itself, when it can: `rag.index.backend.Backend.fused_search`), cut to k,
each hit with a citation and the summary sentence that best matches.

The constants that tune ranking (RRF constant, weights, minimum similarity, depth, BM25) are `Settings` fields.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.dates import sort_key
from rag.documents.names import modern_text, modernise
from rag.errors import StaleIndex
from rag.index.backend import Request
from rag.index.keyword import KeywordIndex
from rag.search.citation import cite
from rag.search.filters import CollectionFilter, CollectionPreference, DateFilter, checked_collections
from rag.search.highlight import Highlighter, SentenceScore
from rag.search.params import Mode, SortOrder, checked_k, checked_range
from rag.search.question import Question, understand, warm_up
from rag.search.results import Hit, Results, Signal
from rag.search.signals import Signals
from rag.settings import DEFAULT_K, ENV_VARS, Settings

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping, Sequence

    import numpy as np

    from rag.index.backend import Backend, WordIndex
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder

log = logging.getLogger(__name__)

__all__ = ["Mode", "Retriever", "SortOrder", "StaleIndex"]


class _Summaries:
    """Row → summary, fetched from the documents when asked (a `DocumentTable` reads one row)."""

    def __init__(self, documents):
        self._documents = documents

    def __getitem__(self, row: int) -> str | None:
        return self._documents[row].summary


class Retriever:
    """Searches one index; immutable after construction, so one instance serves many threads."""

    notes: tuple[str, ...] = ()  # said in every Results.notes, e.g. that the index's staleness was not checked
    corpus_dir: Path | None = None  # the corpus folder `load` checked the index against

    def __init__(self, index: Backend, encoder: Encoder | OnnxEncoder | None, settings: Settings):
        """Args:
            index: The index to search.
            encoder: What encodes questions; None: sentence-transformers for the index's model.
            settings: The ranking constants, the BM25 parameters, `max_k`, `modern_names`.
        """
        from rag.index.encoders.sentence_transformer import Encoder

        self.settings = settings
        self.index = index
        self.encoder = encoder or Encoder(index.manifest.model or settings.model, model_cache=settings.model_cache)
        self.min_similarity = settings.min_similarity
        self.keyword = _keyword_index(index, settings)
        self.signals = Signals(index, self.keyword, settings)
        # Nothing per document is read here: the filters take the index's arrays, the highlighter fetches
        # a summary only for a hit shown.
        self.dates = DateFilter.from_spans(index.date_spans())
        self.collections = CollectionPreference.from_codes(*index.collections())
        self.collection_filter = CollectionFilter.from_codes(*index.collections())
        self.highlighter = Highlighter(_Summaries(index.documents), _terms_of,
                                       index.sentence_vectors if index.sentences is not None else None)
        warm_up()

    @classmethod
    def load(cls, path: str | Path | None = None, *, corpus: str | Path | None = None, model: str | None = None,
             check: bool = True, rebuild: bool = False, settings: Settings | None = None,
             backend: str | None = None) -> Retriever:
        """Open an index folder (or database) and its query encoder (`rag.index.opening.open_index`).

        The model is the one the index was built with, unless `model` (or `RAG_MODEL`) asks for another.
        Questions are encoded by the index's verified ONNX export (no torch); an index whose rebuild found
        ONNX unusable is served by sentence-transformers, said in every `Results.notes` and logged.

        With `check`, an index that no longer matches its corpus or the model, or lacks up-to-date sentence
        vectors or BM25 index for the settings, raises `StaleIndex` naming the rebuild command. Nothing is
        embedded or indexed here: both come from the index folder. The corpus is the folder the index was
        built from (recorded in its manifest); `corpus` overrides it; a recorded folder that no longer exists
        is not checked (said in every `Results.notes` and logged). With `rebuild`, a missing or stale index is
        first rebuilt, in this process, from that same corpus.

        This is the Python entry point: without `settings` it reads the environment (`Settings.from_env`), as
        the command line does.

        Args:
            path: The index folder; None: `settings.index_dir` (by default the configured `embeddings/index/`).
            corpus: The corpus folder to check against; None: the one the index records.
            model: The model to ask with; None: the index's own.
            check: Refuse a stale index.
            rebuild: Rebuild a missing or stale index first.
            settings: The settings to use instead of the environment's; their `model` is taken as asked for
                only when `model` is given too (else the index's own is used, as without `RAG_MODEL`).
            backend: A PostgreSQL database's URL to search instead of an index folder (`Settings.backend`;
                None: the settings' or `RAG_BACKEND`).

        Returns:
            The retriever, its `notes` and `corpus_dir` set.

        Raises:
            IndexUnavailable: No usable index.
            StaleIndex: The index is stale (with `check`) or holds vectors of another dimension than the model's.
            RebuildError, CorpusError, ModelError: A rebuild asked for cannot be made.
            SettingsError: A setting in the environment cannot be used.
        """
        from rag.index.opening import open_index

        if settings is None:
            settings = Settings.from_env(index_dir=path, model=model, backend=backend)
            model_given = model is not None or bool(os.environ.get(ENV_VARS["model"]))
        else:
            settings = replace(settings, **{name: value for name, value in (
                ("index_dir", path), ("model", model), ("backend", backend)) if value is not None})
            model_given = model is not None
        opened = open_index(settings, corpus=corpus, model_given=model_given, check=check, rebuild=rebuild)
        retriever = cls(opened.index, opened.encoder, opened.settings)
        retriever.notes = opened.notes
        retriever.corpus_dir = opened.corpus_dir
        return retriever

    @property
    def model(self) -> str:
        """The name of the model that embedded the index (as given when it was built)."""
        return self.index.manifest.model or self.settings.model

    # ------------------------------------------------------------------------------------------ search

    def search(self, question: str, k: int = DEFAULT_K, date_from: str | dt.date | None = None,
               date_to: str | dt.date | None = None, sort: str | SortOrder = "relevance",
               mode: str | Mode = "hybrid", collections: str | Sequence[str] | None = None) -> Results:
        """The k documents that best answer the question, within the date range asked for (and the
        `collections` named, when given: one name or several, with or without their date span).

        Args:
            question: The question as typed; a date phrase in it ("in 1964") filters, names in old spellings
                are read in modern ones.
            k: How many hits (at most `Settings.max_k`).
            date_from: Earliest date; explicit dates replace any date range read from the question.
            date_to: Latest date.
            sort: "relevance" or "date".
            mode: "hybrid", "semantic" or "keyword".
            collections: Only these collections.

        Returns:
            The hits with citations and highlights, how many matched, and notes on how the question was read.

        Raises:
            QueryError: A bad k, date, order, mode or collection (DateError for a date).
        """
        k, sort, mode = checked_k(k, self.settings.max_k), SortOrder(sort), Mode(mode)
        wanted = self.collection_filter.resolve(checked_collections(collections))
        asked = understand(question)
        date_from, date_to, phrase, notes = _date_range(asked, date_from, date_to)
        notes[:0] = self.notes
        # 0. Names in variant spellings ("Chou En-lai") read in the modern one the documents are indexed by.
        reading = modernise(asked.query) if self.settings.modern_names else None
        if reading and reading.changes:
            asked = replace(asked, query=reading.text)
            notes[:0] = reading.notes
        # 1. The date filter comes first.
        allowed = self.dates.allowed(date_from, date_to)
        in_collections = self.collection_filter.allowed(wanted)
        if in_collections is not None:
            allowed = in_collections if allowed is None else allowed & in_collections
            notes.append(f"only the collection{'s' if len(wanted) > 1 else ''} {'; '.join(wanted)}")
        if not asked.query:
            return self._listing(asked, k, date_from, date_to, phrase, allowed, notes)
        # 2. Meaning and word search over the allowed rows only, 3. merged by weighted reciprocal rank fusion
        # (a named collection's rows first), 4. cut to k: by this process, or by a backend that fuses itself.
        query_vector = self.encoder.encode([asked.query])[0] if mode is not Mode.KEYWORD else None
        named, preferred = self.collections.named(asked.query)
        if named:
            notes.append(f"the question names {', '.join(named)}: its documents come first")
        request = Request(asked.query, query_vector, self._weights(mode), k, allowed, preferred)
        matches = (self.index.fused_search or self.signals)(request)
        if matches.total == 0:
            notes.append("nothing in the archive matched the question" + (" in that period" if allowed is not None
                                                                             else ""))
        # 5. Hits with citations and highlights, 6. in the order asked for.
        _prefetch(self.index, matches.rows)
        terms = set(self.keyword.terms(asked.query))
        hits = [self._hit(int(row), float(score), rank, matches.raw, terms, query_vector)
                for rank, (row, score) in enumerate(zip(matches.rows, matches.scores, strict=True), start=1)]
        if sort is SortOrder.DATE:
            hits.sort(key=lambda hit: sort_key(hit.doc.date))
        return Results(tuple(hits), question, asked.query, date_from, date_to, phrase, matches.total, tuple(notes))

    def _weights(self, mode: Mode) -> dict[Signal, float]:
        """The signals `mode` runs, with their fusion weights (the sentence signal only when weighted and the
        index has sentence vectors)."""
        signals = {Mode.SEMANTIC: [Signal.SEMANTIC], Mode.KEYWORD: [Signal.KEYWORD]}.get(
            mode, [Signal.SEMANTIC, Signal.KEYWORD])
        if mode is Mode.HYBRID and self.settings.sentence_weight > 0 and self.index.sentences is not None:
            signals.append(Signal.SENTENCE)
        return {signal: self.settings.weights[signal] for signal in signals}

    def sentence_scores(self, results: Results) -> list[list[SentenceScore]]:
        """Each hit's summary sentences scored against the words searched (`results.query`): cosine from the
        stored sentence vectors (0.0 when the index has none) and keyword share. For the chat's synthesis;
        encodes the query once more (a few milliseconds) rather than widening `Results`.

        Args:
            results: What `search` returned.

        Returns:
            Per hit, its sentences' scores (none for a listing by date alone).
        """
        if not results.query:
            return [[] for _ in results]
        vector = self.encoder.encode([results.query])[0] if self.index.sentences is not None else None
        terms = set(self.keyword.terms(results.query))
        return [self.highlighter.scored(hit.row, terms, vector) for hit in results]

    def _hit(self, row: int, score: float, rank: int, by_signal: Mapping[str, Mapping[int, float]],
             terms: set[str], query_vector: np.ndarray | None) -> Hit:
        doc = self.index.documents[row]
        raw = {Signal(signal): scores[row] for signal, scores in by_signal.items() if row in scores}
        return Hit(doc=doc, score=score, rank=rank, matched=tuple(raw), citation=cite(doc),
                   highlight=self.highlighter.best(row, terms, query_vector),
                   semantic_score=raw.get(Signal.SEMANTIC), keyword_score=raw.get(Signal.KEYWORD), row=row)

    def _listing(self, asked: Question, k: int, date_from, date_to, phrase, allowed, notes) -> Results:
        """A question that is only a date ("November 1963"): the documents of that period, oldest first."""
        import numpy as np

        spans = self.index.date_spans()
        found = self.index.searchable(allowed)
        # By first day, the wider span (less precise date) first, as `sort_key`: 1964, 1964-01, 1964-01-01.
        rows = found[np.lexsort((found, -spans[found, 1], spans[found, 0]))].tolist()
        notes.append("the question names only a period: listing its documents in date order")
        _prefetch(self.index, rows[:k])
        docs = [(r, self.index.documents[r]) for r in rows[:k]]  # one read per shown document
        hits = tuple(Hit(doc=doc, score=0.0, rank=rank, matched=(), citation=cite(doc),
                         highlight=self.highlighter.first(r), row=r)
                     for rank, (r, doc) in enumerate(docs, start=1))
        return Results(hits, asked.text, "", date_from, date_to, phrase, len(rows), tuple(notes))


def _date_range(asked: Question, date_from, date_to) -> tuple[str | None, str | None, str | None, list[str]]:
    """The range to filter on: explicit parameters if any were given, else what the question said."""
    notes = list(asked.notes)
    date_from, date_to = checked_range(date_from, date_to)
    if date_from is None and date_to is None:
        return asked.date_from, asked.date_to, asked.phrase, notes
    if asked.phrase:
        notes.append(f"the dates given replace {asked.phrase!r} in the question")
    return date_from, date_to, None, notes


def _prefetch(index: Backend, rows) -> None:
    """Read the documents of the rows shown in one go, when the index's documents can (a database's: one
    query rather than one per hit)."""
    prefetch = getattr(index.documents, "prefetch", None)
    if prefetch is not None and len(rows):
        prefetch(rows)


def _terms_of(texts: list[str]) -> list[list[str]]:
    """Summary sentences' keywords, names in modern spelling like the (modernised) question's."""
    return KeywordIndex.tokenize([modern_text(text) for text in texts])


def _keyword_index(index: Backend, settings: Settings) -> WordIndex:
    """The index's words for `settings`' BM25 parameters (`Index.keyword_for`: built here when the saved ones
    have others, or there are none), saying so in the log."""
    keyword = index.keyword_for(settings)
    if keyword is not index.keyword and index.path is not None:
        log.info("index at %s: %s; building the BM25 index in memory", index.path,
                 "no saved BM25 index" if index.keyword is None else "saved BM25 index has other settings")
    return keyword
