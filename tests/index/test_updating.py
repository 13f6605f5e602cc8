"""Adding saved pages then rebuilding whichever index the settings name (`rag.index.updating`): the folder, and a
real PostgreSQL database (the `corpus add --backend URL` path)."""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.index.updating import add_and_rebuild
from rag.settings import Settings

FIREFOX_PAGE = Path(__file__).resolve().parent.parent / "documents" / "readers" / "fixtures" / "firefox.html"


def test_adding_into_a_folder_index_rebuilds_it(tmp_path, url_corpus):
    from rag.index.store import Index

    settings = Settings(corpus_dir=shutil.copytree(url_corpus, tmp_path / "corpus"), index_dir=tmp_path / "index")
    added = add_and_rebuild([FIREFOX_PAGE], settings)
    assert added.rebuilt is not None and "added 7" in added.rebuilt.line, added.rebuilt
    assert added.lines()[-1] == added.rebuilt.line and "2 new, 0 updated, 5 already" in added.lines()[-2]
    assert len(Index.load(settings.index_dir)) == 7


def test_adding_into_a_database_rebuilds_it(tmp_path, url_corpus, fresh_database):
    from rag.index.postgres.backend import PostgresIndex

    settings = Settings(corpus_dir=shutil.copytree(url_corpus, tmp_path / "corpus"), index_dir=tmp_path / "unused",
                        backend=fresh_database)
    added = add_and_rebuild([FIREFOX_PAGE], settings)
    assert added.rebuilt is not None and "document rows written 7" in added.rebuilt.line, added.rebuilt
    assert "inf docs/s" not in added.rebuilt.line
    index = PostgresIndex.open(fresh_database, settings)
    assert len(index) == 7
    assert not (tmp_path / "unused").exists()  # the database, not a folder, was rebuilt


def test_nothing_copied_nothing_rebuilt(tmp_path, url_corpus):
    corpus = shutil.copytree(url_corpus, tmp_path / "corpus")
    shutil.copy(FIREFOX_PAGE, corpus / "saved.html")
    added = add_and_rebuild([FIREFOX_PAGE], Settings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    assert added.rebuilt is None and added.lines()[-1] == "index not rebuilt: nothing was copied"
    assert not (tmp_path / "index").exists()
