"""The hall managers' dashboard and the integrators' API: one Flask app (app factory, a blueprint per area)."""

from __future__ import annotations

import functools
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, g
from flask.json.provider import DefaultJSONProvider

from vision.config import HallConfig
from vision.media.palette import css_variables
from vision.store.database import Store

MAX_BODY_BYTES = 64 * 1024


def _secret_key(path: Path) -> bytes:
    """The session signing key, made once and kept (0600) so sessions survive restarts."""
    if path.is_file():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


# No inline script anywhere (pages load their scripts from /static), so a script slipped into an
# event comment or a camera name cannot run; nobody may frame the dashboard (clickjacking).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def _security_headers(response, tls: bool):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    if tls:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


class _StrictJSON(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        from .api_common import strict_json_loads
        return strict_json_loads(s)


def create_app(config: HallConfig, *, store: Store | None = None, supervisor=None, config_path: Path | None = None,
               testing: bool = False, secret_key: bytes | None = None) -> Flask:
    from . import (
        api,
        api_reference,
        audit,
        auth,
        changes,
        errors,
        live,
        pages,
        report,
        rota,
        settings,
        settings_pages,
        shared,
        sse,
        teach,
    )
    from .accounts import Accounts
    from .i18n import language, plural_forms, t, tn
    from .throttle import LoginThrottle

    app = Flask(__name__)
    app.json = _StrictJSON(app)        # request.get_json() everywhere refuses what json_body refuses
    app.config.update(
        HALL=config,
        HALL_CONFIG_PATH=config_path,
        TESTING=testing,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SECRET_KEY=secret_key or _secret_key(config.path(config.dashboard.secret_key_file)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.dashboard.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        JSON_AS_ASCII=False,
    )
    if store is None:
        store = Store(config.store_target())
    app.extensions["hallmonitor.store"] = store
    app.extensions["hallmonitor.accounts"] = Accounts(store)
    app.extensions["hallmonitor.supervisor"] = supervisor
    if supervisor is not None and hasattr(supervisor, "config_listeners"):   # a reloaded cameras.yaml: the pages too
        supervisor.config_listeners.append(lambda new: app.config.__setitem__("HALL", new))
    app.extensions["hallmonitor.throttle"] = LoginThrottle()

    errors.register(app)
    app.after_request(functools.partial(_security_headers, tls=config.dashboard.secure_cookies))
    app.before_request(auth.identify)

    @app.before_request
    def _language():
        g.lang = language()

    app.jinja_env.globals.update(t=t, tn=tn, plural_forms=plural_forms, csrf_token=auth.csrf_token)

    @app.context_processor
    def _hall():
        return {"hall": app.config["HALL"], "palette_css": css_variables()}

    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(sse.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(report.bp)
    app.register_blueprint(rota.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(settings_pages.bp)
    app.register_blueprint(teach.bp)
    app.register_blueprint(api.metrics_bp)
    app.register_blueprint(api.webhooks_pages_bp)
    app.register_blueprint(shared.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(api_reference.bp)

    with app.app_context():
        changes.import_old_log()      # a log kept in changes.jsonl by a release before schema 15

    @app.get("/favicon.ico")
    def favicon():
        # what a browser asks for by itself (on a JSON or image answer, where no page links the icon)
        return app.send_static_file("favicon.svg")

    return app
