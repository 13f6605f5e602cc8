"""BM25 keyword search over title, summary and collection, built in memory or saved and memory-mapped."""

from __future__ import annotations

import numpy as np
import pytest

from rag.documents.document import Document
from rag.index.keyword import STATS, TOKENIZER, KeywordIndex, keyword_text, params
from rag.settings import Settings

TEXTS = ["Zhou Enlai criticizes the test ban treaty", "Romanian party negotiations with the Chinese",
         "Soviet propaganda on the radio", "Report on Xinjiang"]


def test_stemming_matches_word_forms():
    scores = KeywordIndex.build(TEXTS, Settings()).scores("negotiating with Romania")
    assert int(np.argmax(scores)) == 1 and scores[1] > 0


def test_question_framing_and_stopwords_do_not_match():
    index = KeywordIndex.build(TEXTS, Settings())
    assert index.terms("What did they say about it?") == []
    assert not index.scores("What did they say about it?").any()


def test_words_outside_the_collection_score_nothing():
    assert not KeywordIndex.build(TEXTS, Settings()).scores("chocolate cake").any()


def test_allowed_rows_mask_the_rest():
    scores = KeywordIndex.build(TEXTS, Settings()).scores("Zhou test ban", np.array([False, True, True, True]))
    assert scores[0] == 0


@pytest.mark.parametrize("method", ["bm25+", "lucene"])
def test_a_filter_masks_scores_as_bm25s_weight_mask_and_the_floor_did(bundled_corpus, method):
    # The mask is applied in place after the floor is taken off, not as bm25s's weight mask: same scores.
    texts = [keyword_text(doc) for doc in bundled_corpus.documents]
    index = KeywordIndex.build(texts, Settings(bm25_method=method))
    allowed = np.arange(len(texts)) % 3 != 0
    for question in ("Zhou Enlai test ban", "Romanian negotiations with China", "radio propaganda"):
        terms = index.terms(question)
        for mask in (None, allowed):
            weights = None if mask is None else mask.astype(np.float32)
            expected = np.asarray(index._bm25.get_scores(terms, weight_mask=weights), dtype=np.float32)
            if method == "bm25+":
                floor = float(index._bm25.nonoccurrence_array[[index._bm25.vocab_dict[t] for t in terms]].sum())
                expected = np.where(expected > floor * (1 + 1e-6), expected - floor, 0.0).astype(np.float32)
            got = index.scores(question, mask)
            assert got.dtype == np.float32 and got.any()
            np.testing.assert_array_equal(got, expected)


def test_the_collection_name_is_searchable():
    doc = Document.create(date="1963", date_text="1963", title="Report", collection="Cuban Missile Crisis",
                          summary="Text.")
    assert "Cuban Missile Crisis" in keyword_text(doc)
    index = KeywordIndex.build([keyword_text(doc), "Report. Text. Sino-Soviet Split"], Settings())
    assert index.scores("missile crisis")[0] > 0 and index.scores("missile crisis")[1] == 0


def test_a_saved_index_loads_memory_mapped_with_the_same_scores(tmp_path, bundled_corpus):
    texts = [keyword_text(doc) for doc in bundled_corpus.documents]
    settings = Settings(bm25_k1=1.2, bm25_b=0.5)
    built = KeywordIndex.build(texts, settings)
    built.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path, built.params, len(texts))
    assert isinstance(loaded._bm25.scores["data"], np.memmap)
    assert loaded.params == params(settings) == {"method": "bm25+", "k1": 1.2, "b": 0.5, "tokenizer": TOKENIZER}
    allowed = np.arange(len(texts)) % 2 == 0
    for question in ("Zhou Enlai test ban", "Romanian negotiations with China", "radio propaganda", "chocolate"):
        assert loaded.terms(question) == built.terms(question)
        np.testing.assert_array_equal(loaded.scores(question), built.scores(question))
        np.testing.assert_array_equal(loaded.scores(question, allowed), built.scores(question, allowed))
    assert built.scores("Zhou Enlai test ban").any()


def test_a_saved_index_of_another_size_is_refused(tmp_path):
    built = KeywordIndex.build(TEXTS, Settings())
    built.save(tmp_path)
    with pytest.raises(ValueError, match="holds 4 documents, not 5"):
        KeywordIndex.load(tmp_path, built.params, 5)


def test_documents_are_indexed_with_names_in_modern_spelling_so_either_spelling_finds_them():
    old = Document.create(date="1958", date_text="1958", title="Chou En-lai in Peking", collection="C",
                          summary="Khrushchov meets Mao Tse-tung.")
    new = Document.create(date="1963", date_text="1963", title="Zhou Enlai in Beijing", collection="C",
                          summary="Khrushchev meets Mao Zedong.")
    assert keyword_text(old) == "Zhou Enlai in Beijing Khrushchev meets Mao Zedong. C"
    index = KeywordIndex.build([keyword_text(old), keyword_text(new), "Report on Albania"], Settings())
    for query in ("Zhou Enlai Beijing", "Mao Zedong", "Khrushchev"):
        scores = index.scores(query)
        assert scores[0] > 0 and scores[0] == pytest.approx(scores[1]) and scores[2] == 0
    assert "modern name spellings" in TOKENIZER  # saved BM25 indexes of the earlier tokenizer are stale


# ------------------------------------------------------------------------------------ delta segments

_WORDS = ["treaty", "border", "moscow", "peking", "rumania", "envoy", "nuclear", "test", "ban", "embassy", "talks",
          "split"]


@pytest.mark.parametrize("method", ["bm25+", "lucene", "robertson", "atire", "bm25l"])
def test_a_delta_row_scores_as_it_would_in_one_index_built_with_it(method):
    """Texts of equal length keep the average length, so the delta's scores must equal a full build's."""
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(_WORDS, 4)) for _ in range(50)]
    added = "border treaty unicorn zebra"
    settings = Settings(bm25_method=method)
    base, whole = KeywordIndex.build(texts, settings), KeywordIndex.build([*texts, added], settings)
    assert base.average_length == whole.average_length
    delta = base.delta([added])
    for question in ("border treaty", "unicorn", "zebra border moscow"):
        assert delta.scores(KeywordIndex.tokenize([question])[0])[0] == pytest.approx(whole.scores(question)[-1],
                                                                                     rel=1e-5)


def test_an_index_saved_without_its_statistics_takes_no_delta(tmp_path):
    base = KeywordIndex.build(["Soviet envoy in Peking", "Test ban treaty"], Settings())
    base.save(tmp_path)
    (tmp_path / "bm25" / STATS).unlink()
    loaded = KeywordIndex.load(tmp_path, base.params, 2)
    with pytest.raises(ValueError, match=STATS):
        loaded.delta(["anything"])
