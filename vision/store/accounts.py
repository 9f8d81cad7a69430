"""The dashboard's accounts in the database: users, API tokens, sessions and the login audit.

Only rows live here: hashing passwords and tokens, roles and the password policy are the dashboard's
(dashboard/accounts.py). This module owns the ``users`` and ``api_tokens`` tables
(migration 4, with the webhook endpoints) and ``sessions`` and ``logins`` (migration 8), numbered in
vision/store/schema.py.
"""

from __future__ import annotations

import sqlite3

from vision.store.ddl import ddl


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

