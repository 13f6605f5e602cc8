"""The chat's logic (Chat.reply) and its page handler (`respond`: history, exports, timeline) over the real
retriever, the /search API through gradio_client against a running server, and `python app.py` end to end."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import app
from rag.chat import session
from rag.chat.followup import Topic
from rag.chat.render import escape
from rag.documents.dates import sort_key
from rag.settings import Settings


@pytest.fixture()
def chat(chat_retriever) -> session.Chat:
    return session.Chat(chat_retriever, 21, Settings())


def test_reply_answers_with_searched_line(chat):
    reply = chat.reply("Romanian Workers party", None)
    assert reply.shown_question == "Romanian Workers party"
    assert reply.answer.startswith("Searched “Romanian Workers party”")
    assert "[1]" in reply.answer and reply.results
    assert reply.topic == Topic(reply.results.query, reply.results.date_phrase)


def test_followup_searches_previous_topic_with_new_date(chat):
    first = chat.reply("Romanian Workers party in 1963", None)
    follow = chat.reply("what about 1964?", first.topic)
    assert follow.results.question == f"{first.topic.query} in 1964"
    assert "Follow-up understood as" in follow.answer.splitlines()[1]
    assert all(hit.doc.date.startswith("1964") for hit in follow.results)


def test_empty_question_asks_for_one(chat):
    reply = chat.reply("   ", Topic("x"))
    assert reply.shown_question is None and reply.results is None
    assert "Please type a question" in reply.answer
    assert reply.topic == Topic("x")  # the conversation is kept


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    ("1963-13", "", "impossible date '1963-13'"),
    ("April 1963", "", "expected YYYY, YYYY-MM or YYYY-MM-DD"),
    ("1964", "1963", "starts (1964) after it ends (1963)"),
])
def test_bad_dates_explain_themselves(chat, date_from, date_to, message):
    reply = chat.reply("Romania", None, date_from, date_to)
    assert reply.answer.startswith("**Could not search:**") and escape(message) in reply.answer
    assert reply.results is None


def test_bad_order_lists_valid_values(chat):
    assert escape("sort must be one of relevance, date") in chat.reply("Romania", None, order="newest").answer


def test_failure_inside_the_retriever_is_a_friendly_message(caplog):
    class Broken:
        def search(self, *args, **kwargs):
            raise RuntimeError("faiss exploded")

    reply = session.Chat(Broken(), None, Settings()).reply("Romania", None)
    assert "search failed unexpectedly" in reply.answer and "faiss" not in reply.answer
    assert "faiss exploded" in caplog.text  # logged for the operator


def test_date_controls_filter(chat):
    reply = chat.reply("Chinese", None, "1963-11", "1963-12")
    assert reply.results and all("1963-11" <= hit.doc.date[:7] <= "1963-12" for hit in reply.results)
    assert "1963-11..1963-12 (chosen)" in reply.answer.splitlines()[0]


def test_header_describes_the_collection(chat_corpus):
    header = session.Collection.from_corpus(chat_corpus).header()
    assert "21 document summaries" in header and "*Sino-Soviet Split, 1960-1984*" in header
    assert "April 03, 1963 to March, 1964" in header
    assert "*Sino-Soviet Split, 1960-1984* (21 documents, April 03, 1963 to March, 1964)" in header  # its span


# --- the page's submit handler, called directly (no server, no browser) --------------------------------

@pytest.fixture()
def respond(chat, tmp_path):
    return app.responder(chat, tmp_path)


def test_respond_adds_the_exchange_and_writes_exports_and_timeline(respond, tmp_path):
    earlier = [{"role": "user", "content": "Zhou Enlai"}, {"role": "assistant", "content": "Searched …"}]
    history, topic, timeline, citations, txt, csv_path, box = respond(
        "Romanian Workers party", earlier, None, "", "", 4, "date", "hybrid")

    assert history[:2] == earlier and len(earlier) == 2  # appended to a copy
    assert history[2] == {"role": "user", "content": "Romanian Workers party"}
    assert history[3]["role"] == "assistant" and history[3]["content"].startswith("Searched “Romanian Workers party”")
    assert topic == Topic("Romanian Workers party") and box == ""

    cited = citations.splitlines()
    assert 1 <= len(cited) <= 4 and [line.split()[0] for line in cited] == [f"[{n}]" for n in range(1, len(cited) + 1)]
    assert all(line.split()[0] in history[3]["content"] for line in cited)  # the answer cites the same numbers
    assert Path(txt).read_text(encoding="utf-8") == citations and Path(txt).is_relative_to(tmp_path)
    with Path(csv_path).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["number"] for row in rows] == [str(n) for n in range(1, len(cited) + 1)]
    assert [f"[{row['number']}] {row['citation']}" for row in rows] == cited

    assert timeline.count("<circle") == 2 * len(cited)  # the timeline: one point per cited document, in both layouts


def test_respond_follows_up_on_the_topic_it_returned(respond):
    _, topic, *_ = respond("Romanian Workers party in 1963", [], None, "", "", 5, "date", "hybrid")
    history, follow_topic, timeline, citations, *_ = respond("what about 1964?", [], topic, "", "", 5, "date",
                                                             "hybrid")
    assert "Follow-up understood as" in history[-1]["content"]
    assert follow_topic.query == topic.query and citations
    assert timeline.count("<circle") == 2 * len(citations.splitlines())  # the follow-up's points (both layouts)


@pytest.mark.parametrize(("message", "date_from", "said"), [
    ("   ", "", "Please type a question first"),
    ("Romania", "1963-13", "Could not search"),
])
def test_respond_without_a_search_leaves_timeline_and_exports_alone(respond, tmp_path, message, date_from, said):
    earlier = [{"role": "assistant", "content": "Searched …"}]
    history, topic, *rest, box = respond(message, earlier, Topic("Zhou Enlai"), date_from, "", 5, "date", "hybrid")
    assert said in history[-1]["content"] and history[-1]["role"] == "assistant"
    assert len(history) == (2 if not message.strip() else 3)  # an empty question is not shown as asked
    assert topic == Topic("Zhou Enlai")  # the conversation goes on
    assert rest == [gr_skip()] * 4 and box == ""
    assert list(tmp_path.iterdir()) == []  # no export written


def gr_skip():
    import gradio as gr

    return gr.skip()


# --- HTTP API through gradio_client, against the real Gradio server ----------------------------------

@pytest.fixture(scope="module")
def client(chat_server):
    from gradio_client import Client

    return Client(chat_server, verbose=False)


@pytest.mark.slow
def test_api_returns_hit_records(client):
    hits = client.predict("Romanian Workers party", api_name="/search")
    assert isinstance(hits, list) and hits
    for record in hits:
        assert {"title", "date", "date_text", "summary", "score", "citation", "rank", "matched"} <= record.keys()
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


@pytest.mark.slow
def test_api_optional_inputs(client):
    hits = client.predict("Chinese", 3, "1963-11", "1963-12", "date", "keyword", api_name="/search")
    assert 0 < len(hits) <= 3
    dates = [h["date"] for h in hits]
    assert dates == sorted(dates, key=sort_key) and all(d.startswith("1963-1") for d in dates)


@pytest.mark.slow
def test_api_collection_filter(client):
    """The Gradio /search takes the collection filter as /api/search does."""
    hits = client.predict("Chinese", 5, "", "", "relevance", "hybrid", ["Sino-Soviet Split, 1960-1984"],
                          api_name="/search")
    assert hits and all(h["collection"] == "Sino-Soviet Split, 1960-1984" for h in hits)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), [
    (("  ",), "question is empty"),
    (("Romania", 10, "1963-13"), "impossible date"),
    (("Romania", 10, "", "", "relevance", "hybrid", ["Korean War"]), "unknown collection 'Korean War'; the "
                                                                      "collections are: Sino-Soviet Split"),
])
def test_api_errors_are_clear(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/search")


@pytest.mark.slow
def test_page_and_api_work_offline(chat_server):
    """The page's HTML references nothing outside this server (no CDN, no web fonts)."""
    page = urllib.request.urlopen(chat_server, timeout=10).read().decode()
    assert "fonts.googleapis" not in page and "cdn.jsdelivr" not in page


# --- python app.py, end to end (needs the rebuild script and the real retriever) ----------------------

@pytest.mark.slow
def test_python_app_builds_index_then_serves(chat_corpus, tmp_path):
    from conftest import app_process
    from gradio_client import Client

    index = tmp_path / "index"
    with app_process("--index", str(index), "--corpus", str(chat_corpus)) as url:
        assert (index / "manifest.json").exists()
        hits = Client(url, verbose=False).predict("Zhou Enlai test ban", api_name="/search")
        assert any("Zhou Enlai" in h["title"] for h in hits)


def _serve_one_request(index: Path, *flags: str) -> list[str]:
    """`python app.py` over an existing index: wait for the page, ask /api/search once, stop with SIGTERM; its
    output lines."""
    from conftest import ROOT, free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--index", str(index), *flags],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q=Romania", timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    return [line for line in output.splitlines() if line.strip()], port


@pytest.mark.slow
def test_the_terminal_says_one_line_per_start_and_stop_and_more_with_verbose(built_index):
    lines, port = _serve_one_request(built_index)
    assert lines == [f"Serving the archive chat and its REST API (/api/answer, /api/search) on "
                     f"http://127.0.0.1:{port}/", "stopped (SIGTERM)"]
    verbose, port = _serve_one_request(built_index, "--verbose")
    assert any("GET /api/search?q=Romania" in line for line in verbose), verbose  # the request, logged
    assert len(verbose) > 2 and not any("share=True" in line for line in lines)


def test_python_app_answers_without_importing_torch(built_index):
    """`python app.py` run as is (through runpy, so the test adds only an exit hook that lists the heavy
    modules the process imported), asked once through gradio_client, then stopped with Ctrl-C."""
    import json
    import signal

    from conftest import ROOT, free_port
    from gradio_client import Client

    from rag.index.encoders.onnx_export import onnx_model_for
    from rag.settings import DEFAULT_MODEL, Settings

    # the export serving finds (made once per model, in the configured cache)
    onnx_model_for(DEFAULT_MODEL, Settings.from_env().onnx_cache)
    port = free_port()
    code = ("import atexit, json, runpy, sys\n"
            "atexit.register(lambda: print('HEAVY ' + json.dumps(sorted(m for m in sys.modules if m.split('.')[0] "
            "in ('torch', 'sentence_transformers', 'transformers'))), flush=True))\n"
            f"sys.argv = ['app.py', '--port', '{port}', '--index', {str(built_index)!r}, "
            f"'--corpus', {str(ROOT / 'corpus')!r}]\n"
            "runpy.run_path('app.py', run_name='__main__')\n")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None, server.stdout.read()
        hits = Client(f"http://127.0.0.1:{port}/", verbose=False).predict("test ban treaty", api_name="/search")
        assert hits and hits[0]["title"]
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    heavy = [json.loads(line.removeprefix("HEAVY ")) for line in output.splitlines() if line.startswith("HEAVY ")]
    assert heavy == [[]], output
