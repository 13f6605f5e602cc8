"""The database's tables, owned here: versioned migrations applied in order, each once, in one transaction
(`migrate`), and the vectors' dimension, fixed by the first rebuild and changed only by one that rewrites every
row (`set_dimension`).

- `documents`: one row per corpus document; `key` (identity, ascending in insertion order) gives the rows their
  order, row numbers being positions in key order; `first_day`/`last_day` are the date filter's bounds
  (ordinals, as `rag.index.schema.date_spans`), `length` the document's BM25 words, `embedding` its unit vector.
- `sentences`: the summary sentences' unit vectors, (key, position), deleted with their document.
- `terms`: (term, key) -> tf, the BM25 term statistics (`rag.index.postgres.words` scores from them).
- `meta`: one row: the manifest (JSON), the BM25 document count and average length, and `generation`, bumped by
  every rebuild that wrote something, which serving processes watch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.index.postgres.connection import Database, Transaction

#: (version, SQL) in order; a database records in `schema_version` those applied. Never edit one applied.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE documents (
    key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    collection text NOT NULL,
    date text NOT NULL,
    date_text text NOT NULL,
    first_day integer NOT NULL,
    last_day integer NOT NULL,
    title text NOT NULL,
    summary text,
    url text,
    content_hash text NOT NULL,
    length integer NOT NULL,
    embedding vector NOT NULL
);
CREATE INDEX documents_first_day ON documents (first_day);
CREATE INDEX documents_last_day ON documents (last_day);
CREATE INDEX documents_collection ON documents (collection);
CREATE TABLE sentences (
    key bigint NOT NULL REFERENCES documents (key) ON DELETE CASCADE,
    position integer NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (key, position)
);
CREATE TABLE terms (
    term text NOT NULL,
    key bigint NOT NULL REFERENCES documents (key) ON DELETE CASCADE,
    tf integer NOT NULL,
    PRIMARY KEY (term, key)
);
CREATE INDEX terms_key ON terms (key);
CREATE TABLE meta (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    manifest jsonb,
    documents bigint NOT NULL DEFAULT 0,
    average_length double precision NOT NULL DEFAULT 0,
    generation bigint NOT NULL DEFAULT 0
);
INSERT INTO meta DEFAULT VALUES;
"""),
]
#: The schema this code reads and writes.
VERSION = MIGRATIONS[-1][0]
#: `pg_advisory_xact_lock` key serialising migrations (two first opens at once).
_MIGRATION_LOCK = 0x7261_6701
#: The HNSW index over the documents' vectors (inner product on unit vectors = cosine).
HNSW_INDEX = "documents_embedding_hnsw"


def migrate(db: Database) -> int:
    """Apply the migrations a database lacks, in order, in one transaction (a failure applies none).

    Args:
        db: the database.

    Returns:
        How many were applied (0: it was current).
    """
    with db.transaction() as tx:
        tx.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                   "applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row[0] for row in tx.rows("SELECT version FROM schema_version")}
        todo = [(version, sql) for version, sql in MIGRATIONS if version not in done]
        for version, sql in todo:
            tx.execute(sql)
            tx.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    return len(todo)


def version(db: Database) -> int | None:
    """The schema version a database has; None when it has no schema of ours.

    Args:
        db: the database.
    """
    if db.one("SELECT to_regclass('schema_version')")[0] is None:
        return None
    return db.one("SELECT max(version) FROM schema_version")[0]


def dimension(tx: Transaction) -> int | None:
    """The dimension `documents.embedding` is fixed at; None before the first rebuild fixed one.

    Args:
        tx: a transaction.
    """
    modifier = tx.rows("SELECT atttypmod FROM pg_attribute WHERE attrelid = 'documents'::regclass "
                       "AND attname = 'embedding'")[0][0]
    return None if modifier is None or modifier < 0 else int(modifier)


def set_dimension(tx: Transaction, dim: int) -> None:
    """Fix the vectors' dimension on empty tables and (re)create the HNSW index over them. Call it after
    emptying the tables, before inserting rows of another dimension.

    Args:
        tx: the rebuild's transaction.
        dim: components per vector.
    """
    tx.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
    for table in ("documents", "sentences"):
        tx.execute(f"ALTER TABLE {table} ALTER COLUMN embedding TYPE vector({int(dim)})")


def create_vector_index(tx: Transaction) -> None:
    """The HNSW index over the documents' vectors, when missing (built after a bulk insert, which is faster
    than inserting into it row by row).

    Args:
        tx: the rebuild's transaction.
    """
    tx.execute(f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON documents USING hnsw (embedding vector_ip_ops)")
