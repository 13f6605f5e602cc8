"""`coldwar-rag corpus parse|stats`: one JSON object per document, errors and duplicates on stderr, the figures."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, SEED_DATES

HEADER = "Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", "corpus", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


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
