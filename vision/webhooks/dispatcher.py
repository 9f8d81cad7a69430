"""The outbox dispatcher: every event transition to every endpoint that wants it, signed, retried.

Every event transition the store records also lands in its ``outbox`` (same transaction). The
:class:`Dispatcher` turns the outbox into deliveries and sends them:

1. **Fan-out.** In one write transaction it reads the outbox after its cursor (``webhook_cursor``, kept
   in the database), creates a ``deliveries`` row per (message, endpoint whose ``types``/``windows``
   want it) and moves the cursor. A crash before the commit redoes the batch; after it, nothing is
   read twice. Nothing is lost and nothing is fanned out twice.
2. **Sending.** Each endpoint is a queue in outbox order: only its oldest pending delivery is tried,
   and a later one waits until it is delivered or has failed for good. Endpoints are sent to in
   parallel threads, so one receiver being down or slow holds up nobody else.
3. **One attempt** is written down before (``attempts + 1``) and after (the outcome) the request. A
   ``kill -9`` between the two makes the next run send the message again with the same
   ``webhook-id``: delivery is at least once and the id is the receiver's idempotency key.

Outcomes: 2xx delivered. Anything else (or no answer within the endpoint's ``timeout_s``) is retried
on :data:`RETRY_SCHEDULE_S` with jitter; 429/503 wait at least their ``Retry-After``. 410 Gone
disables the endpoint (its queue stays, for when an admin enables it again). When the last retry
fails the delivery is ``failed`` and the endpoint disabled. Redirects are not followed.

The SSRF guard (address_guard.py) checks every attempt.

One dispatcher per database: ``hallmonitor run`` starts it on the one node holding the ``duty:webhooks``
lease (vision/runtime/node.py), and another node takes over when that one dies. Its tables are declared
in vision/webhooks/tables.py.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import requests

from vision.errors import InputError, NotFound
from vision.events import iso
from vision.store.database import Store
from vision.webhooks.address_guard import (
    Resolver,
    check_url,
    http_session,
)
from vision.webhooks.endpoints import (
    Endpoint,
    Endpoints,
)
from vision.webhooks.signing import (
    signature_header,
)

log = logging.getLogger(__name__)

RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
"""Delay before attempt 1, 2, ... 10: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h."""
MAX_RETRY_AFTER_S = 86400.0


# ---- the dispatcher ----

@dataclass(frozen=True)
class Outcome:
    code: int | None
    error: str | None
    latency_ms: float | None
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class Dispatcher:
    """Sends the outbox to the endpoints; see the module docstring for the guarantees.

    ``schedule`` is the delay before each attempt (the first is normally 0); ``jitter`` spreads each
    retry by +/- that share. Tests pass a schedule in fractions of a second and a short ``poll_s``.
    """

    def __init__(self, store: Store, *, schedule: Sequence[float] = RETRY_SCHEDULE_S, jitter: float = 0.1,
                 poll_s: float = 0.5, batch: int = 500, max_parallel: int = 8,
                 camera_windows: Mapping[str, Iterable[str]] | None = None, resolver: Resolver | None = None):
        if not schedule or any(s < 0 for s in schedule):
            raise InputError("schedule: give one or more delays in seconds, none negative")
        if not 0 <= jitter < 1:
            raise InputError("jitter: a share from 0 to below 1")
        self.store = store
        self.schedule = tuple(float(s) for s in schedule)
        self.jitter = jitter
        self.poll_s = poll_s
        self.batch = batch
        self.camera_windows = {k: list(v) for k, v in camera_windows.items()} if camera_windows is not None else None
        self.resolver = resolver
        self.endpoints = Endpoints(store, resolver=resolver)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_parallel)
        self._local = threading.local()
        self._random = random.Random()

    # -- lifecycle --

    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()
        log.info("webhook dispatcher started")
        return self

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the attempts in flight (each ends within its endpoint's timeout)."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            threads = list(self._busy.values())
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.fan_out()
                self._start_due()
            except Exception:  # noqa: BLE001 - e.g. a busy database: log, wait, go on
                log.exception("webhook dispatcher: step failed; trying again")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    # -- fan-out --

    def fan_out(self) -> int:
        """Create the deliveries of the next outbox batch and move the cursor; returns how many were created."""
        created = 0
        with self.store.write() as conn:
            cursor = conn.execute("SELECT seq FROM webhook_cursor WHERE id = 1").fetchone()[0]
            messages = self.store.outbox_after(cursor, self.batch)  # this thread's connection: same transaction
            if not messages:
                return 0
            endpoints = [Endpoint.from_row(r) for r in conn.execute("SELECT * FROM webhook_endpoints")]
            now = time.time()
            for msg in messages:
                if endpoints:
                    data = json.loads(msg["body"]).get("data") or {}
                    for ep in endpoints:
                        if ep.wants(msg["type"], data.get("window_id"), data.get("camera_id"), self.camera_windows):
                            created += conn.execute(
                                "INSERT INTO deliveries (outbox_id, endpoint_id, status, attempts,"
                                " next_attempt_at, seq, created_at) VALUES (?, ?, 'pending', 0, ?, ?, ?)"
                                " ON CONFLICT DO NOTHING",
                                (msg["id"], ep.id, now, msg["seq"], now)).rowcount
            conn.execute("UPDATE webhook_cursor SET seq = ?, updated_at = ? WHERE id = 1", (messages[-1]["seq"], now))
        if created:
            self.wake()
        return created

    # -- sending --

    def _start_due(self) -> None:
        now = time.time()
        with self.store.read() as conn:
            heads = conn.execute(
                "SELECT e.id, (SELECT d.next_attempt_at FROM deliveries d WHERE d.endpoint_id = e.id"
                " AND d.status = 'pending' ORDER BY d.seq LIMIT 1) AS due"
                " FROM webhook_endpoints e WHERE e.enabled = 1").fetchall()
        for row in heads:
            if row["due"] is None or row["due"] > now or self._stop.is_set():
                continue
            with self._lock:
                if row["id"] in self._busy:
                    continue
                thread = threading.Thread(target=self._drain, args=(row["id"],), name=f"webhook-{row['id']}",
                                          daemon=True)
                self._busy[row["id"]] = thread
            thread.start()

    def _drain(self, endpoint_id: str) -> None:
        """Send this endpoint's due deliveries, oldest first, until none is due."""
        try:
            with self._slots:
                while not self._stop.is_set():
                    try:
                        endpoint = self.endpoints.get(endpoint_id)
                    except NotFound:
                        return
                    if not endpoint.enabled:
                        return
                    with self.store.read() as conn:
                        head = conn.execute(
                            "SELECT d.outbox_id, d.attempts, d.next_attempt_at, o.payload FROM deliveries d"
                            " JOIN outbox o ON o.id = d.outbox_id WHERE d.endpoint_id = ? AND d.status = 'pending'"
                            " ORDER BY d.seq LIMIT 1", (endpoint_id,)).fetchone()
                    if head is None or head["next_attempt_at"] is None or head["next_attempt_at"] > time.time():
                        return
                    self._attempt(endpoint, head["outbox_id"], head["attempts"], head["payload"])
        except Exception:  # noqa: BLE001 - the next poll starts a new drain
            log.exception("webhook endpoint %s: sending failed unexpectedly", endpoint_id)
        finally:
            with self._lock:
                self._busy.pop(endpoint_id, None)
            self._wake.set()

    def _attempt(self, endpoint: Endpoint, msg_id: str, attempts_before: int, body: str) -> Outcome:
        attempt = attempts_before + 1
        started = time.time()
        with self.store.write() as conn:  # written before: a crash mid-request still counts the attempt
            if not conn.execute("UPDATE deliveries SET attempts = ?, last_attempt_at = ? WHERE outbox_id = ? AND"
                                " endpoint_id = ? AND status = 'pending' AND attempts = ?",
                                (attempt, started, msg_id, endpoint.id, attempts_before)).rowcount:
                return Outcome(None, "changed meanwhile", None)
        outcome = self.send(endpoint, msg_id, body)
        self._record(endpoint, msg_id, attempt, outcome)
        return outcome

    def _session(self, allow_private: bool) -> requests.Session:
        sessions = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = self._local.sessions = {}
        if allow_private not in sessions:
            sessions[allow_private] = http_session(allow_private)
        return sessions[allow_private]

    def send(self, endpoint: Endpoint, msg_id: str, body: str) -> Outcome:
        """One HTTP attempt: signed now, body unchanged, no redirects followed."""
        t0 = time.monotonic()
        try:
            check_url(endpoint.url, allow_private=endpoint.allow_private, resolver=self.resolver)
            timestamp = int(time.time())
            data = body.encode("utf-8")
            headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                       "webhook-signature": signature_header(endpoint.secrets, msg_id, timestamp, data),
                       "content-type": "application/json"}
            response = self._session(endpoint.allow_private).post(
                endpoint.url, data=data, headers=headers, timeout=endpoint.timeout_s, allow_redirects=False,
                stream=True)
            try:
                snippet = response.raw.read(300, decode_content=True) if not 200 <= response.status_code < 300 else b""
            except Exception:  # noqa: BLE001 - a body we cannot read does not change the status
                snippet = b""
            finally:
                response.close()
        except InputError as exc:
            return Outcome(None, f"refused: {exc}", None)
        except requests.Timeout:
            return Outcome(None, f"no answer within {endpoint.timeout_s:g} s", (time.monotonic() - t0) * 1000)
        except requests.RequestException as exc:
            return Outcome(None, f"{type(exc).__name__}: {_short(str(exc))}", (time.monotonic() - t0) * 1000)
        latency = (time.monotonic() - t0) * 1000
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(code, None, latency)
        error = f"HTTP {code}" + (f": {_short(snippet.decode('utf-8', 'replace'))}" if snippet.strip() else "")
        if 300 <= code < 400:
            error += f" (redirects are not followed; point the endpoint at {response.headers.get('location', '?')})"
        retry_after = None
        if code in (429, 503):
            retry_after = retry_after_seconds(response.headers.get("retry-after"), time.time())
        return Outcome(code, error, latency, retry_after)

    def _record(self, endpoint: Endpoint, msg_id: str, attempt: int, outcome: Outcome) -> None:
        now = time.time()
        key = (msg_id, endpoint.id, attempt)
        guard = " WHERE outbox_id = ? AND endpoint_id = ? AND status = 'pending' AND attempts = ?"
        disable_reason = None
        with self.store.write() as conn:
            if outcome.delivered:
                conn.execute("UPDATE deliveries SET status = 'delivered', delivered_at = ?, next_attempt_at = NULL,"
                             " last_code = ?, last_error = NULL, latency_ms = ?" + guard,
                             (now, outcome.code, outcome.latency_ms, *key))
                # the receiver is up: whatever waits for a later retry (a replay, an older backoff) goes now
                conn.execute("UPDATE deliveries SET next_attempt_at = ? WHERE endpoint_id = ? AND "
                             "status = 'pending' AND next_attempt_at > ?", (now, endpoint.id, now))
                return
            if outcome.code == 410:
                disable_reason = f"the receiver answered 410 Gone at {iso(now)}"
                next_at, status = now, "pending"
            elif attempt >= len(self.schedule):
                disable_reason = (f"message {msg_id} failed {attempt} times, the last at {iso(now)} "
                                  f"({outcome.error}); fix the receiver, enable the endpoint and replay the delivery")
                next_at, status = None, "failed"
            else:
                delay = self.schedule[attempt] * (1 + self._random.uniform(-self.jitter, self.jitter))
                if outcome.retry_after_s is not None:
                    delay = max(delay, outcome.retry_after_s)
                next_at, status = now + delay, "pending"
            changed = conn.execute(
                "UPDATE deliveries SET status = ?, next_attempt_at = ?, last_code = ?, last_error = ?, latency_ms = ?"
                + guard, (status, next_at, outcome.code, outcome.error, outcome.latency_ms, *key)).rowcount
            if changed and disable_reason:
                conn.execute("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? "
                             "WHERE id = ?", (disable_reason, now, endpoint.id))
        if disable_reason:
            log.warning("webhook endpoint %s disabled: %s", endpoint.id, disable_reason)
        else:
            log.warning("webhook %s to %s: attempt %d failed (%s); next in %.1f s", msg_id, endpoint.id, attempt,
                        outcome.error, (next_at or now) - now)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
