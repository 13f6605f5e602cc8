"""Stopping: SIGTERM stops a command as Ctrl-C does (its cleanup runs, exit 143); `python app.py` given SIGTERM or
SIGINT exits 0 within 5 s whatever its clients hold open, and a request in flight gets its whole response.
(A rebuild stopped by SIGTERM is tested with the others, in tests/embeddings/test_rebuild.py.)"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, free_port

from rag.errors import Terminated, run_command
from rag.serve import GRACE_SECONDS, STOP_SECONDS

#: What the issue asks of a stop: the process gone within 5 s of the signal. SLACK covers delivering the signal
#: and reaping the process on a busy machine; this is the feature's bound, not a benchmark.
STOP_BOUND = 5.0
SLACK = 0.5


def test_sigterm_stops_a_command_as_ctrl_c_does_after_its_cleanup(capsys):
    cleaned = []
    before = signal.getsignal(signal.SIGTERM)

    def command() -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # interrupted at once
        finally:
            cleaned.append("finally ran")
        return 0

    started = time.monotonic()
    assert run_command(command) == Terminated.exit_code == 143
    assert time.monotonic() - started < 5 and cleaned == ["finally ran"]
    assert capsys.readouterr().err == "error: stopped by SIGTERM\n"
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back


def test_ctrl_c_still_exits_130(capsys):
    def command() -> int:
        raise KeyboardInterrupt

    assert run_command(command) == 130 and capsys.readouterr().err == "error: interrupted\n"


# --- python app.py, a real server with real clients ---------------------------------------------------------

class Clients:
    """Every kind of connection a client can leave open on the server at `url`, opened before the stop."""

    def __init__(self, url: str, port: int):
        from gradio_client import Client

        self.url, self.port = url, port
        self.gradio = Client(url, verbose=False)  # keeps a heartbeat stream open
        assert self.gradio.predict("Romania", api_name="/search")
        self.idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # keep-alive, idle after a request
        self.idle.request("GET", "/api/search?q=Romania")
        response = self.idle.getresponse()
        assert response.status == 200 and response.read()
        self.stream = self._idle_event_stream()
        self.half = socket.create_connection(("127.0.0.1", port))
        self.half.sendall(b"GET /api/search?q=Roma")  # the headers never finish
        self.body = json.dumps({"q": "Romania", "k": 3}).encode()
        self.in_flight = socket.create_connection(("127.0.0.1", port))
        self.in_flight.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(self.body) + self.body[:5])

    def _idle_event_stream(self) -> socket.socket:
        """An event stream of Gradio's queue (`/gradio_api/queue/data`) for a session with no event pending: it
        sends a heartbeat now and then and never ends by itself."""
        config = json.loads(urllib.request.urlopen(self.url + "config", timeout=10).read())
        search = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "search")
        session = uuid.uuid4().hex
        join = json.dumps({"data": ["Romania", 3, "", "", "relevance", "hybrid", None], "fn_index": search,
                           "session_hash": session, "event_data": None, "trigger_id": None}).encode()
        urllib.request.urlopen(urllib.request.Request(self.url + "gradio_api/queue/join", join,
                                                      {"Content-Type": "application/json"}), timeout=10).read()
        events = urllib.request.urlopen(f"{self.url}gradio_api/queue/data?session_hash={session}", timeout=10)
        assert b"process_completed" in events.read()  # the event's own stream, which ends with it
        stream = socket.create_connection(("127.0.0.1", self.port))
        stream.sendall(f"GET /gradio_api/queue/data?session_hash={session} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                       .encode())
        stream.settimeout(10)
        head = stream.recv(4096)
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head, head
        return stream

    def finish_the_request_in_flight(self) -> bytes:
        """Send the rest of the request begun before the stop; its whole response."""
        self.in_flight.sendall(self.body[5:])
        self.in_flight.settimeout(10)
        response = b""
        while chunk := self.in_flight.recv(65536):
            response += chunk
        return response

    def close(self) -> None:
        self.gradio.close()
        for connection in (self.idle, self.stream, self.half, self.in_flight):
            connection.close()


def _start_app(index: Path) -> tuple[subprocess.Popen, str, int]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--index", str(index)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return server, url, port
        except OSError:
            time.sleep(0.3)
    server.kill()
    pytest.fail(f"the server did not answer: {server.communicate()[0]}")


def _exit_time(process: subprocess.Popen) -> list[float]:
    """A list that gets the monotonic time at which `process` ended, measured by a thread waiting on it."""
    ended: list[float] = []
    threading.Thread(target=lambda: (process.wait(), ended.append(time.monotonic())), daemon=True).start()
    return ended


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_server_exits_0_within_5_s_with_every_kind_of_connection_open(built_index, stop):
    server, url, port = _start_app(built_index)
    clients = None
    try:
        clients = Clients(url, port)
        time.sleep(0.3)  # the in-flight request has reached its handler, which waits for the rest of the body
        sent = time.monotonic()
        server.send_signal(stop)
        ended = _exit_time(server)
        time.sleep(0.3)
        response = clients.finish_the_request_in_flight()
        output = server.communicate(timeout=30)[0]
    finally:
        if clients is not None:
            clients.close()
        if server.poll() is None:
            server.kill()
    took = ended[0] - sent
    assert server.returncode == 0, output
    assert took < STOP_BOUND + SLACK, f"{took:.2f} s: {output}"
    assert took > GRACE_SECONDS - 0.5  # the idle event stream was given the grace, then closed
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), response[:300]
    assert json.loads(body)["hits"], body[:300]  # the whole answer, then the connection was closed
    lines = output.splitlines()
    assert lines[0].startswith("Serving the archive chat") and lines[1:] == [f"stopped ({stop.name})"], output


# --- rag.serve alone: a handler that finishes in the grace, and one that never does ---------------------------

SLOW_APP = textwrap.dedent('''
    import asyncio, sys, time
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse
    from rag.errors import run_command
    from rag.serve import Server, config, serve_until_stopped

    api = FastAPI()

    @api.get("/sleep")
    def sleep(seconds: float) -> dict:  # a sync handler: it runs in a thread, which nothing can interrupt
        time.sleep(seconds)
        return {"slept": seconds}

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        async def beats():
            while True:
                yield "data: beat\\n\\n"
                await asyncio.sleep(0.5)
        return StreamingResponse(beats(), media_type="text/event-stream")

    def main() -> int:
        stopped = serve_until_stopped(Server(config(api, "127.0.0.1", int(sys.argv[1]))))
        print(f"stopped ({stopped.name})", flush=True)
        return 0

    sys.exit(run_command(main))
''')


def _get(port: int, path: str) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    connection.settimeout(15)
    return connection


def _read_all(connection: socket.socket) -> bytes:
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    connection.close()
    return data


def _start_slow_app(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    script = tmp_path / "slow_app.py"
    script.write_text(SLOW_APP, encoding="utf-8")
    port = free_port()
    server = subprocess.Popen([sys.executable, str(script), str(port)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/sleep?seconds=0", timeout=2).read()
            return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the server did not answer: {server.communicate()[0]}")
            time.sleep(0.2)


@pytest.mark.slow
def test_a_second_signal_closes_the_streams_without_waiting_for_the_grace(tmp_path):
    server, port = _start_slow_app(tmp_path)
    try:
        stream = _get(port, "/stream")
        assert stream.recv(4096).startswith(b"HTTP/1.1 200")
        sent = time.monotonic()
        server.send_signal(signal.SIGINT)
        time.sleep(0.3)
        server.send_signal(signal.SIGINT)
        ended = _exit_time(server)
        _read_all(stream)  # ends: closed by the server
        output = server.communicate(timeout=30)[0]
    finally:
        if server.poll() is None:
            server.kill()
    took = ended[0] - sent
    assert server.returncode == 0 and took < GRACE_SECONDS, (took, output)
    assert output.splitlines() == ["stopped (SIGINT)"], output  # uvicorn's shutdown ran whole: nothing logged


@pytest.mark.slow
def test_a_slow_request_finishes_in_the_grace_and_one_that_never_ends_does_not_hold_the_exit(tmp_path):
    server, port = _start_slow_app(tmp_path)
    try:
        slow, endless = _get(port, "/sleep?seconds=1.5"), _get(port, "/sleep?seconds=120")
        time.sleep(0.3)
        sent = time.monotonic()
        server.send_signal(signal.SIGTERM)
        ended = _exit_time(server)
        answered, cut = _read_all(slow), _read_all(endless)
        output = server.communicate(timeout=30)[0]
    finally:
        if server.poll() is None:
            server.kill()
    took = ended[0] - sent
    assert answered.startswith(b"HTTP/1.1 200") and answered.endswith(b'{"slept":1.5}'), answered
    assert cut == b""  # closed at the end of the grace, unanswered
    assert server.returncode == 0 and STOP_SECONDS - 0.5 < took < STOP_BOUND + SLACK, (took, output)
    assert "stopped (SIGTERM)" in output and "exiting without it" in output and "Traceback" not in output, output
