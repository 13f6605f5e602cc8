"""Each Postgres test's own database on the session's throwaway server (`postgres_url`), so tests never collide,
and one database filled from the bundled corpus, shared by the tests that only read."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _admin(postgres_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture
def fresh_database(postgres_url):
    """The URL of an empty database of its own, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _admin(postgres_url, f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    _admin(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def bundled_database(postgres_url, encoder):
    """A database filled from the bundled corpus by `rebuild_into` with the session's encoder; read-only."""
    from rag.index.postgres.rebuild import rebuild_into
    from rag.settings import Settings

    name = f"bundled_{uuid.uuid4().hex[:8]}"
    _admin(postgres_url, f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    rebuild_into(url, ROOT / "corpus", Settings(), encoder=encoder, progress=False)
    yield url
    _admin(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
