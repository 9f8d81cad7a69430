"""Who is asking: a logged-in user (session cookie, CSRF-protected) or an API bearer token.

Nothing but the login page and static files works without one of the two.
Roles: viewer (look), manager (acknowledge, resolve, pause), admin (settings, users,
tokens, webhooks). Token scopes: read (GET) and write (also POST: pause, review).
"""

from __future__ import annotations

import functools
import hmac
import math
import secrets

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, session, url_for

from .accounts import RANK, Accounts
from .i18n import t

bp = Blueprint("auth", __name__)

OPEN_ENDPOINTS = {"auth.login", "auth.logout", "static", "favicon", "shared.snapshot"}  # shared: signed links
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None. Browsers drop tabs and newlines from URLs
    and read a backslash as a slash, so ``/%09/evil.example`` or ``/\\evil.example`` would leave the site."""
    from urllib.parse import urlsplit

    if not target or not target.startswith("/"):
        return None
    if any(ord(c) < 0x21 or c == "\\" or 0x7f <= ord(c) <= 0x9f for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def accounts() -> Accounts:
    return current_app.extensions["hallmonitor.accounts"]


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def csrf_ok(header: bool = True) -> bool:
    """The request carries this session's CSRF token (header X-CSRF-Token, or the form's csrf_token)."""
    sent = (request.headers.get("X-CSRF-Token") if header else None) or request.form.get("csrf_token") or ""
    return hmac.compare_digest(sent, session.get("csrf", ""))


def identify():
    """before_request: set g.user or g.token, refuse anything else (401 JSON for the API, login page otherwise)."""
    g.user = g.token = None
    token = _bearer()
    if token is not None:
        g.token = accounts().verify_token(token)
        if g.token is None:
            abort(401, description="the bearer token is not valid (unknown or revoked); ask an admin for a new one")
        if request.method in UNSAFE and g.token["scope"] != "write":
            abort(403, description="this token has read scope; this request needs a write token")
        return None
    sid = session.get("sid")
    if sid:
        g.user = accounts().session_user(sid, current_app.permanent_session_lifetime.total_seconds())
        if g.user is None:               # logged out, revoked or expired: the cookie is worth nothing
            session.clear()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if g.user is None:
        if request.path.startswith(("/api/", "/metrics")) or request.accept_mimetypes.best == "application/json":
            abort(401, description="log in, or send an API token as `Authorization: Bearer hm_...`")
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    if request.method in UNSAFE:
        if not csrf_ok():
            abort(403, description="missing or wrong CSRF token; reload the page and try again")
    return None


def require(role: str = "viewer", *, token: bool = True):
    """Allow a user of at least ``role``; a token too when ``token`` (read for GET, write otherwise)."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            if g.get("token") is not None:
                if not token:
                    abort(403, description="API tokens cannot do this; log in as an admin")
                return view(*args, **kwargs)
            user = g.get("user")
            if user is None:
                abort(401, description="log in first")
            if RANK[user["role"]] < RANK[role]:
                abort(403, description=f"this needs the {role} role; you are {user['role']}")
            return view(*args, **kwargs)
        return inner
    return wrap


def actor() -> str:
    """Who did it, for review and audit fields."""
    if g.get("user"):
        return g.user["username"]
    if g.get("token"):
        return f"token:{g.token['name']}"
    return "anonymous"


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    next_url = local_path(request.values.get("next")) or url_for("pages.board")
    if request.method == "POST":
        if not csrf_ok(header=False):
            error = "form_expired"
        else:
            username, address = request.form.get("username", ""), request.remote_addr or ""
            throttle = current_app.extensions["hallmonitor.throttle"]
            lockout = throttle.locked(username, address)
            user = None if lockout else accounts().authenticate(username, request.form.get("password", ""))
            if lockout:
                accounts().record_login(username, address, False, f"locked ({lockout.who})")
                minutes = math.ceil(lockout.retry_after_s / 60)
                message = t("login_locked_" + lockout.who).format(minutes=minutes)
                resp = make_response(render_template("login.html", error=None, message=message, next=next_url), 429)
                resp.headers["Retry-After"] = str(lockout.retry_after_s)
                return resp
            if user is None:
                throttle.failed(username, address)
                accounts().record_login(username, address, False, "wrong username or password")
                error = "bad_login"          # the same words whether or not the user exists
            else:
                session.clear()
                accounts().record_login(user["username"], address, True)
                session["sid"] = accounts().open_session(user["username"], address)
                session.permanent = True
                csrf_token()
                return redirect(next_url)
    return render_template("login.html", error=error, next=next_url), (401 if error else 200)


@bp.post("/logout")
def logout():
    """POST only (a link or an image cannot log someone out); ends the session in the store, so a
    copied cookie is worth nothing afterwards."""
    sid = session.get("sid")
    if sid:
        if not csrf_ok():
            abort(403, description="missing or wrong CSRF token; reload the page and try again")
        accounts().end_session(sid)
    session.clear()
    return redirect(url_for("auth.login"))
