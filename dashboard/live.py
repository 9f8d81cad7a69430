"""Live view per camera: the newest analysed frame with zones and detections drawn, as a JPEG that
the page fetches about once a second (the workers analyse at ~1 fps anyway, so nothing is lost).

The frame comes from the camera worker in this process (``supervisor.workers[cam].latest``). A
separate `hallmonitor dashboard` process has no workers: it serves the latest event snapshot of
the camera instead, and the page says that the live view needs `hallmonitor run`.
Each annotated frame is encoded once, however many pages watch it.
"""

from __future__ import annotations

import threading

import cv2
from flask import Blueprint, abort, current_app, make_response, render_template, send_file

from vision.media.annotate import annotate

from .auth import require
from .present import camera_or_404, hall, local, media_file, store, supervisor

bp = Blueprint("live", __name__)

MAX_WIDTH = 960
_lock = threading.Lock()


def latest_frame(camera_id: str):
    """(ts, BGR image, observations) of the camera's newest analysed frame in this process, or None."""
    sup = supervisor()
    worker = getattr(sup, "workers", {}).get(camera_id) if sup is not None else None
    return getattr(worker, "latest", None) if worker is not None else None


def latest_snapshot_event(camera_id: str) -> dict | None:
    rows, _ = store().list_events(camera_id=camera_id, limit=20)
    return next((e for e in rows if e.get("snapshot")), None)


def _encode(image, quality: int = 75) -> bytes:
    if image.shape[1] > MAX_WIDTH:
        h = round(image.shape[0] * MAX_WIDTH / image.shape[1])
        image = cv2.resize(image, (MAX_WIDTH, h), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        abort(500, description="the frame could not be encoded")
    return jpeg.tobytes()


def live_jpeg(camera_id: str, clean: bool = False) -> tuple[float, bytes] | None:
    """The camera's newest frame as JPEG (annotated unless ``clean``), cached per frame."""
    latest = latest_frame(camera_id)
    if latest is None:
        return None
    ts, image, observations = latest
    cache = current_app.extensions.setdefault("hallmonitor.live_cache", {})
    key = (camera_id, clean)
    with _lock:
        hit = cache.get(key)
        if hit is not None and hit[0] == ts:
            return hit
        if clean:
            jpeg = _encode(image, 85)
        else:
            cam = hall().camera(camera_id)
            jpeg = _encode(annotate(image, list(cam.windows), list(observations or [])))
        cache[key] = (ts, jpeg)
        return cache[key]


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
    return render_template("live.html", cams=cams, in_process=supervisor() is not None)


def frame_response(camera_id: str, clean: bool):
    frame = live_jpeg(camera_id, clean=clean)
    if frame is not None:
        resp = make_response(frame[1])
        resp.headers["Content-Type"] = "image/jpeg"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Frame-Time"] = local(frame[0])
        resp.headers["X-Frame-Source"] = "live"
        return resp
    event = latest_snapshot_event(camera_id)
    if event is None:
        abort(404, description=f"camera {camera_id}: no live frame in this process and no event snapshot yet")
    resp = send_file(media_file(event["snapshot"]), mimetype="image/jpeg", max_age=0)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Time"] = local(event["started_at"])
    resp.headers["X-Frame-Source"] = "snapshot"
    return resp


@bp.route("/live/<camera_id>.jpg")
@require("viewer", token=False)
def frame(camera_id: str):
    camera_or_404(camera_id)
    return frame_response(camera_id, clean=False)
