"""`coldwar-rag corpus parse|stats|add`: one JSON object per document, errors and duplicates on stderr, the figures
per file and in all, adding pages (refused whole, or copied, reported and searchable after the rebuild)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_DATES

HEADER = "Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n"


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", "corpus", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_parse_prints_one_json_object_per_document(seed_page):
    result = run_cli("parse", str(seed_page))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["date"] for r in records] == SEED_DATES
    assert set(records[0]) == {"id", "date", "date_text", "title", "summary", "collection"}
    assert records[5]["summary"] is None


def test_cli_parse_reports_errors_on_stderr_with_nonzero_exit(write_page):
    path = write_page(HEADER + "  • Aprill 3, 1963\n    A title\n")
    result = run_cli("parse", str(path))
    assert result.returncode == 3
    assert result.stdout == ""
    assert f"{path}:5: unreadable date 'Aprill 3, 1963'" in result.stderr


def test_cli_parse_reports_duplicates_on_stderr(seed_page, tmp_path):
    copy = tmp_path / "again.txt"
    copy.write_text(seed_page.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("parse", str(seed_page), str(copy))
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 20
    assert result.stderr.count("duplicate of") == 20


def test_cli_stats_on_the_bundled_corpus():
    result = run_cli("stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["documents"] == 20
    assert stats["date_range"] == ["1963-04-03", "1964-03"]
    assert stats["by_year"] == {"1963": 17, "1964": 3}
    assert [e["date_text"] for e in stats["without_summary"]] == ["July 08, 1963"]
    assert stats["duplicates"] == []
    text = run_cli("stats", str(ROOT / "corpus")).stdout
    assert "documents:        20" in text and "without summary:  1" in text


FIXTURES = ROOT / "tests" / "documents" / "readers" / "fixtures"


def test_cli_stats_lists_each_file_its_layout_entries_urls_and_the_merges(seed_page, tmp_path):
    for path in (seed_page, FIXTURES / "search_results.html", FIXTURES / "search_results.txt"):
        shutil.copy(path, tmp_path / path.name)
    result = run_cli("stats", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert [(Path(f["file"]).name, f["layout"], f["entries"], f["without_summary"], f["urls"], f["position"])
            for f in stats["per_file"]] == [
        ("000_e07505288b6fd7bd.txt", "bullets", 20, 1, 0, None),
        ("search_results.html", "html", 3, 1, 3, "41 - 50 of 62"),
        ("search_results.txt", "results", 4, 1, 0, "41 - 50 of 62")]
    assert (stats["entries"], stats["documents"], stats["merged"], stats["urls"]) == (27, 22, 4, 3)
    assert stats["collections"] == {"Sino-Soviet Split, 1960-1984": 20, "": 2}
    assert "note: 4 documents listed on several pages merged" in result.stderr
    text = run_cli("stats", str(tmp_path)).stdout
    assert f"  {tmp_path / 'search_results.html'}: html, 3 entries, 1 without summary, 3 URLs, results 41 - 50 of 62" \
        in text
    assert "documents:        22 (4 documents listed on several pages merged)" in text
    assert "collection:     unknown collection (2)" in text


def test_cli_add_refuses_a_bad_file_and_copies_nothing(tmp_path, seed_page):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(seed_page, corpus / seed_page.name)
    result = run_cli("add", str(FIXTURES / "firefox.html"), str(FIXTURES / "no_entries.html"),
                     "--corpus", str(corpus), "--out", str(tmp_path / "index"))
    assert result.returncode == 3
    assert f"{FIXTURES / 'no_entries.html'}: no entries found" in result.stderr
    assert [p.name for p in corpus.iterdir()] == [seed_page.name] and not (tmp_path / "index").exists()


@pytest.mark.slow
def test_cli_add_copies_reports_rebuilds_and_search_finds_the_new_document(tmp_path, seed_page):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(seed_page, corpus / seed_page.name)
    added = run_cli("add", str(FIXTURES / "search_results.html"), "--corpus", str(corpus), "--out", str(index),
                    timeout=600)
    assert added.returncode == 0, added.stderr
    assert f"copied {FIXTURES / 'search_results.html'} to {corpus / 'search_results.html'}" in added.stdout
    assert "2 new, 1 updated, 19 already in the corpus (1 documents listed on several pages merged)" in added.stdout
    assert (corpus / "search_results.html").exists() and (index / "manifest.json").exists()
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus)}
    found = subprocess.run([sys.executable, "-m", "rag", "search", "Kosygin at Beijing Airport", "--json", "--k", "1",
                            "--index", str(index), "--collection", "unknown"],
                           cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert found.returncode == 0, found.stderr
    hit = json.loads(found.stdout)[0]
    assert hit["title"] == "Zhou Enlai's Talk with Kosygin at Beijing Airport" and hit["date"] == "1969"
