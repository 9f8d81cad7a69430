"""Dashboard pages (board, live, events, event, report, settings). Filled by the dashboard issue."""

from __future__ import annotations

from flask import Blueprint, render_template

from .auth import require

bp = Blueprint("pages", __name__)


@bp.route("/")
@require("viewer", token=False)
def board():
    return render_template("base.html")
