"""An answer as data: what was searched and understood, the sentences that answer, and the cited documents.

`answer(retriever, question)` is the one code path behind the chat page, `coldwar-rag answer` and
`GET /api/answer`. The synthesis quotes summary sentences verbatim, chosen by their own relevance to the
question (stored sentence vector's cosine plus the share of the question's keywords) weighed with their hit's
standing in the search, only from hits that are themselves relevant, at most one per document, in date order.
When no sentence reaches the bar the answer is `answered=False` and says so instead of quoting filler.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from rag.chat.followup import Topic, resolve
from rag.chat.render import Cited, number_by_date
from rag.errors import QueryError
from rag.index.encoders import bundled

if TYPE_CHECKING:
    from rag.search.highlight import SentenceScore
    from rag.search.results import Results


class Answerer(Protocol):
    """What an answer needs from a retriever (`rag.Retriever` has both, and a `model` name that picks the bars)."""

    def search(self, question: str, **options) -> Results: ...

    def sentence_scores(self, results: Results) -> list[list[SentenceScore]]: ...


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
    """The bars for the model that embedded the index, and a note for the reader when none were chosen for it
    (the default bars are used, and `answered` may be wrong)."""
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
        """The n most relevant cited documents, in number (date) order: named when nothing answers."""
        return tuple(sorted(sorted(self.cited, key=lambda c: c.hit.rank)[:n], key=lambda c: c.number))

    def to_record(self) -> dict:
        """The JSON shape of the CLI's `answer --json` and `GET /api/answer`."""
        r = self.results
        return {
            "asked": self.asked, "question": r.question, "query": r.query, "date_from": r.date_from,
            "date_to": r.date_to, "date_phrase": r.date_phrase, "notes": list(r.notes), "total": r.total,
            "answered": self.answered, "synthesis": [quote.to_record() for quote in self.synthesis],
            "documents": [{"citation_number": item.number, **item.hit.to_record()} for item in self.cited],
        }


def answer(retriever: Answerer, question: str, previous_topic: Topic | str | None = None, *,
           bars: Bars | None = None, **search_options) -> Answer:
    """Search the question (combined with `previous_topic` when it is a follow-up such as "what about
    1964?") and choose the sentences that answer it. `search_options` go to `retriever.search` (k,
    date_from, date_to, sort, mode, ...). `bars` default to the retriever's model's (`bars_for`). Raises
    QueryError for an empty question, as search does for bad options."""
    asked = " ".join((question or "").split())
    if not asked:
        raise QueryError("the question is empty: type a question, e.g. 'What did Zhou Enlai say about the test ban?'")
    if isinstance(previous_topic, str):
        previous_topic = Topic(previous_topic) if previous_topic.strip() else None
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
    """The synthesis: relevant hits ranked by their best sentence plus their standing in the search (see
    `Bars`), the best and any within the margin, in date order."""
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
