"""Serving from PostgreSQL: the command line end to end (`coldwar-rag rebuild --backend URL`, then `search
--backend URL --json`), the REST API over a database retriever, and a rebuild committed while serving seen by
the next search without a restart (`rag.search.refreshing.Refreshing`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EDITED_TO

from rag.index.postgres import backend
from rag.index.postgres.rebuild import rebuild_into
from rag.search.refreshing import Refreshing
from rag.search.retriever import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_rebuild_then_search_through_the_command_line(fresh_database):
    built = _cli("rebuild", "--backend", fresh_database, "--corpus", str(ROOT / "corpus"))
    assert built.returncode == 0, built.stderr
    assert "added 20, changed 0, removed 0, total 20" in built.stdout
    assert "document rows written 20, deleted 0, unchanged 0" in built.stdout
    again = _cli("rebuild", "--backend", fresh_database, "--corpus", str(ROOT / "corpus"))
    assert "is up to date (20 documents)" in again.stdout, again.stdout + again.stderr
    found = _cli("search", "Zhou Enlai on the test ban treaty", "--backend", fresh_database, "--k", "3", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 3 and "test ban" in hits[0]["title"].lower() + (hits[0]["summary"] or "").lower()
    bad = _cli("search", "anything", "--backend", "mysql://me:secret@host/db")
    assert bad.returncode != 0 and "RAG_BACKEND" in bad.stderr and "secret" not in bad.stderr


def test_rest_over_a_database_sees_a_rebuild_without_restart(fresh_database, encoder, edited_corpus, monkeypatch):
    from fastapi.testclient import TestClient

    from rag.api import create_api

    monkeypatch.setattr(backend, "CHECK_SECONDS", 0.0)  # ask the generation at every search, not once a second
    rebuild_into(fresh_database, ROOT / "corpus", Settings(), encoder=encoder, progress=False)
    settings = Settings(backend=fresh_database)
    opened = Retriever.load(settings=settings)
    served = Refreshing(Retriever(opened.index, encoder, opened.settings))
    with TestClient(create_api(served, max_k=settings.max_k)) as client:
        before = client.get("/api/search", params={"q": "zeppelins", "mode": "keyword"}).json()
        assert before["total"] == 0
        answer = client.get("/api/answer", params={"q": "German diplomats on the Sino-Soviet split"})
        assert answer.status_code == 200 and answer.json()["documents"]

        rebuild_into(fresh_database, edited_corpus, Settings(), encoder=encoder,
                     progress=False)
        after = client.get("/api/search", params={"q": "zeppelins", "mode": "keyword"}).json()
        assert after["total"] == 1 and after["hits"][0]["summary"].startswith(EDITED_TO)
    assert served.index.generation == 2 and served.model == opened.model
