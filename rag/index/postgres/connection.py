"""The one door to PostgreSQL (`psycopg` 3 enters only here): a small pool of connections to one database URL,
queries and transactions whose driver errors become `DatabaseError` naming the database (password hidden), the
advisory lock two rebuilds contend for, and pgvector's text form of vectors.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rag.errors import IndexUnavailable
from rag.settings import DATABASE_SCHEMES, redacted_url

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    import numpy as np

_IDLE = 8  # connections kept open per pool: serving threads borrow one per query


class DatabaseError(IndexUnavailable):
    """The database cannot be reached or refused a statement; the message names it (never its password)."""


def is_url(text: str) -> bool:
    """Whether `text` names a PostgreSQL database.

    Args:
        text: a `Settings.backend` value.
    """
    return text.startswith(DATABASE_SCHEMES)


def redact(url: str) -> str:
    """The URL as logs and messages show it: `postgresql://user:***@host/db`.

    Args:
        url: a database URL, perhaps with a password.
    """
    return redacted_url(url)


def literal(vector: np.ndarray) -> str:
    """pgvector's text form of a float32 vector, `[x,y,...]`, each component written so it reads back exactly.

    Args:
        vector: one vector.
    """
    import numpy as np

    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).astype(np.float64).tolist())) + "]"


def parse(text: str) -> np.ndarray:
    """A vector from pgvector's text form (float32).

    Args:
        text: `[x,y,...]`.
    """
    import numpy as np

    return np.array(text[1:-1].split(","), dtype=np.float32) if len(text) > 2 else np.zeros(0, dtype=np.float32)


class Transaction:
    """Statements inside one transaction of one connection (`Database.transaction`)."""

    def __init__(self, connection, shown: str):
        self._connection, self._shown = connection, shown

    def execute(self, sql: str, params: Sequence | dict | None = None) -> None:
        """Run one statement.

        Args:
            sql: the statement, `%s` / `%(name)s` placeholders.
            params: its parameters.
        """
        with _translated(self._shown):
            self._connection.execute(sql, params)

    def rows(self, sql: str, params: Sequence | dict | None = None) -> list[tuple]:
        """Every row a query returns.

        Args:
            sql: the query.
            params: its parameters.
        """
        with _translated(self._shown):
            return self._connection.execute(sql, params).fetchall()

    def copy(self, sql: str, rows: Iterable[Sequence]) -> None:
        """`COPY ... FROM STDIN` of rows (text format; vectors as `literal` text).

        Args:
            sql: the COPY statement.
            rows: tuples, one value per column.
        """
        with _translated(self._shown), self._connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


class Database:
    """Connections to one database, borrowed per query from a small pool; safe to share between threads."""

    def __init__(self, url: str):
        """Args:
            url: `postgresql://user[:password]@host[:port]/database`.
        """
        self.url, self.shown = url, redact(url)
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._lock = threading.Lock()

    @contextmanager
    def _borrowed(self):
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = self._connect()
        try:
            yield connection
        except BaseException:
            connection.close()  # perhaps mid-statement: never handed out again
            raise
        if connection.closed or connection.info.transaction_status != 0:  # 0: IDLE
            connection.close()
        elif self._idle.qsize() < _IDLE:
            self._idle.put(connection)
        else:
            connection.close()

    def _connect(self):
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to the database {self.shown}: {_first_line(exc)}") from None

    def rows(self, sql: str, params: Sequence | dict | None = None) -> list[tuple]:
        """Every row of one query, outside any transaction.

        Args:
            sql: the query.
            params: its parameters.
        """
        with self._borrowed() as connection, _translated(self.shown):
            return connection.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence | dict | None = None) -> tuple | None:
        """The first row of one query, or None.

        Args:
            sql: the query.
            params: its parameters.
        """
        found = self.rows(sql, params)
        return found[0] if found else None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back when it raises.

        Yields:
            The `Transaction` to run statements in.
        """
        with self._borrowed() as connection, _translated(self.shown), connection.transaction():
            yield Transaction(connection, self.shown)

    @contextmanager
    def advisory_lock(self, key: int) -> Iterator[bool]:
        """A session-level `pg_try_advisory_lock(key)` on a connection of its own, held for the block.

        Args:
            key: the lock's number.

        Yields:
            Whether the lock was had (False: another session holds it).
        """
        connection = self._connect()
        try:
            with _translated(self.shown):
                had = bool(connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
            yield had
        finally:
            connection.close()  # ends the session, and with it the lock

    def close(self) -> None:
        """Close the idle connections (borrowed ones close when returned)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


@contextmanager
def _translated(shown: str):
    """psycopg's errors as `DatabaseError`, naming the database."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise DatabaseError(f"database {shown}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
