"""Server-Sent Events for the board: alerts and window states pushed as they happen.

The real server answers ``/events/stream`` on its event loop (dashboard/streams.py, same protocol,
one shared poll for all boards); this Flask route is what a WSGI caller (the Flask test client,
another WSGI server) gets, and the helpers here are shared by both.

``GET /events/stream`` follows the store's outbox by ``seq`` (vision/store/feed.py). Every event
transition and every review is a message there, written by whichever process made it (the
cameras' worker, this dashboard, another one, the API), so every open board sees the same
messages: each stream polls SQLite (an indexed ``seq > ?`` lookup, microseconds) and sends what
is new. Each message carries its outbox ``seq`` as the SSE ``id``, so a browser that reconnects
sends ``Last-Event-ID`` and gets exactly what it missed. An ``alert`` message is the event's own
JSON at that transition (``Event.to_json()``, as /api and the webhook ``data`` carry it) plus its
review state now and its event_log id (``log_id``); a ``review`` message is the event as
``GET /api/events/<id>`` has it now plus ``review`` (the history row: who, when, status, comment).
Both carry ``seq`` and the text the board shows under ``display`` (present.alert_json). The board's
tiles are sent as a ``board`` message whenever they change. A comment line
is sent as a heartbeat when nothing else was, so proxies keep the connection open.
A stream ends after ``HM_SSE_MAX_S`` and the browser reconnects (freeing a server thread now
and then); ``retry:`` tells it to do so within two seconds.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, request, session, stream_with_context

from .auth import accounts, require
from .board import board_tiles
from .present import alert_json, hall, store

bp = Blueprint("sse", __name__)

DEFAULTS = {"HM_SSE_POLL_S": 1.0, "HM_SSE_HEARTBEAT_S": 15.0, "HM_SSE_MAX_S": 600.0}
BATCH = 200


def _setting(name: str) -> float:
    return float(current_app.config.get(name, DEFAULTS[name]))


def last_seq() -> int:
    return store().last_feed_seq()


def feed_after(after: int, limit: int = BATCH) -> list[tuple[str, dict]]:
    """Outbox messages after ``after`` as ``(SSE event name, data)``: alerts and reviews as the pages show them."""
    return [(kind, {"seq": seq, **alert_json(data)}) for seq, kind, data in store().feed_after(after, limit)]


def _start_id() -> int:
    for raw in (request.headers.get("Last-Event-ID"), request.args.get("after")):
        if raw is not None and raw.strip().isdigit():
            return int(raw.strip())
    return last_seq()


def _message(data: dict, event: str, msg_id: int | None = None) -> str:
    head = f"id: {msg_id}\n" if msg_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


@bp.get("/events/stream")
@require("viewer", token=False)
def stream():
    after = _start_id()
    poll_s, heartbeat_s, max_s = (_setting(k) for k in ("HM_SSE_POLL_S", "HM_SSE_HEARTBEAT_S", "HM_SSE_MAX_S"))

    sid = session.get("sid")
    max_age_s = current_app.permanent_session_lifetime.total_seconds()

    def generate():
        nonlocal after
        started = last_sent = time.monotonic()
        board_before = None
        yield f"retry: 2000\n: stream from outbox seq {after}\n\n"
        while True:
            # a session ended meanwhile (logout, user disabled, role or password changed) ends the stream
            if sid and accounts().session_user(sid, max_age_s) is None:
                yield _message({"reason": "session ended: log in again"}, "logout")
                return
            sent = False
            for kind, data in feed_after(after):
                after = data["seq"]
                yield _message(data, kind, after)
                sent = True
            tiles = board_tiles(hall(), store())
            if tiles != board_before:
                board_before = tiles
                yield _message({"tiles": tiles}, "board")
                sent = True
            now = time.monotonic()
            if sent:
                last_sent = now
            elif now - last_sent >= heartbeat_s:
                yield f": heartbeat {int(time.time())}\n\n"
                last_sent = now
            if now - started >= max_s:
                return
            time.sleep(poll_s)

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
