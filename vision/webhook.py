"""Webhooks for integrators (Standard Webhooks v1): signing, the SSRF guard, endpoints, the outbox dispatcher.

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

The SSRF guard refuses receivers on loopback, link-local (cloud metadata), private, unspecified,
multicast and other non-public addresses unless the endpoint says ``allow_private``. It runs when an
endpoint is configured, again before every attempt, and on the socket itself once it is connected,
so a DNS answer that changes between the check and the connect is caught too.

One dispatcher per database (``hallmonitor run`` starts it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets as _secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import __version__
from .errors import ConfigError, HallmonitorError, InputError, NotFound
from .events import iso
from .store import MESSAGE_TYPES, Store

log = logging.getLogger(__name__)

RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
"""Delay before attempt 1, 2, ... 10: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h."""
TOLERANCE_S = 300
MAX_RETRY_AFTER_S = 86400.0
DELIVERY_STATUSES = ("pending", "delivered", "failed")
SECRET_PREFIX = "whsec_"
CONFIG_DISABLED = "enabled: false in cameras.yaml"
USER_AGENT = f"hallmonitor-webhooks/{__version__}"


class SignatureError(HallmonitorError):
    """A webhook request whose signature or timestamp does not verify."""

    status = 401


class UnsafeURL(InputError):
    """A receiver URL the SSRF guard refuses."""


class Unresolvable(InputError):
    """A receiver URL whose host name does not resolve (now; it may later)."""


class Conflict(HallmonitorError):
    status = 409


# ---- signing (Standard Webhooks v1) ----

def new_secret(nbytes: int = 32) -> str:
    """A new signing secret: ``whsec_`` + base64 of ``nbytes`` random bytes (24..64)."""
    if not 24 <= nbytes <= 64:
        raise InputError(f"a secret has 24 to 64 random bytes, not {nbytes}")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_...`` secret (the base64 after the prefix, decoded)."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InputError("a webhook secret starts with whsec_ (make one with `hallmonitor webhooks secret`)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the webhook secret after whsec_ is not valid base64") from None
    if len(key) < 16:
        raise InputError("the webhook secret is too short: use `hallmonitor webhooks secret` for a new one")
    return key


def _as_bytes(body: str | bytes) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def sign(secret: str, msg_id: str, timestamp: int | str, body: str | bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + _as_bytes(body)
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int | str, body: str | bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated (several while rotating)."""
    values = [sign(s, msg_id, timestamp, body) for s in secrets]
    if not values:
        raise InputError("an endpoint needs at least one secret to sign with")
    return " ".join(values)


def verify(secrets: str | Iterable[str], msg_id: str, timestamp: str | int, signatures: str, body: str | bytes,
           *, tolerance_s: float = TOLERANCE_S, now: float | None = None) -> None:
    """Check a received webhook; raises :class:`SignatureError` saying why it does not verify.

    ``signatures`` is the ``webhook-signature`` header. Any ``v1`` entry made with any of ``secrets``
    passes; comparisons are constant time. A timestamp further than ``tolerance_s`` from now fails.
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        raise SignatureError(f"webhook-timestamp {timestamp!r} is not Unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance_s:
        raise SignatureError(f"webhook-timestamp {ts} is {now - ts:+.0f} s from now, more than {tolerance_s:g} s: "
                             f"a replayed or delayed request (or a wrong clock)")
    expected = [sign(s, msg_id, ts, body).split(",", 1)[1].encode() for s in secrets]
    found = False
    for entry in str(signatures or "").split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        for candidate in expected:
            found |= hmac.compare_digest(candidate, value.encode())
    if not found:
        raise SignatureError("no v1 signature in webhook-signature matches the secret")


# ---- the SSRF guard ----

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a receiver must not be at this address (None: a public address)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "the link-local address of the cloud metadata service"
    for label, flag in (("a loopback", ip.is_loopback), ("a link-local", ip.is_link_local),
                        ("the unspecified", ip.is_unspecified), ("a multicast", ip.is_multicast),
                        ("a private", ip.is_private), ("a reserved", ip.is_reserved)):
        if flag:
            return f"{label} address"
    if not ip.is_global:
        return "a non-public address"
    return None


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver | None = None) -> list[str]:
    """Refuse a receiver URL that is not http(s) or whose host is (or resolves to) a non-public address.

    Returns the addresses the host resolved to. ``allow_private`` allows every address (tests,
    receivers inside the hall's own network).
    """
    if not isinstance(url, str) or not url.strip():
        raise InputError("url: give the receiver's URL, e.g. https://queue.example.gov.cn/hooks/hallmonitor")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise InputError(f"url {url!r}: use an http:// or https:// URL")
    host = parts.hostname
    if not host:
        raise InputError(f"url {url!r}: has no host name")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"url {url!r}: the port is not a number from 1 to 65535") from None
    literal = True
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        literal = False
        try:
            addresses = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise Unresolvable(f"url {url!r}: the host {host} does not resolve ({exc}); check the name") from None
        if not addresses:
            raise Unresolvable(f"url {url!r}: the host {host} resolves to no address")
    if allow_private:
        return addresses
    for address in addresses:
        problem = address_problem(ipaddress.ip_address(address.split("%", 1)[0]))
        if problem:
            where = host if literal else f"{host} resolves to {address}, which"
            raise UnsafeURL(f"url {url!r}: {where} is {problem}; webhooks go to public addresses only. For a "
                            f"receiver inside the hall's own network, set allow_private: true on this endpoint")
    return addresses


class _PeerCheck:
    """Mixin for urllib3 connections: refuse the socket if the address it connected to is not public."""

    def _new_conn(self):  # type: ignore[override]
        sock = super()._new_conn()  # type: ignore[misc]
        peer = sock.getpeername()[0]
        problem = address_problem(ipaddress.ip_address(peer.split("%", 1)[0]))
        if problem:
            sock.close()
            host = getattr(self, "host", "?")
            raise UnsafeURL(f"{host} connected to {peer}, {problem} (its DNS answer changed since it was "
                            f"checked); refused")
        return sock


class _GuardedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def http_session(allow_private: bool) -> requests.Session:
    """A session for sending webhooks: no proxies from the environment, the peer check unless allowed."""
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    if not allow_private:
        adapter = _GuardedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


# ---- endpoints ----

@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    secrets: tuple[str, ...]
    types: tuple[str, ...]
    windows: tuple[str, ...]
    enabled: bool
    allow_private: bool
    timeout_s: float
    source: str
    disabled_reason: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row) -> "Endpoint":
        return cls(id=row["id"], url=row["url"], secrets=tuple(json.loads(row["secrets"])),
                   types=tuple(json.loads(row["types"])), windows=tuple(json.loads(row["windows"])),
                   enabled=bool(row["enabled"]), allow_private=bool(row["allow_private"]),
                   timeout_s=float(row["timeout_s"]), source=row["source"], disabled_reason=row["disabled_reason"],
                   created_at=row["created_at"], updated_at=row["updated_at"])

    def wants(self, message_type: str, window_id: str | None, camera_id: str | None,
              camera_windows: Mapping[str, Iterable[str]] | None = None) -> bool:
        """Does this endpoint want the message? A camera-wide message (no window) goes to an endpoint
        filtered by windows when the camera serves one of them (or when the cameras are not known)."""
        if self.types and message_type not in self.types:
            return False
        if not self.windows:
            return True
        if window_id is not None:
            return window_id in self.windows
        if camera_windows is None or camera_id not in camera_windows:
            return True
        return any(w in self.windows for w in camera_windows[camera_id])

    def to_json(self) -> dict:
        """The endpoint as the API shows it: never the secrets, only how many there are."""
        return {"id": self.id, "url": self.url, "types": list(self.types), "windows": list(self.windows),
                "enabled": self.enabled, "allow_private": self.allow_private, "timeout_s": self.timeout_s,
                "source": self.source, "disabled_reason": self.disabled_reason, "secret_count": len(self.secrets),
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at)}


def _check_list(name: str, value, allowed: Sequence[str] | None, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{name}: expected a list of {what}")
    if allowed is not None:
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise InputError(f"{name}: unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}")
    return sorted(set(value), key=value.index)


def _delivery_json(row) -> dict:
    return {"outbox_id": row["outbox_id"], "endpoint_id": row["endpoint_id"], "seq": row["seq"],
            "event_id": row["event_id"], "type": row["type"], "status": row["status"], "attempts": row["attempts"],
            "next_attempt_at": iso(row["next_attempt_at"]), "last_attempt_at": iso(row["last_attempt_at"]),
            "delivered_at": iso(row["delivered_at"]), "last_code": row["last_code"], "last_error": row["last_error"],
            "latency_ms": None if row["latency_ms"] is None else round(row["latency_ms"], 1),
            "created_at": iso(row["created_at"])}


_DELIVERY_SELECT = """SELECT d.*, o.event_id, o.type FROM deliveries d JOIN outbox o ON o.id = d.outbox_id"""


class Endpoints:
    """The webhook endpoints in the database: made in the dashboard, or synced from cameras.yaml."""

    def __init__(self, store: Store, *, known_windows: Sequence[str] | None = None, resolver: Resolver | None = None):
        self.store = store
        self.known_windows = list(known_windows) if known_windows is not None else None
        self.resolver = resolver

    def list(self) -> list[Endpoint]:
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM webhook_endpoints ORDER BY created_at, id").fetchall()
        return [Endpoint.from_row(r) for r in rows]

    def get(self, endpoint_id: str) -> Endpoint:
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).fetchone()
        if row is None:
            raise NotFound(f"no webhook endpoint {endpoint_id!r}")
        return Endpoint.from_row(row)

    def _validate(self, url, types, windows, allow_private, timeout_s) -> tuple[str, list[str], list[str], bool, float]:
        if not isinstance(allow_private, bool):
            raise InputError("allow_private: expected true or false")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s <= 60:
            raise InputError("timeout_s: expected seconds, more than 0 and at most 60")
        if not isinstance(url, str) or len(url) > 2000:
            raise InputError("url: expected the receiver's URL as text (at most 2000 characters)")
        types = _check_list("types", types, MESSAGE_TYPES, "message types")
        windows = _check_list("windows", windows, self.known_windows, "window ids")
        check_url(url, allow_private=allow_private, resolver=self.resolver)
        return url.strip(), types, windows, allow_private, float(timeout_s)

    def create(self, url, types=None, windows=None, *, allow_private=False, timeout_s=15.0) -> tuple[Endpoint, str]:
        """A new dashboard endpoint and its secret (shown once; the receiver needs it to verify)."""
        url, types, windows, allow_private, timeout_s = self._validate(url, types, windows, allow_private, timeout_s)
        secret = new_secret()
        endpoint_id = "ep_" + _secrets.token_hex(6)
        now = time.time()
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO webhook_endpoints (id, url, secrets, types, windows, enabled, allow_private, timeout_s,"
                " source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, 'dashboard', ?, ?)",
                (endpoint_id, url, json.dumps([secret]), json.dumps(types), json.dumps(windows), int(allow_private),
                 timeout_s, now, now))
        log.info("webhook endpoint %s created for %s", endpoint_id, url)
        return self.get(endpoint_id), secret

    def rotate(self, endpoint_id: str, keep_previous: bool = True) -> tuple[Endpoint, str]:
        """Add a new secret; the newest previous one is kept (both sign) unless ``keep_previous`` is false."""
        endpoint = self.get(endpoint_id)
        if endpoint.source == "config":
            raise Conflict(f"webhook endpoint {endpoint_id!r} comes from cameras.yaml: rotate its secret there "
                           f"(list the new and the old secret under secrets:, then restart)")
        if not isinstance(keep_previous, bool):
            raise InputError("keep_previous: expected true or false")
        secret = new_secret()
        kept = [secret] + (list(endpoint.secrets[:1]) if keep_previous else [])
        with self.store.write() as conn:
            conn.execute("UPDATE webhook_endpoints SET secrets = ?, updated_at = ? WHERE id = ?",
                         (json.dumps(kept), time.time(), endpoint_id))
        log.info("webhook endpoint %s: secret rotated (%d secrets sign now)", endpoint_id, len(kept))
        return self.get(endpoint_id), secret

    def disable(self, endpoint_id: str, reason: str = "disabled by an admin") -> Endpoint:
        self.get(endpoint_id)
        with self.store.write() as conn:
            conn.execute("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?",
                         (reason, time.time(), endpoint_id))
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
        return self.get(endpoint_id)

    def enable(self, endpoint_id: str) -> Endpoint:
        """Enable again; its queued (pending) deliveries start over on a fresh retry schedule, in order."""
        endpoint = self.get(endpoint_id)
        check_url(endpoint.url, allow_private=endpoint.allow_private, resolver=self.resolver)
        now = time.time()
        with self.store.write() as conn:
            conn.execute("UPDATE webhook_endpoints SET enabled = 1, disabled_reason = NULL, updated_at = ? "
                         "WHERE id = ?", (now, endpoint_id))
            conn.execute("UPDATE deliveries SET attempts = 0, next_attempt_at = ? "
                         "WHERE endpoint_id = ? AND status = 'pending'", (now, endpoint_id))
        log.info("webhook endpoint %s enabled", endpoint_id)
        return self.get(endpoint_id)

    def deliveries(self, endpoint_id: str, status: str | None = None, limit: int = 100) -> list[dict]:
        """The endpoint's deliveries, newest first."""
        self.get(endpoint_id)
        if status is not None and status not in DELIVERY_STATUSES:
            raise InputError(f"status: unknown value {status!r}; known: {', '.join(DELIVERY_STATUSES)}")
        sql = _DELIVERY_SELECT + " WHERE d.endpoint_id = ?" + (" AND d.status = ?" if status else "")
        params = (endpoint_id,) + ((status,) if status else ())
        with self.store.read() as conn:
            rows = conn.execute(sql + " ORDER BY d.seq DESC LIMIT ?", (*params, limit)).fetchall()
        return [_delivery_json(r) for r in rows]

    def delivery(self, outbox_id: str, endpoint_id: str) -> dict:
        with self.store.read() as conn:
            row = conn.execute(_DELIVERY_SELECT + " WHERE d.outbox_id = ? AND d.endpoint_id = ?",
                               (outbox_id, endpoint_id)).fetchone()
        if row is None:
            raise NotFound(f"no delivery of message {outbox_id!r} to endpoint {endpoint_id!r}")
        return _delivery_json(row)

    def replay(self, outbox_id: str, endpoint_id: str) -> dict:
        """Send a delivery again (whatever its status): pending, a fresh schedule, the same webhook-id."""
        self.delivery(outbox_id, endpoint_id)
        with self.store.write() as conn:
            conn.execute("UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, "
                         "delivered_at = NULL WHERE outbox_id = ? AND endpoint_id = ?",
                         (time.time(), outbox_id, endpoint_id))
        log.info("webhook delivery of %s to %s: replay requested", outbox_id, endpoint_id)
        return self.delivery(outbox_id, endpoint_id)

    def retry_now(self, endpoint_id: str) -> int:
        """Send the endpoint's waiting deliveries now instead of at their next scheduled retry (the
        receiver is known to be back); returns how many were waiting for a later retry."""
        self.get(endpoint_id)
        now = time.time()
        with self.store.write() as conn:
            released = conn.execute("UPDATE deliveries SET next_attempt_at = ? WHERE endpoint_id = ? AND "
                                    "status = 'pending' AND next_attempt_at > ?", (now, endpoint_id, now)).rowcount
        log.info("webhook endpoint %s: retry now requested (%d deliveries released)", endpoint_id, released)
        return released

    def backlog(self) -> dict[str, dict[str, int]]:
        """endpoint id -> {status: deliveries}, plus ``failed_attempts`` (attempts that did not deliver)."""
        out: dict[str, dict[str, int]] = {e.id: {s: 0 for s in DELIVERY_STATUSES} | {"failed_attempts": 0}
                                          for e in self.list()}
        with self.store.read() as conn:
            for row in conn.execute(
                    "SELECT endpoint_id, status, count(*) AS n, "
                    "sum(attempts - (CASE WHEN status = 'delivered' THEN 1 ELSE 0 END)) AS bad "
                    "FROM deliveries GROUP BY endpoint_id, status"):
                counts = out.setdefault(row["endpoint_id"], {s: 0 for s in DELIVERY_STATUSES} | {"failed_attempts": 0})
                counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
                counts["failed_attempts"] += max(0, row["bad"] or 0)
        return out

    def sync_config(self, webhooks: Sequence) -> list[Endpoint]:
        """Make the endpoints of cameras.yaml (``source = 'config'``) match it; returns them.

        An endpoint removed from the file is deleted (its pending deliveries fail). An endpoint the
        dispatcher or an admin disabled stays disabled across restarts; ``enabled: false`` disables it.
        """
        now = time.time()
        for hook in webhooks:
            try:
                for secret in hook.secrets:
                    secret_key(secret)
                self._validate(hook.url, list(hook.types), list(hook.windows), hook.allow_private, hook.timeout_s)
            except Unresolvable as exc:  # the network may not be up yet: sends retry
                log.warning("webhooks: %s: %s (sends will retry)", hook.id, exc)
            except InputError as exc:
                raise ConfigError(f"webhooks: {hook.id}: {exc}") from None
        config_ids = [h.id for h in webhooks]
        with self.store.write() as conn:
            for hook in webhooks:
                row = conn.execute("SELECT source, enabled, disabled_reason FROM webhook_endpoints WHERE id = ?",
                                   (hook.id,)).fetchone()
                if row is not None and row["source"] != "config":
                    raise ConfigError(f"webhooks: {hook.id}: this id is taken by an endpoint made in the dashboard; "
                                      f"give the one in cameras.yaml another id")
                if not hook.enabled:
                    enabled, reason = 0, CONFIG_DISABLED
                elif row is not None and row["disabled_reason"] and row["disabled_reason"] != CONFIG_DISABLED:
                    enabled, reason = 0, row["disabled_reason"]
                else:
                    enabled, reason = 1, None
                values = (hook.url, json.dumps(list(hook.secrets)), json.dumps(list(hook.types)),
                          json.dumps(list(hook.windows)), enabled, int(hook.allow_private), float(hook.timeout_s),
                          reason, now)
                if row is None:
                    conn.execute(
                        "INSERT INTO webhook_endpoints (url, secrets, types, windows, enabled, allow_private,"
                        " timeout_s, disabled_reason, updated_at, id, source, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'config', ?)", (*values, hook.id, now))
                else:
                    conn.execute(
                        "UPDATE webhook_endpoints SET url = ?, secrets = ?, types = ?, windows = ?, enabled = ?,"
                        " allow_private = ?, timeout_s = ?, disabled_reason = ?, updated_at = ? WHERE id = ?",
                        (*values, hook.id))
            gone = [r[0] for r in conn.execute("SELECT id FROM webhook_endpoints WHERE source = 'config'")
                    if r[0] not in config_ids]
            for endpoint_id in gone:
                conn.execute("UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, "
                             "last_error = 'the endpoint was removed from cameras.yaml' "
                             "WHERE endpoint_id = ? AND status = 'pending'", (endpoint_id,))
                conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
                log.info("webhook endpoint %s removed (no longer in cameras.yaml)", endpoint_id)
        return [self.get(i) for i in config_ids]


def sync_from_config(store: Store, config) -> list[Endpoint]:
    """At start: the endpoints of a HallConfig into the database, their window filters checked against its windows."""
    windows = [w.id for cam in config.cameras for w in cam.windows]
    return Endpoints(store, known_windows=windows).sync_config(config.webhooks)


def camera_windows(config) -> dict[str, list[str]]:
    """camera id -> its window ids, from a HallConfig (for the windows filter of camera-wide messages)."""
    return {cam.id: [w.id for w in cam.windows] for cam in config.cameras}


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

    def start(self) -> "Dispatcher":
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
                                "INSERT OR IGNORE INTO deliveries (outbox_id, endpoint_id, status, attempts,"
                                " next_attempt_at, seq, created_at) VALUES (?, ?, 'pending', 0, ?, ?, ?)",
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
