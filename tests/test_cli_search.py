"""`python -m rag search` end to end: a real subprocess, the real model, an index folder on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def _run(*args, index=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAG_CORPUS_DIR": str(ROOT / "corpus")}
    command = [sys.executable, "-m", "rag", "search", *args]
    if index is not None:
        command += ["--index", str(index)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_json_output_has_the_documented_fields(built_index):
    done = _run("What did Zhou Enlai say about the test ban?", "--json", "--k", "3", index=built_index)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 3 and hits[0]["id"] == "de0495086098ec7e"
    for field in ("id", "title", "date", "date_text", "summary", "score", "citation", "highlight", "matched"):
        assert field in hits[0]


def test_text_output_with_dates_and_sort(built_index):
    done = _run("Soviet propaganda", "--from", "1963-11", "--to", "1963", "--sort", "date", index=built_index)
    assert done.returncode == 0, done.stderr
    assert "dates 1963-11..1963" in done.stdout and "Wilson Center Digital Archive." in done.stdout


def test_queries_file_answers_each_line_as_json_lines(built_index, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("Zhou Enlai and the test ban\n\n???\nRomania in early 1964\n", encoding="utf-8")
    done = _run("--queries", str(questions), "--mode", "keyword", index=built_index)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["question"] for line in lines] == ["Zhou Enlai and the test ban", "???", "Romania in early 1964"]
    assert lines[0]["hits"][0]["id"] == "de0495086098ec7e"
    assert "type a question" in lines[1]["error"]
    assert (lines[2]["date_from"], lines[2]["date_to"]) == ("1964-01", "1964-04")


@pytest.mark.parametrize(("args", "message"), [
    (("Soviet propaganda", "--k", "0"), "k must be a whole number from 1 to 1000, got 0"),
    (("Soviet propaganda", "--mode", "magic"), "mode must be one of hybrid, semantic, keyword"),
    (("Soviet propaganda", "--from", "yesterday"), "date_from: unreadable date"),
    (("   ",), "the question is empty"),
])
def test_bad_input_is_one_line_and_exit_status_2(built_index, args, message):
    done = _run(*args, index=built_index)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and message in done.stderr and "Traceback" not in done.stderr


def test_missing_index_exits_4_naming_the_rebuild_command(tmp_path):
    done = _run("Soviet propaganda", index=tmp_path / "none")
    assert done.returncode == 4 and "python -m embeddings.rebuild" in done.stderr


def test_json_and_text_carry_the_url_when_known(url_index, url_corpus):
    from conftest import URL_RECORDS

    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAG_CORPUS_DIR": str(url_corpus)}
    command = [sys.executable, "-m", "rag", "search", "nuclear test ban", "--k", "10", "--index", str(url_index)]
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert as_json.returncode == 0, as_json.stderr
    hits = json.loads(as_json.stdout)
    assert {hit["title"]: hit["url"] for hit in hits} == {r["title"]: r.get("url") for r in URL_RECORDS}
    as_text = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert as_text.returncode == 0, as_text.stderr
    lines = as_text.stdout.splitlines()
    url = "https://digitalarchive.wilsoncenter.org/document/116543"
    citation = next(i for i, line in enumerate(lines) if line.strip().startswith('"Cable from the Chinese Embassy'))
    assert lines[citation + 1] == f"   {url}"  # under its citation, on a line of its own
    romanian = next(i for i, line in enumerate(lines) if line.strip().startswith('"Romanian delegation'))
    assert romanian + 1 == len(lines) or not lines[romanian + 1].strip().startswith("http")  # no URL: none shown
    assert not any(line.strip().startswith("javascript:") for line in lines)  # a script is not shown as an address
