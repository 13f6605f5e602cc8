"""The command line and every entry point end to end: real subprocesses, the real model, a small index built by
the rebuild script. Bad input anywhere is one line `error: ...` with its documented exit status, never a traceback."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
from conftest import FOREIGN, ROOT, SEED_PAGE, foreign_path, free_port, listing

from rag.errors import EXIT_CODES

pytestmark = pytest.mark.slow

#: The two spellings of the search command: the old module entry point and the console script's code.
SEARCH = [("-m", "rag", "search"), ("-m", "rag.cli", "search")]


def _run(*args: str, corpus=None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if corpus is not None:
        env["RAG_CORPUS_DIR"] = str(corpus)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=ROOT)


def _one_error_line(done: subprocess.CompletedProcess, status: int | None = None, notes: bool = False) -> str:
    """The single `error:` line of a failed run, asserting no traceback and nothing else on stderr (with
    `notes`, status lines such as "building the index ..." may come first; the error is still one last line)."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    if notes:
        assert [line for line in lines if line.startswith("error")] == lines[-1:], done.stderr
        lines = lines[-1:]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    if status is not None:
        assert done.returncode == status, (done.returncode, done.stderr)
    else:
        assert done.returncode != 0
    return lines[0]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A corpus folder (the bundled page) and the index the rebuild script builds from it, in a temp folder."""
    root = tmp_path_factory.mktemp("cli")
    (root / "corpus").mkdir()
    shutil.copy(SEED_PAGE, root / "corpus")
    done = _run("-m", "embeddings.rebuild", "--corpus", str(root / "corpus"), "--out", str(root / "index"),
                "--quiet")
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def corrupt_index(small):
    """A copy of the small index whose index.faiss is cut short."""
    copy = small / "corrupt"
    shutil.copytree(small / "index", copy)
    faiss_file = copy / "index.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    return copy


def _search(entry: tuple[str, ...], small, *args: str) -> subprocess.CompletedProcess:
    return _run(*entry, *args, "--index", str(small / "index"), corpus=small / "corpus")


# ------------------------------------------------------------------------------------------- the parser


def test_console_script_is_declared_and_resolves_to_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, function = scripts["coldwar-rag"].partition(":")
    from rag.cli import main

    assert getattr(importlib.import_module(module), function) is main


def test_version_is_the_package_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    done = _run("-m", "rag.cli", "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"coldwar-rag {version}"


def test_no_command_prints_usage_and_exits_2():
    done = _run("-m", "rag")
    assert done.returncode == 2 and done.stderr.startswith("usage: python -m rag")
    assert "Traceback" not in done.stderr and done.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize("command", [
    ("-m", "rag", "--help"), ("-m", "rag.cli", "--help"),
    ("-m", "rag.cli", "corpus", "--help"), ("-m", "rag", "corpus", "--help"),
    ("-m", "rag.cli", "rebuild", "--help"), ("-m", "embeddings.rebuild", "--help"),
    ("-m", "rag.cli", "search", "--help"), ("-m", "rag", "search", "--help"),
    ("-m", "rag.cli", "serve", "--help"), ("app.py", "--help"), ("-m", "rag", "answer", "--help"),
])
def test_every_help_lists_the_exit_statuses(command):
    done = _run(*command)
    assert done.returncode == 0 and EXIT_CODES in done.stdout


@pytest.mark.parametrize(("command", "flags"), [
    ("corpus", ["parse", "stats", "--json"]),
    ("rebuild", ["--corpus", "--out", "--model", "--index-type", "--full", "--check", "--quiet"]),
    ("search", ["--queries", "--json", "--index", "--k", "--from", "--to", "--sort", "--mode", "--collection"]),
    ("serve", ["--host", "--port", "--index", "--corpus", "--model", "--verbose"]),
    ("answer", ["--topic", "--json", "--index", "--k", "--from", "--to", "--mode", "--collection"]),
])
def test_each_subcommand_has_the_flags_readme_lists(command, flags):
    done = _run("-m", "rag.cli", command, "--help")
    assert done.returncode == 0 and all(flag in done.stdout for flag in flags)


def test_unknown_option_is_one_line():
    _one_error_line(_run("-m", "rag.cli", "search", "x", "--nope"), 2)


@pytest.mark.parametrize(("command", "variable", "value", "line"), [
    (("-m", "rag.cli", "search", "Soviet propaganda"), "RAG_MAX_K", "0",
     "error: setting max_k (RAG_MAX_K): must be at least 1, got 0"),
    (("-m", "rag", "answer", "Soviet propaganda"), "RAG_MAX_K", "many",
     "error: setting max_k (RAG_MAX_K): must be a whole number, got 'many'"),
    (("app.py",), "RAG_PORT", "70000", "error: setting port (RAG_PORT): must be at most 65535, got 70000"),
    (("-m", "embeddings.rebuild", "--check"), "RAG_BM25_B", "2",
     "error: setting bm25_b (RAG_BM25_B): must be between 0 and 1, got 2.0"),
])
def test_a_bad_setting_is_one_line_with_status_2(monkeypatch, command, variable, value, line):
    monkeypatch.setenv(variable, value)
    assert _one_error_line(_run(*command), 2) == line


def test_top_level_help_lists_every_setting_variable():
    from rag.settings import ENV_VARS

    done = _run("-m", "rag", "--help")
    assert done.returncode == 0 and all(f"  {var} " in done.stdout for var in ENV_VARS.values())


# ---------------------------------------------------------------------------------------------- corpus


def test_corpus_error_is_one_line_with_status_3(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("Title\n  • Aprill 3, 1963\n    A title\n", encoding="utf-8")
    for entry in (("-m", "rag.cli", "corpus"), ("-m", "rag", "corpus")):
        line = _one_error_line(_run(*entry, "parse", str(bad)), 3)
        assert f"{bad}:2: unreadable date 'Aprill 3, 1963'" in line


def test_corpus_stats_through_the_console_script(small):
    done = _run("-m", "rag.cli", "corpus", "stats", str(small / "corpus"), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["documents"] == 20


# ---------------------------------------------------------------------------------------------- search


@pytest.mark.parametrize("entry", SEARCH)
def test_search_works_on_the_small_index(entry, small):
    done = _search(entry, small, "Zhou Enlai test ban", "--k", "2", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2


def test_answer_prints_the_record_and_the_text(small):
    entry = ("-m", "rag", "answer")
    done = _search(entry, small, "what about 1964?", "--topic", "Romania mediation", "--k", "3", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["question"] == "Romania mediation in 1964" and record["answered"] is True
    assert len(record["documents"]) <= 3 and record["synthesis"]
    text = _search(entry, small, "Who painted the Mona Lisa?")
    assert text.returncode == 0, text.stderr
    assert "No summary in the archive answers this directly" in text.stdout
    _one_error_line(_search(entry, small, "  "), 2)
    only = _search(entry, small, "Romania", "--collection", "Sino-Soviet split", "--json")
    assert "only the collection Sino-Soviet Split, 1960-1984" in json.loads(only.stdout)["notes"]
    line = _one_error_line(_search(("-m", "rag", "search"), small, "Romania", "--collection", "Cuba"), 2)
    assert "unknown collection 'Cuba'; the collections are: Sino-Soviet Split, 1960-1984" in line


@pytest.mark.parametrize("entry", SEARCH)
@pytest.mark.parametrize(("args", "message"), [
    (("",), "empty"),
    (("   ",), "empty"),
    (("Soviet propaganda", "--k", "0"), "k must be a whole number from 1 to"),
    (("Soviet propaganda", "--k", "2.5"), "k must be a whole number"),
    (("Soviet propaganda", "--k", "abc"), "k must be a whole number"),
    (("Soviet propaganda", "--k", str(10**9)), "k must be a whole number from 1 to"),
    (("Soviet propaganda", "--from", "1964", "--to", "1963"), "1964"),
    (("Soviet propaganda", "--from", "yesterday"), "date_from"),
    (("Soviet propaganda", "--mode", "fuzzy"), "hybrid, semantic, keyword"),
    (("Soviet propaganda", "--sort", "sideways"), "relevance, date"),
    (("Soviet \x1b[2J propaganda\x07",), "control character U+001B"),
    (("Soviet propaganda", "--queries", "questions.txt"), "not both"),
])
def test_bad_search_input_is_one_line_with_status_2(entry, small, args, message):
    line = _one_error_line(_search(entry, small, *args), 2)
    assert message in line


@pytest.mark.parametrize("entry", SEARCH)
def test_a_100kb_question_does_not_crash(entry, small):
    done = _search(entry, small, "Soviet propaganda against China " * 3200, "--k", "3")
    assert "Traceback" not in done.stderr
    if done.returncode == 0:
        assert "matching, showing" in done.stdout
    else:
        _one_error_line(done, 2)


def test_nul_in_a_queries_file_is_that_line_s_error(small, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("Zhou Enlai test ban\nSoviet\x00propaganda\n", encoding="utf-8")
    done = _search(SEARCH[1], small, "--queries", str(questions))
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["hits"] and "error" in second and "\n" not in second["error"]


@pytest.mark.parametrize("entry", SEARCH)
def test_missing_index_is_status_4_naming_the_rebuild_command(entry, small):
    done = _run(*entry, "Soviet propaganda", "--index", str(small / "none"), corpus=small / "corpus")
    assert "embeddings.rebuild" in _one_error_line(done, 4)


@pytest.mark.parametrize("entry", SEARCH)
def test_corrupt_index_is_status_4(entry, small, corrupt_index):
    done = _run(*entry, "Soviet propaganda", "--index", str(corrupt_index), corpus=small / "corpus")
    _one_error_line(done, 4)


# --------------------------------------------------------------------------------------------- rebuild


@pytest.mark.parametrize("entry", [("-m", "embeddings.rebuild"), ("-m", "rag.cli", "rebuild")])
def test_unknown_model_is_status_5(entry, small, tmp_path):
    done = _run(*entry, "--corpus", str(small / "corpus"), "--out", str(tmp_path / "index"), "--model",
                "/no/such/model", "--quiet")
    assert "/no/such/model" in _one_error_line(done, 5)
    assert not (tmp_path / "index").exists()


def test_rebuild_check_through_the_console_script(small):
    done = _run("-m", "rag.cli", "rebuild", "--corpus", str(small / "corpus"), "--out", str(small / "index"),
                "--check")
    assert done.returncode == 0 and "up to date" in done.stdout


#: Every command that writes an index where it is told: the rebuild (--out) and serve (--index, when it builds).
WRITERS = [("-m", "rag.cli", "rebuild"), ("-m", "embeddings.rebuild"), ("app.py",), ("-m", "rag.cli", "serve")]


@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("entry", WRITERS)
def test_an_output_path_that_is_not_an_index_is_status_6_and_left_as_it_was(entry, kind, small, tmp_path):
    out = foreign_path(kind, tmp_path)
    before = listing(tmp_path)
    serves = "rebuild" not in entry[-1]
    flags = ("--index", str(out), "--port", str(free_port())) if serves else ("--out", str(out), "--quiet")
    done = _run(*entry, "--corpus", str(small / "corpus"), *flags, timeout=120)  # a served app would time out
    line = _one_error_line(done, 6)  # serve refuses before it says it is about to build there
    assert line.startswith(f"error: {out} ") and line.endswith("(choose another --out/--index path, or remove it)")
    assert listing(tmp_path) == before


def test_rebuild_writes_over_its_own_index_only_versioned_or_plain(small, tmp_path):
    # Up to date, so no model is loaded: what is tested is that both layouts are accepted as outputs.
    rebuild = ("-m", "rag.cli", "rebuild", "--corpus", str(small / "corpus"))
    done = _run(*rebuild, "--out", str(small / "index"))
    assert done.returncode == 0 and "up to date" in done.stdout, done.stderr
    shutil.copytree((small / "index").resolve(), tmp_path / "plain")  # an index written before versions
    done = _run(*rebuild, "--out", str(tmp_path / "plain"))
    assert done.returncode == 0 and "up to date" in done.stdout, done.stderr
    assert os.readlink(tmp_path / "plain") == "plain.v1"


# ----------------------------------------------------------------------------------------------- serve


@pytest.mark.parametrize("entry", [("app.py",), ("-m", "rag.cli", "serve")])
def test_app_with_unknown_model_exits_with_one_line(entry, small, tmp_path):
    done = _run(*entry, "--model", "/no/such/model", "--index", str(tmp_path / "empty"), "--corpus",
                str(small / "corpus"), "--port", str(free_port()))
    assert "/no/such/model" in _one_error_line(done, 5, notes=True)


@pytest.mark.parametrize("entry", [("app.py",), ("-m", "rag.cli", "serve")])
def test_app_with_corrupt_index_exits_with_one_line(entry, small, corrupt_index):
    before = (corrupt_index / "index.faiss").read_bytes()
    done = _run(*entry, "--index", str(corrupt_index), "--corpus", str(small / "corpus"), "--port",
                str(free_port()))
    _one_error_line(done, notes=True)
    assert (corrupt_index / "index.faiss").read_bytes() == before  # nothing overwritten


def test_app_with_missing_corpus_exits_with_one_line(small, tmp_path):
    done = _run("app.py", "--index", str(small / "index"), "--corpus", str(tmp_path / "nowhere"), "--port",
                str(free_port()))
    _one_error_line(done, notes=True)


# ------------------------------------------------------------------------------------------- HTTP API


@pytest.fixture(scope="module")
def client(chat_server):
    from gradio_client import Client

    return Client(chat_server, verbose=False)


@pytest.mark.parametrize(("args", "message"), [
    (("Soviet propaganda", None), "k must be a whole number"),
    (("Soviet propaganda", 0), "k must be a whole number from 1 to"),
    (("Soviet propaganda", 2.5), "k must be a whole number"),
    (("Soviet propaganda", "abc"), "k must be a whole number"),
    (("Soviet propaganda", 10**9), "k must be a whole number from 1 to"),
    (("Soviet propaganda", 5, "1964", "1963"), "1964"),
    (("Soviet propaganda", 5, "", "", "relevance", "fuzzy"), "hybrid, semantic, keyword"),
    (("Soviet propaganda", 5, "", "", "sideways"), "relevance, date"),
    (("",), "empty"),
    (("Soviet\x00propaganda",), "control character U+0000"),
])
def test_api_bad_input_is_a_client_error_with_one_line(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        client.predict(*args, api_name="/search")
    text = str(caught.value)
    assert message in text and "\n" not in text.strip() and "Traceback" not in text


def test_api_100kb_question_is_answered_or_refused_in_one_line(client):
    from gradio_client.exceptions import AppError

    try:
        hits = client.predict("Soviet propaganda against China " * 3200, 3, api_name="/search")
    except AppError as exc:
        assert "\n" not in str(exc).strip() and re.match(r"\w", str(exc))
    else:
        assert len(hits) <= 3
