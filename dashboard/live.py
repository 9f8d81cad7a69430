"""Live view per camera: the newest analysed frame with zones and detections drawn, as a JPEG that
the page fetches about once a second (the workers analyse at ~1 fps anyway, so nothing is lost).

Each window's staff zone is outlined in its state's colour (media/window_states, from the states the
store keeps). ``?width=`` asks for another size (the tile's 960 px by default, the enlarged view up to
the camera's own width, never more than ``MAX_WIDTH``). The headers say how old the frame is and whether
the camera is connected (``X-Frame-Age``, ``X-Camera-Status``, ``X-Frame-Stale``), so the page never
calls a stale frame live.

The frame comes from the camera worker in this process (``supervisor.workers[cam].latest``). A
separate `hallmonitor dashboard` process has no workers: it serves the latest event snapshot of
the camera instead, and the page says that the live view needs `hallmonitor run`.
Each annotated frame is encoded once, however many pages watch it.
"""

from __future__ import annotations

import threading
import time

import cv2
from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    send_file,
)

from vision.media.annotate import annotate
from vision.media.window_states import draw_window_states

from .auth import require
from .present import camera_or_404, hall, local, media_file, store, supervisor, to_ts

bp = Blueprint("live", __name__)

TILE_WIDTH = 960           # the tiles' frame
MIN_WIDTH, MAX_WIDTH = 160, 1920   # what ?width= may ask; a frame is never enlarged past its camera's width
STALE_S = 5.0              # a frame older than this is not live (HM_LIVE_STALE_S)
_lock = threading.Lock()


def stale_after_s() -> float:
    return float(current_app.config.get("HM_LIVE_STALE_S", STALE_S))


def requested_width() -> int:
    """The ``width`` query parameter (pixels), or a 400 that says what is allowed."""
    raw = request.args.get("width")
    if raw is None or raw == "":
        return TILE_WIDTH
    try:
        width = int(raw)
    except ValueError:
        width = None
    if width is None or not MIN_WIDTH <= width <= MAX_WIDTH:
        abort(400, description=f"width: expected a whole number of pixels from {MIN_WIDTH} to {MAX_WIDTH}, got {raw!r}")
    return width


def window_states(camera_id: str) -> dict[str, str]:
    """window id -> the status the store keeps ('closed' for every window of a disabled camera)."""
    cam = hall().camera(camera_id)
    ids = {w.id for w in cam.windows}
    if not cam.enabled:
        return dict.fromkeys(ids, "closed")
    return {r["window_id"]: r["status"] for r in store().window_states() if r["window_id"] in ids}


def camera_connected(camera_id: str) -> bool:
    """The worker's reader in this process says so; else no camera_offline event is open."""
    sup = supervisor()
    worker = getattr(sup, "workers", {}).get(camera_id) if sup is not None else None
    reader = getattr(worker, "reader", None)
    if reader is not None:
        return bool(reader.connected)
    return not any(e.type == "camera_offline" for e in store().open_events(camera_id))


def latest_frame(camera_id: str):
    """(ts, BGR image, observations) of the camera's newest analysed frame in this process, or None."""
    sup = supervisor()
    worker = getattr(sup, "workers", {}).get(camera_id) if sup is not None else None
    return getattr(worker, "latest", None) if worker is not None else None


def latest_snapshot_event(camera_id: str) -> dict | None:
    rows, _ = store().list_events(camera_id=camera_id, limit=20)
    return next((e for e in rows if e.get("snapshot")), None)


def _encode(image, quality: int = 75, width: int = TILE_WIDTH) -> bytes:
    if image.shape[1] > width:
        h = round(image.shape[0] * width / image.shape[1])
        image = cv2.resize(image, (width, h), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        abort(500, description="the frame could not be encoded")
    return jpeg.tobytes()


def live_jpeg(camera_id: str, clean: bool = False, width: int = TILE_WIDTH) -> tuple[float, bytes] | None:
    """The camera's newest frame as JPEG at most ``width`` wide (annotated with the windows' states
    unless ``clean``), cached per frame, size and states."""
    latest = latest_frame(camera_id)
    if latest is None:
        return None
    ts, image, observations = latest
    states = {} if clean else window_states(camera_id)
    cache = current_app.extensions.setdefault("hallmonitor.live_cache", {})
    key = (camera_id, clean, width)
    stamp = (ts, tuple(sorted(states.items())))
    with _lock:
        hit = cache.get(key)
        if hit is not None and hit[0] == stamp:
            return ts, hit[1]
        if clean:
            jpeg = _encode(image, 85, width)
        else:
            cam = hall().camera(camera_id)
            drawn = annotate(image, list(cam.windows), list(observations or []), staff_zones=False)
            jpeg = _encode(draw_window_states(drawn, list(cam.windows), states, hall().hall.language), 75, width)
        cache[key] = (stamp, jpeg)
        return ts, jpeg


@bp.route("/live")
@require("viewer", token=False)
def live():
    cams = []
    for cam in hall().cameras:
        live_now = latest_frame(cam.id) is not None
        snap = None if live_now else latest_snapshot_event(cam.id)
        cams.append({"id": cam.id, "name": cam.name or cam.id, "windows": [w.name or w.id for w in cam.windows],
                     "enabled": cam.enabled, "live": live_now,
                     "snapshot_time": local(snap["started_at"]) if snap else None})
    return render_template("live.html", cams=cams, in_process=supervisor() is not None,
                           stale_after_s=stale_after_s(), max_width=MAX_WIDTH)


def _frame_headers(resp, ts: float, source: str, camera_id: str):
    age = max(0.0, time.time() - ts)
    connected = camera_connected(camera_id)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Time"] = local(ts)          # in the hall's time zone
    resp.headers["X-Frame-Timestamp"] = f"{ts:.3f}"
    resp.headers["X-Frame-Age"] = f"{age:.1f}"
    resp.headers["X-Frame-Source"] = source
    resp.headers["X-Camera-Status"] = "online" if connected else "offline"
    resp.headers["X-Frame-Stale"] = "0" if source == "live" and connected and age <= stale_after_s() else "1"
    return resp


def frame_response(camera_id: str, clean: bool, width: int = TILE_WIDTH):
    frame = live_jpeg(camera_id, clean=clean, width=width)
    if frame is not None:
        resp = make_response(frame[1])
        resp.headers["Content-Type"] = "image/jpeg"
        return _frame_headers(resp, frame[0], "live", camera_id)
    event = latest_snapshot_event(camera_id)
    if event is None:
        abort(404, description=f"camera {camera_id}: no live frame in this process and no event snapshot yet")
    resp = send_file(media_file(event["snapshot"]), mimetype="image/jpeg", max_age=0)
    started = to_ts(event["started_at"])
    assert started is not None   # the store gives every event a started_at
    return _frame_headers(resp, started, "snapshot", camera_id)


@bp.route("/live/<camera_id>.jpg")
@require("viewer", token=False)
def frame(camera_id: str):
    camera_or_404(camera_id)
    return frame_response(camera_id, clean=False, width=requested_width())
