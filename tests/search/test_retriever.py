"""Search on the real model and real FAISS over the bundled corpus."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import ROOT

from rag.documents.document import Document
from rag.errors import IndexUnavailable, StaleIndex
from rag.index.encoders.onnx_export import onnx_model_for
from rag.index.encoders.weights import resolve_model
from rag.index.keyword import params
from rag.index.store import Index
from rag.search.question import QueryError
from rag.search.results import Signal
from rag.search.retriever import Mode, Retriever, SortOrder
from rag.settings import DEFAULT_MODEL, Settings

pytestmark = pytest.mark.slow

ZHOU_TEST_BAN = "de0495086098ec7e"  # September 05, 1963


def test_zhou_enlai_on_the_test_ban_finds_the_september_1963_discussion(retriever):
    results = retriever.search("What did Zhou Enlai say about the test ban?")
    top = results[0]
    assert top.doc.id == ZHOU_TEST_BAN and top.rank == 1
    assert set(top.matched) == {Signal.SEMANTIC, Signal.KEYWORD}
    assert top.semantic_score > 0.3 and top.keyword_score > 0
    assert top.citation.startswith('"Zhou Enlai’s Discussion') and "September 05, 1963" in top.citation
    assert "Test Ban" in top.highlight
    assert [h.rank for h in results] == list(range(1, len(results) + 1))
    assert all(a.score >= b.score for a, b in zip(results, results[1:], strict=False))
    assert 0 < results[-1].score <= top.score <= 1.0


def test_date_filter_applies_before_truncation(retriever):
    # Four documents are dated before June 1963; however far they rank overall, all four come back.
    results = retriever.search("Sino-Soviet split", k=10, date_to="1963-05")
    assert len(results) == results.total == 4
    assert all(h.doc.date <= "1963-05-31" for h in results)
    unfiltered = [h.doc.id for h in retriever.search("Sino-Soviet split", k=4)]
    assert {h.doc.id for h in results} != set(unfiltered)


def test_keyword_matches_past_the_fusion_depth_still_count_and_keep_their_scores(retriever):
    """Only the first `fusion_depth` keyword rows are sorted and fused; the rest are still matched."""
    from dataclasses import replace

    shallow = Retriever(retriever.index, retriever.encoder, replace(retriever.settings, fusion_depth=2))
    deep = retriever.search("Soviet Union and China", k=10, mode="keyword")
    cut = shallow.search("Soviet Union and China", k=10, mode="keyword")
    assert deep.total == cut.total > 2
    assert [h.doc.id for h in cut][:2] == [h.doc.id for h in deep][:2]  # the depth is ranked as before
    assert {h.doc.id: h.keyword_score for h in cut}.items() <= {h.doc.id: h.keyword_score for h in deep}.items()
    assert all(Signal.KEYWORD in h.matched for h in cut)  # rows past the depth are matched, only unranked
    hybrid = shallow.search("Soviet Union and China", k=10)
    assert hybrid.total == retriever.search("Soviet Union and China", k=10).total


def test_end_dates_are_inclusive_to_the_end_of_their_period(retriever):
    assert {h.doc.date for h in retriever.search("Sino-Soviet split", date_to="1963-04")} == {
        "1963-04-03", "1963-04-04", "1963-04-27"}
    assert {h.doc.date for h in retriever.search("Sino-Soviet split", date_to="1963-04-03")} == {"1963-04-03"}
    assert {h.doc.date for h in retriever.search("Sino-Soviet split", date_from=dt.date(1964, 2, 1))} == {
        "1964-02-19", "1964-03"}


def test_a_month_only_document_matches_a_range_overlapping_its_month(retriever):
    results = retriever.search("Romanian and Chinese officials", date_from="1964-03-10", date_to="1964-03-20")
    assert [h.doc.date for h in results] == ["1964-03"]


def test_dates_in_the_question_filter_and_are_reported(retriever):
    results = retriever.search("What passed between Romania and China in early 1964?")
    assert results.date_range_text == "1964-01..1964-04" and results.date_phrase == "in early 1964"
    assert results.query == "What passed between Romania and China?"
    assert results and all("1964-01" <= h.doc.date <= "1964-04-30" for h in results)


def test_explicit_dates_override_the_question(retriever):
    results = retriever.search("Soviet propaganda in 1964", date_from="1963-11", date_to="1963-12")
    assert (results.date_from, results.date_to, results.date_phrase) == ("1963-11", "1963-12", None)
    assert any("replace" in note for note in results.notes)
    assert results and all(h.doc.date.startswith(("1963-11", "1963-12")) for h in results)


def test_sort_by_date_orders_the_same_hits_chronologically(retriever):
    by_relevance = retriever.search("Sino-Soviet split", k=6)
    by_date = retriever.search("Sino-Soviet split", k=6, sort="date")
    assert {h.doc.id for h in by_date} == {h.doc.id for h in by_relevance}
    assert [h.doc.date for h in by_date] == sorted(h.doc.date for h in by_date)
    assert sorted(h.rank for h in by_date) == list(range(1, 7))


def test_modes_use_their_signals(retriever):
    question = "Soviet propaganda against China"
    keyword = retriever.search(question, mode="keyword")
    semantic = retriever.search(question, mode=Mode.SEMANTIC)
    hybrid = retriever.search(question, mode="HYBRID")
    assert keyword and all(h.matched == (Signal.KEYWORD,) and h.semantic_score is None for h in keyword)
    assert semantic and all(h.matched == (Signal.SEMANTIC,) and h.keyword_score is None for h in semantic)
    assert any(len(h.matched) == 2 for h in hybrid)


def test_a_named_collection_finds_its_documents(bundled_index, encoder):
    extra = [Document.create(date="1962-10-27", date_text="October 27, 1962", collection="Cuban Missile Crisis",
                             title=f"Cable number {n}", summary="A diplomat reports on the situation.")
             for n in range(3)]
    docs = [*bundled_index.documents, *extra]
    import numpy as np

    vectors = np.vstack([bundled_index.vectors, encoder.encode([d.embedding_text for d in extra])])
    results = Retriever(Index.build(docs, vectors, model=encoder.name), encoder, Settings()).search(
        "documents in the Cuban missile crisis collection", k=3)
    assert {h.doc.collection for h in results.hits} == {"Cuban Missile Crisis"}
    assert any("names Cuban Missile Crisis" in note for note in results.notes)


def test_collections_limit_the_search(bundled_index, encoder):
    extra = [Document.create(date="1962-10-27", date_text="October 27, 1962", collection="Cuban Missile Crisis",
                             title=f"Cable number {n} on the Soviet Union", summary="A Soviet diplomat reports.")
             for n in range(3)]
    import numpy as np

    vectors = np.vstack([bundled_index.vectors, encoder.encode([d.embedding_text for d in extra])])
    two = Retriever(Index.build([*bundled_index.documents, *extra], vectors, model=encoder.name), encoder,
                    Settings())
    cuban = two.search("Soviet Union", k=10, collections=["cuban missile crisis"])
    assert len(cuban) == 3 and {h.doc.collection for h in cuban} == {"Cuban Missile Crisis"}
    assert "only the collection Cuban Missile Crisis" in cuban.notes
    both = two.search("Soviet Union", k=30, collections=["Cuban Missile Crisis", "Sino-Soviet Split"])
    assert {h.doc.collection for h in both} == {"Cuban Missile Crisis", "Sino-Soviet Split, 1960-1984"}
    with pytest.raises(QueryError, match="unknown collection"):
        two.search("Soviet Union", collections="Berlin")


def test_a_question_about_nothing_in_the_archive_says_so(retriever):
    results = retriever.search("weather in Paris tomorrow")
    assert len(results) == results.total == 0
    assert any("nothing" in note for note in results.notes)


def test_a_question_that_is_only_a_date_lists_that_period(retriever):
    results = retriever.search("November 1963")
    assert [h.doc.date for h in results] == ["1963-11-12", "1963-11-22", "1963-11-27", "1963-11-29"]


@pytest.mark.parametrize("question", ["", "   ", "?!?!", "..."])
def test_empty_questions_get_a_specific_error(retriever, question):
    with pytest.raises(QueryError, match="type a question"):
        retriever.search(question)


@pytest.mark.parametrize(("options", "message"), [
    ({"k": 0}, "k must be a whole number from 1 to 1000, got 0"), ({"k": -3}, "from 1 to 1000"),
    ({"k": "5"}, "whole number"), ({"k": True}, "whole number"), ({"k": None}, "got None"), ({"k": 2.5}, "got 2.5"),
    ({"k": 10**9}, "from 1 to 1000, got 1000000000"), ({"date_from": "1964", "date_to": "1963"}, "after date_to"),
    ({"date_from": "last spring"}, "date_from: unreadable date"), ({"mode": "fuzzy"}, "hybrid, semantic, keyword"),
    ({"sort": "newest"}, "relevance, date"),
])
def test_bad_options_get_specific_errors(retriever, options, message):
    with pytest.raises(QueryError, match=message):
        retriever.search("Soviet propaganda", **options)


def test_the_largest_k_returns_every_match_and_long_questions_are_shortened(retriever):
    assert len(retriever.search("Sino-Soviet split", k=1000)) == 20
    results = retriever.search("Soviet propaganda against China " * 5000)
    assert results and any("shortened" in note for note in results.notes)


def test_control_characters_in_a_question_are_refused(retriever):
    with pytest.raises(QueryError, match="U\\+0000 at character 7"):
        retriever.search("Soviet\x00propaganda")


def test_settings_tune_the_search(bundled_index, encoder, retriever):
    strict = Retriever(bundled_index, encoder, Settings(min_similarity=0.9, max_k=5, chat_max_k=5, chat_k=5))
    assert not strict.search("Soviet propaganda against China", k=5, mode="semantic")  # nothing is that close
    with pytest.raises(QueryError, match="from 1 to 5"):
        strict.search("Soviet propaganda", k=6)
    question = "Soviet propaganda against China"
    words_rule = Retriever(bundled_index, encoder, Settings(semantic_weight=0.01)).search(question, k=5)
    keyword = [h.doc.id for h in retriever.search(question, k=5, mode="keyword")]
    assert [h.doc.id for h in retriever.search(question, k=5)] != keyword  # by default meaning counts most
    assert [h.doc.id for h in words_rule] == keyword


def test_non_latin_questions_give_a_result_not_a_traceback(retriever):
    results = retriever.search("中苏分裂")
    assert all(h.matched == (Signal.SEMANTIC,) for h in results)


def test_enums_list_valid_values():
    assert SortOrder("Date") is SortOrder.DATE
    with pytest.raises(ValueError, match="mode must be one of hybrid, semantic, keyword; got 'x'"):
        Mode("x")


def test_one_retriever_serves_many_threads(retriever):
    questions = ["Zhou Enlai and the test ban", "Soviet propaganda in late 1963", "Romania mediating",
                 "North Korea's position", "Xinjiang", "Albania and Yugoslavia"] * 4
    expected = [[(h.doc.id, h.score) for h in retriever.search(q)] for q in questions]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda q: [(h.doc.id, h.score) for h in retriever.search(q)], questions))
    assert got == expected


# ----------------------------------------------------------------------------------- loading and staleness


def test_load_reads_the_documented_folder_layout(built_index):
    retriever = Retriever.load(built_index, corpus=ROOT / "corpus")
    assert retriever.search("test ban treaty")[0].doc.id == ZHOU_TEST_BAN


def test_import_from_package():
    from rag import Retriever as Exported

    assert Exported is Retriever


def test_missing_index_names_the_rebuild_command(tmp_path):
    with pytest.raises(IndexUnavailable, match="python -m embeddings.rebuild"):
        Retriever.load(tmp_path / "nowhere", corpus=ROOT / "corpus")


def _stale_copy(built_index, path, edit):
    """A copy of the rebuilt bundled index whose manifest `edit` has changed."""
    shutil.copytree(built_index.resolve(), path)
    manifest = json.loads((path / "manifest.json").read_text())
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_an_edited_corpus_makes_the_index_stale(built_index, tmp_path, seed_page):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = seed_page.read_text(encoding="utf-8").replace("nuclear blackmail", "atomic blackmail")
    (corpus / seed_page.name).write_text(text, encoding="utf-8")
    with pytest.raises(StaleIndex, match=r"python -m embeddings.rebuild") as info:
        Retriever.load(built_index, corpus=corpus)
    assert "changed" in str(info.value)
    assert Retriever.load(built_index, corpus=corpus, check=False).search("test ban")


def test_another_model_makes_the_index_stale(built_index, tmp_path):
    folder = _stale_copy(built_index, tmp_path / "index", lambda m: m.update(model="some-other-model"))
    with pytest.raises(StaleIndex, match="some-other-model"):
        Retriever.load(folder, corpus=ROOT / "corpus")


def test_a_fresh_index_has_no_staleness(built_index, bundled_corpus, encoder):
    index = Index.load(built_index)
    assert index.staleness(bundled_corpus, encoder.name, bm25=params(Settings())) == []


def test_load_embeds_nothing_and_uses_the_saved_bm25(built_index, monkeypatch):
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder

    calls = []
    for cls in (Encoder, OnnxEncoder):  # whichever encoder serving picks: ONNX normally, torch as the fallback
        real = cls.encode
        monkeypatch.setattr(cls, "encode", lambda self, texts, real=real, **kw: calls.append(texts)
                            or real(self, texts, **kw))
    retriever = Retriever.load(built_index, corpus=ROOT / "corpus")
    assert calls == []  # no document, sentence or warm-up text embedded at start-up
    assert retriever.keyword is retriever.index.keyword and retriever.index.sentences is not None
    assert retriever.search("test ban treaty")[0].doc.id == ZHOU_TEST_BAN and len(calls) == 1


def test_other_bm25_settings_make_the_index_stale_and_a_direct_retriever_builds_its_own(built_index, monkeypatch):
    monkeypatch.setenv("RAG_BM25_K1", "1.2")
    with pytest.raises(StaleIndex, match=r"BM25 settings changed: built with method=bm25\+ k1=1.5 b=0.3 .*"
                                         r"now method=bm25\+ k1=1.2 b=0.3 .*python -m embeddings.rebuild"):
        Retriever.load(built_index, corpus=ROOT / "corpus")
    index = Index.load(built_index)
    retriever = Retriever(index, None, Settings.from_env())
    assert retriever.keyword is not index.keyword and retriever.keyword.params["k1"] == 1.2


def _old_format_copy(built_index, path):
    """A copy of the rebuilt index as written before sentence vectors and BM25 were stored (format 1)."""
    folder = _stale_copy(built_index, path, lambda m: m.update(format=1, sentences=None, bm25=None))
    shutil.rmtree(folder / "bm25")
    (folder / "sentences.npy").unlink()
    (folder / "sentence_offsets.npy").unlink()
    return folder


def test_an_old_format_index_loads_stale_and_highlights_by_words(built_index, tmp_path, encoder):
    folder = _old_format_copy(built_index, tmp_path / "index")
    with pytest.raises(StaleIndex, match="no summary sentence vectors .*no saved BM25 .*python -m embeddings.rebuild"):
        Retriever.load(folder, corpus=ROOT / "corpus")
    old = Retriever.load(folder, corpus=ROOT / "corpus", check=False)
    assert old.index.sentences is None and old.index.keyword is None
    new = Retriever(Index.load(built_index), encoder, Settings())
    question = "Did Soviet citizens hear Chinese radio?"
    assert [h.doc.id for h in old.search(question)] == [h.doc.id for h in new.search(question)]
    assert old.search(question)[0].highlight  # chosen by shared words alone


def test_load_can_rebuild_an_old_format_index_without_reembedding_documents(built_index, tmp_path):
    folder = _old_format_copy(built_index, tmp_path / "index")
    vectors = np.load(folder / "vectors.npy")
    retriever = Retriever.load(folder, corpus=ROOT / "corpus", rebuild=True)
    assert retriever.index.sentences is not None and retriever.keyword is retriever.index.keyword
    np.testing.assert_array_equal(np.load(folder / "vectors.npy"), vectors)


def test_load_can_rebuild_a_stale_index(built_index, tmp_path):
    folder = _stale_copy(built_index, tmp_path / "index",
                         lambda m: m.update(model_fingerprint="0" * 16, model_files={}))  # "other weights"
    retriever = Retriever.load(folder, corpus=ROOT / "corpus", rebuild=True)
    assert json.loads((folder / "manifest.json").read_text())["model_fingerprint"] != "0" * 16
    assert retriever.search("test ban treaty")[0].doc.id == ZHOU_TEST_BAN


# ------------------------------------------------------------------------------------ names in old spellings


def test_a_question_in_old_spellings_finds_what_the_modern_one_finds_and_says_so(retriever):
    modern = retriever.search("What did Zhou Enlai say about the test ban?")
    old = retriever.search("What did Chou En-lai say about the test ban?")
    assert [h.doc.id for h in old] == [h.doc.id for h in modern] and old[0].doc.id == ZHOU_TEST_BAN
    assert old.notes[0] == "read “Chou En-lai” as “Zhou Enlai”"
    assert old.query == modern.query and old.question == "What did Chou En-lai say about the test ban?"
    assert not any(note.startswith("read ") for note in modern.notes)


def test_reading_names_can_be_switched_off(bundled_index, encoder):
    as_written = Retriever(bundled_index, encoder, Settings(modern_names=False)).search("Chou En-lai test ban")
    assert as_written.query == "Chou En-lai test ban" and not as_written.notes


OLD_AND_NEW = [  # summaries in both spellings, and two documents about nothing named
    ("1957-01", "Chou En-lai in Peking", "Premier Chou En-lai received the Albanian delegation in Peking. "
                                         "He condemned Khrushchov's revisionism."),
    ("1963-06", "Zhou Enlai on the border", "Zhou Enlai discussed the Sino-Indian border in Beijing."),
    ("1963-07", "Party talks in Moscow", "Teng Hsiao-ping led the Chinese delegation to the party talks."),
    ("1960-05", "Grain harvests", "Grain output fell in the provinces after the drought."),
    ("1961-03", "Radio broadcasts", "Soviet radio broadcasts about agriculture and tractors."),
]


@pytest.fixture(scope="module")
def spellings_retriever(encoder):
    from rag.index.build import in_memory

    docs = [Document.create(date=date, date_text=date, title=title, collection="Test", summary=summary)
            for date, title, summary in OLD_AND_NEW]
    return Retriever(in_memory(docs, encoder, settings=Settings()), encoder, Settings())


@pytest.mark.parametrize("question", ["Zhou Enlai in Beijing", "Chou En-lai in Peking"])
def test_either_spelling_finds_the_documents_written_in_both(spellings_retriever, question):
    results = spellings_retriever.search(question, k=2)
    assert {h.doc.title for h in results} == {"Chou En-lai in Peking", "Zhou Enlai on the border"}
    assert all(Signal.KEYWORD in h.matched for h in results)


@pytest.mark.parametrize(("question", "title", "quoted"), [
    ("Deng Xiaoping at the talks", "Party talks in Moscow", "Teng Hsiao-ping led"),
    ("Khrushchev's revisionism", "Chou En-lai in Peking", "He condemned Khrushchov's revisionism."),
])
def test_a_modern_question_finds_a_summary_in_old_spelling_and_quotes_it_as_written(spellings_retriever, question,
                                                                                     title, quoted):
    top = spellings_retriever.search(question, k=1)[0]
    assert top.doc.title == title and Signal.KEYWORD in top.matched
    assert quoted in top.highlight  # the sentence naming the person, verbatim


# ------------------------------------------------------------------------------------ sentence signal


def test_the_sentence_signal_is_off_by_default_and_fused_when_weighted(retriever, bundled_index, encoder):
    question = "Which cities did the Chinese friendship delegation visit?"
    assert not any(Signal.SENTENCE in h.matched for h in retriever.search(question))
    weighted = Retriever(bundled_index, encoder, Settings(sentence_weight=1.0))
    results = weighted.search(question)
    assert Signal.SENTENCE in results[0].matched and results[0].doc.id == "dc673033469e6c9c"
    assert not any(Signal.SENTENCE in h.matched for h in weighted.search(question, mode="semantic"))


def test_an_index_loads_with_its_own_model_unless_another_is_asked_for(built_index, tmp_path, monkeypatch):
    other = tmp_path / "copy-of-minilm"  # same weights (linked), so the ONNX export is found without torch
    shutil.copytree(resolve_model(DEFAULT_MODEL), other, copy_function=os.symlink)
    folder = _stale_copy(built_index, tmp_path / "index", lambda m: m.update(model=str(other)))
    monkeypatch.delenv("RAG_MODEL", raising=False)
    retriever = Retriever.load(folder, corpus=ROOT / "corpus")
    assert retriever.settings.model == str(other)
    assert retriever.search("test ban treaty")[0].doc.id == ZHOU_TEST_BAN
    with pytest.raises(StaleIndex, match="model changed"):
        Retriever.load(folder, corpus=ROOT / "corpus", model=DEFAULT_MODEL)
    monkeypatch.setenv("RAG_MODEL", DEFAULT_MODEL)
    with pytest.raises(StaleIndex, match="model changed"):
        Retriever.load(folder, corpus=ROOT / "corpus")


def test_load_and_search_import_neither_torch_nor_sentence_transformers(built_index):
    # the export serving finds (made once per model, in the configured cache)
    onnx_model_for(DEFAULT_MODEL, Settings.from_env().onnx_cache)
    code = ("import json, sys\n"
            "from rag import Retriever\n"
            f"retriever = Retriever.load({str(built_index)!r}, corpus={str(ROOT / 'corpus')!r})\n"
            "hits = retriever.search('test ban treaty')\n"
            "print(json.dumps([type(retriever.encoder).__name__, hits[0].doc.id, list(hits.notes), sorted(m for m "
            "in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers', 'transformers'))]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["OnnxEncoder", ZHOU_TEST_BAN, [], []]
