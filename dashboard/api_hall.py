"""/api/windows (states, pauses; pause and resume from the queue caller) and /api/cameras."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify

from vision.errors import NotFound
from vision.store.leases import camera_nodes

from . import changes
from .api_common import find_window, hall, json_body, number, query, store, supervisor, text, windows
from .auth import require

bp = Blueprint("hall", __name__)

MAX_PAUSE_MINUTES = 1440


def _window_json(window, camera, states: dict, pauses: list[dict]) -> dict:
    mine = [p for p in pauses if p["window_id"] == window.id]
    return {"id": window.id, "name": window.name, "camera_id": camera.id, "camera_name": camera.name,
            "staff": window.staff, "state": states.get(window.id), "paused": bool(mine), "pauses": mine}


@bp.get("/windows")
@require("viewer")
def list_windows():
    query(set())
    states = {s["window_id"]: s for s in store().window_states()}
    pauses = store().active_pauses(time.time())
    return jsonify({"windows": [_window_json(w, cam, states, pauses) for w, cam in windows()]})


@bp.get("/windows/<window_id>")
@require("viewer")
def get_window(window_id: str):
    query(set())
    window, cam = find_window(window_id)
    states = {s["window_id"]: s for s in store().window_states()}
    return jsonify(_window_json(window, cam, states, store().active_pauses(time.time(), window_id)))


@bp.post("/windows/<window_id>/pause")
@require("manager")
def pause(window_id: str):
    """Pause the window's rules for ``minutes`` (the queue caller shows "暂停服务").

    The worker reads active pauses every second and pauses the window's rules."""
    query(set())
    find_window(window_id)
    data = json_body({"minutes", "reason"})
    minutes = number(data, "minutes", 1, MAX_PAUSE_MINUTES)
    reason = text(data, "reason", max_len=200)
    now = time.time()
    created = store().add_pause(window_id, "api", reason, now, now + minutes * 60)
    changes.record("window paused", f"{window_id} · {minutes:g} min" + (f" · {reason}" if reason else ""))
    return jsonify({"pause": created}), 201


@bp.post("/windows/<window_id>/resume")
@require("manager")
def resume(window_id: str):
    """End the window's API pauses now; resuming a window that is not paused is not an error."""
    query(set())
    find_window(window_id)
    json_body(set(), required=False)
    try:
        ended = store().end_pause(window_id, time.time(), source="api")
    except NotFound:
        ended = []
    if ended:
        changes.record("window resumed", window_id)
    return jsonify({"window_id": window_id, "ended": ended})


@bp.get("/cameras")
@require("viewer")
def list_cameras():
    query(set())
    sup = supervisor()
    status = {s["camera_id"]: s for s in sup.status()} if sup is not None else {}
    nodes = camera_nodes(store(), time.time())     # which node's lease says it watches each camera
    # never the camera URL: it carries the camera's password
    return jsonify({"cameras": [
        {"id": cam.id, "name": cam.name, "enabled": cam.enabled, "analysis_fps": cam.analysis_fps,
         "windows": [w.id for w in cam.windows], "node": nodes.get(cam.id), "status": status.get(cam.id)}
        for cam in hall().cameras]})
