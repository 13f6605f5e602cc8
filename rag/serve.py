"""Serving until asked to stop, and stopping within a bound: uvicorn's server with a graceful stop that ends.

On SIGTERM or SIGINT uvicorn alone stops accepting, closes idle connections, then waits for every other
connection to close by itself, without end: a stream never does (a Gradio client's or an open page's heartbeat,
an idle event stream of Gradio's queue), so `python app.py` ran on 30 s after SIGTERM. `Server` keeps uvicorn's
order (stop accepting; close idle keep-alive connections and half-sent requests at once; let requests in flight
finish) but first ends the streams it is told how to end (`on_stop`), closes whatever is still open
GRACE_SECONDS after the stop, and does not raise the signal again, so a stop that was asked for exits 0 and
the caller can say `stopped`. A second signal ends the grace at once. With `serve_until_stopped` the process
ends STOP_SECONDS after the signal at the latest, even if a request handler cannot be interrupted.

No Gradio here (app.py is the only module that imports it): app.py passes what ends Gradio's streams.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

#: Seconds that requests in flight when a stop is asked still have to finish and get their whole response;
#: then every connection still open is closed. A service manager expects an exit within seconds of SIGTERM
#: (5 s asked here; Docker sends SIGKILL after 10 s, systemd after 90 s), and a search takes milliseconds, an
#: answer through Gradio's queue well under a second: 3 s lets them finish and leaves time for the rest.
GRACE_SECONDS = 3.0
#: Seconds after the grace that uvicorn waits for the handlers whose connection was closed before cancelling
#: them (`uvicorn.Config.timeout_graceful_shutdown` counts from the start of the stop).
CANCEL_SECONDS = 0.5
#: Seconds after the signal by which `serve_until_stopped`'s process has exited, whatever still runs (a handler
#: in a thread cannot be cancelled): the grace, the cancel and half a second for uvicorn's and Python's exit.
STOP_SECONDS = GRACE_SECONDS + CANCEL_SECONDS + 0.5


def config(app, host: str, port: int, *, verbose: bool = False) -> uvicorn.Config:
    """The uvicorn configuration of `app` on host:port: access logs and INFO lines only with `verbose` (one
    line per start otherwise), and uvicorn's own bound on a stop, after which it cancels what still runs.

    Args:
        app: the ASGI application.
        host: the interface to listen on.
        port: the port.
        verbose: log each request and uvicorn's INFO lines.

    Returns:
        The configuration, for `Server`.
    """
    return uvicorn.Config(app, host=host, port=port, log_level="info" if verbose else "warning",
                          access_log=verbose, timeout_graceful_shutdown=GRACE_SECONDS + CANCEL_SECONDS)


class Server(uvicorn.Server):
    """uvicorn's server whose graceful stop ends: streams are ended, what is still open after GRACE_SECONDS is
    closed, and the stop signal is not raised again (exit 0).

    Args:
        config: uvicorn's configuration (`config()` gives one with the bound set).
        on_stop: functions called in the server's event loop when the stop begins, each ending one kind of
            stream the application holds open (Gradio's heartbeats, from app.py).
    """

    def __init__(self, config: uvicorn.Config, on_stop: Sequence[Callable[[], None]] = ()):
        super().__init__(config)
        self.on_stop = list(on_stop)
        self.stopped_by: signal.Signals | None = None  # the signal that asked for the stop, if one did
        self.exit_within: float | None = None  # set by serve_until_stopped: the process's bound after a signal
        self.hurry = False  # a second signal: close what is still open without waiting for the grace's end

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """The SIGTERM and SIGINT handler while serving in the main thread.

        A first signal asks for a graceful stop, a second closes what is still open at once. Unlike uvicorn's handler
        it does not record the signal to raise again after the stop, which would end the process by SIGTERM's default
        or as Ctrl-C's KeyboardInterrupt instead of exiting 0, nor force uvicorn's exit, which skips the application's
        shutdown (and logs its cancellation as a traceback).

        Args:
            sig: The signal's number.
            frame: The frame it interrupted (unused).
        """
        if self.should_exit:
            self.hurry = True
            return
        self.stopped_by = signal.Signals(sig)
        self.should_exit = True
        if self.exit_within is not None:
            _exit_by(self.exit_within)

    async def shutdown(self, sockets=None) -> None:
        """uvicorn's stop, with the streams ended first and what is still open closed after GRACE_SECONDS.

        Args:
            sockets: As for `uvicorn.Server.shutdown`.
        """
        logging.getLogger("uvicorn.error").addFilter(_not_cancelled)
        for end_streams in self.on_stop:
            try:
                end_streams()
            except Exception:  # a stream left open is closed at the end of the grace all the same
                log.exception("ending streams at the stop failed")
        closing = asyncio.create_task(self._close_after_grace())
        try:
            await super().shutdown(sockets)
        finally:
            closing.cancel()

    async def _close_after_grace(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GRACE_SECONDS
        while loop.time() < deadline and not self.hurry:  # polled: a signal handler cannot set an asyncio event
            await asyncio.sleep(0.05)
        self.close_connections()

    def close_connections(self) -> None:
        """Close every connection still open (an idle event stream, a request not finished in the grace): their
        handlers see the client gone and return quietly, so uvicorn stops waiting for them."""
        still_open = list(self.server_state.connections)
        if still_open:
            log.info("closing %d connection(s) still open %.0f s after the stop", len(still_open), GRACE_SECONDS)
        for connection in still_open:
            connection.transport.close()


def _not_cancelled(record: logging.LogRecord) -> bool:
    """False for uvicorn's traceback of a handler it cancelled at the end of a stop: its line "Cancel 1 running
    task(s), timeout graceful shutdown exceeded" already says so."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def serve_until_stopped(server: Server) -> signal.Signals | None:
    """Serve in this thread (the main thread, where the signals arrive) until SIGTERM or SIGINT, then stop
    gracefully; the process ends STOP_SECONDS after the signal at the latest, so call it only where serving
    is the process's last work (`python app.py`, `coldwar-rag serve`).

    Args:
        server: the server to run.

    Returns:
        The signal that stopped it, or None when it ended without one.
    """
    server.exit_within = STOP_SECONDS
    server.run()  # uvicorn installs `handle_exit` for SIGTERM and SIGINT while it serves, the previous ones after
    # The interpreter's exit ends with a garbage collection over every object Gradio, FastAPI and the index made,
    # which frozen objects skip: from "stopped" to the exit 1.7 s without, 0.1 s with (2 cores, load 9).
    gc.freeze()
    return server.stopped_by


def _exit_by(seconds: float) -> None:
    """End the process `seconds` from now if it has not ended by itself: a daemon timer, so that neither a
    handler still running in a thread nor a non-daemon thread at interpreter exit can keep it alive."""

    def exit_now() -> None:
        log.warning("still running %.1f s after the stop was asked (a request handler that cannot be interrupted): "
                    "exiting without it", seconds)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()
