"""The settings change log: who changed what in the hall's settings, and when (pauses from the board too).

One row per change, in the hall's store, so that every dashboard of a hall on several nodes (one
PostgreSQL, docs/deployment.md) reads and writes the same log. The dashboard decides what a change is
and masks every secret before it gets here (dashboard/changes.py); this module only keeps the rows.

Halls upgraded from a release that kept the log in ``changes.jsonl`` beside the database get that file
read in once (:func:`import_file`), then renamed, so no entry is lost and none is read twice.

This module owns ``settings_changes`` (migration 15, numbered in vision/store/schema.py). Portable SQL:
times are Unix seconds computed in Python, ``?`` placeholders.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from vision.store.ddl import ddl

if TYPE_CHECKING:
    from vision.store.database import Store

log = logging.getLogger(__name__)

MAX_ROWS = 1000


def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 15: the settings change log."""
    ddl(
        conn,
        """CREATE TABLE settings_changes (
            id      INTEGER PRIMARY KEY,
            at      REAL NOT NULL,
            by_user TEXT NOT NULL,
            what    TEXT NOT NULL,
            detail  TEXT NOT NULL,
            diff    TEXT NOT NULL
        )""",
        # one change is one (time, who, what): importing the old file twice adds nothing
        "CREATE UNIQUE INDEX settings_changes_once ON settings_changes (at, by_user, what)",
    )


def record(store: Store, at: float, by: str, what: str, detail: str = "", diff: str = "") -> None:
    """Keep one change (``detail`` and ``diff`` already masked by the caller)."""
    with store.write() as conn:
        conn.execute("INSERT INTO settings_changes (at, by_user, what, detail, diff) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING", (at, by, what, detail, diff))


def recent(store: Store, limit: int = 100) -> list[dict]:
    """The newest ``limit`` changes, newest first: ``{at, by, what, detail, diff}``."""
    with store.read() as conn:
        rows = conn.execute("SELECT at, by_user, what, detail, diff FROM settings_changes "
                            "ORDER BY at DESC, id DESC LIMIT ?", (min(int(limit), MAX_ROWS),)).fetchall()
    return [{"at": r["at"], "by": r["by_user"], "what": r["what"], "detail": r["detail"], "diff": r["diff"]}
            for r in rows]


def import_file(store: Store, path: Path) -> int:
    """Read an older release's ``changes.jsonl`` into the table, then rename it ``*.imported``.

    Returns how many entries it held. Lines cut by a crash are skipped (the others still count); the
    unique index makes a second import of the same file add nothing, so a crash between the commit
    and the rename loses and doubles nothing.
    """
    if not path.is_file():
        return 0
    entries = []
    with path.open(encoding="utf-8") as f:
        for raw in f:
            try:
                e = json.loads(raw)
                entries.append((float(e["at"]), str(e["by"]), str(e["what"]), str(e.get("detail") or ""),
                                str(e.get("diff") or "")))
            except (ValueError, KeyError, TypeError):
                continue
    with store.write() as conn:
        for entry in entries:
            conn.execute("INSERT INTO settings_changes (at, by_user, what, detail, diff) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT DO NOTHING", entry)
    path.rename(path.with_name(path.name + ".imported"))
    log.info("settings change log: %d entries read from %s into the database", len(entries), path)
    return len(entries)
