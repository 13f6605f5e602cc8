"""BM25 keyword search over title, summary and collection."""

from __future__ import annotations

import numpy as np

from rag.documents.document import Document
from rag.search.keyword import KeywordIndex, keyword_text

TEXTS = ["Zhou Enlai criticizes the test ban treaty", "Romanian party negotiations with the Chinese",
         "Soviet propaganda on the radio", "Report on Xinjiang"]


def test_stemming_matches_word_forms():
    scores = KeywordIndex(TEXTS).scores("negotiating with Romania")
    assert int(np.argmax(scores)) == 1 and scores[1] > 0


def test_question_framing_and_stopwords_do_not_match():
    index = KeywordIndex(TEXTS)
    assert index.terms("What did they say about it?") == []
    assert not index.scores("What did they say about it?").any()


def test_words_outside_the_collection_score_nothing():
    assert not KeywordIndex(TEXTS).scores("chocolate cake").any()


def test_allowed_rows_mask_the_rest():
    scores = KeywordIndex(TEXTS).scores("Zhou test ban", np.array([False, True, True, True]))
    assert scores[0] == 0


def test_the_collection_name_is_searchable():
    doc = Document.create(date="1963", date_text="1963", title="Report", collection="Cuban Missile Crisis",
                          summary="Text.")
    assert "Cuban Missile Crisis" in keyword_text(doc)
    index = KeywordIndex([keyword_text(doc), "Report. Text. Sino-Soviet Split"])
    assert index.scores("missile crisis")[0] > 0 and index.scores("missile crisis")[1] == 0
