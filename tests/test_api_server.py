"""The REST API over real HTTP: a keep-alive connection survives every error, and a schemathesis fuzzer driven by
`/openapi.json` gets no 5xx, no answer the schema does not declare and no hang from the running server (real
uvicorn on 127.0.0.1, the real retriever over the bundled corpus: the `chat_server` fixture)."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
from conftest import free_port

#: Examples per operation and generation mode (4 operations x positive/negative: 800 requests, about 20 s).
FUZZ_EXAMPLES = 100
#: A request that takes longer is a hang: the bundled corpus answers in milliseconds.
REQUEST_TIMEOUT_S = 10
OPERATIONS = ("GET /api/search", "POST /api/search", "GET /api/answer", "POST /api/answer")


def _exchange(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
              content_type: str | None = "application/json") -> tuple[int, dict]:
    headers = {"content-type": content_type} if body is not None and content_type else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    assert response.getheader("connection") != "close", (method, path)
    return response.status, data


def _on_one_connection(port: int, requests: list[tuple]) -> list[int]:
    """Send `requests` over one HTTP/1.1 connection; fails if the server closed or reset it in between (http.client
    would reconnect silently after a close, so the socket itself is compared)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    statuses, first = [], None
    try:
        for request in requests:
            status, data = _exchange(conn, *request)
            assert status == 200 or set(data) == {"error"}, (request, data)
            first = first or conn.sock
            assert conn.sock is first, f"the connection was closed after {request}"
            statuses.append(status)
    finally:
        conn.close()
    return statuses


@pytest.mark.slow
def test_errors_leave_the_keep_alive_connection_usable(chat_server):
    """Each error, then a good request, all on one connection."""
    good = ("GET", "/api/search?q=Romania&k=1")
    bad = {("POST", "/api/search", b'{"q": "Romania", "collections": true}'): 400,  # was a 500, then a reset
           ("POST", "/api/search", b"{"): 400, ("POST", "/api/answer", b"[1, 2]"): 400, ("GET", "/api/search?q="): 400,
           ("GET", "/api/search?q=Romania&k=1&k=2"): 400, ("GET", "/api/search?q=Romania&collection=Berlin+Wall"): 400,
           ("GET", "/api/answer?q=Romania&date_from=1963-13"): 400, ("POST", "/api/search", b'{"q": "\\ud800"}'): 400,
           ("POST", "/api/search", json.dumps({"q": "x" * 70_000}).encode()): 413}
    statuses = _on_one_connection(urlsplit(chat_server).port, [request for b in bad for request in (b, good)])
    assert statuses == [code for status in bad.values() for code in (status, 200)]


@contextlib.contextmanager
def _uvicorn(app):
    """`app` served by uvicorn on a free 127.0.0.1 port in a thread; yields the port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.slow
def test_an_unexpected_500_leaves_the_keep_alive_connection_usable(caplog):
    from rag.api import create_api
    from rag.errors import QueryError

    class Flaky:
        """Fails every other search, as a retriever with a bug would."""

        calls = 0

        def search(self, question, **options):
            Flaky.calls += 1
            if Flaky.calls % 2:
                raise RuntimeError("disk on fire")
            raise QueryError("a RagError after the failure, to see that the connection is still served")

    with _uvicorn(create_api(Flaky(), max_k=10)) as port:
        statuses = _on_one_connection(port, [("GET", "/api/search?q=Romania")] * 4)
    assert statuses == [500, 400, 500, 400]
    assert caplog.text.count("GET /api/search failed") == 2 and "disk on fire" in caplog.text


# ------------------------------------------------------------------------------------------------- the fuzzer


@pytest.fixture(scope="module")
def api_schema(chat_server, tmp_path_factory):
    """The running server's `/openapi.json`, loaded by schemathesis. Hypothesis keeps its files (the constants it
    caches, even with no example database) in a temporary folder, not `.hypothesis/` in the repository."""
    import schemathesis
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield schemathesis.openapi.from_url(f"{chat_server}openapi.json")
    set_hypothesis_home_dir(None)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzzed_requests_get_no_5xx_no_undeclared_answer_and_no_hang(api_schema, chat_server, label, mode):
    """Requests generated from the schema: valid ones (positive) and ones that break it (negative). Every answer
    must be declared (status, content type, body schema: a 4xx is `{"error": str}`), no 5xx, a schema-breaking
    request refused with a 4xx, each within REQUEST_TIMEOUT_S. Not checked: that every schema-valid request is
    served, since only the retriever knows its collection names and whether date_from is after date_to."""
    import requests
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    statuses: Counter[int] = Counter()
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment

    # No example database (nothing written to the repository), the same examples every run, no shrinking (a
    # failure is reported as found, with a curl line to replay it), and the request timeout as the deadline.
    @settings(max_examples=FUZZ_EXAMPLES, database=None, derandomize=True, deadline=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    def check(case):
        response = case.call(base_url=chat_server.rstrip("/"), session=session, timeout=REQUEST_TIMEOUT_S)
        statuses[response.status_code] += 1
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    started = time.monotonic()
    check()
    print(f"{label} {mode}: {sum(statuses.values())} requests in {time.monotonic() - started:.1f} s, "
          f"statuses {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= FUZZ_EXAMPLES // 2  # the fuzzer did run
    assert all(status < 500 for status in statuses)
    if mode == "negative":
        assert set(statuses) - {200} <= {400, 413}
