"""An answer as data: what was searched and understood, the sentences that answer, and the cited documents.

`answer(retriever, question)` is the one code path behind the chat page, `coldwar-rag answer` and
`GET /api/answer`; `Searcher` is what it, the chat, the API and the page need from a retriever. The synthesis
quotes summary sentences verbatim, chosen by their own relevance to the question (stored sentence vector's
cosine plus the share of the question's keywords) weighed with their hit's standing in the search, only from
hits that are themselves relevant, at most one per document, in date order. When no sentence reaches the bar
the answer is `answered=False` and says so instead of quoting filler.

The cited documents are numbered by date here (`number_by_date`): the view (render.py) and the downloads
(export.py) only read the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from rag.chat.followup import Topic, resolve
from rag.documents.dates import sort_key
from rag.errors import QueryError
from rag.index.encoders import bundled
from rag.search.question import empty_question
from rag.settings import DEFAULT_K

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rag.search.highlight import SentenceScore
    from rag.search.results import Hit, Results


class Searcher(Protocol):
    """What the chat, the API and the page need from a retriever (`rag.Retriever` is one). A `model`
    attribute, when there is one, names the model that embedded the index and picks the bars (`bars_for`)."""

    def search(self, question: str, k: int = DEFAULT_K, date_from: str | None = None, date_to: str | None = None,
               sort: str = "relevance", mode: str = "hybrid", collections: Sequence[str] | None = None) -> Results:
        """Search the archive.

        Args:
            question: The question as asked; dates in it filter unless `date_from`/`date_to` are given.
            k: How many hits at most.
            date_from: Earliest date (YYYY, YYYY-MM or YYYY-MM-DD), or None for no bound.
            date_to: Latest date, inclusive to the end of its period, or None for no bound.
            sort: "relevance" or "date".
            mode: "hybrid", "semantic" or "keyword".
            collections: Only these collections; None for all.

        Returns:
            The hits with what was searched and understood.
        """
        ...

    def sentence_scores(self, results: Results) -> list[list[SentenceScore]]:
        """Score every summary sentence of each hit against the question searched.

        Args:
            results: What `search` returned.

        Returns:
            One list of sentence scores per hit, in hit order (empty for a hit without a summary).
        """
        ...


@dataclass(frozen=True)
class Cited:
    """A hit with its citation number (numbers follow dates: [1] is the earliest)."""

    number: int
    hit: Hit

    @property
    def label(self) -> str:
        """The number as the reader sees it: `[3]`."""
        return f"[{self.number}]"


def number_by_date(results: Results) -> list[Cited]:
    """Number the hits [1], [2], ... in chronological order (ties keep relevance order).

    Args:
        results: The hits of one search.

    Returns:
        Every hit with its citation number, earliest first.
    """
    by_date = sorted(results, key=lambda hit: (sort_key(hit.doc.date), hit.rank))
    return [Cited(number, hit) for number, hit in enumerate(by_date, start=1)]


@dataclass(frozen=True)
class Bars:
    """When a sentence is quoted. Chosen on the tune split only: eval/tune.jsonl plus eval/synthesis_tune.jsonl's
    off-topic questions (`python eval/synthesis.py --grid`); eval/synthesis_heldout.jsonl only reports.

    Every hit of the search is a candidate when its summary's cosine to the question (its best sentence's
    cosine when the dense search did not score it) reaches `document`. Its best sentence scores cosine +
    `word_weight` x the share of the question's keywords it contains, and must reach `sentence`; the hit then
    ranks by that score + `rank_weight` x its fused score as a share of the best hit's, so a sentence from far
    down the list must say much more to beat the top hits'. Quoted: the best, and others within `margin` of
    it, at most `limit`. One tune question is worth 0.021: the grid's top (one quote, 0.936/0.917) is half a
    question better but an isolated peak; these sit in a plateau (eval/README.md lists the variants tried)."""

    # Tune figures in the comments: precision / quotes relevant / on-topic answered / off-topic not answered.
    document: float = 0.39  # off-topic best summary cosine 0.00-0.38: 0.38 answers one of them; 0.41 loses an answer
    sentence: float = 0.3  # 0.2-0.3 equal; 0.4 leaves one on-topic question unanswered, 0.5 four
    word_weight: float = 0.25  # 0.926/0.917 (0.1-0.2: 0.904-0.915/0.917; 0: 0.872/0.854; 0.3: 0.904/0.896)
    rank_weight: float = 0.3  # 0.3-0.4 best (0.926/0.917); 0, sentence alone: 0.819/0.833; 0.5: 0.894/0.896
    margin: float = 0.02  # 0.01-0.02 best; 0: 0.915/0.896; 0.05 adds wrong second quotes: precision 0.894
    limit: int = 2  # 1: 0.915/0.896; 2 and 3 equal at this margin


BARS = Bars()

#: The bars of each bundled model, chosen on the tune split with that model (`RAG_MODEL=... python
#: eval/synthesis.py --grid`): a cosine bar means nothing across models. all-mpnet-base-v2's off-topic
#: questions top out at 0.387 and its on-topic ones start at 0.417, so `document` sits between; fewer
#: keyword points suit it (word weight 0.15: 0.969/0.979/1.000/1.000 on tune; 0.25: 0.938/0.958).
BARS_BY_MODEL = {bundled.MINILM: BARS, bundled.MPNET: Bars(document=0.40, word_weight=0.15)}


def bars_for(model: str | None) -> tuple[Bars, str | None]:
    """The bars for the model that embedded the index.

    Args:
        model: The model's name as the index records it (either spelling of a bundled model); None for the
            default model.

    Returns:
        The bars, and a note for the reader when none were chosen for this model (the default bars are used,
        and `answered` may be wrong), else None.
    """
    chosen = BARS_BY_MODEL.get(bundled.canonical(model)) if model else BARS
    if chosen is not None:
        return chosen, None
    known = " and ".join(name.split("/")[-1] for name in BARS_BY_MODEL)
    return BARS, (f"whether the archive answers this is judged with bars chosen for {known}, not for {model}: "
                  "re-choose them with eval/synthesis.py --grid (eval/README.md)")


@dataclass(frozen=True)
class Quote:
    """One sentence of the synthesis, verbatim from the summary of cited document [citation_number]."""

    sentence: str
    citation_number: int
    doc_id: str
    score: float

    def to_record(self) -> dict:
        """The quote as JSON.

        Returns:
            `sentence`, `citation_number` and `doc_id`: one item of `Answer.to_record`'s `synthesis`.
        """
        return {"sentence": self.sentence, "citation_number": self.citation_number, "doc_id": self.doc_id}


@dataclass(frozen=True)
class Answer:
    """One answer: the question as asked, the search's results (the question searched after follow-up
    resolution, understood dates and notes), the cited documents numbered by date, and the synthesis."""

    asked: str
    results: Results
    cited: tuple[Cited, ...]
    synthesis: tuple[Quote, ...]
    answered: bool

    @property
    def searched(self) -> str:
        """The question searched: the follow-up combined with the previous topic, or the question as asked."""
        return self.results.question

    @property
    def topic(self) -> Topic:
        """What a follow-up to this answer builds on."""
        return Topic(self.results.query, self.results.date_phrase)

    def closest(self, n: int = 3) -> tuple[Cited, ...]:
        """The cited documents named when nothing answers.

        Args:
            n: How many.

        Returns:
            The n most relevant cited documents, in number (date) order.
        """
        return tuple(sorted(sorted(self.cited, key=lambda c: c.hit.rank)[:n], key=lambda c: c.number))

    def to_record(self) -> dict:
        """The answer as JSON.

        Returns:
            The record the CLI's `answer --json` prints and `GET /api/answer` returns.
        """
        r = self.results
        return {
            "asked": self.asked, "question": r.question, "query": r.query, "date_from": r.date_from,
            "date_to": r.date_to, "date_phrase": r.date_phrase, "notes": list(r.notes), "total": r.total,
            "answered": self.answered, "synthesis": [quote.to_record() for quote in self.synthesis],
            "documents": [{"citation_number": item.number, **item.hit.to_record()} for item in self.cited],
        }


def answer(retriever: Searcher, question: str, previous_topic: Topic | str | None = None, *,
           bars: Bars | None = None, **search_options) -> Answer:
    """Search the question and choose the sentences that answer it.

    Args:
        retriever: What searches (`rag.Retriever`).
        question: The question as asked.
        previous_topic: The previous answer's topic (or its query as text): a follow-up such as "what about
            1964?" is combined with it. None or blank: the question stands alone.
        bars: When a sentence is quoted; default: the retriever's model's (`bars_for`).
        **search_options: Passed to `retriever.search` (k, date_from, date_to, sort, mode, collections).

    Returns:
        The answer: what was searched, the cited documents numbered by date and the quoted sentences.

    Raises:
        QueryError: For an empty question, as search does for bad options.
    """
    if question is not None and not isinstance(question, str):
        raise QueryError(f"the question must be text, got {type(question).__name__}")
    asked = " ".join((question or "").split())
    if not asked:
        raise empty_question()
    if isinstance(previous_topic, str):
        previous_topic = Topic(previous_topic) if previous_topic.strip() else None
    elif previous_topic is not None and not isinstance(previous_topic, Topic):
        raise QueryError(f"the previous topic must be text or a Topic, got {type(previous_topic).__name__}")
    results = retriever.search(resolve(asked, previous_topic), **search_options)
    cited = tuple(number_by_date(results))
    if not results.query:  # a period only ("November 1963"): a listing, nothing to quote
        return Answer(asked, results, cited, (), answered=len(results) > 0)
    if bars is None:
        bars, note = bars_for(getattr(retriever, "model", None))
        if note:
            results = replace(results, notes=(*results.notes, note))
    scores = retriever.sentence_scores(results) if len(results) else []
    quotes = choose(results, cited, scores, bars)
    return Answer(asked, results, cited, quotes, answered=bool(quotes))


def choose(results: Results, cited: tuple[Cited, ...], scores: list[list[SentenceScore]],
           bars: Bars = BARS) -> tuple[Quote, ...]:
    """Choose the synthesis: relevant hits ranked by their best sentence plus their standing in the search
    (see `Bars`), the best and any within the margin.

    Args:
        results: The hits of one search.
        cited: The same hits with their citation numbers (`number_by_date`).
        scores: The sentence scores of each hit (`Searcher.sentence_scores`), in hit order.
        bars: When a sentence is quoted.

    Returns:
        The quotes, in citation-number (date) order; empty when none reaches the bars.
    """
    if not results:
        return ()
    number = {item.hit.doc.id: item.number for item in cited}
    best_hit = max(hit.score for hit in results)
    candidates = []
    for hit, sentences in zip(results, scores, strict=True):
        if not sentences:  # no summary: nothing to quote (the document is still cited and listed)
            continue
        evidence = hit.semantic_score if hit.semantic_score is not None else max(s.cosine for s in sentences)
        if evidence < bars.document:
            continue
        relevance, sentence = max((s.cosine + bars.word_weight * s.words, s.sentence) for s in sentences)
        if relevance >= bars.sentence:
            score = relevance + bars.rank_weight * hit.score / best_hit
            candidates.append(Quote(" ".join(sentence.split()), number[hit.doc.id], hit.doc.id, score))
    if not candidates:
        return ()
    top = max(quote.score for quote in candidates)
    kept = sorted((q for q in candidates if q.score >= top - bars.margin), key=lambda q: -q.score)[:bars.limit]
    return tuple(sorted(kept, key=lambda q: q.citation_number))
