"""Delta segments: a rebuild of a large index writes changed and added documents beside the unchanged base
files. Run on the bundled corpus with `delta_min_rows=0` (the default keeps small corpora one segment), the
real model, FAISS and BM25, against a full rebuild of the same corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEED_PAGE

from rag.errors import IndexUnavailable
from rag.index import segments
from rag.index.build import check, rebuild
from rag.index.files import BM25, DELTA, FAISS_INDEX, SENTENCES, VECTORS
from rag.index.store import Index
from rag.search.retriever import Retriever
from rag.settings import Settings

# A summary of the bundled page, and a reworded one whose words appear nowhere else in the corpus.
OLD = 'East Germany, which "has served as Khrushchev’s anti-Chinese vanguard,"'
NEW = "Zanzibar, which had served as a quiet listening post,"
QUESTIONS = ("What did Zhou Enlai say about the test ban?", "How did Romania try to mediate in early 1964?",
             "Khrushchev and Mao", "Soviet embassy in Beijing", "Zanzibar listening post")


@pytest.fixture
def work(tmp_path, encoder) -> Path:
    """A corpus copy with an index built in one segment."""
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    rebuild(_settings(tmp_path), encoder=encoder, progress=False)
    return tmp_path


def _settings(work: Path, index: str = "index") -> Settings:
    return Settings(corpus_dir=work / "corpus", index_dir=work / index, delta_min_rows=0)


def _edit(work: Path, old: str, new: str) -> None:
    page = work / "corpus" / SEED_PAGE.name
    text = page.read_text(encoding="utf-8")
    assert old in text
    page.write_text(text.replace(old, new, 1), encoding="utf-8")


def _ids(retriever: Retriever, question: str, **options) -> list[str]:
    return [hit.doc.id for hit in retriever.search(question, k=5, **options)]


def test_an_edited_summary_is_written_as_a_delta_beside_hard_linked_base_files(work, encoder):
    base_files = (VECTORS, FAISS_INDEX, SENTENCES, f"{BM25}/data.csc.index.npy")
    before = {name: (work / "index" / name).stat().st_ino for name in base_files}
    _edit(work, OLD, NEW)
    report = rebuild(_settings(work), encoder=encoder, progress=False)
    assert report.changed == 1 and report.delta == (1, 1, 20) and "delta segment" in report.line(work / "index")
    assert {name: (work / "index" / name).stat().st_ino for name in base_files} == before  # linked, not written
    index = Index.load(work / "index")
    assert len(index) == 21 and index.base_rows == 20 and int(index.live().sum()) == 20
    assert index.manifest.delta == {"rows": 1, "dead": 1, "sentences": len(index.sentence_vectors(20))}
    assert check(_settings(work)) == []  # the manifest's corpus fingerprint is the edited corpus's


def test_a_delta_index_answers_as_a_full_rebuild_of_the_same_corpus(work, encoder):
    _edit(work, OLD, NEW)
    rebuild(_settings(work), encoder=encoder, progress=False)
    shutil.copytree(work / "index", work / "whole", symlinks=False)
    report = rebuild(_settings(work, "whole"), full=True, encoder=encoder, progress=False)
    assert report.delta is None
    delta, whole = Retriever.load(work / "index", check=False), Retriever.load(work / "whole", check=False)
    assert delta.index.delta is not None and whole.index.delta is None
    for question in QUESTIONS:  # meaning: the same; words: scored on the base's statistics, so near ties may
        # swap (on 20 documents one edit moves a word's document frequency by a twentieth; on a million, not)
        assert _ids(delta, question, mode="semantic") == _ids(whole, question, mode="semantic"), question
        hybrid, exact = _ids(delta, question), _ids(whole, question)
        assert hybrid[:3] == exact[:3] and len(set(hybrid) ^ set(exact)) <= 2, question
    edited = delta.search("Zanzibar listening post", k=1)[0]
    assert edited.row == 20 and NEW in edited.doc.summary
    assert all(hit.row != edited.row - 20 + 2 or NEW in hit.doc.summary
               for hit in delta.search("anti-Chinese vanguard East Germany", k=20))
    listing = delta.search("April 1963", k=50)  # a date-only question lists the period: the edit once
    assert [hit.doc.id for hit in listing].count(edited.doc.id) == 1


def test_removed_and_added_documents_leave_and_join_every_search(work, encoder):
    page = work / "corpus" / SEED_PAGE.name
    removed_title = "Cable from the Chinese Embassy in Germany, 'The Opinion of the Former First-Secretary"
    text = page.read_text(encoding="utf-8")
    start = text.index("  • April 04, 1963")
    page.write_text(text[:start] + text[text.index("  • April 27, 1963"):], encoding="utf-8")
    record = {"date": "1964-02-10", "title": "Note on the Zanzibar consulate", "collection": "East Africa Files",
              "summary": "The consul reports Soviet and Chinese rivalry over the new government of Zanzibar."}
    (work / "corpus" / "added.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    report = rebuild(_settings(work), encoder=encoder, progress=False)
    assert (report.added, report.removed) == (1, 1) and report.delta == (1, 1, 20)
    retriever = Retriever.load(work / "index")
    for question in ("Sino-German differences former first-secretary", "April 1963", "Germany"):
        assert all(not hit.doc.title.startswith(removed_title) for hit in retriever.search(question, k=50))
    found = retriever.search("rivalry over Zanzibar", k=3, collections="East Africa Files")
    assert [hit.doc.title for hit in found] == [record["title"]]
    assert retriever.collection_filter.resolve(["East Africa Files"]) == ["East Africa Files"]


def test_each_rebuild_writes_the_delta_afresh_and_a_larger_change_merges(work, encoder):
    _edit(work, OLD, NEW)
    rebuild(_settings(work), encoder=encoder, progress=False)
    _edit(work, NEW, NEW + " It was watched closely,")  # the same document again: still one delta row
    assert rebuild(_settings(work), encoder=encoder, progress=False).delta == (1, 1, 20)
    # A second document changed: 2 of 20 rows pass DELTA_MAX_SHARE (5%), so everything is one segment again.
    _edit(work, "Soviet politburo member Yuri Andropov", "Soviet politburo member Yuri V. Andropov")
    report = rebuild(_settings(work), encoder=encoder, progress=False)
    assert report.delta is None and segments.DELTA_MAX_SHARE * 20 < 2
    index = Index.load(work / "index")
    assert index.delta is None and len(index) == 20 and not (work / "index" / DELTA).exists()
    assert check(_settings(work)) == []


def test_a_small_index_stays_one_segment_by_default(work, encoder):
    _edit(work, OLD, NEW)
    settings = Settings(corpus_dir=work / "corpus", index_dir=work / "index")
    assert settings.delta_min_rows > 20
    assert rebuild(settings, encoder=encoder, progress=False).delta is None


def test_a_damaged_delta_is_refused_with_the_full_rebuild_command(work, encoder):
    _edit(work, OLD, NEW)
    rebuild(_settings(work), encoder=encoder, progress=False)
    vectors = work / "index" / DELTA / VECTORS
    np.save(vectors, np.zeros((2, 384), dtype=np.float32))
    with pytest.raises(IndexUnavailable, match="--full"):
        Index.load(work / "index")


def test_a_bm25_index_built_at_load_for_other_settings_never_finds_a_retired_row(work, encoder):
    _edit(work, OLD, NEW)
    rebuild(_settings(work), encoder=encoder, progress=False)
    index = Index.load(work / "index")
    retriever = Retriever(index, encoder, Settings(bm25_b=0.75))
    assert retriever.keyword is not index.keyword  # built from every row's text, the retired one's too
    hits = retriever.search("anti-Chinese vanguard East Germany", k=20, mode="keyword")
    assert hits and not set(index.delta.dead.tolist()) & {hit.row for hit in hits}
