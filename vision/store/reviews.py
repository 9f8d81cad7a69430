"""The review history of events (处置记录): who set which status when, with what comment.

Every review is one row of ``event_reviews``, written in the same transaction as the event row's
current review state (``events.review_status`` and friends) and an ``event.reviewed`` message in the
webhook outbox, so the board streams, the API and the webhook all see the same review. Reviewing
several events at once (:meth:`ReviewRecords.review_events`) is still one transaction: all or none.

The event's current comment is the latest non-empty one: acknowledging with a comment and then
resolving without one keeps the comment (the history has both reviews). This module owns
``event_reviews`` (migration 10, numbered in vision/store/schema.py); the same migration lets the
outbox hold review messages (vision/store/events.py ``allow_review_messages``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from vision.errors import InputError, NotFound
from vision.events import iso
from vision.store.checks import dumps, one_of, text, when
from vision.store.connection import Connections
from vision.store.ddl import ddl
from vision.store.events import REVIEW_STATUSES, event_json, event_of, new_message_id

REVIEWED = "event.reviewed"
MAX_BULK = 500            # events in one bulk review (the events list shows 50 a page)
MAX_COMMENT = 2000


def create_tables(conn: sqlite3.Connection) -> None:
    """Part of migration 10: the review history, filled from the reviews the events rows already hold."""
    ddl(
        conn,
        f"""CREATE TABLE event_reviews (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id  TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
            status    TEXT NOT NULL CHECK (status IN ({', '.join(repr(s) for s in REVIEW_STATUSES)})),
            comment   TEXT,
            user_name TEXT,
            at        REAL NOT NULL
        )""",
        "CREATE INDEX event_reviews_by_event ON event_reviews (event_id, id)",
        # a database from before the history kept only the last review of each event: that is its history
        "INSERT INTO event_reviews (event_id, status, comment, user_name, at)"
        " SELECT id, review_status, review_comment, reviewed_by, reviewed_at FROM events"
        " WHERE reviewed_at IS NOT NULL ORDER BY reviewed_at, id",
    )


def review_json(row: sqlite3.Row | Mapping[str, Any]) -> dict:
    return {"id": row["id"], "event_id": row["event_id"], "status": row["status"], "comment": row["comment"],
            "user": row["user_name"], "at": iso(row["at"])}


def _ids(event_ids: Any) -> list[str]:
    if isinstance(event_ids, str) or not isinstance(event_ids, (list, tuple)):
        raise InputError(f"ids: expected a list of event ids, got {type(event_ids).__name__}")
    if not event_ids:
        raise InputError("ids: give at least one event id")
    if len(event_ids) > MAX_BULK:
        raise InputError(f"ids: at most {MAX_BULK} events at once, got {len(event_ids)}")
    out: list[str] = []
    for i, value in enumerate(event_ids):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"ids[{i}]: expected an event id (text), got {value!r}")
        if value not in out:
            out.append(value)
    return out


class ReviewRecords(Connections):
    """Reviewing events and reading their review history."""

    def review_events(self, event_ids: list[str], status: str, comment: str | None = None,
                      user: str | None = None, at: float | None = None) -> list[dict]:
        """Set the review of each event in one transaction: a history row, the event row's current review
        and an ``event.reviewed`` outbox message each. Returns the events as get_event does, in the order
        given (duplicates once). An unknown id fails the whole call (NotFound naming it); nothing is written."""
        ids = _ids(event_ids)
        one_of("review status", status, REVIEW_STATUSES)
        if comment is not None and not isinstance(comment, str):
            raise InputError(f"review comment: expected text, got {type(comment).__name__}")
        comment = (comment or "").strip() or None
        if comment is not None and len(comment) > MAX_COMMENT:
            raise InputError(f"review comment: at most {MAX_COMMENT} characters")
        text("reviewed_by", user, required=False)
        at = time.time() if at is None else when("reviewed_at", at)
        out = []
        with self._write() as conn:
            found = {r[0] for r in conn.execute(
                f"SELECT id FROM events WHERE id IN ({', '.join('?' * len(ids))})", ids)}
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"no event {', '.join(map(repr, missing[:5]))}"
                               f"{f' (and {len(missing) - 5} more)' if len(missing) > 5 else ''}; nothing was reviewed")
            now = time.time()
            for event_id in ids:
                review_id = conn.execute(
                    "INSERT INTO event_reviews (event_id, status, comment, user_name, at) VALUES (?, ?, ?, ?, ?)"
                    " RETURNING id", (event_id, status, comment, user, at)).fetchone()[0]
                conn.execute(
                    "UPDATE events SET review_status = ?, review_comment = coalesce(?, review_comment),"
                    " reviewed_by = ?, reviewed_at = ? WHERE id = ?", (status, comment, user, at, event_id))
                row = conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
                review = review_json(conn.execute("SELECT * FROM event_reviews WHERE id = ?", (review_id,)).fetchone())
                payload = dumps({"type": REVIEWED, "timestamp": review["at"], "data": event_of(row).to_json(),
                                 "review": review})
                conn.execute(
                    "INSERT INTO outbox (id, review_id, event_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (new_message_id(), review_id, event_id, REVIEWED, payload, now))
                out.append(event_json(row))
        return out

    def set_review(self, event_id: str, status: str, comment: str | None = None, user: str | None = None,
                   at: float | None = None) -> dict:
        """Review one event (new, acknowledged, resolved, false_positive); returns the event as get_event does."""
        return self.review_events([event_id], status, comment, user, at)[0]

    def reviews(self, event_id: str) -> list[dict]:
        """The event's review history, oldest first: ``{id, event_id, status, comment, user, at}``."""
        with self._read() as conn:
            if conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is None:
                raise NotFound(f"no event {event_id!r}")
            rows = conn.execute("SELECT * FROM event_reviews WHERE event_id = ? ORDER BY id", (event_id,)).fetchall()
        return [review_json(r) for r in rows]
