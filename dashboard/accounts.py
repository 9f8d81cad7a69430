"""Dashboard users (hashed passwords, roles) and API bearer tokens (only their sha256 is stored)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from werkzeug.security import check_password_hash, generate_password_hash

from vision.errors import InputError, NotFound
from vision.store.database import Store

ROLES = ("admin", "manager", "viewer")
RANK = {"viewer": 0, "manager": 1, "admin": 2}
SCOPES = ("read", "write")
# compared against when the user does not exist, so a failed login takes as long either way
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


def _check_username(name: str) -> str:
    if not isinstance(name, str) or not (1 <= len(name.strip()) <= 64):
        raise InputError("username: 1 to 64 characters")
    return name.strip()


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < 8:
        raise InputError("password: at least 8 characters")
    return password


class Accounts:
    def __init__(self, store: Store):
        self.store = store

    # ---- users ----

    def add_user(self, username: str, password: str, role: str) -> dict:
        username = _check_username(username)
        if role not in ROLES:
            raise InputError(f"role {role!r}: use one of {', '.join(ROLES)}")
        digest = generate_password_hash(_check_password(password), method="scrypt")
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise InputError(f"user {username!r} already exists")
            conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                         (username, digest, role, time.time()))
        return self.user(username)

    def user(self, username: str) -> dict:
        with self.store.read() as conn:
            row = conn.execute("SELECT id, username, role, created_at, disabled FROM users WHERE username = ?",
                               (username,)).fetchone()
        if row is None:
            raise NotFound(f"no user {username!r}")
        return dict(row)

    def users(self) -> list[dict]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(
                "SELECT id, username, role, created_at, disabled FROM users ORDER BY username")]

    def set_user(self, username: str, *, role: str | None = None, password: str | None = None,
                 disabled: bool | None = None) -> dict:
        """Change a user; a new role, a new password or disabling ends every session the user has."""
        self.user(username)
        with self.store.write() as conn:
            why = [w for w, v in (("role changed", role), ("password changed", password),
                                  ("user disabled", disabled or None)) if v is not None]
            if why:
                conn.execute("UPDATE sessions SET revoked_at = ?, revoked_why = ? WHERE username = ? AND "
                             "revoked_at IS NULL", (time.time(), ", ".join(why), username))
            if role is not None:
                if role not in ROLES:
                    raise InputError(f"role {role!r}: use one of {', '.join(ROLES)}")
                conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
            if password is not None:
                conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                             (generate_password_hash(_check_password(password), method="scrypt"), username))
            if disabled is not None:
                conn.execute("UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username))
        return self.user(username)

    def authenticate(self, username: str, password: str) -> dict | None:
        """The user if the password is right and the account enabled; None otherwise, in the same time."""
        with self.store.read() as conn:
            row = conn.execute("SELECT username, role, password_hash, disabled FROM users WHERE username = ?",
                               (str(username or "").strip(),)).fetchone()
        digest = row["password_hash"] if row else _DUMMY_HASH
        ok = check_password_hash(digest, str(password or ""))
        if row is None or not ok or row["disabled"]:
            return None
        return {"username": row["username"], "role": row["role"]}

    # ---- sessions (server-side: the cookie holds only the id) and the login audit ----

    def open_session(self, username: str, address: str | None) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.write() as conn:
            conn.execute("INSERT INTO sessions (id, username, address, created_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                         (sid, username, address, now, now))
        return sid

    def session_user(self, sid: str, max_age_s: float) -> dict | None:
        """The user of a live session: not revoked, not older than ``max_age_s``, the user enabled."""
        if not isinstance(sid, str) or not sid:
            return None
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT u.username, u.role, u.disabled, s.created_at, s.seen_at FROM sessions s JOIN users u "
                "ON u.username = s.username WHERE s.id = ? AND s.revoked_at IS NULL", (sid,)).fetchone()
        now = time.time()
        if row is None or row["disabled"] or now - row["created_at"] > max_age_s:
            return None
        if now - row["seen_at"] > 60:         # keep "last seen" without a write on every request
            try:
                with self.store.write() as conn:
                    conn.execute("UPDATE sessions SET seen_at = ? WHERE id = ?", (now, sid))
            except Exception:  # noqa: BLE001 - a busy database must not fail the request
                pass
        return {"username": row["username"], "role": row["role"]}

    def end_session(self, sid: str, why: str = "logged out") -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE sessions SET revoked_at = ?, revoked_why = ? WHERE id = ? AND revoked_at IS NULL",
                         (time.time(), why, sid))

    def record_login(self, username: str, address: str | None, ok: bool, reason: str | None = None) -> None:
        with self.store.write() as conn:
            conn.execute("INSERT INTO logins (at, username, address, ok, reason) VALUES (?, ?, ?, ?, ?)",
                         (time.time(), str(username)[:64], address, int(ok), reason))

    def logins(self, limit: int = 100) -> list[dict]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute("SELECT at, username, address, ok, reason FROM logins "
                                                  "ORDER BY id DESC LIMIT ?", (limit,))]

    def count_users(self) -> int:
        with self.store.read() as conn:
            return conn.execute("SELECT count(*) FROM users").fetchone()[0]

    # ---- API tokens ----

    @staticmethod
    def _hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def create_token(self, name: str, scope: str, created_by: str | None = None) -> tuple[dict, str]:
        """A new token; the plain text is returned once and never stored."""
        if scope not in SCOPES:
            raise InputError(f"scope {scope!r}: use read or write")
        if not isinstance(name, str) or not (1 <= len(name.strip()) <= 100):
            raise InputError("token name: 1 to 100 characters")
        token = "hm_" + secrets.token_urlsafe(32)
        token_id = "tok_" + secrets.token_hex(6)
        with self.store.write() as conn:
            conn.execute("INSERT INTO api_tokens (id, name, token_hash, scope, created_by, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (token_id, name.strip(), self._hash(token), scope,
                                                       created_by, time.time()))
        return self.token(token_id), token

    def token(self, token_id: str) -> dict:
        with self.store.read() as conn:
            row = conn.execute("SELECT id, name, scope, created_by, created_at, revoked_at, last_used_at "
                               "FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None:
            raise NotFound(f"no token {token_id!r}")
        return dict(row)

    def tokens(self) -> list[dict]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(
                "SELECT id, name, scope, created_by, created_at, revoked_at, last_used_at FROM api_tokens "
                "ORDER BY created_at DESC")]

    def revoke_token(self, token_id: str) -> dict:
        self.token(token_id)
        with self.store.write() as conn:
            conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         (time.time(), token_id))
        return self.token(token_id)

    def verify_token(self, token: str) -> dict | None:
        """The token's record if it is valid and not revoked."""
        if not token or not token.startswith("hm_"):
            return None
        digest = self._hash(token)
        with self.store.read() as conn:
            row = conn.execute("SELECT id, name, scope, token_hash, revoked_at FROM api_tokens WHERE token_hash = ?",
                               (digest,)).fetchone()
        if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        try:
            with self.store.write() as conn:
                conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (time.time(), row["id"]))
        except Exception:  # noqa: BLE001 - a busy database must not fail the request
            pass
        return {"id": row["id"], "name": row["name"], "scope": row["scope"]}
