"""Settings (admins only): cameras and windows with the zone editor, and the users.

The webhooks admin page lives at /settings/webhooks (the API's blueprint).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for

from vision.errors import ConfigError, HallmonitorError, InputError

from . import changes
from .accounts import ROLES
from .auth import accounts, require
from .i18n import t
from .live import frame_response
from .present import camera_or_404, hall, local, supervisor
from .settings_errors import config_problems
from .zones import ZONES, set_zones, text_hash, write_config

bp = Blueprint("settings", __name__, url_prefix="/settings")


def config_path() -> Path | None:
    path = current_app.config.get("HALL_CONFIG_PATH")
    return Path(path) if path else None


@bp.route("")
@require("admin", token=False)
def index():
    path = config_path()
    return render_template("settings.html", cameras=hall().cameras, config_path=path,
                           in_process=supervisor() is not None)


# ---- zone editor ----

@bp.route("/cameras/<camera_id>")
@require("admin", token=False)
def zones_page(camera_id: str):
    cam = camera_or_404(camera_id)
    path = config_path()
    file_hash = text_hash(path.read_text(encoding="utf-8")) if path and path.is_file() else None
    windows = [{"id": w.id, "name": w.name or w.id,
                **{z: [list(p) for p in getattr(w, z)] if getattr(w, z) else None for z in ZONES}}
               for w in cam.windows]
    return render_template("zones.html", cam=cam, windows=windows, config_path=path, file_hash=file_hash,
                           zones=ZONES)


@bp.route("/cameras/<camera_id>/frame.jpg")
@require("admin", token=False)
def zones_frame(camera_id: str):
    camera_or_404(camera_id)
    return frame_response(camera_id, clean=True)


@bp.post("/cameras/<camera_id>/zones")
@require("admin", token=False)
def save_zones(camera_id: str):
    camera_or_404(camera_id)
    path = config_path()
    if path is None or not path.is_file():
        return jsonify({"error": {"status": 409, "message": t("no_config_file")}}), 409
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError("send JSON: {\"windows\": {window_id: {zone: [[x, y], ...]}}, \"file_hash\": ...}")
    old_text = path.read_text(encoding="utf-8")
    if body.get("file_hash") and body["file_hash"] != text_hash(old_text):
        return jsonify({"error": {"status": 409, "message": t("config_changed")}}), 409
    try:
        new_text, config = set_zones(old_text, camera_id, body.get("windows"), source=path.name,
                                     base_dir=hall().base_dir)
    except ConfigError as exc:
        # the English lines for scripts; each problem's key and what is wrong in the page's language
        return jsonify({"error": {"status": 400, "message": exc.message, "problems": config_problems(exc)}}), 400
    write_config(path, new_text, old_text)
    changes.record("zones", camera_id, changes.text_diff(old_text, new_text, path.name))
    current_app.config["HALL"] = config    # this process's pages at once; the cameras within seconds (live reload)
    return jsonify({"ok": True, "file_hash": text_hash(new_text), "message": t("zones_saved"),
                    "restart_needed": False})


# ---- users ----

def _enabled_admins(excluding: str | None = None) -> int:
    return sum(1 for u in accounts().users()
               if u["role"] == "admin" and not u["disabled"] and u["username"].lower() != (excluding or "").lower())


@bp.route("/users", methods=["GET", "POST"])
@require("admin", token=False)
def users():
    error = message = None
    if request.method == "POST":
        try:
            user = accounts().add_user(request.form.get("username", ""), request.form.get("password", ""),
                                       request.form.get("role", "viewer"))
            message = f"{t('user_added')}: {user['username']}"
        except HallmonitorError as exc:
            error = exc.message
    return render_template("users.html", users=accounts().users(), roles=ROLES, error=error, message=message,
                           local=local), (400 if error else 200)


@bp.post("/users/<username>")
@require("admin", token=False)
def change_user(username: str):
    user = accounts().user(username)
    role = request.form.get("role")
    disabled = request.form.get("disabled")
    password = request.form.get("password") or None
    myself = user["username"].lower() == g.user["username"].lower()
    losing_admin = (role is not None and role != "admin") or disabled == "1"
    if user["role"] == "admin" and losing_admin and (myself or _enabled_admins(excluding=user["username"]) == 0):
        raise InputError(t("keep_one_admin"))
    accounts().set_user(user["username"], role=role if role in ROLES else None, password=password,
                        disabled=None if disabled is None else disabled == "1")
    return redirect(url_for("settings.users"))
