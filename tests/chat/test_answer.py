"""rag.chat.answer: `choose` on small hand-made hits (the bars one at a time), then the real retriever over the
bundled corpus: sentences chosen by their own relevance, "not answered" for questions the archive cannot answer,
follow-ups, and the record the CLI and API return."""

from __future__ import annotations

import pytest

from rag.chat.answer import BARS, BARS_BY_MODEL, Bars, answer, bars_for, choose, number_by_date
from rag.chat.followup import Topic
from rag.documents.document import Document
from rag.errors import QueryError
from rag.index.encoders import bundled
from rag.search.highlight import SentenceScore
from rag.search.results import Hit, Results


def fake(*hits: tuple[float, float | None, list[tuple[float, float]] | None]):
    """Results, citations and sentence scores from (fused score, document cosine, [(sentence cosine, keyword
    share), ...] or None for a document without summary), best first; document i is dated 1963-0{i+1}."""
    docs = [Document.create(date=f"1963-0{i + 1}", date_text="", title=f"Doc {i}", collection="c", id=f"d{i}",
                            summary=None if parts is None else " ".join(f"S{i}.{j}." for j in range(len(parts))))
            for i, (_, _, parts) in enumerate(hits)]
    results = Results(tuple(Hit(doc, score, rank, (), "", semantic_score=cosine)
                            for rank, (doc, (score, cosine, _)) in enumerate(zip(docs, hits, strict=True), start=1)),
                      "q", "q")
    scores = [[SentenceScore(f"S{i}.{j}.", c, w) for j, (c, w) in enumerate(parts or [])]
              for i, (_, _, parts) in enumerate(hits)]
    return results, tuple(number_by_date(results)), scores


def quoted(results, cited, scores, bars=BARS) -> list[str]:
    return [quote.sentence for quote in choose(results, cited, scores, bars)]


def test_each_relevant_hit_offers_its_best_sentence_and_the_best_overall_is_quoted():
    results, cited, scores = fake((1.0, 0.6, [(0.4, 0.0), (0.55, 0.0)]), (0.9, 0.5, [(0.3, 0.0)]))
    assert quoted(results, cited, scores) == ["S0.1."]


def test_a_far_better_sentence_lower_in_the_ranking_wins_but_a_near_tie_goes_to_the_higher_hit():
    far = fake((1.0, 0.5, [(0.45, 0.0)]), (0.4, 0.5, [(0.7, 0.0)]))  # 0.45 + 0.3 < 0.7 + 0.3 x 0.4
    assert quoted(*far) == ["S1.0."]
    near = fake((1.0, 0.5, [(0.5, 0.0)]), (0.4, 0.5, [(0.6, 0.0)]))  # 0.5 + 0.3 > 0.6 + 0.12
    assert quoted(*near) == ["S0.0."]
    assert quoted(*near, Bars(rank_weight=0.0)) == ["S1.0."]  # the sentence alone would decide


def test_the_question_keywords_count_with_word_weight():
    results, cited, scores = fake((1.0, 0.5, [(0.5, 0.0), (0.45, 1.0)]))
    assert quoted(results, cited, scores) == ["S0.1."]  # 0.45 + 0.25 x 1.0 beats 0.5
    assert quoted(results, cited, scores, Bars(word_weight=0.0)) == ["S0.0."]


def test_a_second_quote_needs_to_be_within_the_margin_and_quotes_come_in_date_order():
    results, cited, scores = fake((1.0, 0.5, [(0.5, 0.0)]), (1.0, 0.5, [(0.49, 0.0)]), (1.0, 0.5, [(0.4, 0.0)]))
    assert quoted(results, cited, scores) == ["S0.0.", "S1.0."]
    assert [q.citation_number for q in choose(results, cited, scores)] == [1, 2]
    assert quoted(results, cited, scores, Bars(limit=1)) == ["S0.0."]
    assert quoted(results, cited, scores, Bars(margin=0.2, limit=3)) == ["S0.0.", "S1.0.", "S2.0."]


def test_hits_below_the_document_or_sentence_bar_and_summary_less_hits_are_never_quoted():
    results, cited, scores = fake((1.0, 0.7, None), (0.9, 0.3, [(0.9, 1.0)]), (0.8, 0.5, [(0.45, 0.0)]))
    assert quoted(results, cited, scores) == ["S2.0."]
    assert quoted(results, cited, scores, Bars(sentence=0.5)) == []
    weak = fake((1.0, None, [(0.35, 0.0), (0.2, 0.0)]))  # no document cosine: its best sentence's stands in
    assert quoted(*weak) == []
    assert quoted(*weak, Bars(document=0.3)) == ["S0.0."]


def test_on_topic_question_quotes_verbatim_sentences_of_distinct_documents(retriever):
    reply = answer(retriever, "Chinese visitors touring Soviet cities and arguing with their hosts")
    assert reply.answered and reply.synthesis
    by_number = {item.number: item.hit.doc for item in reply.cited}
    assert len({quote.doc_id for quote in reply.synthesis}) == len(reply.synthesis) <= Bars().limit
    for quote in reply.synthesis:
        doc = by_number[quote.citation_number]
        assert doc.id == quote.doc_id and quote.sentence in " ".join(doc.summary.split())
    numbers = [quote.citation_number for quote in reply.synthesis]
    assert numbers == sorted(numbers)  # date order
    assert "dc673033469e6c9c" in {quote.doc_id for quote in reply.synthesis}  # the labelled answer (eval/tune)


@pytest.mark.parametrize("question", ["Who painted the Mona Lisa?", "How do I learn to speak Russian?",
                                      "What is the population of China today?"])
def test_off_topic_question_is_not_answered(retriever, question):
    reply = answer(retriever, question)
    assert not reply.answered and reply.synthesis == ()
    assert reply.to_record()["answered"] is False


def test_followup_builds_on_the_previous_topic(retriever):
    first = answer(retriever, "Romania mediation between Moscow and Beijing")
    follow = answer(retriever, "what about 1964?", first.topic)
    assert follow.searched == f"{first.results.query} in 1964"
    assert follow.results.date_from == "1964" and follow.asked == "what about 1964?"
    assert answer(retriever, "what about 1964?", first.results.query).searched == follow.searched


def test_record_has_the_searched_question_synthesis_and_numbered_documents(retriever):
    record = answer(retriever, "Soviet propaganda in late 1963", k=5).to_record()
    assert record["question"] == "Soviet propaganda in late 1963" and record["query"] == "Soviet propaganda"
    assert (record["date_from"], record["date_to"], record["date_phrase"]) == ("1963-09", "1963-12", "in late 1963")
    assert [doc["citation_number"] for doc in record["documents"]] == list(range(1, 6))
    dates = [doc["date"] for doc in record["documents"]]
    assert dates == sorted(dates)
    ids = {doc["citation_number"]: doc["id"] for doc in record["documents"]}
    for quote in record["synthesis"]:
        assert set(quote) == {"sentence", "citation_number", "doc_id"}
        assert ids[quote["citation_number"]] == quote["doc_id"]


def test_a_higher_bar_answers_less(retriever):
    reply = answer(retriever, "Chinese visitors touring Soviet cities and arguing with their hosts")
    scores = retriever.sentence_scores(reply.results)
    assert choose(reply.results, reply.cited, scores, Bars(document=0.99)) == ()
    assert choose(reply.results, reply.cited, scores) == reply.synthesis


def test_empty_question_is_a_query_error(retriever):
    with pytest.raises(QueryError, match="empty"):
        answer(retriever, "   ", Topic("Romania"))


# ------------------------------------------------------------------------------------- bars per model


@pytest.mark.parametrize("name", ["sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", None])
def test_the_default_model_gets_the_default_bars_without_a_note(name):
    assert bars_for(name) == (BARS, None)


def test_mpnet_gets_its_own_bars_under_either_name():
    for name in ("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"):
        bars, note = bars_for(name)
        assert bars == BARS_BY_MODEL[bundled.MPNET] != BARS and note is None


def test_a_model_without_chosen_bars_is_answered_with_the_default_ones_and_says_so(retriever):
    bars, note = bars_for("intfloat/e5-small-v2")
    assert bars == BARS and "intfloat/e5-small-v2" in note and "eval/synthesis.py --grid" in note

    class OtherModel:  # the real retriever, claiming another model
        model = "intfloat/e5-small-v2"
        search, sentence_scores = retriever.search, retriever.sentence_scores

    question = "Chinese visitors touring Soviet cities and arguing with their hosts"
    reply, plain = answer(OtherModel(), question), answer(retriever, question)
    assert reply.results.notes == (*plain.results.notes, note)
    assert note in reply.to_record()["notes"] and reply.synthesis == plain.synthesis


@pytest.mark.slow
def test_mpnet_answers_on_topic_and_not_off_topic_questions_with_its_bars(mpnet_retriever):
    """The real all-mpnet-base-v2 (from its pip packages) over the bundled corpus, as eval/synthesis.py runs it."""
    assert mpnet_retriever.model == "all-mpnet-base-v2"
    on = answer(mpnet_retriever, "Chinese visitors touring Soviet cities and arguing with their hosts")
    assert on.answered and "dc673033469e6c9c" in {quote.doc_id for quote in on.synthesis}
    assert not any("bars chosen for" in note for note in on.results.notes)
    for question in ("Who painted the Mona Lisa?", "How do I bake sourdough bread?"):
        assert not answer(mpnet_retriever, question).answered
