"""What the robots still have to tell, kept in the store so a ``kill -9`` loses nothing.

Tables (their DDL in tables.py, numbered in vision/store/schema.py):

- ``notify_cursor``: per robot, the last outbox ``seq`` it has taken in. A robot seen for the first
  time starts at the newest message: adding a robot does not post the hall's history.
- ``notify_queue``: per robot, every alert it wants, with the outbox ``seq`` it came from, the key
  it is grouped by (window, or ``camera:<id>``) and ``sent_at`` once a message told it.
- ``notify_windows``: per robot and key, when the last message went (the rate limit counts from it)
  and the retry state of a failing send.
- ``notify_share_key``: the key that signs snapshot links (links.py).

Taking in is one transaction (queue rows + cursor), so a crash redoes a batch or not at all. A
message is posted, then its alerts are marked sent: a crash in between posts them again (at least
once), never drops them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vision.notify.messages import Alert

RETRY_S: tuple[float, ...] = (5, 15, 60, 300, 600)
"""Wait after the 1st, 2nd, ... failed send of a window's batch; the last repeats."""
KEEP_TOLD_S = 7 * 86400
"""Told alerts are kept this long (to see what went), then dropped from the queue."""


@dataclass(frozen=True)
class Batch:
    """The alerts of one robot and window not yet told, oldest first (the newest is the headline)."""

    robot_id: str
    window_key: str
    seqs: tuple[int, ...]
    alerts: tuple[Alert, ...]
    attempts: int


def start_cursor(conn: sqlite3.Connection, robot_id: str, now: float) -> None:
    """A robot seen for the first time starts after the newest outbox message."""
    conn.execute("INSERT INTO notify_cursor (robot_id, seq, updated_at) "
                 "SELECT ?, COALESCE(MAX(seq), 0), ? FROM outbox WHERE true ON CONFLICT DO NOTHING", (robot_id, now))


def take_in(store, robot_id: str, wants: Callable[[str, dict], bool], batch: int = 500) -> int:
    """Queue the alerts this robot wants from the outbox after its cursor; returns how many were queued."""
    queued = 0
    with store.write() as conn:
        now = time.time()
        start_cursor(conn, robot_id, now)
        cursor = conn.execute("SELECT seq FROM notify_cursor WHERE robot_id = ?", (robot_id,)).fetchone()[0]
        messages = store.outbox_after(cursor, batch)  # this thread's connection: the same transaction
        if not messages:
            return 0
        for msg in messages:
            data = json.loads(msg["body"]).get("data") or {}
            if not wants(msg["type"], data):
                continue
            alert = Alert.from_event_json(data)
            queued += conn.execute(
                "INSERT INTO notify_queue (robot_id, seq, window_key, event_id, alert, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (robot_id, msg["seq"], alert.window_key, alert.event_id, json.dumps(data, ensure_ascii=False),
                 now)).rowcount
        conn.execute("UPDATE notify_cursor SET seq = ?, updated_at = ? WHERE robot_id = ?",
                     (messages[-1]["seq"], now, robot_id))
    return queued


def due(store, robot_id: str, min_interval_s: float, now: float, limit: int = 200) -> list[Batch]:
    """The batches to send now: windows with untold alerts whose last message is ``min_interval_s``
    old (or that never had one) and whose retry, if any, is due. Oldest waiting first."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT q.window_key, MIN(q.seq) AS first, w.last_sent_at, w.attempts, w.next_attempt_at"
            " FROM notify_queue q LEFT JOIN notify_windows w ON w.robot_id = q.robot_id AND"
            " w.window_key = q.window_key WHERE q.robot_id = ? AND q.sent_at IS NULL"
            " GROUP BY q.window_key, w.last_sent_at, w.attempts, w.next_attempt_at ORDER BY first",  # w: one row
            (robot_id,)).fetchall()
        out = []
        for row in rows:
            if row["last_sent_at"] is not None and row["last_sent_at"] + min_interval_s > now:
                continue
            if row["next_attempt_at"] is not None and row["next_attempt_at"] > now:
                continue
            items = conn.execute(
                "SELECT seq, alert FROM notify_queue WHERE robot_id = ? AND window_key = ? AND sent_at IS NULL"
                " ORDER BY seq LIMIT ?", (robot_id, row["window_key"], limit)).fetchall()
            out.append(Batch(robot_id, row["window_key"], tuple(r["seq"] for r in items),
                             tuple(Alert.from_event_json(json.loads(r["alert"])) for r in items),
                             row["attempts"] or 0))
    return out


def next_wake(store, robot_id: str, min_interval_s: float) -> float | None:
    """When the earliest held batch of this robot becomes due (None: nothing waits)."""
    with store.read() as conn:
        row = conn.execute(
            # the later of the two times per window (CASE: SQLite's max(a, b) is PostgreSQL's greatest)
            "SELECT MIN(CASE WHEN t.interval_end > t.retry THEN t.interval_end ELSE t.retry END) FROM"
            " (SELECT COALESCE(w.last_sent_at + ?, 0) AS interval_end, COALESCE(w.next_attempt_at, 0) AS retry FROM"
            " (SELECT DISTINCT window_key FROM notify_queue WHERE robot_id = ? AND sent_at IS NULL) q"
            " LEFT JOIN notify_windows w ON w.robot_id = ? AND w.window_key = q.window_key) t",
            (min_interval_s, robot_id, robot_id)).fetchone()
    return row[0] if row and row[0] is not None else None


def told(store, batch: Batch, now: float) -> None:
    """The batch's message went out: its alerts are told, the window's interval starts now."""
    with store.write() as conn:
        conn.executemany("UPDATE notify_queue SET sent_at = ? WHERE robot_id = ? AND seq = ?",
                         [(now, batch.robot_id, seq) for seq in batch.seqs])
        conn.execute(
            "INSERT INTO notify_windows (robot_id, window_key, last_sent_at, attempts, next_attempt_at, last_error)"
            " VALUES (?, ?, ?, 0, NULL, NULL) ON CONFLICT (robot_id, window_key) DO UPDATE SET"
            " last_sent_at = excluded.last_sent_at, attempts = 0, next_attempt_at = NULL, last_error = NULL",
            (batch.robot_id, batch.window_key, now))
        conn.execute("DELETE FROM notify_queue WHERE robot_id = ? AND sent_at < ?", (batch.robot_id, now - KEEP_TOLD_S))


def failed(store, batch: Batch, now: float, error: str, wait_s: float | None = None,
           schedule: Iterable[float] = RETRY_S) -> float:
    """The send failed: try again later (``wait_s``, or the schedule); returns the delay."""
    steps = tuple(schedule)
    delay = steps[min(batch.attempts, len(steps) - 1)]
    if wait_s is not None:
        delay = max(delay, wait_s)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO notify_windows (robot_id, window_key, last_sent_at, attempts, next_attempt_at, last_error)"
            " VALUES (?, ?, NULL, 1, ?, ?) ON CONFLICT (robot_id, window_key) DO UPDATE SET"
            " attempts = attempts + 1, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error",
            (batch.robot_id, batch.window_key, now + delay, error))
    return delay


def status(store, robot_id: str) -> dict:
    """How far a robot is: untold alerts, told alerts, windows failing (for logs and tests)."""
    with store.read() as conn:
        untold, told_n = conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 0 ELSE 1 END), 0) FROM notify_queue"
            " WHERE robot_id = ?", (robot_id,)).fetchone()
        failing = [dict(r) for r in conn.execute(
            "SELECT window_key, attempts, last_error FROM notify_windows WHERE robot_id = ? AND attempts > 0",
            (robot_id,))]
    return {"untold": untold, "told": told_n, "failing": failing}
