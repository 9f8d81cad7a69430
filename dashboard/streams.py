"""The boards' open streams, held on one event loop instead of one server thread each.

The web server (dashboard/server.py) is an ASGI server. ``GET /events/stream`` is answered here,
by an async generator per board; every other path goes to the Flask app through a WSGI adapter
that runs it in a thread pool. So 200 open boards cost 200 small coroutines, not 200 threads, and
the API keeps its threads.

One ``StreamHub`` per server polls the store once per ``HM_SSE_POLL_S`` for everybody (new
outbox messages: alerts and reviews, the board tiles, whether each open session still lives) in a worker thread,
and hands the result to every board's queue. The protocol is the one of dashboard/sse.py byte for
byte (``retry:``, ``event: alert`` / ``event: review`` with the outbox seq as ``id:``, ``event: board``, heartbeat
comments, ``event: logout`` when the session ends, resume by ``Last-Event-ID`` or ``?after=``).

Who may open a stream is decided by the Flask app itself: the request's headers go through the
app's own ``before_request`` (session cookie, server-side session check) in a request context.
Anything it does not let through as a logged-in user is handed to the Flask route, which answers
401 / 403 / the login redirect exactly as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from flask import g, session
from werkzeug.exceptions import HTTPException

from .auth import accounts
from .board import board_tiles
from .present import hall, store
from .sse import BATCH, DEFAULTS, _message, _start_id, feed_after, last_seq

log = logging.getLogger(__name__)

STREAM_PATH = "/events/stream"
END = object()          # queue item: the stream is over (session ended, server stopping)


@dataclass(eq=False)
class Board:
    """One open board: where it is in the feed (outbox seq), what it was last sent, and its queue."""
    sid: str
    after: int
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    tiles: object = None


class StreamHub:
    """Polls the store once for all open boards and fans the news out to their queues."""

    def __init__(self, flask_app):
        self.app = flask_app
        self.boards: set[Board] = set()
        self.after: int | None = None        # newest outbox seq handed out
        self.tiles = None                    # the newest board tiles
        self.task: asyncio.Task | None = None
        self.closed = False

    def setting(self, name: str) -> float:
        return float(self.app.config.get(name, DEFAULTS[name]))

    # --- runs in a worker thread -------------------------------------------------------------
    def _read(self, after: int, sids: list[str]) -> tuple[list[tuple[str, dict]], object, set[str]]:
        """What is new since ``after``, the tiles now, and which of ``sids`` have ended."""
        with self.app.app_context():
            alerts = self._rows_after(after)
            tiles = board_tiles(hall(), store())
            max_age_s = self.app.permanent_session_lifetime.total_seconds()
            dead = {sid for sid in sids if accounts().session_user(sid, max_age_s) is None}
        return alerts, tiles, dead

    def _catch_up(self, after: int) -> list[tuple[str, dict]]:
        with self.app.app_context():
            return self._rows_after(after)

    @staticmethod
    def _rows_after(after: int) -> list[tuple[str, dict]]:
        out = []
        while True:
            batch = feed_after(after, BATCH)
            out += batch
            if len(batch) < BATCH:
                return out
            after = batch[-1][1]["seq"]

    # --- on the event loop -------------------------------------------------------------------
    async def _run(self) -> None:
        while not self.closed:
            if self.boards:
                try:
                    alerts, tiles, dead = await asyncio.to_thread(
                        self._read, self.after or 0, sorted({b.sid for b in self.boards}))
                except Exception:  # noqa: BLE001 - a busy database this poll; the next one tries again
                    log.exception("board streams: reading the store failed; trying again")
                    alerts, tiles, dead = [], self.tiles, set()
                if alerts:
                    self.after = alerts[-1][1]["seq"]
                changed, self.tiles = tiles != self.tiles, tiles
                for board in list(self.boards):
                    if board.sid in dead:
                        board.queue.put_nowait(("logout", {"reason": "session ended: log in again"}, None))
                        board.queue.put_nowait(END)
                        self.boards.discard(board)
                        continue
                    for kind, data in alerts:
                        board.queue.put_nowait((kind, data, data["seq"]))
                    if changed:              # a board that joined meanwhile was given self.tiles
                        board.queue.put_nowait(("board", {"tiles": tiles}, None))
            await asyncio.sleep(self.setting("HM_SSE_POLL_S"))

    async def join(self, sid: str, after: int) -> Board:
        """Register a board that has seen the feed up to seq ``after``; what it missed is queued first."""
        if self.after is None:
            self.after = await asyncio.to_thread(self._with_app, last_seq)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run(), name="board-streams")
        board = Board(sid, after)
        cursor = after                      # resumed from an older id: queue what it missed first,
        while cursor < (self.after or 0):   # up to where the poller is (it queues the rest)
            missed = await asyncio.to_thread(self._catch_up, cursor)
            if not missed:
                break
            for kind, data in missed:
                board.queue.put_nowait((kind, data, data["seq"]))
            cursor = missed[-1][1]["seq"]
        self.boards.add(board)              # no await since the last read: nothing falls between
        if self.tiles is not None:
            board.queue.put_nowait(("board", {"tiles": self.tiles}, None))
        return board

    def leave(self, board: Board) -> None:
        self.boards.discard(board)

    def close(self) -> None:
        """Server stopping: end every stream now (the browsers reconnect to whoever serves next)."""
        self.closed = True
        for board in list(self.boards):
            board.queue.put_nowait(END)
        self.boards.clear()
        if self.task is not None:
            self.task.cancel()

    def _with_app(self, fn):
        with self.app.app_context():
            return fn()

    # --- the ASGI side -------------------------------------------------------------------------
    def admit(self, scope) -> tuple[str, int, list] | None:
        """(session id, start id, response headers) when the Flask app lets this request in as a
        logged-in user, else None."""
        headers: dict[str, str] = {}
        for k, v in scope.get("headers", []):
            name = k.decode("latin-1")
            headers[name] = f"{headers[name]}, {v.decode('latin-1')}" if name in headers else v.decode("latin-1")
        client = scope.get("client") or ("127.0.0.1", 0)
        with self.app.test_request_context(scope["path"], method="GET",
                                           query_string=scope.get("query_string", b"").decode("latin-1"),
                                           headers=headers, environ_base={"REMOTE_ADDR": client[0]}):
            try:
                if self.app.preprocess_request() is not None:
                    return None
            except HTTPException:
                return None
            if g.get("token") is not None or g.get("user") is None or not session.get("sid"):
                return None
            # the headers the Flask route would send: its after_request ones, the refreshed session cookie
            head = self.app.process_response(self.app.response_class(
                mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}))
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in head.headers.items()
                   if k.lower() != "content-length"]
            return session["sid"], _start_id(), raw

    async def serve(self, scope, receive, send) -> bool:
        """Answer a board's stream; False when the Flask app should answer it (not let in)."""
        admitted = await asyncio.to_thread(self.admit, scope)
        if admitted is None or self.closed:
            return False
        sid, after, headers = admitted
        if scope["method"] == "HEAD":        # the headers of a stream, and no stream
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True
        heartbeat_s, max_s = self.setting("HM_SSE_HEARTBEAT_S"), self.setting("HM_SSE_MAX_S")
        board = await self.join(sid, after)

        async def watch_disconnect():
            while (await receive())["type"] != "http.disconnect":
                pass
            board.queue.put_nowait(END)      # the client went: free its place at once

        watcher = asyncio.get_running_loop().create_task(watch_disconnect())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "more_body": True,
                        "body": f"retry: 2000\n: stream from outbox seq {after}\n\n".encode()})
            started = last_sent = time.monotonic()
            sent_id, sent_tiles = after, None
            while True:
                left = min(max_s - (time.monotonic() - started), heartbeat_s - (time.monotonic() - last_sent))
                try:
                    item = await asyncio.wait_for(board.queue.get(), timeout=max(left, 0.0))
                except TimeoutError:
                    item = None
                now = time.monotonic()
                if item is END:
                    break
                chunk = ""
                if item is not None:
                    kind, data, msg_id = item
                    if kind in ("alert", "review") and msg_id > sent_id:
                        sent_id = msg_id
                        chunk = _message(data, kind, msg_id)
                    elif kind == "board" and data["tiles"] != sent_tiles:
                        sent_tiles = data["tiles"]
                        chunk = _message(data, "board")
                    elif kind == "logout":
                        chunk = _message(data, "logout")
                if not chunk and now - last_sent >= heartbeat_s:
                    chunk = f": heartbeat {int(time.time())}\n\n"
                if chunk:
                    await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
                    last_sent = now
                if now - started >= max_s:
                    break
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:                      # the client went while we wrote
            pass
        finally:
            watcher.cancel()
            self.leave(board)
        return True


class HallASGI:
    """The whole site as one ASGI app: board streams on the loop, everything else through Flask."""

    def __init__(self, flask_app, threads: int = 8):
        from a2wsgi import WSGIMiddleware
        self.hub = StreamHub(flask_app)
        self.wsgi = WSGIMiddleware(flask_app, workers=threads)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == STREAM_PATH and scope["method"] in ("GET", "HEAD"):
            if await self.hub.serve(scope, receive, send):
                return
        await self.wsgi(scope, receive, send)
