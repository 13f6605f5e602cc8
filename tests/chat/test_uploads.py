"""The page's "Add pages" without Gradio (`rag.chat.uploads`): when it is offered, what a refused file leaves
(nothing), and a saved page added, indexed by the real rebuild and found by the served `Refreshing` searcher."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.chat.uploads import add_uploaded, uploads_offered
from rag.index import store
from rag.search.refreshing import Refreshing
from rag.search.retriever import Retriever
from rag.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "documents" / "readers" / "fixtures"
ANDROPOV = "Memorandum of Conversation between Yuri Andropov and the Central Committee of the Romanian Worker’s Party"


@pytest.mark.parametrize(("uploads", "host", "offered"), [
    ("local", "127.0.0.1", True), ("local", "localhost", True), ("local", "::1", True),
    ("local", "0.0.0.0", False), ("local", "archive.example.org", False),
    ("on", "0.0.0.0", True), ("off", "127.0.0.1", False),
])
def test_add_pages_is_offered_to_whoever_can_only_be_on_this_machine(uploads, host, offered):
    assert uploads_offered(Settings(uploads=uploads, host=host)) is offered


def test_the_uploads_setting_lists_its_values():
    with pytest.raises(ValueError, match="local.*on.*off"):
        Settings(uploads="sometimes")


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_no_file_asks_for_one(tmp_path):
    outcome = add_uploaded([], Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index"))
    assert outcome.collection is None and "Choose one or more saved pages" in outcome.report


def test_a_page_that_cannot_be_read_adds_nothing(tmp_path, url_corpus):
    corpus = shutil.copytree(url_corpus, tmp_path / "corpus")
    before = _listing(corpus)
    outcome = add_uploaded([FIXTURES / "no_entries.html", FIXTURES / "firefox.html"],
                           Settings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    assert outcome.collection is None
    assert outcome.report.startswith("**Nothing was added**: 1 problem(s)")
    assert r"- no\_entries.html" in outcome.report and str(FIXTURES) not in outcome.report
    assert _listing(corpus) == before  # the readable page was not copied either
    assert not (tmp_path / "index").exists()


@pytest.fixture
def served_copy(tmp_path, url_corpus, encoder, monkeypatch):
    """A copy of `url_corpus` with its own index, served through `Refreshing` as the page serves it."""
    from rag.index.build import rebuild

    monkeypatch.setattr(store, "CHANGE_CHECK_SECONDS", 0.0)
    corpus = shutil.copytree(url_corpus, tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings, encoder=encoder, progress=False)
    return settings, Refreshing(Retriever(store.Index.load(settings.index_dir), encoder, settings))


def test_a_saved_page_is_copied_indexed_and_served(served_copy):
    settings, served = served_copy
    question = "Andropov and the Romanian Workers Party"
    assert ANDROPOV not in [hit.doc.title for hit in served.search(question, mode="keyword")]

    outcome = add_uploaded([FIXTURES / "firefox.html"], settings)

    assert outcome.report.startswith("**Added.**"), outcome.report
    assert "2 new" in outcome.report and "firefox.html" in outcome.report
    assert (settings.corpus_dir / "firefox.html").read_bytes() == (FIXTURES / "firefox.html").read_bytes()
    assert outcome.collection is not None and outcome.collection.size == 5 + 2
    hits = served.search(question, mode="keyword")
    assert hits[0].doc.title == ANDROPOV
    assert hits[0].doc.url == "https://digitalarchive.wilsoncenter.org/document/116566"

    again = add_uploaded([FIXTURES / "firefox.html"], settings)
    assert again.collection is None and again.report.startswith("**Nothing new to add.**"), again.report
