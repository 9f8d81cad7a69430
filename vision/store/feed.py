"""The live feed the boards follow: every outbox message in order, transitions and reviews alike.

The outbox holds one message per event transition (its ``event_log`` row) and one per review (its
``event_reviews`` row), numbered by ``seq`` in commit order, whichever process wrote them. A board
stream follows ``seq``, so a review made in one browser, or by the API, reaches every open board
the same way an alert does, and a stream that reconnects with the last ``seq`` it saw gets exactly
what it missed.
"""

from __future__ import annotations

import json

from vision.store.connection import Connections
from vision.store.events import event_json
from vision.store.reviews import review_json

_REVIEW_STATE = ("review_status", "review_comment", "reviewed_by", "reviewed_at")


class LiveFeed(Connections):
    """Reading the outbox as the boards' feed."""

    def last_feed_seq(self) -> int:
        """The seq of the newest outbox message (0 when there is none): where a live feed starts."""
        return self._conn().execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0]

    def feed_after(self, after: int, limit: int) -> list[tuple[int, str, dict]]:
        """Outbox messages after ``after``, oldest first, as ``(seq, kind, data)``.

        ``kind`` is ``alert`` for a transition (data: the event's JSON at that transition, with its
        ``log_id`` and its review state as it is now) or ``review`` (data: the event as get_event has it
        now, with ``review``, the history row).
        """
        with self._read() as conn:
            rows = conn.execute(
                "SELECT o.seq, o.event_id, o.log_id, l.json, r.id AS review_id, r.event_id AS r_event_id,"
                " r.status, r.comment, r.user_name, r.at FROM outbox o"
                " LEFT JOIN event_log l ON l.id = o.log_id LEFT JOIN event_reviews r ON r.id = o.review_id"
                " WHERE o.seq > ? ORDER BY o.seq LIMIT ?", (after, limit)).fetchall()
            ids = sorted({r["event_id"] for r in rows})
            now = {}
            if ids:
                now = {r["id"]: event_json(r) for r in conn.execute(
                    f"SELECT * FROM events WHERE id IN ({', '.join('?' * len(ids))})", ids)}
        out = []
        for r in rows:
            current = now.get(r["event_id"])
            if current is None:
                continue
            if r["log_id"] is not None:
                event = json.loads(r["json"])
                event.update({k: current[k] for k in _REVIEW_STATE}, log_id=r["log_id"])
                out.append((r["seq"], "alert", event))
            else:
                review = review_json({"id": r["review_id"], "event_id": r["r_event_id"], "status": r["status"],
                                      "comment": r["comment"], "user_name": r["user_name"], "at": r["at"]})
                out.append((r["seq"], "review", {**current, "review": review}))
        return out
