"""The rota (排班) in the database: its shifts, importing a rota, who was on duty, and the per-person numbers.

This module owns ``rota_shifts`` (migration 13, numbered in vision/store/schema.py; the same migration
gives events their staff columns: vision/store/events.py ``add_staff_columns``).

Who was on duty is written on the event when it is recorded (``staff_on_duty``, called by
vision/store/events.py in the event's own transaction): the event's webhook, its timeline and every later
read name the person the rota named at the time, and an edit of the rota does not quietly rewrite past
events. A rota often reaches the system late, though (the week's rota typed in on Monday afternoon), so
an import attributes the past events it covers in the same transaction:

- ``mode="add"`` (the default) refuses a shift that overlaps one already on the rota, and gives the
  events in the new shifts that name nobody yet their staff member;
- ``mode="replace"`` replaces, per window in the file, the stored shifts that overlap the file's days,
  and re-attributes every event of those windows in the replaced span to the new rota (or to nobody):
  the way to correct a wrong rota.

An import is one transaction: every shift or none, and the events' attribution with it.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import tzinfo
from typing import Any

from vision.errors import InputError
from vision.events import iso
from vision.rota import Problem, RotaError, Shift, describe
from vision.store.checks import text, when
from vision.store.connection import Connections
from vision.store.ddl import ddl
from vision.store.where import Where

MODES = ("add", "replace")


def create_tables(conn: sqlite3.Connection) -> None:
    """Part of migration 13: the rota's shifts."""
    ddl(
        conn,
        """CREATE TABLE rota_shifts (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            window_id    TEXT NOT NULL,
            staff_name   TEXT NOT NULL,
            staff_number TEXT NOT NULL,
            starts_at    REAL NOT NULL,
            ends_at      REAL NOT NULL,
            imported_by  TEXT,
            imported_at  REAL NOT NULL,
            CHECK (ends_at > starts_at)
        )""",
        "CREATE INDEX rota_by_window ON rota_shifts (window_id, starts_at)",
        "CREATE INDEX rota_by_staff ON rota_shifts (staff_number, starts_at)",
        "CREATE INDEX rota_by_start ON rota_shifts (starts_at)",
    )


def staff_on_duty(conn: sqlite3.Connection, window_id: str | None, at: float) -> dict | None:
    """``{"name", "number"}`` of the shift on ``window_id`` at ``at``, or None."""
    if window_id is None:
        return None
    row = conn.execute(
        "SELECT staff_name, staff_number FROM rota_shifts WHERE window_id = ? AND starts_at <= ? AND ends_at > ? "
        "ORDER BY starts_at DESC LIMIT 1", (window_id, float(at), float(at))).fetchone()
    return None if row is None else {"name": row["staff_name"], "number": row["staff_number"]}


def shift_json(row: sqlite3.Row) -> dict:
    return {"id": row["id"], "window_id": row["window_id"], "staff_name": row["staff_name"],
            "staff_number": row["staff_number"], "from": iso(row["starts_at"]), "to": iso(row["ends_at"]),
            "imported_by": row["imported_by"], "imported_at": iso(row["imported_at"])}


def _stored(row: sqlite3.Row) -> Shift:
    return Shift(row["window_id"], row["staff_name"], row["staff_number"], row["starts_at"], row["ends_at"])


# events re-attributed from the rota: the shift that covers each one's start, or nobody
_ATTRIBUTE = """
UPDATE events SET
    staff_name = (SELECT s.staff_name FROM rota_shifts s WHERE s.window_id = events.window_id
                  AND s.starts_at <= events.started_at AND s.ends_at > events.started_at
                  ORDER BY s.starts_at DESC LIMIT 1),
    staff_number = (SELECT s.staff_number FROM rota_shifts s WHERE s.window_id = events.window_id
                    AND s.starts_at <= events.started_at AND s.ends_at > events.started_at
                    ORDER BY s.starts_at DESC LIMIT 1)
WHERE window_id = ? AND started_at >= ? AND started_at < ?"""


class RotaRecords(Connections):
    """Importing and reading the rota; the per-person numbers of a report."""

    def import_rota(self, shifts: list[Shift], tz: tzinfo, *, mode: str = "add", user: str | None = None,
                    json_items: bool = False) -> dict:
        """Put ``shifts`` on the rota in one transaction (see the module's docstring for ``mode``).

        Returns ``{"imported", "replaced", "attributed", "mode"}``: shifts added, stored shifts removed, and
        events whose staff member changed. Raises RotaError (nothing written) when a shift overlaps one
        stored on its window, or puts a person on two windows at once.
        """
        if mode not in MODES:
            raise RotaError([Problem("bad_mode", params={"value": mode})])
        text("imported_by", user, required=False)
        if not shifts:
            raise RotaError([Problem("empty", json_items=json_items)])
        now = time.time()
        spans: dict[str, list[float]] = {}
        for s in shifts:
            lo, hi = spans.setdefault(s.window_id, [s.starts_at, s.ends_at])
            spans[s.window_id] = [min(lo, s.starts_at), max(hi, s.ends_at)]
        with self._write() as conn:
            replaced = 0
            if mode == "replace":
                for window_id, (lo, hi) in spans.items():
                    gone = conn.execute("SELECT min(starts_at), max(ends_at), count(*) FROM rota_shifts "
                                        "WHERE window_id = ? AND starts_at < ? AND ends_at > ?",
                                        (window_id, hi, lo)).fetchone()
                    if gone[2]:
                        spans[window_id] = [min(lo, gone[0]), max(hi, gone[1])]
                        replaced += conn.execute("DELETE FROM rota_shifts WHERE window_id = ? AND starts_at < ? "
                                                 "AND ends_at > ?", (window_id, hi, lo)).rowcount
            problems = self._clashes_with_stored(conn, shifts, tz, json_items)
            if problems:
                raise RotaError(problems)
            before = self._attribution(conn, spans)
            conn.executemany(
                "INSERT INTO rota_shifts (window_id, staff_name, staff_number, starts_at, ends_at, imported_by,"
                " imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.window_id, s.staff_name, s.staff_number, s.starts_at, s.ends_at, user, now) for s in shifts])
            for window_id, (lo, hi) in spans.items():
                sql = _ATTRIBUTE if mode == "replace" else _ATTRIBUTE + " AND staff_number IS NULL"
                conn.execute(sql, (window_id, lo, hi))
            after = self._attribution(conn, spans)
        attributed = sum(1 for k, v in after.items() if before.get(k) != v)
        return {"mode": mode, "imported": len(shifts), "replaced": replaced, "attributed": attributed}

    @staticmethod
    def _attribution(conn: sqlite3.Connection, spans: dict[str, list[float]]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for window_id, (lo, hi) in spans.items():
            out.update((r[0], r[1]) for r in conn.execute(
                "SELECT id, staff_number FROM events WHERE window_id = ? AND started_at >= ? AND started_at < ?",
                (window_id, lo, hi)))
        return out

    @staticmethod
    def _clashes_with_stored(conn: sqlite3.Connection, shifts: list[Shift], tz: tzinfo,
                             json_items: bool) -> list[Problem]:
        problems: list[Problem] = []
        for s in shifts:
            hit = conn.execute("SELECT * FROM rota_shifts WHERE window_id = ? AND starts_at < ? AND ends_at > ? "
                               "ORDER BY starts_at LIMIT 1", (s.window_id, s.ends_at, s.starts_at)).fetchone()
            if hit is not None:
                other = _stored(hit)
                problems.append(Problem("overlaps_stored", s.line, "from", {
                    **describe(s, tz), **describe(other, tz, "other_"), "other": other.staff_name,
                    "window": s.window_id}, json_items))
                continue
            hit = conn.execute("SELECT * FROM rota_shifts WHERE staff_number = ? AND window_id != ? AND starts_at < ? "
                               "AND ends_at > ? ORDER BY starts_at LIMIT 1",
                               (s.staff_number, s.window_id, s.ends_at, s.starts_at)).fetchone()
            if hit is not None:
                other = _stored(hit)
                problems.append(Problem("two_windows_stored", s.line, "from", {
                    **describe(s, tz), **describe(other, tz, "other_"), "number": s.staff_number,
                    "window": s.window_id, "other_window": other.window_id}, json_items))
            if len(problems) >= 50:
                break
        return problems

    def rota(self, *, since: Any = None, until: Any = None, window_id: str | None = None,
             limit: int = 5000) -> list[dict]:
        """The shifts that overlap [since, until), oldest first (each as ``shift_json``)."""
        lo, hi = when("since", since), when("until", until)
        if lo is not None and hi is not None and lo > hi:
            raise InputError(f"since ({iso(lo)}) is after until ({iso(hi)})")
        where = Where().compare("ends_at", ">", lo).compare("starts_at", "<", hi).equals("window_id", window_id)
        rows = self._conn().execute(f"SELECT * FROM rota_shifts{where.sql()} ORDER BY starts_at, window_id, id LIMIT ?",
                                    (*where.params, int(limit))).fetchall()
        return [shift_json(r) for r in rows]

    def people_summary(self, lo: float, hi: float) -> list[dict]:
        """Per staff member for [lo, hi): ``{number, name, counts: {type: n}, events, duty_s}``, by 工号.

        Events count by the staff member written on them (false positives left out); time on duty is the
        rota's shifts cut at the period's ends. Events at a window nobody was on the rota for come last,
        as number None; events of a whole camera (no window) are nobody's.
        """
        lo, hi = float(lo), float(hi)
        people: dict[str | None, dict] = {}

        def person(number: str | None, name: str | None) -> dict:
            return people.setdefault(number, {"number": number, "name": name, "counts": {}, "events": 0,
                                              "duty_s": 0.0})

        with self._read() as conn:
            for r in conn.execute(
                    "SELECT staff_number, max(staff_name) AS name, type, count(*) AS n FROM events "
                    "WHERE started_at >= ? AND started_at < ? AND review_status != 'false_positive' "
                    "AND window_id IS NOT NULL GROUP BY staff_number, type", (lo, hi)):
                p = person(r["staff_number"], r["name"])
                p["counts"][r["type"]] = r["n"]
                p["events"] += r["n"]
            for r in conn.execute("SELECT staff_number, staff_name, starts_at, ends_at FROM rota_shifts "
                                  "WHERE starts_at < ? AND ends_at > ? ORDER BY starts_at", (hi, lo)):
                p = person(r["staff_number"], r["staff_name"])
                p["name"] = r["staff_name"]                   # the rota's latest spelling
                p["duty_s"] += min(r["ends_at"], hi) - max(r["starts_at"], lo)
        return sorted(people.values(), key=lambda p: (p["number"] is None, p["number"] or ""))

