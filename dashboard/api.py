"""The REST API under /api for integrators and the dashboard's own scripts.

Every route needs a login or a bearer token (``dashboard.auth``). The areas are nested blueprints:
``api_events`` (events, media, review), ``api_hall`` (windows, pauses, cameras), ``api_rota`` (the rota),
``api_admin`` (tokens, webhooks; admin session only), ``api_teach`` (the hall's labels, training runs, head
versions; a login only). ``openapi`` describes all of it at /api/openapi.json. This module also hands ``create_app``
the integrators' blueprints that live outside /api: /metrics and the webhooks page.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify

from vision import __version__
from vision.events import iso
from vision.webhooks.endpoints import Endpoints

from . import api_admin, api_events, api_hall, api_rota, api_teach
from .api_common import hall, query, store, supervisor
from .auth import require
from .metrics import bp as metrics_bp  # noqa: F401 - registered by create_app
from .webhooks_pages import bp as webhooks_pages_bp  # noqa: F401 - registered by create_app

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_blueprint(api_events.bp)
bp.register_blueprint(api_hall.bp)
bp.register_blueprint(api_admin.bp)
bp.register_blueprint(api_teach.bp)
bp.register_blueprint(api_rota.bp)


@bp.get("/health")
@require("viewer")
def health():
    query(set())
    pending = Endpoints(store()).pending_count()
    sup = supervisor()
    cameras = {"configured": len(hall().cameras), "connected": None}
    if sup is not None:
        cameras["connected"] = sum(1 for s in sup.status() if s["connected"])
    return jsonify({"status": "ok", "version": __version__, "time": iso(time.time()), "database": "ok",
                    "cameras": cameras, "webhook_backlog": pending})


@bp.get("/openapi.json")
@require("viewer")
def openapi():
    from .openapi import document
    doc = current_app.extensions.get("hallmonitor.openapi")
    if doc is None:
        doc = current_app.extensions["hallmonitor.openapi"] = document(hall())
    return jsonify(doc)
