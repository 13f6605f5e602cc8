"""One family of errors: every failure a user can meet derives from `RagError`, carries the one line to show
and the exit status the command-line tools return for it (listed by every `--help`).

| error             | exit | meaning                                                                 |
|-------------------|------|-------------------------------------------------------------------------|
| QueryError        | 2    | a question or search option that cannot be searched (says what to change) |
| DateError         | 2    | a date that cannot be read (says which forms are accepted)              |
| SettingsError     | 2    | a setting that cannot be used (`setting X (RAG_X): ...`, what is allowed) |
| CorpusError       | 3    | corpus files that cannot be read safely (every problem, with file:line) |
| IndexUnavailable  | 4    | the index is missing or unreadable (names the rebuild command)          |
| StaleIndex        | 4    | the index no longer matches its corpus or model (names the rebuild command) |
| ModelError        | 5    | the embedding model cannot be loaded                                    |
| RebuildError      | 6    | a rebuild cannot proceed (also: its output path is not an index); nothing was overwritten |

`ValueError`/`RuntimeError` stay bases so callers that catch those keep working. Two stops are no `RagError`:
Ctrl-C (KeyboardInterrupt, exit 130) and SIGTERM (`Terminated`, a KeyboardInterrupt, exit 143), so that a
rebuild stopped either way runs the same cleanup. A server asked to stop by either exits 0 (`rag.serve`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

#: Exit statuses of the command-line tools, for their `--help` epilogue.
EXIT_CODES = """exit status:
  0  done (for --check: the index is up to date)
  1  --check found the index stale
  2  bad question, option, date or setting (QueryError, DateError, SettingsError)
  3  the corpus cannot be read (CorpusError: every problem with file:line)
  4  the index is missing, unreadable or stale (IndexUnavailable, StaleIndex: names the rebuild command)
  5  the embedding model cannot be loaded (ModelError)
  6  the rebuild cannot proceed, e.g. its output path holds something other than an index; nothing was
     overwritten (RebuildError)
  130  interrupted (Ctrl-C); a stopped rebuild keeps its saved chunks and resumes from them
  143  stopped by SIGTERM (kill, a service manager), as Ctrl-C stops
  (serve exits 0 when stopped by Ctrl-C or SIGTERM: a stop that was asked for)"""


class RagError(Exception):
    """Root of every error this package raises on purpose; `str()` is the one line a user sees."""

    exit_code = 1

    def line(self) -> str:
        """The message as one line, for a terminal or an HTTP error body."""
        return " ".join(str(self).split()) or type(self).__name__


class QueryError(RagError, ValueError):
    """A question or search parameter that cannot be searched; the message says what to change."""

    exit_code = 2


class DateError(RagError, ValueError):
    """A date that cannot be read; the message says which forms are accepted."""

    exit_code = 2


class SettingsError(RagError, ValueError):
    """A setting (`RAG_*` environment variable, flag or `Settings` argument) that cannot be used; the message is
    `setting X (RAG_X): must be <what is allowed>, got <value>`."""

    exit_code = 2


class CorpusError(RagError, ValueError):
    """Input that cannot be read safely; lists every problem found, each with file and line."""

    exit_code = 3

    def __init__(self, problems: Sequence[object]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def line(self) -> str:
        """As `RagError.line`: the first problem, and how many more there are."""
        more = len(self.problems) - 1
        return f"corpus: {self.problems[0]}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


class IndexUnavailable(RagError, RuntimeError):
    """The index is missing or unreadable; the message names the command that fixes it."""

    exit_code = 4


class StaleIndex(IndexUnavailable):
    """The index no longer matches its corpus or model; the message names the rebuild command."""


class ModelError(RagError, RuntimeError):
    """The embedding model cannot be loaded; the message says which and why."""

    exit_code = 5


class RebuildError(RagError, RuntimeError):
    """A rebuild that cannot proceed; the message is the one line the user sees. Nothing was overwritten."""

    exit_code = 6


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a service manager's stop) raised in the main thread as an interrupt, so that it stops a
    command as Ctrl-C does: `finally` blocks and locks are released, a rebuild keeps its saved chunks and the
    previous index. Python's default for SIGTERM ends the process with none of that."""

    exit_code = 128 + signal.SIGTERM  # 143, the status a shell reports for a process SIGTERM ended


# ------------------------------------------------------------------------------------ on the command line


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose `--help` ends with the exit statuses and whose usage errors are one line
    (`error: ...`, exit 2) like every other error, instead of argparse's usage block."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("epilog", EXIT_CODES)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print a usage error as one line and exit with QueryError's status, instead of argparse's usage block.

        Args:
            message: What argparse found wrong.

        Raises:
            SystemExit: Always, with status 2.
        """
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(QueryError.exit_code)


def run_command(command: Callable[[], int]) -> int:
    """Run one command-line action, turning every failure the user can act on into a line and an exit status.

    A RagError becomes `error: <one line>` on stderr and its exit status, Ctrl-C exits 130 and SIGTERM 143 after
    the same cleanup (`Terminated`), a reader that closed the pipe (`| head`) is no error; never a traceback.

    Args:
        command: The action; it returns its exit status.

    Returns:
        The command's exit status, the error's `exit_code`, 130, 143, or 0 for a closed pipe.
    """
    try:
        with sigterm_as_interrupt():
            return command()
    except RagError as exc:
        print(f"error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("error: stopped by SIGTERM", file=sys.stderr)
        return Terminated.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in the main thread (elsewhere, where Python allows no
    handler, nothing changes). Only the first: the handler puts the previous one back before raising, so a
    second SIGTERM during the cleanup ends the process at once, as SIGTERM always did."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None:  # a handler not set from Python: put back the default
        previous = signal.SIG_DFL

    def terminate(signum, frame) -> NoReturn:
        signal.signal(signal.SIGTERM, previous)
        raise Terminated

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
