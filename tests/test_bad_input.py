"""The bad-input battery (issue 17): one table of bad inputs, each run through every interface it applies to, so
that none of the failures issue 17 fixed comes back.

* the command line, `python -m rag search|answer ...` in a subprocess: one `error: ...` line, no traceback, the
  documented exit status (an option is checked before the index is even opened: those cases point --index at
  nothing and still get their own error, fast);
* Python, `rag.Retriever.search` and `rag.chat.answer.answer`: the documented `rag.errors` class, one line;
* the REST API, `/api/search` and `/api/answer`, GET and POST, over real HTTP: 400 `{"error": ...}` naming the field,
  never a 5xx, and the keep-alive connection still open after every one of them;
* the chat page: what its question and date boxes submit, through Gradio's queue as the page's script sends it (the
  answer arrives, as one helpful line), and a few cases typed into the page in headless Chromium.

A case that an interface searches rather than refuses (a 5000-character question is shortened, "DATE" is read as
"date" outside the strict REST API) says so (`Served`) and is checked for what the user gets. After the table: every
exit status of the README's list ("Command line and exit codes"), each from one real case.

A case that fails because of a bug not fixed here is an `xfail(strict=True)` naming it: fixed, it fails until the
mark goes.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import FOREIGN, ROOT, foreign_path, free_port, listing

Q = "Romania mediation"
#: What every refusal of k says (max_k's default: subprocesses run without RAG_* variables).
K_RANGE = "k must be a whole number from 1 to 1000"
PATHS = ("/api/search", "/api/answer")
#: The interfaces, as the tests and the closing table name them.
PYTHON = ("python", "answer")
CLI = ("cli search", "cli answer")
REST = tuple(f"{method} {path}" for path in PATHS for method in ("GET", "POST"))
#: Seconds an answer may take anywhere: the bundled corpus answers in milliseconds, so more is a hang.
ANSWER_TIMEOUT_S = 30


@dataclass(frozen=True)
class Served:
    """The interface searches this input instead of refusing it. `note`: what its answer must say about it;
    `like`: options whose answer it must equal (a wrong case read as the right one)."""

    note: str | None = None
    like: Mapping[str, Any] | None = None


SERVED = Served()
#: What an interface does with an input: the words its refusal holds (the field, what to do), Served, or None (the
#: interface cannot be given that input: the page has no k box, `answer` no --sort).
Outcome = tuple[str, ...] | Served | None


@dataclass(frozen=True)
class Bad:
    """One bad input, as the Python values a caller passes (`options`: k, date_from, date_to, sort, mode,
    collections, topic), and what each interface does with it: `expect` unless `by` says otherwise for an
    interface or its family ("cli", "GET", "POST", "rest"). `only`: the interfaces (or families) it applies to.
    `index`: the CLI needs the index to judge it (what only the retriever knows). `bugs`: interface (or family)
    -> the known bug that makes it fail there, and the exception that shows it."""

    id: str
    kind: str
    q: Any = Q
    options: Mapping[str, Any] = field(default_factory=dict)
    expect: tuple[str, ...] | Served = ()
    by: Mapping[str, Outcome] = field(default_factory=dict)
    only: frozenset[str] | None = None
    index: bool = False
    bugs: Mapping[str, tuple[str, type[BaseException]]] = field(default_factory=dict)
    browser: bool = False  # also typed into the page in Chromium (a few representative cases)

    def outcome(self, interface: str) -> Outcome:
        names = _families(interface)
        if self.only is not None and not self.only & set(names):
            return None
        for name in names:
            if name in self.by:
                return self.by[name]
        if interface == "cli answer" and "sort" in self.options:
            return None  # answer lists by date: no --sort
        if "topic" in self.options and interface not in ("answer", "cli answer", "GET /api/answer",
                                                         "POST /api/answer"):
            return None
        if interface == "page" and set(self.options) - {"date_from", "date_to"}:
            return None  # the page's other controls are a slider, radios and check boxes
        return self.expect

    def bug(self, interface: str) -> tuple[str, type[BaseException]] | None:
        return next((self.bugs[name] for name in _families(interface) if name in self.bugs), None)


def _families(interface: str) -> list[str]:
    """An interface's name, then the families it belongs to, most specific first."""
    if interface in REST:
        return [interface, interface.split()[0], "rest"]
    if interface in CLI:
        return [interface, "cli"]
    return [interface]


def random_unicode(n: int = 200, seed: int = 17) -> str:
    """n code points drawn at random from planes 0-2, keeping any assigned character that is not a control
    character, a surrogate, private use or a line/paragraph separator (those have cases of their own)."""
    rng, chars = random.Random(seed), []
    while len(chars) < n:
        char = chr(rng.randrange(0x20, 0x30000))
        if unicodedata.category(char) not in ("Cc", "Cs", "Cn", "Co", "Zl", "Zp"):
            chars.append(char)
    return "".join(chars)


EMPTY = ("the question is empty", "type a question")
REST_EMPTY = ("q is empty", "pass the question as ?q=")
PAGE_EMPTY = ("Please type a question first, for example",)
#: The unpaired surrogate a byte that is not UTF-8 becomes in a command line's argv (Python's surrogateescape).
BROKEN = "Soviet \udcff propaganda"
#: The language rows of the closing table.
QUESTION, ABSURD, K, DATE, CHOICE, COLLECTION, TYPE = (
    "question", "absurd question", "k", "date", "sort/mode", "collection", "wrong type")

CASES = [
    # ---------------------------------------------------------------------------------------- the question
    Bad("empty", QUESTION, q="", expect=EMPTY, by={"rest": REST_EMPTY, "page": PAGE_EMPTY}, browser=True),
    Bad("whitespace only", QUESTION, q=" \t  ", expect=EMPTY, by={"rest": REST_EMPTY, "page": PAGE_EMPTY}),
    Bad("punctuation only", QUESTION, q="?!… — ...", index=True, browser=True,
        expect=("the question is empty or only punctuation", "type a question")),
    Bad("control characters", QUESTION, q="Soviet \x1b[2J propaganda\x07", index=True,
        expect=("the question contains the control character U+001B at character 8", "remove it")),
    Bad("5000 characters", ABSURD, q=("Soviet propaganda against China " * 160)[:5000], index=True, browser=True,
        expect=Served(note="question shortened to its first"),
        by={"rest": ("q is longer than 1000 characters (5000 given)", "shorten it")}),
    Bad("random unicode", ABSURD, q=random_unicode(), index=True, expect=SERVED),
    Bad("asdfghjkl", ABSURD, q="asdfghjkl", index=True, expect=SERVED),
    Bad("unpaired surrogate", ABSURD, q=BROKEN, index=True, expect=("unpaired surrogate",),
        by={"GET": SERVED},),  # the byte %FF in a query string is read as U+FFFD, a character like any other
    # ------------------------------------------------------------------------------------------------ k
    *(Bad(f"k={value!r}", K, options={"k": value}, expect=(K_RANGE,)) for value in (0, -1, 10**9, "five", 2.5, True)),
    Bad("k=None", K, options={"k": None}, expect=(K_RANGE,), only=frozenset({"python", "answer", "POST"})),
    # --------------------------------------------------------------------------------------------- dates
    Bad("date_from 1963-13", DATE, options={"date_from": "1963-13"}, browser=True,
        expect=("date_from", "impossible date '1963-13'")),
    Bad("date_from 1963-02-30", DATE, options={"date_from": "1963-02-30"},
        expect=("date_from", "impossible date '1963-02-30'")),
    Bad("date_from tomorrow", DATE, options={"date_from": "tomorrow"},
        expect=("date_from", "tomorrow", "YYYY, YYYY-MM or YYYY-MM-DD")),
    Bad("date_to tomorrow", DATE, options={"date_to": "tomorrow"},
        expect=("date_to", "tomorrow", "YYYY, YYYY-MM or YYYY-MM-DD")),
    Bad("date_to before date_from", DATE, options={"date_from": "1964", "date_to": "1963"}, browser=True,
        expect=("starts (1964) after it ends (1963)", "date_from must not be after date_to")),
    # ------------------------------------------------------------------ sort and mode: unknown, and wrong case
    Bad("sort sideways", CHOICE, options={"sort": "sideways"}, expect=("sort must be one of relevance, date",
                                                                      "sideways")),
    Bad("mode fuzzy", CHOICE, options={"mode": "fuzzy"}, expect=("mode must be one of hybrid, semantic, keyword",
                                                                 "fuzzy")),
    # Python and the CLI read any case; the REST API states its lowercase values and holds to them (README).
    Bad("sort DATE", CHOICE, options={"sort": "DATE"}, index=True, expect=Served(like={"sort": "date"}),
        by={"rest": ("sort must be one of relevance, date", '"DATE"')}),
    Bad("mode KEYWORD", CHOICE, options={"mode": "KEYWORD"}, index=True, expect=Served(like={"mode": "keyword"}),
        by={"rest": ("mode must be one of hybrid, semantic, keyword", '"KEYWORD"')}),
    # ------------------------------------------------------------------------------------------ collections
    Bad("unknown collection", COLLECTION, options={"collections": ["Berlin Wall"]}, index=True,
        expect=("unknown collection 'Berlin Wall'", "the collections are: Sino-Soviet Split, 1960-1984")),
    # ---------------------------------------------------- wrong types: Python's arguments, a JSON body's values
    Bad("q=None", TYPE, q=None, only=frozenset({"python", "answer", "POST"}), expect=("the question must be text",),
        by={"answer": EMPTY, "POST": ("q must be text",)}),
    Bad("q=1", TYPE, q=1, only=frozenset({"python", "answer", "POST"}), expect=("the question must be text",),
        by={"POST": ("q must be text",)}),
    Bad("collections=5", TYPE, options={"collections": 5}, only=frozenset({"python", "answer", "POST"}),
        expect=("collections must be",)),
    Bad("topic=3", TYPE, q="what about 1964?", options={"topic": 3}, expect=("topic must be text",),
        by={"answer": ("topic",), "cli": None, "GET": None},),  # on a command line and in a query string 3 is text
]


def _param(case: Bad, interface: str, *, marks=()) -> Any:
    bug = case.bug(interface)
    marks = [*marks, *([pytest.mark.xfail(strict=True, reason=bug[0], raises=bug[1])] if bug else [])]
    return pytest.param(case, interface, id=f"{case.id}-{interface}", marks=marks)


def _params(interfaces: tuple[str, ...], *, marks=(), where=lambda case: True) -> list:
    return [_param(case, interface, marks=marks) for case in CASES for interface in interfaces
            if case.outcome(interface) is not None and where(case)]


def _words_in(text: str, words: tuple[str, ...]) -> None:
    """Each of `words` in `text`, which is one line with no traceback."""
    assert "\n" not in text.strip() and "Traceback" not in text, text
    missing = [word for word in words if word not in text]
    assert not missing, f"{missing} not in {text!r}"


# ------------------------------------------------------------------------------------------------------ Python


def python_call(retriever, case: Bad, interface: str, options: Mapping[str, Any] | None = None):
    """The case through `Retriever.search` ("python") or `rag.chat.answer.answer` ("answer")."""
    from rag.chat.answer import answer

    options = dict(case.options if options is None else options)
    topic = options.pop("topic", None)
    if interface == "python":
        return retriever.search(case.q, **options)
    return answer(retriever, case.q, topic, **options)


@pytest.mark.slow
@pytest.mark.parametrize(("case", "interface"), _params(PYTHON))
def test_python(retriever, case, interface):
    """`retriever` is a `rag.Retriever` (over the bundled corpus); a refusal is `rag.QueryError`, exit status 2."""
    from rag import QueryError, Retriever

    assert isinstance(retriever, Retriever)

    expected = case.outcome(interface)
    if isinstance(expected, Served):
        got = python_call(retriever, case, interface)
        results = got if interface == "python" else got.results
        assert len(results) <= case.options.get("k", 10)
        if expected.note:
            assert any(expected.note in note for note in results.notes), results.notes
        if expected.like:
            assert got.to_record() == python_call(retriever, case, interface, {**case.options, **expected.like}
                                                  ).to_record()
        return
    with pytest.raises(QueryError) as raised:
        python_call(retriever, case, interface)
    assert raised.value.exit_code == 2 and raised.value.line() == str(raised.value)
    _words_in(str(raised.value), expected)


# -------------------------------------------------------------------------------------------- the command line


def run(*args: str, env: Mapping[str, str] | None = None, root: Path = ROOT, timeout: float = 120,
        **popen) -> subprocess.CompletedProcess:
    """`python ARGS` in `root` with its code first on the path and no RAG_* variable but `env`'s."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("RAG_")}
    environment.update(PYTHONPATH=str(root), **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=root, env=environment, capture_output=True, timeout=timeout,
                          encoding="utf-8", errors="backslashreplace", **popen)


def error_line(done: subprocess.CompletedProcess, status: int) -> str:
    """The one line a failed command prints, `error: ...`, after asserting its exit status and no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert done.returncode == status, (done.returncode, done.stderr)
    return lines[0]


_FLAGS = {"k": "--k", "date_from": "--from", "date_to": "--to", "sort": "--sort", "mode": "--mode",
          "collections": "--collection", "topic": "--topic"}


def _text(value: Any) -> str:
    """A value as a command line or a query string writes it."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def cli_args(case: Bad, interface: str, index: Path) -> list[str]:
    """`-m rag search|answer QUESTION --flag value ... --index INDEX` for the case."""
    args = ["-m", "rag", interface.split()[1], case.q]
    for name, value in case.options.items():
        for one in value if name == "collections" else [value]:
            args += [_FLAGS[name], _text(one)]
    return [*args, "--index", str(index)]


def _cli_params() -> list:
    return [_param(case, interface, marks=[pytest.mark.slow] if case.index else [])
            for case in CASES for interface in CLI if case.outcome(interface) is not None]


@pytest.mark.parametrize(("case", "interface"), _cli_params())
def test_cli(request, tmp_path, case, interface):
    expected = case.outcome(interface)
    # What the options alone make wrong is said before the index is opened: --index names nothing, and the
    # error is still the option's (exit 2), not the missing index's (4).
    index = request.getfixturevalue("built_index") if case.index else tmp_path / "no-index"
    done = run(*cli_args(case, interface, index))
    if isinstance(expected, Served):
        assert done.returncode == 0 and "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
        assert ("matching, showing" if interface == "cli search" else "searched: ") in done.stdout, done.stdout
        if expected.note:
            assert f"note: {expected.note}" in done.stdout, done.stdout
        if expected.like:
            like = run(*cli_args(replace(case, options={**case.options, **expected.like}), interface, index))
            assert done.stdout == like.stdout
        return
    _words_in(error_line(done, 2), expected)


# ------------------------------------------------------------------------------------------------ the REST API


def rest_request(case: Bad, interface: str) -> tuple[str, str, bytes | None]:
    """(method, target, body) of the case's request: a GET's query string as a browser encodes it (a byte that is
    not UTF-8 as %FF), a POST's JSON body."""
    method, path = interface.split()
    if method == "POST":
        return method, path, json.dumps({"q": case.q, **case.options}).encode()
    params = {"q": case.q, **{("collection" if name == "collections" else name): (
        [_text(v) for v in value] if name == "collections" else _text(value)) for name, value in case.options.items()}}
    return method, f"{path}?{urllib.parse.urlencode(params, doseq=True, errors='surrogateescape')}", None


def exchange(conn: http.client.HTTPConnection, method: str, target: str, body: bytes | None = None,
             content_type: str | None = "application/json") -> tuple[int, dict]:
    """One request on `conn`; its status and JSON body, asserting the server did not ask to close."""
    headers = {"content-type": content_type} if body is not None and content_type else {}
    conn.request(method, target, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    assert response.getheader("connection") != "close", (method, target)
    return response.status, json.loads(data)


def check_rest(status: int, data: dict, expected: tuple[str, ...] | Served, interface: str,
               expected_status: int = 400) -> None:
    if isinstance(expected, Served):
        assert status == 200, data
        assert isinstance(data["hits" if interface.endswith("/api/search") else "documents"], list)
        if expected.note:
            assert any(expected.note in note for note in data["notes"]), data["notes"]
        return
    assert status == expected_status and set(data) == {"error"}, (status, data)
    _words_in(data["error"], expected)


@pytest.fixture()
def conn(chat_server):
    """A fresh HTTP/1.1 connection to the real server (real uvicorn, the chat's retriever)."""
    connection = http.client.HTTPConnection("127.0.0.1", urllib.parse.urlsplit(chat_server).port,
                                            timeout=ANSWER_TIMEOUT_S)
    yield connection
    connection.close()


@pytest.mark.slow
@pytest.mark.parametrize(("case", "interface"), _params(REST))
def test_rest(conn, case, interface):
    status, data = exchange(conn, *rest_request(case, interface))
    check_rest(status, data, case.outcome(interface), interface)


@dataclass(frozen=True)
class Raw:
    """A request only HTTP can make: an unknown key, a JSON value of the wrong type, a repeated query parameter, a
    body that is no JSON object. `words`: what its error says (the field, what to do)."""

    id: str
    kind: str
    method: str
    query: str = ""
    body: bytes | None = None
    words: tuple[str, ...] = ()
    content_type: str | None = "application/json"
    status: int = 400
    paths: tuple[str, ...] = PATHS


def _json(**fields) -> bytes:
    return json.dumps({"q": Q, **fields}).encode()


VALID = "valid: q, k, date_from, date_to, sort, mode, collection"
EXAMPLE = '{"q": "Romania mediation", "k": 5}'
RAW = [
    Raw("unknown JSON key", "unknown key", "POST", body=_json(colour="red"),
        words=("unknown parameter colour", VALID + "s")),
    Raw("unknown query key", "unknown key", "GET", query=f"q={Q}&colour=red",
        words=("unknown parameter colour", VALID)),
    Raw("the POST's name in a GET", "unknown key", "GET", query=f"q={Q}&collections=x",
        words=("unknown parameter collections", VALID)),
    *(Raw(f"JSON {name}={value!r}", "wrong JSON type", "POST", body=_json(**{name: value}),
          words=(f"{name} must be ",), paths=("/api/answer",) if name == "topic" else PATHS)
      for name, value in [("q", 1), ("q", ["Romania"]), ("k", "5"), ("k", []), ("date_from", 1963), ("date_to", []),
                          ("sort", 0), ("mode", True), ("collections", "Sino-Soviet Split"), ("collections", [1]),
                          ("topic", False)]),
    *(Raw(f"repeated {name}", "repeated param", "GET", query=f"q={Q}&{query}",
          words=(f"repeated parameter {name} (2 times)", "give each once (only collection may repeat)"),
          paths=("/api/answer",) if name == "topic" else PATHS)
      for name, query in [("k", "k=1&k=2"), ("date_from", "date_from=1963&date_from=1964"),
                          ("date_to", "date_to=1963&date_to=1964"), ("sort", "sort=date&sort=relevance"),
                          ("mode", "mode=keyword&mode=semantic"), ("topic", "topic=a&topic=b")]),
    Raw("repeated q", "repeated param", "GET", query="q=a&q=b", words=("repeated parameter q (2 times)",)),
    Raw("a query string on a POST", "repeated param", "POST", query="k=3", body=_json(),
        words=("a POST takes its parameters in the JSON body", "move k into the body")),
    *(Raw(f"body {body[:12]!r} as {content_type}", "non-JSON body", "POST", body=body, content_type=content_type,
          words=("the body", EXAMPLE))
      for body, content_type in [(b"not json", "application/json"), (b"{", "application/json"),
                                 (b'{"q": "Romania",}', "application/json"), (b"", "application/json"),
                                 (b"\xff\xfe\x00", "application/json"), (b"[1, 2]", "application/json"),
                                 (b'"Romania"', "application/json"), (b"null", "application/json"),
                                 (b"q=Romania", "application/x-www-form-urlencoded"),
                                 (b'{"q": "Romania"}', "text/plain"), (b'{"q": "Romania"}', None)]),
    Raw("a body over 64 KiB", "body too large", "POST", body=_json(q="x" * 70_000), status=413,
        words=("the body is larger than 65536 bytes", "q is at most 1000 characters")),
]


def raw_request(raw: Raw, path: str) -> tuple[str, str, bytes | None, str | None]:
    query = urllib.parse.quote(raw.query, safe="=&") if raw.query else ""
    return raw.method, f"{path}?{query}" if query else path, raw.body, raw.content_type


def _raw_params() -> list:
    return [pytest.param(raw, path, id=f"{raw.id}-{raw.method} {path}") for raw in RAW for path in raw.paths]


@pytest.mark.slow
@pytest.mark.parametrize(("raw", "path"), _raw_params())
def test_rest_raw(conn, raw, path):
    status, data = exchange(conn, *raw_request(raw, path))
    check_rest(status, data, raw.words, f"{raw.method} {path}", raw.status)


@pytest.mark.slow
def test_the_whole_rest_battery_on_one_keep_alive_connection(conn):
    """Every REST case of the battery, each followed by a good request, on one connection: no error closes it
    (http.client would reconnect silently after a close, so its socket is compared)."""
    good = ("GET", f"/api/search?q={urllib.parse.quote(Q)}&k=1")
    requests = [rest_request(case, interface) for case in CASES for interface in REST
                if case.outcome(interface) is not None]
    requests += [raw_request(raw, path) for raw in RAW for path in raw.paths]
    first, statuses = None, []
    for request in requests:
        for sent in (request, good):
            status, data = exchange(conn, *sent)
            first = first or conn.sock
            assert conn.sock is first, f"the connection was closed after {request[:2]}"
            statuses.append(status)
    assert statuses[1::2] == [200] * len(requests)
    assert all(status in (200, 400, 413) for status in statuses[::2]), statuses[::2]


# ---------------------------------------------------------------------------------------------------- the page


def unmarked(markdown: str) -> str:
    """A chat message's Markdown as the page shows its text: bold marks, backslash escapes and entities undone."""
    return html.unescape(re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)\*\*", "", markdown)))


def page_answer(base: str, question: str, date_from: str = "", date_to: str = "") -> str:
    """What the chat page shows after its question box is submitted with these date boxes: the newest message of
    the chat, as the page's script gets it (Gradio's queue: join, then read the event stream). Fails when the event
    fails (an error toast on the page) or the stream ends or stalls without the answer (the page would wait)."""
    import requests

    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    config = session.get(f"{base}config", timeout=ANSWER_TIMEOUT_S).json()
    ids = {c.get("props", {}).get("elem_id"): c["id"] for c in config["components"]}
    submit = next(d for d in config["dependencies"] if [ids["question"], "submit"] in d["targets"])
    values = {"question": question, "chat": [], "date-from": date_from, "date-to": date_to, "k": 10,
              "order": "date", "mode": "hybrid", "collections": []}
    by_id = {component_id: values.get(name) for name, component_id in ids.items()}
    hash_ = uuid.uuid4().hex
    joined = session.post(f"{base}gradio_api/queue/join", timeout=ANSWER_TIMEOUT_S, json={
        "data": [by_id.get(component_id) for component_id in submit["inputs"]], "fn_index": submit["id"],
        "session_hash": hash_, "event_data": None, "trigger_id": ids["question"]})
    assert joined.status_code == 200, joined.text
    events = session.get(f"{base}gradio_api/queue/data", params={"session_hash": hash_}, stream=True,
                         timeout=ANSWER_TIMEOUT_S)
    try:
        for line in events.iter_lines(decode_unicode=True):
            message = json.loads(line[5:]) if line and line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                assert message.get("success"), f"the page shows an error: {message.get('output')}"
                content = message["output"]["data"][0][-1]["content"]
                return content if isinstance(content, str) else content[0]["text"]
    except requests.exceptions.RequestException as exc:
        pytest.fail(f"the page's event stream broke before the answer ({exc}): the page would wait forever")
    pytest.fail("the page's event stream ended without the answer: the page would wait forever")


def check_page(shown: str, expected: tuple[str, ...] | Served) -> None:
    if isinstance(expected, Served):
        assert shown.startswith("Searched “"), shown[:200]
        if expected.note:
            assert expected.note in shown, shown[:600]
        return
    assert shown.startswith(("Could not search: ", "Please type a question")), shown
    _words_in(shown, expected)


def _page_args(case: Bad) -> tuple[str, str, str]:
    return case.q, case.options.get("date_from", ""), case.options.get("date_to", "")


@pytest.mark.slow
@pytest.mark.parametrize(("case", "interface"), _params(("page",)))
def test_page(chat_server, case, interface):
    check_page(unmarked(page_answer(chat_server, *_page_args(case))), case.outcome(interface))


@pytest.fixture(scope="module")
def chat_page(browser, chat_server):
    """One page on the chat for the browser cases (each adds one answer); records page errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(chat_server)
    page.locator("#question textarea").wait_for()
    yield page
    context.close()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize(("case", "interface"), _params(("page",), where=lambda case: case.browser))
def test_typed_into_the_page(chat_page, case, interface):
    """Typed into the page: the answer arrives within seconds, as a helpful line (no traceback, no spinner left:
    the question box is emptied when the event has finished), and no error toast."""
    question, date_from, date_to = _page_args(case)
    chat_page.locator("#date-from textarea").fill(date_from)
    chat_page.locator("#date-to textarea").fill(date_to)
    answers = chat_page.locator("#chat .message-row.bot-row")
    before = answers.count()
    box = chat_page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    chat_page.wait_for_function("n => document.querySelectorAll('#chat .message-row.bot-row').length > n",
                                arg=before, timeout=ANSWER_TIMEOUT_S * 1000)
    chat_page.wait_for_function("() => document.querySelector('#question textarea').value === ''",
                                timeout=ANSWER_TIMEOUT_S * 1000)
    expected = case.outcome(interface)
    shown = answers.last.inner_text().strip()
    check_page(shown if isinstance(expected, Served) else " ".join(shown.split()), expected)
    assert chat_page.locator(".toast-body").count() == 0 and chat_page.errors == []


# ---------------------------------------------------------------------- every exit status of the README's list
#
# 0 done, 1 --check found the index stale, 2 bad question/option/date/setting, 3 the corpus cannot be read,
# 4 the index is missing, 5 the model cannot be loaded, 6 the rebuild cannot proceed (its output path is not an
# index), 130 interrupted, 143 stopped by SIGTERM. 2's questions, options and dates are the table above.

BAD_PAGE = "Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n  • Aprill 3, 1963\n\n    A title\n"
BAD_JSONL = ('{"date": "1963", "date_text": "1963", "title": "T", "collection": "C"}\n'
             '{"date": "1964", "date_text": "1964", "title": "T"}\n')


@pytest.fixture()
def checked_copy(built_index, tmp_path) -> tuple[Path, Path]:
    """A copy of the built index (its version link kept) and of the corpus it was built from."""
    shutil.copytree(built_index.parent, tmp_path / "built", symlinks=True)
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    return tmp_path / "built" / built_index.name, tmp_path / "corpus"


@pytest.mark.slow
def test_status_0_and_1_rebuild_check_up_to_date_then_stale(checked_copy):
    index, corpus = checked_copy
    check = ("-m", "rag", "rebuild", "--check", "--corpus", str(corpus), "--out", str(index))
    fresh = run(*check)
    assert fresh.returncode == 0 and fresh.stdout.startswith(f"index at {index} is up to date"), fresh
    page = next(corpus.glob("*.txt"))
    text = page.read_text(encoding="utf-8")
    assert "Soviet politburo member Yuri Andropov" in text
    page.write_text(text.replace("Soviet politburo member Yuri Andropov", "Soviet Politburo member Yuri V. Andropov"),
                    encoding="utf-8")  # a summary edited: the same document, changed
    stale = run(*check)
    assert stale.returncode == 1 and "Traceback" not in stale.stderr, stale
    assert stale.stdout.startswith(f"index at {index} is stale:\n  - 1 document changed in the corpus: April 03, "
                                   "1963"), stale.stdout


SETTINGS = [  # (command, variable, value, the line)
    (("-m", "rag", "serve"), "RAG_PORT", "70000", "setting port (RAG_PORT): must be at most 65535, got 70000"),
    (("-m", "rag", "search", Q), "RAG_MAX_K", "0", "setting max_k (RAG_MAX_K): must be at least 1, got 0"),
]


@pytest.mark.parametrize(("command", "variable", "value", "line"), SETTINGS, ids=[s[1] for s in SETTINGS])
def test_status_2_a_bad_setting_names_it_and_its_variable(monkeypatch, command, variable, value, line):
    from rag import Retriever, Settings, SettingsError

    assert error_line(run(*command, env={variable: value}), 2) == f"error: {line}"
    monkeypatch.setenv(variable, value)
    for load in (Settings.from_env, Retriever.load):  # before any index is looked for
        with pytest.raises(SettingsError) as raised:
            load()
        assert raised.value.exit_code == 2 and str(raised.value) == line


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("page.txt", BAD_PAGE, ":5: unreadable date 'Aprill 3, 1963' (expected e.g. 'April 03, 1963', 'March, 1964' or "
                           "'1964')"),
    ("records.jsonl", BAD_JSONL, ":2: field 'collection' is required and must be a non-empty string"),
])
def test_status_3_an_unreadable_corpus_line_is_named_with_file_and_line(tmp_path, name, text, problem):
    from rag import CorpusError, Retriever
    from rag.documents.corpus import load_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad = corpus / name
    bad.write_text(text, encoding="utf-8")
    expected = f"error: corpus: {bad}{problem}"
    assert error_line(run("-m", "rag", "corpus", "parse", str(bad)), 3) == expected
    before = listing(tmp_path)
    out = tmp_path / "index"
    assert error_line(run("-m", "rag", "rebuild", "--corpus", str(corpus), "--out", str(out), "--quiet"), 3) == expected
    for read in (lambda: load_corpus(corpus), lambda: Retriever.load(out, corpus=corpus, rebuild=True)):
        with pytest.raises(CorpusError) as raised:
            read()
        assert raised.value.exit_code == 3 and f"error: {raised.value.line()}" == expected
    assert listing(tmp_path) == before  # no index, no lock: nothing was started


@pytest.mark.parametrize("command", ["search", "answer"])
def test_status_4_a_missing_index_names_the_rebuild_command(tmp_path, command):
    from rag import IndexUnavailable, Retriever

    missing = tmp_path / "no-index"
    line = f"no index at {missing}: build it with `python -m embeddings.rebuild --out {missing}`"
    assert error_line(run("-m", "rag", command, Q, "--index", str(missing)), 4) == f"error: {line}"
    with pytest.raises(IndexUnavailable) as raised:
        Retriever.load(missing)
    assert raised.value.exit_code == 4 and str(raised.value) == line
    assert not missing.exists()


@pytest.mark.slow
def test_status_5_a_model_that_cannot_be_loaded(tmp_path):
    from rag import ModelError, Retriever

    out, model = tmp_path / "index", "/nonexistent/path"
    line = (f"cannot load embedding model '{model}': not a local model folder, and not in the Hugging Face cache "
            "(downloads are off; set HF_HUB_OFFLINE=0 to allow them)")
    done = run("-m", "rag", "rebuild", "--corpus", str(ROOT / "corpus"), "--out", str(out), "--model", model,
               "--quiet")
    assert error_line(done, 5) == f"error: {line}"
    assert not out.exists()
    with pytest.raises(ModelError) as raised:
        Retriever.load(out, corpus=ROOT / "corpus", model=model, rebuild=True)
    assert raised.value.exit_code == 5 and str(raised.value) == line
    assert not out.exists()


@pytest.mark.parametrize("kind", FOREIGN)
def test_status_6_an_output_path_that_is_not_an_index(tmp_path, kind):
    """One command line per kind (tests/test_cli.py runs each through every writer), and Retriever.load."""
    from rag import RebuildError, Retriever

    folder = tmp_path / "user"
    folder.mkdir()
    out = foreign_path(kind, folder)
    before = listing(folder)
    done = run("-m", "rag", "rebuild", "--corpus", str(ROOT / "corpus"), "--out", str(out), "--quiet")
    line = error_line(done, 6)
    assert line.startswith(f"error: {out} ") and line.endswith("(choose another --out/--index path, or remove it)")
    with pytest.raises(RebuildError) as raised:
        Retriever.load(out, corpus=ROOT / "corpus", rebuild=True)
    assert raised.value.exit_code == 6 and f"error: {raised.value.line()}" == line
    assert listing(folder) == before


def test_status_6_serve_refuses_an_index_path_that_is_not_an_index(tmp_path):
    out = foreign_path("symlink to a folder", tmp_path)
    before = listing(tmp_path)
    done = run("-m", "rag", "serve", "--index", str(out), "--corpus", str(ROOT / "corpus"), "--port",
               str(free_port()))
    assert error_line(done, 6).endswith("(choose another --out/--index path, or remove it)")
    assert listing(tmp_path) == before


@pytest.mark.slow
@pytest.mark.parametrize(("stop", "status", "last"), [(signal.SIGINT, 130, "error: interrupted"),
                                                      (signal.SIGTERM, 143, "error: stopped by SIGTERM")],
                         ids=["SIGINT", "SIGTERM"])
def test_status_130_and_143_a_rebuild_stopped_after_a_chunk(tmp_path, stop, status, last):
    from rag.index.chunks import CHUNK_ENV, PAUSE_AFTER_CHUNK_ENV

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    out = tmp_path / "index"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("RAG_")}
    environment.update(PYTHONPATH=str(ROOT), **{CHUNK_ENV: "5", PAUSE_AFTER_CHUNK_ENV: "60"})
    process = subprocess.Popen([sys.executable, "-m", "rag", "rebuild", "--corpus", str(tmp_path / "corpus"),
                                "--out", str(out)], cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        seen, deadline = b"", time.monotonic() + 120
        while b"saved documents-000001.json" not in seen:
            chunk = os.read(process.stderr.fileno(), 4096)
            assert chunk and time.monotonic() < deadline, f"the rebuild ended before its first chunk: {seen[-500:]!r}"
            seen += chunk
        sent = time.monotonic()
        process.send_signal(stop)
        stderr = (seen + process.communicate(timeout=60)[1]).decode()
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status and took < 5, (process.returncode, took, stderr)
    assert "Traceback" not in stderr and stderr.rstrip().splitlines()[-1] == last, stderr
    assert f"stopped: 5 of 20 documents embedded are kept in {tmp_path / 'index.work'}; run the rebuild again to " \
           "resume" in stderr
    assert not out.exists()
