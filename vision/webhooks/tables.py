"""The webhooks' tables: the endpoints, each message's delivery to each endpoint, the fan-out cursor.

vision/webhooks/endpoints.py (what the dashboard and cameras.yaml make) and dispatcher.py (fan-out and
sending) query them; their DDL is here, apart from those modules' imports, so the store can number the
migrations (3, part of 4, and 5: vision/store/schema.py) without importing the HTTP side.
"""

from __future__ import annotations

import sqlite3

from vision.store.ddl import ddl


def create_deliveries(conn: sqlite3.Connection) -> None:
    """Migration 3: per-endpoint delivery state, filled by the dispatcher (the status values are its to define)."""
    ddl(
        conn,
        """CREATE TABLE deliveries (
            outbox_id       TEXT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
            endpoint_id     TEXT NOT NULL,
            status          TEXT NOT NULL DEFAULT 'pending',
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL,
            last_attempt_at REAL,
            last_code       INTEGER,
            last_error      TEXT,
            latency_ms      REAL,
            PRIMARY KEY (outbox_id, endpoint_id)
        )""",
        "CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)",
    )


def create_endpoints(conn: sqlite3.Connection) -> None:
    """Part of migration 4: webhook endpoints made in the dashboard (or synced from cameras.yaml)."""
    ddl(
        conn,
        """CREATE TABLE webhook_endpoints (
            id              TEXT PRIMARY KEY,
            url             TEXT NOT NULL,
            secrets         TEXT NOT NULL,
            types           TEXT NOT NULL DEFAULT '[]',
            windows         TEXT NOT NULL DEFAULT '[]',
            enabled         INTEGER NOT NULL DEFAULT 1,
            allow_private   INTEGER NOT NULL DEFAULT 0,
            timeout_s       REAL NOT NULL DEFAULT 15,
            source          TEXT NOT NULL DEFAULT 'dashboard' CHECK (source IN ('dashboard', 'config')),
            disabled_reason TEXT,
            created_at      REAL NOT NULL,
            updated_at      REAL NOT NULL
        )""",
    )


def add_dispatch_state(conn: sqlite3.Connection) -> None:
    """Migration 5: the dispatcher's durable state. How far it has fanned the outbox out to endpoints (the
    cursor starts at the newest message, so an upgraded database does not send its history), and each
    delivery's place in its endpoint's queue (the outbox seq: deliveries per endpoint go in order)."""
    ddl(
        conn,
        "ALTER TABLE deliveries ADD COLUMN seq INTEGER",
        "ALTER TABLE deliveries ADD COLUMN created_at REAL",
        "ALTER TABLE deliveries ADD COLUMN delivered_at REAL",
        "CREATE INDEX deliveries_queue ON deliveries (endpoint_id, status, seq)",
        """CREATE TABLE webhook_cursor (
            id         INTEGER PRIMARY KEY CHECK (id = 1),
            seq        INTEGER NOT NULL,
            updated_at REAL
        )""",
        "INSERT INTO webhook_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM outbox",
    )

