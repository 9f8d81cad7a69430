"""Reading events: one event, its timeline, filtered pages and counts, and the dashboard's summaries.

The list filters are the API's (vision/store/checks.py checks them, naming the filter); each one uses
an index that ends in ``(started_at, id)``, so a filtered page is one index range in keyset order.
The live feed follows ``event_log`` by id; a report (day, week, month) aggregates one range of ``started_at``.
"""

from __future__ import annotations

import json
from typing import Any

from vision.errors import InputError, NotFound
from vision.events import EVENT_TYPES, PHASES, SEVERITIES, Event, iso
from vision.store.checks import decode_cursor, encode_cursor, page_limit, strings, when
from vision.store.connection import Connections
from vision.store.events import REVIEW_STATUSES, event_json, event_of
from vision.store.where import Where


class EventQueries(Connections):
    """Reading the events tables (writes are in :class:`vision.store.events.EventRecords`)."""

    def get_event(self, event_id: str) -> dict | None:
        """The event's JSON (``Event.to_json()``) plus review_status, review_comment, reviewed_by, reviewed_at, keep."""
        row = self._conn().execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else event_json(row)

    def event(self, event_id: str) -> Event:
        row = self._conn().execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            raise NotFound(f"no event {event_id!r}")
        return event_of(row)

    def timeline(self, event_id: str) -> list[dict]:
        """Every recorded transition of the event, oldest first: ``{phase, at, severity, event}``."""
        with self._read() as conn:
            if conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is None:
                raise NotFound(f"no event {event_id!r}")
            rows = conn.execute("SELECT phase, at, severity, json FROM event_log WHERE event_id = ? ORDER BY at, id",
                                (event_id,)).fetchall()
        return [{"phase": r["phase"], "at": iso(r["at"]), "severity": r["severity"], "event": json.loads(r["json"])}
                for r in rows]

    def _where(self, since: Any, until: Any, window_id: Any, camera_id: Any, types: Any, phases: Any,
               severity: Any, review_status: Any) -> Where:
        lo, hi = when("since", since), when("until", until)
        if lo is not None and hi is not None and lo > hi:
            raise InputError(f"since ({iso(lo)}) is after until ({iso(hi)})")
        where = Where().compare("started_at", ">=", lo).compare("started_at", "<", hi)
        for column, name, value, allowed in (
            ("window_id", "window_id", window_id, None),
            ("camera_id", "camera_id", camera_id, None),
            ("type", "types", types, tuple(EVENT_TYPES)),
            ("phase", "phases", phases, PHASES),
            ("severity", "severity", severity, SEVERITIES),
            ("review_status", "review_status", review_status, REVIEW_STATUSES),
        ):
            values = strings(name, value, allowed)
            if column == "phase" and values is not None and "ended" not in values:
                where.add("phase != 'ended'")  # implied, but lets SQLite use the small events_open index
            where.any_of(column, values)
        return where

    def list_events(self, *, since: Any = None, until: Any = None, window_id: Any = None, camera_id: Any = None,
                    types: Any = None, phases: Any = None, severity: Any = None, review_status: Any = None,
                    limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of events, newest first (started_at desc, id desc), and the cursor of the next page (or None).

        ``since``/``until`` bound ``started_at`` (since inclusive, until exclusive). The other filters take
        one value or a list (any of them matches); None or an empty list means no filter.
        """
        where = self._where(since, until, window_id, camera_id, types, phases, severity, review_status)
        page_limit(limit)
        if cursor is not None:
            where.add("(started_at, id) < (?, ?)", *decode_cursor(cursor))
        rows = self._conn().execute(f"SELECT * FROM events{where.sql()} ORDER BY started_at DESC, id DESC LIMIT ?",
                                    (*where.params, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["started_at"], rows[-1]["id"]) if more else None
        return [event_json(r) for r in rows], next_cursor

    def count_events(self, *, since: Any = None, until: Any = None, window_id: Any = None, camera_id: Any = None,
                     types: Any = None, phases: Any = None, severity: Any = None, review_status: Any = None) -> int:
        where = self._where(since, until, window_id, camera_id, types, phases, severity, review_status)
        return self._conn().execute(f"SELECT count(*) FROM events{where.sql()}", where.params).fetchone()[0]

    def open_events(self, camera_id: str | None = None) -> list[Event]:
        """Events not yet ended (oldest first), e.g. for a restarted worker to adopt or end."""
        # INDEXED BY: with statistics, SQLite may prefer the camera index and scan the whole camera
        sql = f"SELECT * FROM events {self.dialect.indexed_by('events_open')} WHERE phase != 'ended'"
        params: tuple = ()
        if camera_id is not None:
            sql += " AND camera_id = ?"
            params = (camera_id,)
        return [event_of(r) for r in self._conn().execute(sql + " ORDER BY started_at, id", params)]

    # ---- the dashboard's summaries ----

    def counts_by_type(self, since: float | None = None, *, without_false_positives: bool = False) -> dict[str, int]:
        """Events per type (those started at or after ``since``, if given; false positives left out, if asked)."""
        where = Where().compare("started_at", ">=", when("since", since))
        if without_false_positives:
            where.add("review_status != 'false_positive'")
        return dict(self._conn().execute(f"SELECT type, count(*) FROM events{where.sql()} GROUP BY type",
                                         where.params).fetchall())

    def last_log_id(self) -> int:
        """The id of the newest timeline entry (0 when there is none): where a live feed starts."""
        return self._conn().execute("SELECT coalesce(max(id), 0) FROM event_log").fetchone()[0]

    def log_after(self, after: int, limit: int) -> list[tuple[int, dict]]:
        """Timeline entries after id ``after``, oldest first, as ``(log id, the event's JSON at that transition)``,
        each with the event's review state as it is now (review_status, review_comment, reviewed_by)."""
        with self._read() as conn:
            rows = conn.execute("SELECT id, event_id, json FROM event_log WHERE id > ? ORDER BY id LIMIT ?",
                                (after, limit)).fetchall()
            ids = sorted({r["event_id"] for r in rows})
            review = {}
            if ids:
                review = {r["id"]: dict(r) for r in conn.execute(
                    f"SELECT id, review_status, review_comment, reviewed_by FROM events "
                    f"WHERE id IN ({', '.join('?' * len(ids))})", ids)}
        out = []
        for r in rows:
            event = json.loads(r["json"])
            event.update({k: v for k, v in review.get(r["event_id"], {}).items() if k != "id"})
            out.append((r["id"], event))
        return out

    def week_summary(self, midnights: list[float], top: int) -> dict:
        """``period_summary`` of a week: its 8 local midnights, so ``per_day`` is indexed by weekday 0-6."""
        if len(midnights) != 8:
            raise InputError(f"week_summary: expected the week's 8 midnights, got {len(midnights)}")
        summary = self.period_summary(midnights, top)
        summary["per_day"] = summary.pop("per_bucket")
        return summary

    def period_summary(self, bounds: list[float], top: int) -> dict:
        """A report's numbers for the period from ``bounds[0]`` to ``bounds[-1]``, cut into buckets at the
        bounds between (a day's hours, a week's or a month's local midnights), aggregated in SQLite over one
        range of the started_at index.

        An event counts in the period it started in, its duration cut at the period's end; false positives
        are left out and counted apart. Returns ``{"cells": [{place, type, n, total, longest}], "per_bucket":
        {bucket index: n}, "false_positives": n, "longest": [the ``top`` longest events]}``; a place is the
        window id, or ``camera:<id>`` for an event of a whole camera.
        """
        if len(bounds) < 2 or list(bounds) != sorted(bounds):
            raise InputError(f"period_summary: expected 2 or more bounds in order, got {len(bounds)}")
        span = {"lo": float(bounds[0]), "hi": float(bounds[-1])}
        real = "started_at >= :lo AND started_at < :hi AND review_status != 'false_positive'"
        # the seconds inside the period, never below 0 (CASE: SQLite's max(a, b) is PostgreSQL's greatest(a, b))
        end = "CASE WHEN coalesce(ended_at, updated_at) < :hi THEN coalesce(ended_at, updated_at) ELSE :hi END"
        secs = f"CASE WHEN {end} > started_at THEN {end} - started_at ELSE 0.0 END"
        bucket = " + ".join(f"CASE WHEN started_at >= {float(b)!r} THEN 1 ELSE 0 END" for b in bounds[1:-1]) or "0"
        with self._read() as conn:
            cells = [dict(r) for r in conn.execute(
                f"SELECT coalesce(window_id, 'camera:' || camera_id) AS place, type, count(*) AS n, "
                f"sum({secs}) AS total, max({secs}) AS longest FROM events WHERE {real} GROUP BY place, type", span)]
            per_bucket = {r["bucket"]: r["n"] for r in conn.execute(
                f"SELECT {bucket} AS bucket, count(*) AS n FROM events WHERE {real} GROUP BY bucket", span)}
            false_positives = conn.execute(
                "SELECT count(*) FROM events WHERE started_at >= :lo AND started_at < :hi "
                "AND review_status = 'false_positive'", span).fetchone()[0]
            longest = conn.execute(
                f"SELECT id, type, camera_id, window_id, severity, started_at, staff_name, {secs} AS secs "
                f"FROM events WHERE {real} ORDER BY secs DESC, id LIMIT {int(top)}", span).fetchall()
        return {"cells": cells, "per_bucket": per_bucket, "false_positives": false_positives,
                "longest": [{"id": r["id"], "type": r["type"], "window_id": r["window_id"],
                             "camera_id": r["camera_id"], "severity": r["severity"], "staff_name": r["staff_name"],
                             "started_at": iso(r["started_at"]), "seconds": r["secs"]} for r in longest]}

    def neighbours(self, event_id: str) -> dict:
        """The events beside this one in the events list's order (newest first): ``newer`` (previous),
        ``older`` (next), and ``next_new``, the next event still to review (older first, then from the
        newest again); each an id or None."""
        with self._read() as conn:
            row = conn.execute("SELECT started_at, id FROM events WHERE id = ?", (event_id,)).fetchone()
            if row is None:
                raise NotFound(f"no event {event_id!r}")
            key = (row["started_at"], row["id"])
            older = conn.execute("SELECT id FROM events WHERE (started_at, id) < (?, ?) "
                                 "ORDER BY started_at DESC, id DESC LIMIT 1", key).fetchone()
            newer = conn.execute("SELECT id FROM events WHERE (started_at, id) > (?, ?) "
                                 "ORDER BY started_at, id LIMIT 1", key).fetchone()
            next_new = conn.execute(
                "SELECT id FROM events WHERE review_status = 'new' AND (started_at, id) < (?, ?) "
                "ORDER BY started_at DESC, id DESC LIMIT 1", key).fetchone() or conn.execute(
                "SELECT id FROM events WHERE review_status = 'new' AND id != ? "
                "ORDER BY started_at DESC, id DESC LIMIT 1", (event_id,)).fetchone()
        return {"newer": newer and newer[0], "older": older and older[0], "next_new": next_new and next_new[0]}
