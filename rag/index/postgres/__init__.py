"""The PostgreSQL + pgvector backend (issue 19): the same `rag.index.backend.Backend` as an index folder, over a
database server (`Settings.backend` = its URL). psycopg enters only through `rag.index.postgres.connection`."""
