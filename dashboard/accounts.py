"""Dashboard users (hashed passwords, roles) and API bearer tokens (only their sha256 is stored).

The policy lives here: password rules and hashing, roles, token format, constant-time checks. The
rows are vision/store/accounts.py's (the tables and their SQL).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from werkzeug.security import check_password_hash, generate_password_hash

from vision.errors import InputError, NotFound
from vision.store.accounts import AccountRecords
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
        self.rows = AccountRecords(store)

    # ---- users ----

    def add_user(self, username: str, password: str, role: str) -> dict:
        username = _check_username(username)
        if role not in ROLES:
            raise InputError(f"role {role!r}: use one of {', '.join(ROLES)}")
        digest = generate_password_hash(_check_password(password), method="scrypt")
        self.rows.add_user(username, digest, role)
        return self.user(username)

    def user(self, username: str) -> dict:
        row = self.rows.user(username)
        if row is None:
            raise NotFound(f"no user {username!r}")
        return row

    def users(self) -> list[dict]:
        return self.rows.users()

    def set_user(self, username: str, *, role: str | None = None, password: str | None = None,
                 disabled: bool | None = None) -> dict:
        """Change a user; a new role, a new password or disabling ends every session the user has."""
        self.user(username)
        if role is not None and role not in ROLES:
            raise InputError(f"role {role!r}: use one of {', '.join(ROLES)}")
        digest = None if password is None else generate_password_hash(_check_password(password), method="scrypt")
        why = [w for w, v in (("role changed", role), ("password changed", password),
                              ("user disabled", disabled or None)) if v is not None]
        self.rows.update_user(username, role=role, password_hash=digest, disabled=disabled,
                              end_sessions_why=", ".join(why) or None)
        return self.user(username)

    def authenticate(self, username: str, password: str) -> dict | None:
        """The user if the password is right and the account enabled; None otherwise, in the same time."""
        row = self.rows.credentials(str(username or "").strip())
        digest = row["password_hash"] if row else _DUMMY_HASH
        ok = check_password_hash(digest, str(password or ""))
        if row is None or not ok or row["disabled"]:
            return None
        return {"username": row["username"], "role": row["role"]}

    # ---- sessions (server-side: the cookie holds only the id) and the login audit ----

    def open_session(self, username: str, address: str | None) -> str:
        sid = secrets.token_urlsafe(32)
        self.rows.open_session(sid, username, address, time.time())
        return sid

    def session_user(self, sid: str, max_age_s: float) -> dict | None:
        """The user of a live session: not revoked, not older than ``max_age_s``, the user enabled."""
        if not isinstance(sid, str) or not sid:
            return None
        row = self.rows.session(sid)
        now = time.time()
        if row is None or row["disabled"] or now - row["created_at"] > max_age_s:
            return None
        if now - row["seen_at"] > 60:         # keep "last seen" without a write on every request
            try:
                self.rows.touch_session(sid, now)
            except Exception:  # noqa: BLE001 - a busy database must not fail the request
                pass
        return {"username": row["username"], "role": row["role"]}

    def end_session(self, sid: str, why: str = "logged out") -> None:
        self.rows.end_session(sid, why)

    def record_login(self, username: str, address: str | None, ok: bool, reason: str | None = None) -> None:
        self.rows.record_login(str(username)[:64], address, ok, reason)

    def logins(self, limit: int = 100) -> list[dict]:
        return self.rows.logins(limit)

    def count_users(self) -> int:
        return self.rows.count_users()

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
        self.rows.add_token(token_id, name.strip(), self._hash(token), scope, created_by)
        return self.token(token_id), token

    def token(self, token_id: str) -> dict:
        row = self.rows.token(token_id)
        if row is None:
            raise NotFound(f"no token {token_id!r}")
        return row

    def tokens(self) -> list[dict]:
        return self.rows.tokens()

    def revoke_token(self, token_id: str) -> dict:
        self.token(token_id)
        self.rows.revoke_token(token_id)
        return self.token(token_id)

    def verify_token(self, token: str) -> dict | None:
        """The token's record if it is valid and not revoked."""
        if not token or not token.startswith("hm_"):
            return None
        digest = self._hash(token)
        row = self.rows.token_by_hash(digest)
        if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        try:
            self.rows.touch_token(row["id"])
        except Exception:  # noqa: BLE001 - a busy database must not fail the request
            pass
        return {"id": row["id"], "name": row["name"], "scope": row["scope"]}
