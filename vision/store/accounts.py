"""The dashboard's accounts in the database: users, API tokens, sessions and the login audit.

Only rows live here: hashing passwords and tokens, roles and the password policy are the dashboard's
(dashboard/accounts.py, which calls this). This module owns the ``users`` and ``api_tokens`` tables
(migration 4, with the webhook endpoints) and ``sessions`` and ``logins`` (migration 8), numbered in
vision/store/schema.py.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

from vision.errors import InputError
from vision.store.ddl import ddl

if TYPE_CHECKING:
    from vision.store.database import Store


def create_users_and_tokens(conn: sqlite3.Connection) -> None:
    """Part of migration 4: dashboard users and API tokens (only their sha256 is kept)."""
    ddl(
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
    )


def create_sessions_and_logins(conn: sqlite3.Connection) -> None:
    """Migration 8: dashboard sessions kept server-side, so logout, a password or role change and disabling
    a user end them (the cookie holds only the session's id); every login attempt, for the audit."""
    ddl(
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


_USER = "SELECT id, username, role, created_at, disabled FROM users"
_TOKEN = "SELECT id, name, scope, created_by, created_at, revoked_at, last_used_at FROM api_tokens"


class AccountRecords:
    """The account tables' rows. Hashes come in already made; nothing here checks a password."""

    def __init__(self, store: Store):
        self.store = store

    # ---- users ----

    def add_user(self, username: str, password_hash: str, role: str) -> None:
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise InputError(f"user {username!r} already exists")
            conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                         (username, password_hash, role, time.time()))

    def user(self, username: str) -> dict | None:
        with self.store.read() as conn:
            row = conn.execute(_USER + " WHERE username = ?", (username,)).fetchone()
        return None if row is None else dict(row)

    def users(self) -> list[dict]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(_USER + " ORDER BY username")]

    def update_user(self, username: str, *, role: str | None = None, password_hash: str | None = None,
                    disabled: bool | None = None, end_sessions_why: str | None = None) -> None:
        """Change the given fields, and end the user's open sessions first if ``end_sessions_why`` says why."""
        with self.store.write() as conn:
            if end_sessions_why:
                conn.execute("UPDATE sessions SET revoked_at = ?, revoked_why = ? WHERE username = ? AND "
                             "revoked_at IS NULL", (time.time(), end_sessions_why, username))
            if role is not None:
                conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
            if password_hash is not None:
                conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username))
            if disabled is not None:
                conn.execute("UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username))

    def credentials(self, username: str) -> dict | None:
        """``{username, role, password_hash, disabled}`` of the user, for a login."""
        with self.store.read() as conn:
            row = conn.execute("SELECT username, role, password_hash, disabled FROM users WHERE username = ?",
                               (username,)).fetchone()
        return None if row is None else dict(row)

    def count_users(self) -> int:
        with self.store.read() as conn:
            return conn.execute("SELECT count(*) FROM users").fetchone()[0]

    # ---- sessions and the login audit ----

    def open_session(self, sid: str, username: str, address: str | None, at: float) -> None:
        with self.store.write() as conn:
            conn.execute("INSERT INTO sessions (id, username, address, created_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                         (sid, username, address, at, at))

    def session(self, sid: str) -> dict | None:
        """``{username, role, disabled, created_at, seen_at}`` of a session not revoked, with its user."""
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT u.username, u.role, u.disabled, s.created_at, s.seen_at FROM sessions s JOIN users u "
                "ON u.username = s.username WHERE s.id = ? AND s.revoked_at IS NULL", (sid,)).fetchone()
        return None if row is None else dict(row)

    def touch_session(self, sid: str, at: float) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE sessions SET seen_at = ? WHERE id = ?", (at, sid))

    def end_session(self, sid: str, why: str) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE sessions SET revoked_at = ?, revoked_why = ? WHERE id = ? AND revoked_at IS NULL",
                         (time.time(), why, sid))

    def record_login(self, username: str, address: str | None, ok: bool, reason: str | None) -> None:
        with self.store.write() as conn:
            conn.execute("INSERT INTO logins (at, username, address, ok, reason) VALUES (?, ?, ?, ?, ?)",
                         (time.time(), username, address, int(ok), reason))

    def logins(self, limit: int) -> list[dict]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute("SELECT at, username, address, ok, reason FROM logins "
                                                  "ORDER BY id DESC LIMIT ?", (limit,))]

    # ---- API tokens ----

    def add_token(self, token_id: str, name: str, token_hash: str, scope: str, created_by: str | None) -> None:
        with self.store.write() as conn:
            conn.execute("INSERT INTO api_tokens (id, name, token_hash, scope, created_by, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (token_id, name, token_hash, scope, created_by, time.time()))

    def token(self, token_id: str) -> dict | None:
        with self.store.read() as conn:
            row = conn.execute(_TOKEN + " WHERE id = ?", (token_id,)).fetchone()
        return None if row is None else dict(row)

    def tokens(self) -> list[dict]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(_TOKEN + " ORDER BY created_at DESC")]

    def revoke_token(self, token_id: str) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         (time.time(), token_id))

    def token_by_hash(self, token_hash: str) -> dict | None:
        """``{id, name, scope, token_hash, revoked_at}`` of the token with this sha256."""
        with self.store.read() as conn:
            row = conn.execute("SELECT id, name, scope, token_hash, revoked_at FROM api_tokens WHERE token_hash = ?",
                               (token_hash,)).fetchone()
        return None if row is None else dict(row)

    def touch_token(self, token_id: str) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (time.time(), token_id))
