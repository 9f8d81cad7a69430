"""How far the MQTT publisher has got through the outbox, kept in the database.

The cursor moves only past messages the broker has acknowledged (QoS 1 PUBACK), so a ``kill -9``
of the publisher, a broker restart or a lost network loses nothing: the next run publishes from the
cursor again. What was acknowledged but not yet written down is published a second time (at least
once; the event's ``id`` and ``phase`` and ``updated_at`` tell a subscriber it has seen it).

The row is made on the publisher's first start, at the newest outbox message: MQTT is live, so a hall
that configures a broker today does not replay months of history onto it.
"""

from __future__ import annotations

import sqlite3
import time

from vision.store.ddl import ddl


def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 11 (vision/store/schema.py numbers it): the one-row cursor table."""
    ddl(
        conn,
        """CREATE TABLE mqtt_cursor (
            id         INTEGER PRIMARY KEY CHECK (id = 1),
            seq        INTEGER NOT NULL,
            updated_at REAL
        )""",
    )


class OutboxCursor:
    """The publisher's place in the outbox (``outbox.seq`` of the last message the broker has acknowledged)."""

    def __init__(self, store):
        self.store = store

    def read(self) -> int:
        with self.store.write() as conn:
            conn.execute("INSERT INTO mqtt_cursor (id, seq, updated_at) "
                         # WHERE true: SQLite reads "ON CONFLICT" after a bare FROM as a join's ON
                         "SELECT 1, COALESCE(MAX(seq), 0), ? FROM outbox WHERE true ON CONFLICT DO NOTHING",
                         (time.time(),))
            return conn.execute("SELECT seq FROM mqtt_cursor WHERE id = 1").fetchone()[0]

    def advance(self, seq: int) -> None:
        """Move the cursor to ``seq`` (never back)."""
        with self.store.write() as conn:
            conn.execute("UPDATE mqtt_cursor SET seq = ?, updated_at = ? WHERE id = 1 AND seq < ?",
                         (seq, time.time(), seq))
