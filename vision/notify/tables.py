"""The group robots' tables; queue.py queries them (see its docstring). The DDL is here, apart from the
senders' imports, so vision/store/schema.py can number the migration without importing the HTTP side."""

from __future__ import annotations

import sqlite3

from vision.store.ddl import ddl


def create_tables(conn: sqlite3.Connection) -> None:
    """Each robot's cursor over the outbox, its queue of alerts, its windows' send state; the share key."""
    ddl(
        conn,
        """CREATE TABLE notify_cursor (
            robot_id   TEXT PRIMARY KEY,
            seq        INTEGER NOT NULL,
            updated_at REAL
        )""",
        """CREATE TABLE notify_queue (
            robot_id   TEXT NOT NULL,
            seq        INTEGER NOT NULL,
            window_key TEXT NOT NULL,
            event_id   TEXT NOT NULL,
            alert      TEXT NOT NULL,
            queued_at  REAL NOT NULL,
            sent_at    REAL,
            PRIMARY KEY (robot_id, seq)
        )""",
        "CREATE INDEX notify_queue_unsent ON notify_queue (robot_id, sent_at, window_key, seq)",
        """CREATE TABLE notify_windows (
            robot_id        TEXT NOT NULL,
            window_key      TEXT NOT NULL,
            last_sent_at    REAL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL,
            last_error      TEXT,
            PRIMARY KEY (robot_id, window_key)
        )""",
        """CREATE TABLE notify_share_key (
            id  INTEGER PRIMARY KEY CHECK (id = 1),
            key BLOB NOT NULL
        )""",
        "INSERT INTO notify_share_key (id, key) VALUES (1, randomblob(32))",
    )
