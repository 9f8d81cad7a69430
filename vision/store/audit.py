"""The evidence audit (PIPL): who viewed or downloaded which event's clip or snapshot, when, from where.

One row per look: the dashboard's player and pictures, downloads, the API and signed share links
all write here (dashboard/audit.py decides what counts as one look). A video player asks for a clip
in many byte ranges; only its first request is a look, and the same user looking at the same file
the same way again within ``REPEAT_S`` is not written twice. Logins have their own audit (the
``logins`` table, vision/store/accounts.py); :meth:`EvidenceAudit.logins` reads it with the same
filters for the admins' audit page.

This module owns ``evidence_access`` (migration 14, numbered in vision/store/schema.py). Portable
SQL: times are Unix seconds computed in Python, ``?`` placeholders.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

from vision.errors import InputError
from vision.events import iso
from vision.store.ddl import ddl
from vision.store.where import Where

if TYPE_CHECKING:
    from vision.store.database import Store

WHATS = ("clip", "snapshot")
ACTIONS = ("view", "download")
VIAS = ("dashboard", "api", "shared_link")
REPEAT_S = 300.0
MAX_ROWS = 500


def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 14: one row per look at an event's evidence."""
    ddl(
        conn,
        f"""CREATE TABLE evidence_access (
            id        INTEGER PRIMARY KEY,
            at        REAL NOT NULL,
            user_name TEXT NOT NULL,
            event_id  TEXT NOT NULL,
            what      TEXT NOT NULL CHECK (what IN ({', '.join(repr(w) for w in WHATS)})),
            action    TEXT NOT NULL CHECK (action IN ({', '.join(repr(a) for a in ACTIONS)})),
            via       TEXT NOT NULL CHECK (via IN ({', '.join(repr(v) for v in VIAS)})),
            blurred   INTEGER NOT NULL,
            address   TEXT
        )""",
        "CREATE INDEX evidence_access_at ON evidence_access (at)",
        "CREATE INDEX evidence_access_user ON evidence_access (user_name, at)",
        "CREATE INDEX evidence_access_event ON evidence_access (event_id, at)",
    )


def _access_json(row) -> dict:
    return {"id": row["id"], "at": iso(row["at"]), "user": row["user_name"], "event_id": row["event_id"],
            "what": row["what"], "action": row["action"], "via": row["via"], "blurred": bool(row["blurred"]),
            "address": row["address"]}


def _filters(user: str | None, event_id: str | None, since: float | None, until: float | None,
             user_column: str) -> Where:
    return (Where().equals(user_column, user or None).equals("event_id", event_id or None)
            .compare("at", ">=", since).compare("at", "<", until))


class EvidenceAudit:
    """Writing and reading the evidence audit, on the hall's store."""

    def __init__(self, store: Store):
        self.store = store

    def record(self, user: str, event_id: str, what: str, action: str, via: str, blurred: bool,
               address: str | None = None, at: float | None = None) -> bool:
        """Write one look (False: the same look was written less than REPEAT_S ago)."""
        for name, value, allowed in (("what", what, WHATS), ("action", action, ACTIONS), ("via", via, VIAS)):
            if value not in allowed:
                raise InputError(f"{name}: unknown value {value!r}; known: {', '.join(allowed)}")
        at = time.time() if at is None else at
        with self.store.write() as conn:
            last = conn.execute(
                "SELECT at FROM evidence_access WHERE user_name = ? AND event_id = ? AND what = ? AND action = ? "
                "AND via = ? ORDER BY at DESC LIMIT 1", (user, event_id, what, action, via)).fetchone()
            if last is not None and 0 <= at - last["at"] < REPEAT_S:
                return False
            conn.execute("INSERT INTO evidence_access (at, user_name, event_id, what, action, via, blurred, address) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (at, user, event_id, what, action, via, int(blurred), address))
        return True

    def accesses(self, user: str | None = None, event_id: str | None = None, since: float | None = None,
                 until: float | None = None, limit: int = 100) -> list[dict]:
        """The newest looks first, filtered by user, event and time (``since`` <= at < ``until``)."""
        where = _filters(user, event_id, since, until, "user_name")
        with self.store.read() as conn:
            rows = conn.execute("SELECT id, at, user_name, event_id, what, action, via, blurred, address "
                                f"FROM evidence_access{where.sql()} ORDER BY at DESC, id DESC LIMIT ?",
                                (*where.params, min(limit, MAX_ROWS))).fetchall()
        return [_access_json(r) for r in rows]

    def users(self) -> list[str]:
        """Everyone who has looked at evidence or tried to log in, for the page's user filter."""
        with self.store.read() as conn:
            names = {r[0] for r in conn.execute("SELECT DISTINCT user_name FROM evidence_access")}
            names |= {r[0] for r in conn.execute("SELECT DISTINCT username FROM logins")}
        return sorted(names, key=str.lower)

    def logins(self, user: str | None = None, since: float | None = None, until: float | None = None,
               limit: int = 100) -> list[dict]:
        """Login attempts, newest first, with the same filters (the login audit is accounts.py's table)."""
        where = _filters(user, None, since, until, "username")
        with self.store.read() as conn:
            rows = conn.execute(f"SELECT at, username, address, ok, reason FROM logins{where.sql()} "
                                "ORDER BY at DESC, id DESC LIMIT ?", (*where.params, min(limit, MAX_ROWS))).fetchall()
        return [{"at": iso(r["at"]), "user": r["username"], "address": r["address"], "ok": bool(r["ok"]),
                 "reason": r["reason"]} for r in rows]
