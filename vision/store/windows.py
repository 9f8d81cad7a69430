"""Window states (what the board shows per window) and pauses (by the API or a '暂停服务' sign seen).

This module owns the ``window_state`` and ``pauses`` tables (migration 2, numbered in
vision/store/schema.py) and every query on them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable

from vision.errors import InputError, NotFound
from vision.events import EVENT_TYPES, iso
from vision.store.checks import dumps, one_of, strings, text, when
from vision.store.connection import Connections
from vision.store.ddl import ddl

PAUSE_SOURCES = ("api", "sign")


def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 2: window states and pauses."""
    ddl(
        conn,
        """CREATE TABLE window_state (
            window_id    TEXT PRIMARY KEY,
            camera_id    TEXT NOT NULL,
            status       TEXT NOT NULL,
            since        REAL NOT NULL,
            updated_at   REAL NOT NULL,
            active_types TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(active_types))
        )""",
        """CREATE TABLE pauses (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            window_id  TEXT NOT NULL,
            source     TEXT NOT NULL CHECK (source IN ('api', 'sign')),
            reason     TEXT,
            started_at REAL NOT NULL,
            until      REAL CHECK (until IS NULL OR until > started_at),
            ended_at   REAL CHECK (ended_at IS NULL OR ended_at >= started_at)
        )""",
        "CREATE INDEX pauses_open ON pauses (window_id, started_at) WHERE ended_at IS NULL",
        "CREATE INDEX pauses_by_start ON pauses (started_at)",
    )


def pause_json(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"], "window_id": row["window_id"], "source": row["source"], "reason": row["reason"],
        "started_at": iso(row["started_at"]), "until": iso(row["until"]), "ended_at": iso(row["ended_at"]),
    }


def window_json(row: sqlite3.Row) -> dict:
    return {
        "window_id": row["window_id"], "camera_id": row["camera_id"], "status": row["status"],
        "since": iso(row["since"]), "updated_at": iso(row["updated_at"]),
        "active_types": json.loads(row["active_types"]),
    }


class WindowRecords(Connections):
    """Window states and pauses."""

    def set_window_state(self, window_id: str, camera_id: str, status: str, since: float,
                         updated_at: float | None = None, active_types: Iterable[str] = ()) -> dict:
        """Upsert a window's current state (status such as 'staffed', 'unattended', 'paused', 'closed')."""
        text("window_id", window_id)
        text("camera_id", camera_id)
        text("status", status)
        types = strings("active_types", list(active_types), tuple(EVENT_TYPES)) or []
        since_s = when("since", since)
        if since_s is None:
            raise InputError("since: required")
        updated = time.time() if updated_at is None else when("updated_at", updated_at)
        with self._write() as conn:
            conn.execute(
                """INSERT INTO window_state (window_id, camera_id, status, since, updated_at, active_types)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (window_id) DO UPDATE SET camera_id = excluded.camera_id,
                       status = excluded.status, since = excluded.since, updated_at = excluded.updated_at,
                       active_types = excluded.active_types""",
                (window_id, camera_id, status, since_s, updated, dumps(sorted(set(types)))))
            row = conn.execute("SELECT * FROM window_state WHERE window_id = ?", (window_id,)).fetchone()
        return window_json(row)

    def window_states(self) -> list[dict]:
        return [window_json(r) for r in self._conn().execute("SELECT * FROM window_state ORDER BY window_id")]

    def add_pause(self, window_id: str, source: str, reason: str | None, started_at: float,
                  until: float | None = None) -> dict:
        """Record a pause of a window (by the API or a '暂停服务' sign seen); ``until`` None means until ended."""
        text("window_id", window_id)
        one_of("pause source", source, PAUSE_SOURCES)
        if reason is not None and not isinstance(reason, str):
            raise InputError(f"pause reason: expected text, got {type(reason).__name__}")
        start = when("started_at", started_at)
        if start is None:
            raise InputError("started_at: required")
        end = when("until", until)
        if end is not None and end <= start:
            raise InputError(f"until ({iso(end)}) must be after started_at ({iso(start)})")
        with self._write() as conn:
            pause_id = conn.execute(
                "INSERT INTO pauses (window_id, source, reason, started_at, until) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (window_id, source, reason, start, end)).fetchone()[0]
            row = conn.execute("SELECT * FROM pauses WHERE id = ?", (pause_id,)).fetchone()
        return pause_json(row)

    def end_pause(self, window_id: str, at: float, source: str | None = None) -> list[dict]:
        """End the window's pauses active at ``at`` (of one source, if given); NotFound if there is none."""
        at_s = when("at", at)
        if at_s is None:
            raise InputError("at: required")
        if source is not None:
            one_of("pause source", source, PAUSE_SOURCES)
        active = ("window_id = ? AND ended_at IS NULL AND started_at <= ? AND (until IS NULL OR until > ?)"
                  + (" AND source = ?" if source else ""))
        params = (window_id, at_s, at_s) + ((source,) if source else ())
        with self._write() as conn:
            ids = [r[0] for r in conn.execute(f"SELECT id FROM pauses WHERE {active}", params)]
            if not ids:
                raise NotFound(f"window {window_id!r} has no active pause at {iso(at_s)}")
            conn.executemany("UPDATE pauses SET ended_at = ? WHERE id = ?", [(at_s, i) for i in ids])
            rows = conn.execute(f"SELECT * FROM pauses WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id",
                                ids).fetchall()
        return [pause_json(r) for r in rows]

    def active_pauses(self, now: float, window_id: str | None = None) -> list[dict]:
        now_s = when("now", now)
        sql = ("SELECT * FROM pauses WHERE started_at <= ? AND (ended_at IS NULL OR ended_at > ?)"
               " AND (until IS NULL OR until > ?)")
        params: tuple = (now_s, now_s, now_s)
        if window_id is not None:
            sql += " AND window_id = ?"
            params += (window_id,)
        return [pause_json(r) for r in self._conn().execute(sql + " ORDER BY started_at, id", params)]
