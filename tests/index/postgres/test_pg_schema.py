"""The schema owned by rag/index/postgres/schema.py: migrations applied once, in order, idempotent."""

from __future__ import annotations

import pytest

from rag.index.postgres import schema
from rag.index.postgres.connection import Database

pytestmark = pytest.mark.slow


def test_migrations_apply_once_and_a_second_run_changes_nothing(fresh_database):
    db = Database(fresh_database)
    try:
        assert schema.version(db) is None
        assert schema.migrate(db) == len(schema.MIGRATIONS)
        assert schema.version(db) == schema.VERSION
        tables = {row[0] for row in db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"documents", "sentences", "terms", "meta", "schema_version"} <= tables
        assert schema.migrate(db) == 0  # idempotent: nothing applied again, no error
        assert db.rows("SELECT version FROM schema_version") == [(v,) for v, _ in schema.MIGRATIONS]
        assert db.one("SELECT count(*), max(generation) FROM meta") == (1, 0)
        indexes = {row[0] for row in db.rows("SELECT indexname FROM pg_indexes WHERE tablename = 'documents'")}
        assert {"documents_first_day", "documents_last_day", "documents_collection"} <= indexes
    finally:
        db.close()


def test_a_failing_migration_applies_none_of_the_batch(fresh_database, monkeypatch):
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, (schema.VERSION + 1, "SELECT no_such_function()")])
    db = Database(fresh_database)
    try:
        with pytest.raises(Exception, match="no_such_function"):
            schema.migrate(db)
        assert schema.version(db) is None  # the first migration, in the same transaction, was rolled back too
    finally:
        db.close()
