"""The events table (each event's latest state), its timeline (``event_log``) and the webhook outbox.

One transition of an event is one transaction here: the row, a timeline entry and an outbox message
(:meth:`EventRecords.record`), so a webhook is never sent for an event the store lost, nor an event
kept whose webhook was never queued. This module owns those three tables (migration 1, numbered in
vision/store/schema.py; migration 9 lets the outbox carry reviews too) and the writes to them;
vision/store/event_queries.py reads them, vision/store/reviews.py writes reviews.

Times go in as Unix seconds (floats, as in :class:`vision.events.Event`) and come out of the dict
methods as ISO 8601 strings, the way ``/api`` serves them.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import replace

from vision.errors import InputError, NotFound
from vision.events import Event, iso
from vision.store.checks import dumps
from vision.store.connection import Connections
from vision.store.ddl import ddl
from vision.store.dialect import dialect_of
from vision.store.rota import staff_on_duty

log = logging.getLogger(__name__)

REVIEW_STATUSES = ("new", "acknowledged", "resolved", "false_positive")

MESSAGE_TYPES = ("event.started", "event.updated", "event.ended", "camera.offline", "camera.online",
                 "window.paused", "window.resumed", "event.reviewed")

_SPECIAL_MESSAGES = {
    ("camera_offline", "started"): "camera.offline",
    ("camera_offline", "ended"): "camera.online",
    ("window_paused", "started"): "window.paused",
    ("window_paused", "ended"): "window.resumed",
}



def message_type(event: Event) -> str:
    """The webhook ``type`` of one event transition, e.g. ``camera.offline`` or ``event.updated``."""
    return _SPECIAL_MESSAGES.get((event.type, event.phase), f"event.{event.phase}")


def new_message_id() -> str:
    """A webhook message id (Standard Webhooks ``webhook-id``): ``msg_`` + 32 random hex digits."""
    return f"msg_{secrets.token_hex(16)}"



def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 1: events, their timeline and the webhook outbox."""
    ddl(
        conn,
        """CREATE TABLE events (
            id            TEXT PRIMARY KEY,
            type          TEXT NOT NULL,
            camera_id     TEXT NOT NULL,
            window_id     TEXT,
            phase         TEXT NOT NULL CHECK (phase IN ('started', 'updated', 'ended')),
            severity      TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            started_at    REAL NOT NULL,
            updated_at    REAL NOT NULL,
            ended_at      REAL,
            score         REAL NOT NULL DEFAULT 0,
            evidence      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(evidence)),
            details       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
            snapshot      TEXT,
            clip          TEXT,
            review_status TEXT NOT NULL DEFAULT 'new'
                          CHECK (review_status IN ('new', 'acknowledged', 'resolved', 'false_positive')),
            review_comment TEXT,
            reviewed_by   TEXT,
            reviewed_at   REAL,
            keep          INTEGER NOT NULL DEFAULT 0 CHECK (keep IN (0, 1)),
            CHECK ((phase = 'ended') = (ended_at IS NOT NULL))
        )""",
        # the dashboard lists newest first and filters by one of these; each index ends in
        # (started_at, id) so a filtered page is one index range in keyset order
        "CREATE INDEX events_by_start ON events (started_at, id)",
        "CREATE INDEX events_by_window ON events (window_id, started_at, id)",
        "CREATE INDEX events_by_camera ON events (camera_id, started_at, id)",
        "CREATE INDEX events_by_type ON events (type, started_at, id)",
        # events still open: a few among many; the list query adds "phase != 'ended'" so this one applies
        "CREATE INDEX events_open ON events (started_at, id) WHERE phase != 'ended'",
        "CREATE INDEX events_by_severity ON events (severity, started_at, id)",
        "CREATE INDEX events_by_review ON events (review_status, started_at, id)",
        "CREATE INDEX events_kept ON events (id) WHERE keep = 1",
        """CREATE TABLE event_log (
            id        INTEGER PRIMARY KEY,
            event_id  TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
            phase     TEXT NOT NULL CHECK (phase IN ('started', 'updated', 'ended')),
            at        REAL NOT NULL,
            severity  TEXT NOT NULL,
            json      TEXT NOT NULL CHECK (json_valid(json)),
            UNIQUE (event_id, phase, at)
        )""",
        """CREATE TABLE outbox (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            id         TEXT NOT NULL UNIQUE,
            log_id     INTEGER NOT NULL UNIQUE REFERENCES event_log (id) ON DELETE CASCADE,
            event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
            type       TEXT NOT NULL,
            payload    TEXT NOT NULL CHECK (json_valid(payload)),
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX outbox_by_event ON outbox (event_id)",
    )


def allow_review_messages(conn: sqlite3.Connection) -> None:
    """Part of migration 9: an outbox message is a transition (``log_id``, an event_log row) or a review
    (``review_id``, an event_reviews row, vision/store/reviews.py), exactly one of the two.

    SQLite cannot drop a NOT NULL in place, so the table is rebuilt: same seq, ids and payloads (the
    dispatcher's cursor and every delivery keep pointing at the same messages). Dropping the old table
    cascades to ``deliveries`` (foreign keys are on, and cannot be turned off inside the migration's
    transaction), so the deliveries are kept aside and put back.
    """
    if dialect_of(conn).alters_constraints:   # PostgreSQL changes the table in place; seq, ids and deliveries stay
        ddl(
            conn,
            "ALTER TABLE outbox ALTER COLUMN log_id DROP NOT NULL",
            "ALTER TABLE outbox ADD COLUMN review_id INTEGER UNIQUE REFERENCES event_reviews (id) ON DELETE CASCADE",
            "ALTER TABLE outbox ADD CHECK ((log_id IS NULL) != (review_id IS NULL))",
        )
        return
    old_seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    ddl(
        conn,
        """CREATE TABLE outbox_v9 (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            id         TEXT NOT NULL UNIQUE,
            log_id     INTEGER UNIQUE REFERENCES event_log (id) ON DELETE CASCADE,
            review_id  INTEGER UNIQUE REFERENCES event_reviews (id) ON DELETE CASCADE,
            event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
            type       TEXT NOT NULL,
            payload    TEXT NOT NULL CHECK (json_valid(payload)),
            created_at REAL NOT NULL,
            CHECK ((log_id IS NULL) != (review_id IS NULL))
        )""",
        "INSERT INTO outbox_v9 (seq, id, log_id, event_id, type, payload, created_at)"
        " SELECT seq, id, log_id, event_id, type, payload, created_at FROM outbox ORDER BY seq",
        "CREATE TEMP TABLE deliveries_kept AS SELECT * FROM deliveries",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_v9 RENAME TO outbox",
        "INSERT INTO deliveries SELECT * FROM temp.deliveries_kept",
        "DROP TABLE temp.deliveries_kept",
        "CREATE INDEX outbox_by_event ON outbox (event_id)",
    )
    if old_seq is not None:   # AUTOINCREMENT never reuses a seq, even of a message that was removed
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'", (old_seq[0],))


# ---- rows -> JSON ----

def event_of(row: sqlite3.Row) -> Event:
    return Event(
        id=row["id"], type=row["type"], camera_id=row["camera_id"], window_id=row["window_id"],
        phase=row["phase"], severity=row["severity"], started_at=row["started_at"],
        updated_at=row["updated_at"], ended_at=row["ended_at"], score=row["score"],
        evidence=json.loads(row["evidence"]), details=json.loads(row["details"]),
        snapshot=row["snapshot"], clip=row["clip"], staff=staff_of(row),
    )


def staff_of(row: sqlite3.Row) -> dict | None:
    """The staff member the event row names (from the rota), or None."""
    if row["staff_number"] is None:
        return None
    return {"name": row["staff_name"], "number": row["staff_number"]}


def add_staff_columns(conn: sqlite3.Connection) -> None:
    """Part of migration 13: each event names the staff member on duty at its window when it started
    (vision/store/rota.py fills them in: when the event is recorded, and when a rota is imported late)."""
    ddl(
        conn,
        "ALTER TABLE events ADD COLUMN staff_name TEXT",
        "ALTER TABLE events ADD COLUMN staff_number TEXT",
        "CREATE INDEX events_by_staff ON events (staff_number, started_at, id)",
    )


def event_json(row: sqlite3.Row) -> dict:
    data = event_of(row).to_json()
    data.update(
        review_status=row["review_status"], review_comment=row["review_comment"],
        reviewed_by=row["reviewed_by"], reviewed_at=iso(row["reviewed_at"]), keep=bool(row["keep"]),
    )
    return data



_UPSERT_EVENT = """
INSERT INTO events (id, type, camera_id, window_id, phase, severity, started_at, updated_at, ended_at,
                    score, evidence, details, snapshot, clip, staff_name, staff_number)
VALUES (:id, :type, :camera_id, :window_id, :phase, :severity, :started_at, :updated_at, :ended_at,
        :score, :evidence, :details, :snapshot, :clip, :staff_name, :staff_number)
ON CONFLICT (id) DO UPDATE SET
    type = excluded.type, camera_id = excluded.camera_id, window_id = excluded.window_id,
    phase = excluded.phase, severity = excluded.severity, started_at = excluded.started_at,
    updated_at = excluded.updated_at, ended_at = excluded.ended_at, score = excluded.score,
    evidence = excluded.evidence, details = excluded.details,
    snapshot = COALESCE(excluded.snapshot, events.snapshot), clip = COALESCE(excluded.clip, events.clip),
    staff_name = excluded.staff_name, staff_number = excluded.staff_number
"""


class EventRecords(Connections):
    """Writing events: their transitions, clip and keep marks; reading the outbox (reviews: reviews.py)."""

    def record(self, event: Event) -> bool:
        """Store one transition: the event row, a timeline entry and a webhook outbox row, in one transaction.

        Returns True when the transition is new. Recording the same transition again (same id, phase and
        ``updated_at``) adds nothing to the timeline or outbox; it only refreshes the row's content (e.g. a
        clip path attached later). A transition for an event that has already ended, a second ``started``,
        or one older than the stored state is ignored (logged, returns False).
        """
        with self._write() as conn:
            return self._record(conn, event, time.time())

    def record_many(self, events: Iterable[Event]) -> int:
        """``record`` for many transitions in one transaction (bulk import, benchmark); returns how many were new."""
        with self._write() as conn:
            now = time.time()
            return sum(self._record(conn, event, now) for event in events)

    def _record(self, conn: sqlite3.Connection, event: Event, now: float) -> bool:
        if not isinstance(event, Event):
            raise InputError(f"record: expected an Event, got {type(event).__name__}")
        row = conn.execute("SELECT phase, updated_at, staff_name, staff_number FROM events WHERE id = ?",
                           (event.id,)).fetchone()
        # who was on duty when it started: written with the event, so its webhook, its timeline and later
        # reads all name the same person, whatever the rota says afterwards (a late import fills in the
        # events it finds without one: vision/store/rota.py)
        staff = event.staff or (staff_of(row) if row is not None else None)
        if staff is None:
            staff = staff_on_duty(conn, event.window_id, event.started_at)
        if staff != event.staff:
            event = replace(event, staff=staff)
        data = event.to_json()
        try:
            values = {
                "id": event.id, "type": event.type, "camera_id": event.camera_id, "window_id": event.window_id,
                "phase": event.phase, "severity": event.severity, "started_at": float(event.started_at),
                "updated_at": float(event.updated_at), "ended_at": event.ended_at, "score": float(event.score),
                "evidence": dumps(event.evidence), "details": dumps(event.details),
                "snapshot": event.snapshot, "clip": event.clip,
                "staff_name": staff["name"] if staff else None, "staff_number": staff["number"] if staff else None,
            }
            event_text = dumps(data)
        except (TypeError, ValueError) as exc:
            raise InputError(f"event {event.id}: evidence/details must be plain JSON values ({exc})") from None
        if (event.phase == "ended") != (event.ended_at is not None):
            raise InputError(f"event {event.id}: ended_at must be set exactly when the phase is 'ended' "
                             f"(phase {event.phase!r}, ended_at {event.ended_at!r}); use Event.advance()")

        seen = conn.execute("SELECT 1 FROM event_log WHERE event_id = ? AND phase = ? AND at = ?",
                            (event.id, event.phase, values["updated_at"])).fetchone()
        if seen:
            if row is not None and row["phase"] == event.phase and row["updated_at"] == values["updated_at"]:
                conn.execute(_UPSERT_EVENT, values)  # the same transition again: refresh, no new messages
            return False
        if row is not None:
            reason = None
            if row["phase"] == "ended":
                reason = "the event has already ended"
            elif event.phase == "started":
                reason = "the event has already started"
            elif values["updated_at"] < row["updated_at"]:
                reason = f"it is older than the stored state ({iso(row['updated_at'])})"
            if reason:
                log.warning("ignored %s of event %s at %s: %s", event.phase, event.id, iso(event.updated_at), reason)
                return False
        conn.execute(_UPSERT_EVENT, values)
        log_id = conn.execute(
            "INSERT INTO event_log (event_id, phase, at, severity, json) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (event.id, event.phase, values["updated_at"], event.severity, event_text)).fetchone()[0]
        kind = message_type(event)
        # {"type", "timestamp", "data"}, reusing the event text serialised above
        payload = f'{{"type":{dumps(kind)},"timestamp":{dumps(data["updated_at"])},"data":{event_text}}}'
        conn.execute(
            "INSERT INTO outbox (id, log_id, event_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (new_message_id(), log_id, event.id, kind, payload, now))
        return True

    def set_clip(self, event_id: str, clip: str) -> None:
        """Name the event's clip once its file is written (the event row; later transitions carry it)."""
        with self._write() as conn:
            conn.execute("UPDATE events SET clip = ? WHERE id = ?", (clip, event_id))

    def set_keep(self, event_id: str, keep: bool) -> None:
        """Mark the event's clip and snapshot as kept: retention must never delete them."""
        if not isinstance(keep, bool):
            raise InputError(f"keep: expected true or false, got {keep!r}")
        with self._write() as conn:
            if not conn.execute("UPDATE events SET keep = ? WHERE id = ?", (int(keep), event_id)).rowcount:
                raise NotFound(f"no event {event_id!r}")

    def kept_event_ids(self) -> set[str]:
        return {r[0] for r in self._conn().execute("SELECT id FROM events WHERE keep = 1")}

    # ---- webhook outbox ----

    def outbox_after(self, after: int = 0, limit: int = 100) -> list[dict]:
        """Outbox messages with ``seq`` greater than ``after``, in order.

        Each is ``{seq, id, event_id, type, body, created_at}``; ``id`` is the webhook-id and ``body`` the
        exact JSON text to sign and send (``{"type", "timestamp", "data"}``), the same on every retry.
        """
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InputError(f"after: expected an outbox seq (a whole number >= 0), got {after!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InputError(f"limit: expected a whole number from 1 to 10000, got {limit!r}")
        rows = self._conn().execute(
            "SELECT seq, id, event_id, type, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit)).fetchall()
        return [{"seq": r["seq"], "id": r["id"], "event_id": r["event_id"], "type": r["type"],
                 "body": r["payload"], "created_at": iso(r["created_at"])} for r in rows]
