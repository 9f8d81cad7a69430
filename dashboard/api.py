"""The REST API under /api for integrators and the dashboard's own scripts. Filled by the integrator issue."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .auth import require

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/health")
@require("viewer")
def health():
    return jsonify({"status": "ok"})
