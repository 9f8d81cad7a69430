"""Webhook endpoints: configured in cameras.yaml or through the API, their deliveries, and the
queries the dashboard's webhook pages read. The tables are declared in vision/webhooks/tables.py.
"""

from __future__ import annotations

import builtins
import json
import logging
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vision.errors import ConfigError, HallmonitorError, InputError, NotFound
from vision.events import iso
from vision.store.database import Store
from vision.store.events import MESSAGE_TYPES
from vision.webhooks.address_guard import (
    Resolver,
    Unresolvable,
    check_url,
)
from vision.webhooks.signing import (
    new_secret,
    secret_key,
)

log = logging.getLogger(__name__)

DELIVERY_STATUSES = ("pending", "delivered", "failed")
CONFIG_DISABLED = "enabled: false in cameras.yaml"


class Conflict(HallmonitorError):
    status = 409



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
    def from_row(cls, row) -> Endpoint:
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
        if camera_windows is None or camera_id is None or camera_id not in camera_windows:
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

    def _validate(self, url, types, windows, allow_private,
                  timeout_s) -> tuple[str, builtins.list[str], builtins.list[str], bool, float]:
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

    def deliveries(self, endpoint_id: str, status: str | None = None, limit: int = 100) -> builtins.list[dict]:
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

    def pending_count(self) -> int:
        """Deliveries waiting to be sent, over every endpoint (the health check's webhook backlog)."""
        with self.store.read() as conn:
            return conn.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]

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

    def sync_config(self, webhooks: Sequence) -> builtins.list[Endpoint]:
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
