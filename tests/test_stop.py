"""Stopping: SIGTERM stops a command as Ctrl-C does (its cleanup runs, exit 143). (A rebuild stopped by SIGTERM is
tested with the others, in tests/embeddings/test_rebuild.py.)"""

from __future__ import annotations

import os
import signal
import time

from rag.errors import Terminated, run_command


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
