"""The SQLite store: events (latest state), their timeline, the webhook outbox, window states, pauses.

One file, WAL mode, shared by the worker process (writes) and the dashboard process (reads), each
thread on its own connection. Every write is one ``BEGIN IMMEDIATE`` transaction, so a writer takes
the write lock up front and waits (``busy_timeout``) instead of failing half-way on a lock upgrade.

Durability: ``synchronous=FULL`` by default. In WAL mode a committed transaction is already in the
operating system's file cache when ``COMMIT`` returns, so ``kill -9`` of the process loses nothing even
with ``NORMAL``; ``FULL`` also fsyncs the WAL on every commit, so an event that was reported (and
whose webhook went out) survives a power cut or kernel crash too. The price is one fsync per commit
(about 1-2 ms on a local disk); events are rare, so we pay it. ``Store(path, synchronous="NORMAL")``
exists for bulk loads (the benchmark).

Schema changes are migrations registered with ``@migration(n)``; ``PRAGMA user_version`` holds the
number of the last one applied. Opening an older file upgrades it, one transaction per migration;
opening a file written by a newer hallmonitor fails with a message that says so.

Times go in as Unix seconds (floats, as in :class:`vision.events.Event`) and come out of the dict
methods as ISO 8601 strings, the way ``/api`` serves them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from vision.errors import HallmonitorError, InputError, NotFound
from vision.events import EVENT_TYPES, PHASES, SEVERITIES, Event, iso

log = logging.getLogger(__name__)

REVIEW_STATUSES = ("new", "acknowledged", "resolved", "false_positive")
PAUSE_SOURCES = ("api", "sign")
MESSAGE_TYPES = ("event.started", "event.updated", "event.ended", "camera.offline", "camera.online",
                 "window.paused", "window.resumed")
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 10_000
MAX_PAGE = 500

_SPECIAL_MESSAGES = {
    ("camera_offline", "started"): "camera.offline",
    ("camera_offline", "ended"): "camera.online",
    ("window_paused", "started"): "window.paused",
    ("window_paused", "ended"): "window.resumed",
}


class StoreError(HallmonitorError):
    """The database file cannot be used (not a database, unreadable, from a newer hallmonitor)."""


def message_type(event: Event) -> str:
    """The webhook ``type`` of one event transition, e.g. ``camera.offline`` or ``event.updated``."""
    return _SPECIAL_MESSAGES.get((event.type, event.phase), f"event.{event.phase}")


def new_message_id() -> str:
    """A webhook message id (Standard Webhooks ``webhook-id``): ``msg_`` + 32 random hex digits."""
    return f"msg_{secrets.token_hex(16)}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ---- migrations ----

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[int, Migration]] = []


def migration(version: int) -> Callable[[Migration], Migration]:
    """Register ``fn`` as the migration to schema ``version``; versions must be registered 1, 2, 3, ..."""

    def register(fn: Migration) -> Migration:
        expected = len(MIGRATIONS) + 1
        if version != expected:
            raise RuntimeError(f"migration {fn.__name__} claims version {version}, but the next one is {expected}")
        MIGRATIONS.append((version, fn))
        return fn

    return register


def _ddl(conn: sqlite3.Connection, *statements: str) -> None:
    # one execute per statement: executescript() would COMMIT the migration's transaction
    for sql in statements:
        conn.execute(sql)


@migration(1)
def _events_log_outbox(conn: sqlite3.Connection) -> None:
    _ddl(
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


@migration(2)
def _windows_and_pauses(conn: sqlite3.Connection) -> None:
    _ddl(
        conn,
        """CREATE TABLE window_state (
            window_id    TEXT PRIMARY KEY,
            camera_id    TEXT NOT NULL,
            status       TEXT NOT NULL,
            since        REAL NOT NULL,
            updated_at   REAL NOT NULL,
            active_types TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(active_types))
        )""",
        """CREATE TABLE pauses (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            window_id  TEXT NOT NULL,
            source     TEXT NOT NULL CHECK (source IN ('api', 'sign')),
            reason     TEXT,
            started_at REAL NOT NULL,
            until      REAL CHECK (until IS NULL OR until > started_at),
            ended_at   REAL CHECK (ended_at IS NULL OR ended_at >= started_at)
        )""",
        "CREATE INDEX pauses_open ON pauses (window_id, started_at) WHERE ended_at IS NULL",
        "CREATE INDEX pauses_by_start ON pauses (started_at)",
    )


@migration(3)
def _deliveries(conn: sqlite3.Connection) -> None:
    # per-endpoint webhook delivery state; filled by the dispatcher (status values are its to define)
    _ddl(
        conn,
        """CREATE TABLE deliveries (
            outbox_id       TEXT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
            endpoint_id     TEXT NOT NULL,
            status          TEXT NOT NULL DEFAULT 'pending',
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL,
            last_attempt_at REAL,
            last_code       INTEGER,
            last_error      TEXT,
            latency_ms      REAL,
            PRIMARY KEY (outbox_id, endpoint_id)
        )""",
        "CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)",
    )


@migration(4)
def _accounts_and_endpoints(conn: sqlite3.Connection) -> None:
    # dashboard users, API tokens (only their sha256 is kept), webhook endpoints made in the dashboard
    _ddl(
        conn,
        """CREATE TABLE users (
            id            INTEGER PRIMARY KEY,
            username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
            created_at    REAL NOT NULL,
            disabled      INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE api_tokens (
            id           TEXT PRIMARY KEY,
            name         TEXT NOT NULL,
            token_hash   TEXT NOT NULL UNIQUE,
            scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
            created_by   TEXT,
            created_at   REAL NOT NULL,
            revoked_at   REAL,
            last_used_at REAL
        )""",
        """CREATE TABLE webhook_endpoints (
            id              TEXT PRIMARY KEY,
            url             TEXT NOT NULL,
            secrets         TEXT NOT NULL,
            types           TEXT NOT NULL DEFAULT '[]',
            windows         TEXT NOT NULL DEFAULT '[]',
            enabled         INTEGER NOT NULL DEFAULT 1,
            allow_private   INTEGER NOT NULL DEFAULT 0,
            timeout_s       REAL NOT NULL DEFAULT 15,
            source          TEXT NOT NULL DEFAULT 'dashboard' CHECK (source IN ('dashboard', 'config')),
            disabled_reason TEXT,
            created_at      REAL NOT NULL,
            updated_at      REAL NOT NULL
        )""",
    )


@migration(5)
def _webhook_dispatch(conn: sqlite3.Connection) -> None:
    # the dispatcher's durable state: how far it has fanned the outbox out to endpoints (the cursor
    # starts at the newest message, so an upgraded database does not send its history), and each
    # delivery's place in its endpoint's queue (the outbox seq: deliveries per endpoint go in order)
    _ddl(
        conn,
        "ALTER TABLE deliveries ADD COLUMN seq INTEGER",
        "ALTER TABLE deliveries ADD COLUMN created_at REAL",
        "ALTER TABLE deliveries ADD COLUMN delivered_at REAL",
        "CREATE INDEX deliveries_queue ON deliveries (endpoint_id, status, seq)",
        """CREATE TABLE webhook_cursor (
            id         INTEGER PRIMARY KEY CHECK (id = 1),
            seq        INTEGER NOT NULL,
            updated_at REAL
        )""",
        "INSERT INTO webhook_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM outbox",
    )


# modules that own their tables keep their DDL; the store numbers them, so every process that opens the
# file knows every migration (one that skipped some would take the file for a newer hallmonitor's)
# (they import nothing from here at import time, so any import order gives the same numbers)
from vision.training import teaching as _teach, versions as _hall_heads  # noqa: E402

migration(6)(_teach.create_tables)       # the hall's labels and their frames
migration(7)(_hall_heads.create_tables)  # the hall's head versions, their switches, training runs



@migration(8)
def _sessions_and_logins(conn: sqlite3.Connection) -> None:
    # dashboard sessions kept server-side, so logout, a password or role change and disabling a user
    # end them (the cookie holds only the session's id); every login attempt, for the audit
    _ddl(
        conn,
        """CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            username    TEXT NOT NULL COLLATE NOCASE,
            address     TEXT,
            created_at  REAL NOT NULL,
            seen_at     REAL NOT NULL,
            revoked_at  REAL,
            revoked_why TEXT
        )""",
        "CREATE INDEX sessions_user ON sessions (username, revoked_at)",
        """CREATE TABLE logins (
            id       INTEGER PRIMARY KEY,
            at       REAL NOT NULL,
            username TEXT NOT NULL,
            address  TEXT,
            ok       INTEGER NOT NULL,
            reason   TEXT
        )""",
        "CREATE INDEX logins_at ON logins (at)",
    )


LATEST_VERSION = len(MIGRATIONS)  # of this release; code reads len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _too_new(where: str, found: int) -> StoreError:
    return StoreError(
        f"{where}: the database has schema version {found}, but this hallmonitor knows versions up to "
        f"{len(MIGRATIONS)}; it was written by a newer hallmonitor. Upgrade hallmonitor, or set "
        f"storage.database to another file.")


def migrate(conn: sqlite3.Connection, target: int | None = None, where: str = "database") -> int:
    """Apply the pending migrations up to ``target`` (default: all), each in its own transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Safe against a second process
    migrating at the same time: each step re-reads the version under the write lock. Returns the
    version the database ends at.
    """
    latest = len(MIGRATIONS)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise ValueError(f"no schema version {target}; versions are 0..{latest}")
    found = schema_version(conn)
    if found > latest:
        raise _too_new(where, found)
    for version, fn in MIGRATIONS[found:target]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) < version:  # another process may have got here first
                fn(conn)
                conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)


# ---- input checks (messages name the filter and say what would be accepted) ----

def _when(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"{name}: expected a time, got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InputError(f"{name}: {value!r} is not a time")
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError(f"{name}: {value.isoformat()} has no time zone; add one, e.g. +08:00")
        return value.timestamp()
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise InputError(
                f"{name}: {value!r} is not a time with a zone; use ISO 8601 such as "
                f"2026-11-03T09:00:00+08:00 (or ...Z), or Unix seconds")
        return parsed.timestamp()
    raise InputError(f"{name}: expected a time (ISO 8601 string, datetime or Unix seconds), got {type(value).__name__}")


def _strings(name: str, value: Any, allowed: Iterable[str] | None = None) -> list[str] | None:
    """One string or several; ``None`` or an empty list means no filter."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    try:
        values = list(values)
    except TypeError:
        raise InputError(f"{name}: expected a string or a list of strings, got {type(value).__name__}") from None
    allowed = tuple(allowed) if allowed is not None else None
    for v in values:
        if not isinstance(v, str) or not v:
            raise InputError(f"{name}: expected non-empty strings, got {v!r}")
        if allowed is not None and v not in allowed:
            raise InputError(f"{name}: unknown value {v!r}; known: {', '.join(allowed)}")
    return values or None


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(f"{name}: unknown value {value!r}; known: {', '.join(allowed)}")
    return value


def _text(name: str, value: Any, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name}: expected a non-empty string, got {value!r}")
    return value


def _encode_cursor(started_at: float, event_id: str) -> str:
    raw = _dumps([started_at, event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> tuple[float, str]:
    bad = InputError("cursor: not a cursor returned by list_events; start again from the first page")
    if not isinstance(cursor, str) or not cursor or len(cursor) > 400:
        raise bad
    try:
        started_at, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise bad from None
    if isinstance(started_at, bool) or not isinstance(started_at, (int, float)) or not isinstance(event_id, str):
        raise bad
    return float(started_at), event_id


# ---- rows -> JSON ----

def _event_of(row: sqlite3.Row) -> Event:
    return Event(
        id=row["id"], type=row["type"], camera_id=row["camera_id"], window_id=row["window_id"],
        phase=row["phase"], severity=row["severity"], started_at=row["started_at"],
        updated_at=row["updated_at"], ended_at=row["ended_at"], score=row["score"],
        evidence=json.loads(row["evidence"]), details=json.loads(row["details"]),
        snapshot=row["snapshot"], clip=row["clip"],
    )


def _event_json(row: sqlite3.Row) -> dict:
    data = _event_of(row).to_json()
    data.update(
        review_status=row["review_status"], review_comment=row["review_comment"],
        reviewed_by=row["reviewed_by"], reviewed_at=iso(row["reviewed_at"]), keep=bool(row["keep"]),
    )
    return data


def _pause_json(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"], "window_id": row["window_id"], "source": row["source"], "reason": row["reason"],
        "started_at": iso(row["started_at"]), "until": iso(row["until"]), "ended_at": iso(row["ended_at"]),
    }


def _window_json(row: sqlite3.Row) -> dict:
    return {
        "window_id": row["window_id"], "camera_id": row["camera_id"], "status": row["status"],
        "since": iso(row["since"]), "updated_at": iso(row["updated_at"]),
        "active_types": json.loads(row["active_types"]),
    }


class _Connection:
    """Holds one thread's connection and closes it when the thread (and so its thread-local) goes."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __del__(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing at interpreter exit must not raise
            pass


_UPSERT_EVENT = """
INSERT INTO events (id, type, camera_id, window_id, phase, severity, started_at, updated_at, ended_at,
                    score, evidence, details, snapshot, clip)
VALUES (:id, :type, :camera_id, :window_id, :phase, :severity, :started_at, :updated_at, :ended_at,
        :score, :evidence, :details, :snapshot, :clip)
ON CONFLICT (id) DO UPDATE SET
    type = excluded.type, camera_id = excluded.camera_id, window_id = excluded.window_id,
    phase = excluded.phase, severity = excluded.severity, started_at = excluded.started_at,
    updated_at = excluded.updated_at, ended_at = excluded.ended_at, score = excluded.score,
    evidence = excluded.evidence, details = excluded.details,
    snapshot = COALESCE(excluded.snapshot, events.snapshot), clip = COALESCE(excluded.clip, events.clip)
"""


def _make_private(path: Path) -> None:
    """The database holds password hashes and webhook secrets: owner-only (0600). SQLite creates the
    -wal and -shm files with the main file's permissions, so creating that one 0600 covers them."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass


class Store:
    """The hall's event database. Thread-safe (one connection per thread); several processes may share the file."""

    def __init__(self, path: Path | str, *, synchronous: str = "FULL"):
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise InputError(f"database path {str(path)!r}: give a file path (each thread opens its own connection)")
        self.path = Path(path)
        self.synchronous = _one_of("synchronous", str(synchronous).upper(), SYNCHRONOUS_MODES)
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _make_private(self.path)
            conn = self._conn()
            found = schema_version(conn)
            if found > len(MIGRATIONS):
                raise _too_new(str(self.path), found)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: SQLite cannot use WAL mode here (got {mode!r}); "
                                 f"put the database on a local disk")
            migrate(conn, where=str(self.path))
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path}: cannot open the database ({exc}); check that the file is a "
                             f"hallmonitor database and that its folder is writable") from None
        except OSError as exc:
            self.close()
            raise StoreError(f"{self.path}: cannot create the database folder ({exc})") from None
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- connections and transactions ----

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -16000")  # KiB: 16 MB, so the dashboard indexes stay in memory
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        holder = getattr(self._local, "holder", None)
        if holder is None:
            holder = _Connection(self._connect())
            self._local.holder = holder
            with self._lock:
                self._holders.add(holder)
        return holder.conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A snapshot for reads that take more than one statement."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def write(self):
        """A write transaction (BEGIN IMMEDIATE ... COMMIT) on this thread's connection, for modules
        that keep their own tables in this database (accounts, webhook endpoints)."""
        return self._write()

    def read(self):
        """A read snapshot on this thread's connection."""
        return self._read()

    def close(self) -> None:
        """Close every thread's connection; the store cannot be used afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            holders = list(self._holders)
            self._holders.clear()
        mine = getattr(self._local, "holder", None)
        if mine is not None:
            try:  # SQLite's advice for long-lived connections: refresh the planner's statistics on close
                mine.conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
        for holder in holders:
            holder.conn.close()

    # ---- events ----

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
        data = event.to_json()
        try:
            values = {
                "id": event.id, "type": event.type, "camera_id": event.camera_id, "window_id": event.window_id,
                "phase": event.phase, "severity": event.severity, "started_at": float(event.started_at),
                "updated_at": float(event.updated_at), "ended_at": event.ended_at, "score": float(event.score),
                "evidence": _dumps(event.evidence), "details": _dumps(event.details),
                "snapshot": event.snapshot, "clip": event.clip,
            }
            event_text = _dumps(data)
        except (TypeError, ValueError) as exc:
            raise InputError(f"event {event.id}: evidence/details must be plain JSON values ({exc})") from None
        if (event.phase == "ended") != (event.ended_at is not None):
            raise InputError(f"event {event.id}: ended_at must be set exactly when the phase is 'ended' "
                             f"(phase {event.phase!r}, ended_at {event.ended_at!r}); use Event.advance()")

        row = conn.execute("SELECT phase, updated_at FROM events WHERE id = ?", (event.id,)).fetchone()
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
            "INSERT INTO event_log (event_id, phase, at, severity, json) VALUES (?, ?, ?, ?, ?)",
            (event.id, event.phase, values["updated_at"], event.severity, event_text)).lastrowid
        kind = message_type(event)
        # {"type", "timestamp", "data"}, reusing the event text serialised above
        payload = f'{{"type":{_dumps(kind)},"timestamp":{_dumps(data["updated_at"])},"data":{event_text}}}'
        conn.execute(
            "INSERT INTO outbox (id, log_id, event_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (new_message_id(), log_id, event.id, kind, payload, now))
        return True

    def get_event(self, event_id: str) -> dict | None:
        """The event's JSON (``Event.to_json()``) plus review_status, review_comment, reviewed_by, reviewed_at, keep."""
        row = self._conn().execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else _event_json(row)

    def event(self, event_id: str) -> Event:
        row = self._conn().execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            raise NotFound(f"no event {event_id!r}")
        return _event_of(row)

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
               severity: Any, review_status: Any) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        lo, hi = _when("since", since), _when("until", until)
        if lo is not None and hi is not None and lo > hi:
            raise InputError(f"since ({iso(lo)}) is after until ({iso(hi)})")
        if lo is not None:
            clauses.append("started_at >= ?")
            params.append(lo)
        if hi is not None:
            clauses.append("started_at < ?")
            params.append(hi)
        for column, name, value, allowed in (
            ("window_id", "window_id", window_id, None),
            ("camera_id", "camera_id", camera_id, None),
            ("type", "types", types, tuple(EVENT_TYPES)),
            ("phase", "phases", phases, PHASES),
            ("severity", "severity", severity, SEVERITIES),
            ("review_status", "review_status", review_status, REVIEW_STATUSES),
        ):
            values = _strings(name, value, allowed)
            if values is None:
                continue
            if column == "phase" and "ended" not in values:
                clauses.append("phase != 'ended'")  # implied, but lets SQLite use the small events_open index
            if len(values) == 1:
                clauses.append(f"{column} = ?")
            else:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        return clauses, params

    def list_events(self, *, since: Any = None, until: Any = None, window_id: Any = None, camera_id: Any = None,
                    types: Any = None, phases: Any = None, severity: Any = None, review_status: Any = None,
                    limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of events, newest first (started_at desc, id desc), and the cursor of the next page (or None).

        ``since``/``until`` bound ``started_at`` (since inclusive, until exclusive). The other filters take
        one value or a list (any of them matches); None or an empty list means no filter.
        """
        clauses, params = self._where(since, until, window_id, camera_id, types, phases, severity, review_status)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InputError(f"limit: expected a whole number from 1 to {MAX_PAGE}, got {limit!r}")
        if cursor is not None:
            clauses.append("(started_at, id) < (?, ?)")
            params.extend(_decode_cursor(cursor))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn().execute(
            f"SELECT * FROM events {where} ORDER BY started_at DESC, id DESC LIMIT ?", (*params, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1]["started_at"], rows[-1]["id"]) if more else None
        return [_event_json(r) for r in rows], next_cursor

    def count_events(self, *, since: Any = None, until: Any = None, window_id: Any = None, camera_id: Any = None,
                     types: Any = None, phases: Any = None, severity: Any = None, review_status: Any = None) -> int:
        clauses, params = self._where(since, until, window_id, camera_id, types, phases, severity, review_status)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._conn().execute(f"SELECT count(*) FROM events {where}", params).fetchone()[0]

    def open_events(self, camera_id: str | None = None) -> list[Event]:
        """Events not yet ended (oldest first), e.g. for a restarted worker to adopt or end."""
        # INDEXED BY: with statistics, SQLite may prefer the camera index and scan the whole camera
        sql = "SELECT * FROM events INDEXED BY events_open WHERE phase != 'ended'"
        params: tuple = ()
        if camera_id is not None:
            sql += " AND camera_id = ?"
            params = (camera_id,)
        return [_event_of(r) for r in self._conn().execute(sql + " ORDER BY started_at, id", params)]

    # ---- review ----

    def set_review(self, event_id: str, status: str, comment: str | None = None, user: str | None = None,
                   at: float | None = None) -> dict:
        """Set the review status (new, acknowledged, resolved, false_positive); returns the event as get_event does."""
        _one_of("review status", status, REVIEW_STATUSES)
        if comment is not None and not isinstance(comment, str):
            raise InputError(f"review comment: expected text, got {type(comment).__name__}")
        _text("reviewed_by", user, required=False)
        at = time.time() if at is None else _when("reviewed_at", at)
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE events SET review_status = ?, review_comment = ?, reviewed_by = ?, reviewed_at = ?"
                " WHERE id = ?",
                (status, comment, user, at, event_id)).rowcount
            if not changed:
                raise NotFound(f"no event {event_id!r}")
            row = conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        return _event_json(row)

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

    # ---- windows and pauses ----

    def set_window_state(self, window_id: str, camera_id: str, status: str, since: float,
                         updated_at: float | None = None, active_types: Iterable[str] = ()) -> dict:
        """Upsert a window's current state (status such as 'staffed', 'unattended', 'paused', 'closed')."""
        _text("window_id", window_id)
        _text("camera_id", camera_id)
        _text("status", status)
        types = _strings("active_types", list(active_types), tuple(EVENT_TYPES)) or []
        since_s = _when("since", since)
        if since_s is None:
            raise InputError("since: required")
        updated = time.time() if updated_at is None else _when("updated_at", updated_at)
        with self._write() as conn:
            conn.execute(
                """INSERT INTO window_state (window_id, camera_id, status, since, updated_at, active_types)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (window_id) DO UPDATE SET camera_id = excluded.camera_id,
                       status = excluded.status, since = excluded.since, updated_at = excluded.updated_at,
                       active_types = excluded.active_types""",
                (window_id, camera_id, status, since_s, updated, _dumps(sorted(set(types)))))
            row = conn.execute("SELECT * FROM window_state WHERE window_id = ?", (window_id,)).fetchone()
        return _window_json(row)

    def window_states(self) -> list[dict]:
        return [_window_json(r) for r in self._conn().execute("SELECT * FROM window_state ORDER BY window_id")]

    def add_pause(self, window_id: str, source: str, reason: str | None, started_at: float,
                  until: float | None = None) -> dict:
        """Record a pause of a window (by the API or a '暂停服务' sign seen); ``until`` None means until ended."""
        _text("window_id", window_id)
        _one_of("pause source", source, PAUSE_SOURCES)
        if reason is not None and not isinstance(reason, str):
            raise InputError(f"pause reason: expected text, got {type(reason).__name__}")
        start = _when("started_at", started_at)
        if start is None:
            raise InputError("started_at: required")
        end = _when("until", until)
        if end is not None and end <= start:
            raise InputError(f"until ({iso(end)}) must be after started_at ({iso(start)})")
        with self._write() as conn:
            pause_id = conn.execute(
                "INSERT INTO pauses (window_id, source, reason, started_at, until) VALUES (?, ?, ?, ?, ?)",
                (window_id, source, reason, start, end)).lastrowid
            row = conn.execute("SELECT * FROM pauses WHERE id = ?", (pause_id,)).fetchone()
        return _pause_json(row)

    def end_pause(self, window_id: str, at: float, source: str | None = None) -> list[dict]:
        """End the window's pauses active at ``at`` (of one source, if given); NotFound if there is none."""
        at_s = _when("at", at)
        if at_s is None:
            raise InputError("at: required")
        if source is not None:
            _one_of("pause source", source, PAUSE_SOURCES)
        active = ("window_id = ? AND ended_at IS NULL AND started_at <= ? AND (until IS NULL OR until > ?)"
                  + (" AND source = ?" if source else ""))
        params = (window_id, at_s, at_s) + ((source,) if source else ())
        with self._write() as conn:
            ids = [r[0] for r in conn.execute(f"SELECT id FROM pauses WHERE {active}", params)]
            if not ids:
                raise NotFound(f"window {window_id!r} has no active pause at {iso(at_s)}")
            conn.executemany("UPDATE pauses SET ended_at = ? WHERE id = ?", [(at_s, i) for i in ids])
            rows = conn.execute(f"SELECT * FROM pauses WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id",
                                ids).fetchall()
        return [_pause_json(r) for r in rows]

    def active_pauses(self, now: float, window_id: str | None = None) -> list[dict]:
        now_s = _when("now", now)
        sql = ("SELECT * FROM pauses WHERE started_at <= ? AND (ended_at IS NULL OR ended_at > ?)"
               " AND (until IS NULL OR until > ?)")
        params: tuple = (now_s, now_s, now_s)
        if window_id is not None:
            sql += " AND window_id = ?"
            params += (window_id,)
        return [_pause_json(r) for r in self._conn().execute(sql + " ORDER BY started_at, id", params)]

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
