"""The store on both back-ends: one real PostgreSQL server for the whole test session (Debian's
``postgresql``, vision/store/pg_server.py), a fresh database in it per test.

``store_target`` is parametrized: ``sqlite`` (a temp file) and ``postgresql`` (the URL of a database
of the test's own, copied from one migrated once per session: a copy takes a fifth of the time the
migrations take), so every test that takes it runs on both. ``fresh_schema`` gives an empty
schema instead (migration tests; a hall in a schema of a shared database). Without
PostgreSQL installed the postgresql cases fail, saying how to install it (README's test command does).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from vision.store.pg_server import ScratchServer, postgres_bin

BACKENDS = ("sqlite", "postgresql")
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server():
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: bash scripts/setup.sh --test (apt-get install postgresql)")
    from vision.store.database import Store
    server = ScratchServer().start()
    server.create_database("halls")
    Store(server.create_database("migrated")).close()
    yield server
    server.stop()


def fresh_database(server: ScratchServer) -> str:
    """A URL on a new database holding the latest schema and nothing else."""
    import psycopg
    name = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE migrated STRATEGY FILE_COPY")
    return server.url(name)


def drop_database(server: ScratchServer, url: str) -> None:
    import psycopg
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def fresh_schema(server: ScratchServer) -> str:
    """A URL on a new, empty schema of the session's database (what a hall of its own would have)."""
    import psycopg
    name = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(server.url("halls"), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{server.url('halls')}?options=-csearch_path%3D{name}"


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_target(backend: str, tmp_path: Path, request):
    """Where a test's store lives: a SQLite file, or a PostgreSQL URL on the test's own schema."""
    if backend == "sqlite":
        yield tmp_path / "var" / "hallmonitor.db"
        return
    server = request.getfixturevalue("pg_server")
    url = fresh_database(server)
    yield url
    drop_database(server, url)


def count_rows(target: Path | str, table: str) -> int:
    """Rows in a table, read on a connection of its own (not the store's)."""
    from vision.store.database import Store
    with Store(target) as s:
        return s._conn().execute(f"SELECT count(*) FROM {table}").fetchone()[0]
