"""rag.chat.answer on the real retriever over the bundled corpus: sentences chosen by their own relevance,
"not answered" for questions the archive cannot answer, follow-ups, and the record the CLI and API return."""

from __future__ import annotations

import pytest

from rag.chat.answer import Bars, answer, choose
from rag.chat.followup import Topic
from rag.errors import QueryError


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
