"""Every migration of the hall's database, numbered here and nowhere else, and the runner that applies them.

Each table's owner declares its tables next to the queries that use them; this module puts their
``create`` steps in the order they first shipped, so every process that opens the file (worker,
dashboard, CLI) knows every migration, whatever it imported first. A process that knew fewer would
take the file for a newer hallmonitor's.

The database keeps the number of the last migration applied (SQLite: ``PRAGMA user_version``;
PostgreSQL: the ``hallmonitor_schema`` row, vision/store/dialect.py). Opening an older file
upgrades it, one transaction per migration; opening a file written by a newer hallmonitor fails
with a message that says so. A new migration goes at the end, with the next number; a shipped one
never changes (databases in the field have run it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from vision.mqtt import cursor as mqtt_cursor
from vision.notify import tables as notify_tables
from vision.store import accounts, audit, changes, events, leases, reviews, rota, windows
from vision.store.connection import StoreError
from vision.store.ddl import Migration
from vision.store.dialect import POSTGRES_SETUP, dialect_of
from vision.training import teaching, versions
from vision.webhooks import tables as webhook_tables

MIGRATIONS: list[tuple[int, Migration]] = []


def migration(version: int) -> Callable[[Migration], Migration]:
    """Register ``fn`` as the migration to schema ``version``; versions must be registered 1, 2, 3, ..."""

    def register(fn: Migration) -> Migration:
        expected = len(MIGRATIONS) + 1
        if version != expected:
            raise RuntimeError(f"migration {fn.__name__} claims version {version}, but the next one is {expected}")
        MIGRATIONS.append((version, fn))
        return fn

    return register


def _review_history(conn: sqlite3.Connection) -> None:
    # two owners: the history is reviews.py's; the outbox (events.py's) makes room for its messages
    reviews.create_tables(conn)
    events.allow_review_messages(conn)


def _rota(conn: sqlite3.Connection) -> None:
    # two owners: the shifts are rota.py's; each event (events.py's table) names who was on duty
    rota.create_tables(conn)
    events.add_staff_columns(conn)


def _accounts_and_endpoints(conn: sqlite3.Connection) -> None:
    # one migration, two owners: it shipped that way, so existing files have both from version 4
    accounts.create_users_and_tokens(conn)
    webhook_tables.create_endpoints(conn)


migration(1)(events.create_tables)                    # events, their timeline, the webhook outbox
migration(2)(windows.create_tables)                   # window states, pauses
migration(3)(webhook_tables.create_deliveries)        # each message's delivery to each endpoint
migration(4)(_accounts_and_endpoints)                 # dashboard users, API tokens; webhook endpoints
migration(5)(webhook_tables.add_dispatch_state)       # the dispatcher's cursor and per-endpoint queues
migration(6)(teaching.create_tables)                  # the hall's labels and their frames
migration(7)(versions.create_tables)                  # the hall's head versions, their switches, training runs
migration(8)(accounts.create_sessions_and_logins)     # dashboard sessions, the login audit
migration(9)(notify_tables.create_tables)             # the group robots' cursors, queues, windows, share key
migration(10)(_review_history)                        # each event's review history; reviews in the outbox
migration(11)(mqtt_cursor.create_tables)              # the MQTT publisher's place in the outbox
migration(12)(leases.create_tables)                   # the hall's nodes; who watches each camera, who sends
migration(13)(_rota)                                  # the rota's shifts; the staff member on each event
migration(14)(audit.create_tables)                    # who viewed or downloaded which clip or snapshot
migration(15)(changes.create_tables)                  # the settings change log (was changes.jsonl)

LATEST_VERSION = len(MIGRATIONS)  # of this release; code reads len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return dialect_of(conn).schema_version(conn)


def prepare(conn: sqlite3.Connection) -> None:
    """PostgreSQL: make the functions, collation and version table the migrations need (nothing on SQLite)."""
    dialect = dialect_of(conn)
    if dialect.name == "sqlite":
        return
    made = "SELECT to_regclass('hallmonitor_schema') IS NOT NULL"
    if conn.execute(made).fetchone()[0]:
        return
    dialect.start_write(conn)
    try:
        if not conn.execute(made).fetchone()[0]:   # another process may have got here first
            for sql in POSTGRES_SETUP:
                conn.execute(sql)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def refuse_newer(conn: sqlite3.Connection, where: str) -> None:
    """Raise StoreError if the file was written by a newer hallmonitor (before anything touches it)."""
    found = schema_version(conn)
    if found > len(MIGRATIONS):
        raise _too_new(where, found)


def _too_new(where: str, found: int) -> StoreError:
    return StoreError(
        f"{where}: the database has schema version {found}, but this hallmonitor knows versions up to "
        f"{len(MIGRATIONS)}; it was written by a newer hallmonitor. Upgrade hallmonitor, or "
        f"point store.url (or storage.database) at another database.")


def migrate(conn: sqlite3.Connection, target: int | None = None, where: str = "database") -> int:
    """Apply the pending migrations up to ``target`` (default: all), each in its own transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Safe against a second process
    migrating at the same time: each step re-reads the version under the write lock. Returns the
    version the database ends at.
    """
    latest = len(MIGRATIONS)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise ValueError(f"no schema version {target}; versions are 0..{latest}")
    found = schema_version(conn)
    if found > latest:
        raise _too_new(where, found)
    dialect = dialect_of(conn)
    for version, fn in MIGRATIONS[found:target]:
        dialect.start_write(conn)
        try:
            if schema_version(conn) < version:  # another process may have got here first
                fn(conn)
                dialect.set_schema_version(conn, version)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return schema_version(conn)
