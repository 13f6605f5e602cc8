"""End to end: an index built from a corpus outside the repository (in a folder whose path has a space) is
opened by its path alone, from Python, `python -m rag search` and `python app.py`, checked against the
corpus it records and never rebuilt from the bundled `corpus/`."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_PAGE, app_process

from rag.errors import StaleIndex
from rag.index.manifest import read_manifest
from rag.search.retriever import Retriever

pytestmark = pytest.mark.slow

#: A document only the temporary corpus has: finding it proves a search used that corpus's index.
OWN = {"date": "1964-05-02", "date_text": "May 02, 1964", "collection": "Sino-Soviet Split, 1960-1984",
       "title": "Report from Romania on the Ulaanbaatar talks",
       "summary": "A Romania envoy reports on talks in Ulaanbaatar about the dispute."}


def _corpus(folder: Path) -> Path:
    """The bundled page plus one document of its own, in `folder`."""
    folder.mkdir(parents=True)
    shutil.copy(SEED_PAGE, folder / SEED_PAGE.name)
    (folder / "own.jsonl").write_text(json.dumps(OWN) + "\n", encoding="utf-8")
    return folder


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAG_CORPUS_DIR", None)
    env.pop("RAG_INDEX_DIR", None)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus, index), built by the rebuild script from a corpus in 'my pages/' into 'my index/'."""
    root = tmp_path_factory.mktemp("own corpus")
    corpus, index = _corpus(root / "my pages"), root / "my index"
    done = subprocess.run([sys.executable, "-m", "embeddings.rebuild", "--corpus", str(corpus), "--out", str(index),
                           "--quiet"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return corpus, index


@pytest.fixture
def own_index(tmp_path, encoder) -> tuple[Path, Path]:
    """A fresh (corpus, index) pair of our own, for tests that change or delete the corpus."""
    from rag.index.build import rebuild
    from rag.settings import Settings

    corpus, index = _corpus(tmp_path / "my pages"), tmp_path / "my index"
    rebuild(Settings(corpus_dir=corpus, index_dir=index), encoder=encoder, progress=False)
    return corpus, index


def _own_id(index: Path) -> str:
    from rag.index.store import Index

    return next(d.id for d in Index.load(index).documents if d.title == OWN["title"])


def test_the_manifest_records_the_resolved_corpus_folder(built):
    corpus, index = built
    assert read_manifest(index).corpus_folder == corpus.resolve()


def test_python_loads_an_index_by_its_path_alone(built):
    corpus, index = built
    retriever = Retriever.load(index)  # before the fix: StaleIndex, judged against the default corpus/
    assert retriever.corpus_dir == corpus.resolve()
    results = retriever.search("Romania", k=25)
    assert _own_id(index) in {hit.doc.id for hit in results}
    assert not any("not checked" in note for note in results.notes)


def test_cli_searches_an_index_by_its_path_alone(built):
    _, index = built
    done = subprocess.run([sys.executable, "-m", "rag", "search", "--index", str(index), "Romania", "--json",
                           "--k", "25"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _own_id(index) in {hit["id"] for hit in json.loads(done.stdout)}


def test_app_serves_an_index_by_its_path_alone_and_never_rebuilds_it_from_another_corpus(built):
    from gradio_client import Client

    corpus, index = built
    version_before = index.resolve()
    with app_process("--index", str(index), env=_env()) as url:
        hits = Client(url, verbose=False).predict("Romania", 25, api_name="/search")
        assert _own_id(index) in {hit["id"] for hit in hits}
    assert read_manifest(index).corpus_folder == corpus.resolve()
    assert index.resolve() == version_before  # not rebuilt at all


def test_a_deleted_corpus_folder_means_staleness_not_checked(own_index, caplog):
    corpus, index = own_index
    shutil.rmtree(corpus)
    retriever = Retriever.load(index)
    for question in ("Romania", "November 1963"):
        notes = retriever.search(question).notes
        assert sum("staleness not checked" in note for note in notes) == 1
        assert any(str(corpus.resolve()) in note for note in notes)
    assert "no longer exists" in caplog.text


def test_an_edited_document_makes_load_raise_stale_index_with_a_pasteable_command(own_index):
    corpus, index = own_index
    page = corpus / SEED_PAGE.name
    page.write_text(page.read_text(encoding="utf-8").replace("nuclear blackmail", "atomic blackmail"),
                    encoding="utf-8")
    with pytest.raises(StaleIndex, match="changed in the corpus") as info:
        Retriever.load(index)
    command = str(info.value).split("`")[1]
    assert shlex.quote(str(corpus.resolve())) in command and shlex.quote(str(index)) in command
    assert shlex.split(command)[:3] == ["python", "-m", "embeddings.rebuild"]
    assert shlex.split(command)[shlex.split(command).index("--corpus") + 1] == str(corpus.resolve())


def test_the_app_rebuilds_a_stale_index_from_its_own_corpus(own_index, caplog):
    import app
    from rag.settings import Settings

    corpus, index = own_index
    page = corpus / SEED_PAGE.name
    page.write_text(page.read_text(encoding="utf-8").replace("nuclear blackmail", "atomic blackmail"),
                    encoding="utf-8")
    retriever = app.load_retriever(Settings(index_dir=index))  # no --corpus: the recorded one, not corpus/
    assert read_manifest(index).corpus_folder == corpus.resolve()
    assert any("atomic blackmail" in (d.summary or "") for d in retriever.index.documents)
    assert _own_id(index) in {d.id for d in retriever.index.documents}
    assert f"rebuilding it from {corpus.resolve()}" in caplog.text
