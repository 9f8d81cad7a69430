"""Dashboard pages: the board (windows + live alert feed), the events list, one event, its media,
and the review actions (acknowledge / resolve / false positive, keep)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import cv2
from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request, url_for

from vision.errors import InputError
from vision.events import EVENT_TYPES, SEVERITIES
from vision.media.labels import WORDS
from vision.store.checks import BAD_CURSOR
from vision.store.events import REVIEW_STATUSES

from .auth import actor, local_path, require
from .board import board_tiles
from .errors import error_response, wants_json
from .evidence import send_evidence
from .i18n import t
from .present import (
    alert_json,
    camera_names,
    duration,
    hall,
    hall_tz,
    local,
    local_day_start,
    media_file,
    parse_day,
    staff_text,
    store,
    timeline_steps,
    type_title,
    where,
    window_names,
)
from .privacy import clip_for, must_blur, record_look, snapshot_for
from .sse import last_seq

bp = Blueprint("pages", __name__)

PAGE_SIZE = 50
FEED_SIZE = 30
THUMB_WIDTH = 320


def _helpers() -> dict:
    return {"local": local, "duration": duration, "type_title": type_title, "where": where, "staff_text": staff_text}


@bp.route("/")
@require("viewer", token=False)
def board():
    tiles = board_tiles(hall(), store())
    recent, _ = store().list_events(limit=FEED_SIZE)
    midnight = local_day_start(datetime.now(hall_tz()).date())
    counts = store().counts_by_type(since=midnight, without_false_positives=True)
    today = [(ty, counts.get(ty, 0)) for ty in EVENT_TYPES]
    return render_template("board.html", tiles=tiles, alerts=[alert_json(e) for e in recent],
                           today=today, today_max=max([n for _, n in today] + [1]), today_start=midnight,
                           last_id=last_seq(), types_text={ty: type_title(ty) for ty in EVENT_TYPES},
                           **_helpers())


# ---- the events list ----

def _filters() -> dict:
    """The list's filters from the query string, as list_events takes them (bad values are ignored)."""
    args = request.args
    out: dict = {}
    day_from, day_to = parse_day(args.get("from")), parse_day(args.get("to"))
    if day_from:
        out["since"] = local_day_start(day_from)
    if day_to:
        out["until"] = local_day_start(day_to + timedelta(days=1))
    if args.get("window") in window_names():
        out["window_id"] = args["window"]
    if args.get("camera") in camera_names():
        out["camera_id"] = args["camera"]
    picks = {"types": (args.getlist("type"), EVENT_TYPES), "review_status": (args.getlist("status"), REVIEW_STATUSES),
             "severity": (args.getlist("severity"), SEVERITIES)}
    for key, (values, allowed) in picks.items():
        values = [v for v in values if v in allowed]
        if values:
            out[key] = values
    if args.get("open") == "1":
        out["phases"] = ["started", "updated"]
    return out


@bp.route("/events")
@require("viewer", token=False)
def events():
    filters = _filters()
    cursor = request.args.get("cursor") or None
    cursor_error = None
    try:
        rows, next_cursor = store().list_events(**filters, limit=PAGE_SIZE, cursor=cursor)
    except InputError:
        if cursor is None:
            raise
        rows, next_cursor, cursor_error = [], None, t("bad_cursor")
    total = store().count_events(**filters)
    keep_args = [(k, v) for k in ("from", "to", "window", "camera", "type", "status", "severity", "open")
                 for v in request.args.getlist(k) if v]
    next_url = None
    if next_cursor:
        next_url = url_for("pages.events") + "?" + urlencode([*keep_args, ("cursor", next_cursor)])
    first_url = url_for("pages.events") + ("?" + urlencode(keep_args) if keep_args else "")
    page = render_template("events.html", rows=rows, total=total, next_url=next_url, first_url=first_url,
                           paged=cursor is not None, cursor_error=cursor_error, cameras=camera_names(),
                           args=request.args, windows=window_names(), types=EVENT_TYPES,
                           statuses=REVIEW_STATUSES, severities=SEVERITIES, **_helpers())
    if cursor_error and wants_json():
        return error_response(400, BAD_CURSOR)
    return page, 400 if cursor_error else 200


# ---- one event ----

def _event_or_404(event_id: str) -> dict:
    event = store().get_event(event_id)
    if event is None:
        abort(404, description=f"no event {event_id!r}")
    return event


@bp.route("/events/<event_id>")
@require("viewer", token=False)
def event(event_id: str, review_error: str | None = None, comment_value: str | None = None):
    ev = _event_or_404(event_id)
    timeline = timeline_steps(ev, store().timeline(event_id))
    clip_wait = None
    if ev.get("clip") and must_blur(False):
        _, _, job = clip_for(ev, media_file(ev["clip"]))
        clip_wait = job is not None       # the player waits for the blurred copy, showing its progress
    return render_template("event.html", ev=ev, alert=alert_json(ev), timeline=timeline, clip_wait=clip_wait,
                           review_error=review_error, comment_value=comment_value, label_words=WORDS,
                           reviews=store().reviews(event_id), near=store().neighbours(event_id),
                           camera_name=camera_names().get(ev["camera_id"], ev["camera_id"]),
                           statuses=REVIEW_STATUSES, **_helpers())


@bp.route("/events/<event_id>/clip.mp4")
@require("viewer", token=False)
def clip(event_id: str):
    ev = _event_or_404(event_id)
    download = request.args.get("download") == "1"
    path, blurred, job = clip_for(ev, media_file(ev.get("clip")), download)
    if path is None:
        assert job is not None
        if download and not wants_json():   # a page that shows the progress, then fetches the file
            return render_template("export.html", ev=ev, job=job.to_json()), 202, {"Retry-After": "2"}
        return jsonify(job.to_json()), 202, {"Retry-After": "2"}
    record_look(event_id, "clip", "download" if download else "view", "dashboard", blurred)
    return send_evidence(path, mimetype="video/mp4", conditional=True, as_attachment=download,
                         download_name=f"{event_id}.mp4", max_age=3600)


@bp.route("/events/<event_id>/clip/export")
@require("viewer", token=False)
def clip_export(event_id: str):
    """The blurred copy's progress: ``ready``, or ``preparing`` with done/total frames, or ``failed``."""
    ev = _event_or_404(event_id)
    download = request.args.get("download") == "1"
    path, _, job = clip_for(ev, media_file(ev.get("clip")), download)
    if path is not None:
        return jsonify({"status": "ready", "event_id": event_id})
    assert job is not None
    return jsonify(job.to_json())


@bp.route("/events/<event_id>/boxes.json")
@require("viewer", token=False)
def boxes(event_id: str):
    clip_rel = _event_or_404(event_id).get("clip")
    if not clip_rel:
        abort(404, description="this event has no clip")
    stem = clip_rel.rsplit(".", 1)[0]
    path = media_file(f"{stem}.boxes.json")
    return send_evidence(path, mimetype="application/json", conditional=True, max_age=60)


@bp.route("/events/<event_id>/snapshot.jpg")
@require("viewer", token=False)
def snapshot(event_id: str):
    ev = _event_or_404(event_id)
    download = request.args.get("download") == "1"
    path, blurred = snapshot_for(ev, media_file(ev.get("snapshot")), download)
    if request.args.get("thumb") != "1":
        record_look(event_id, "snapshot", "download" if download else "view", "dashboard", blurred)
        return send_evidence(path, mimetype="image/jpeg", conditional=True, max_age=86400,
                             as_attachment=download, download_name=f"{event_id}.jpg")
    # a thumbnail for lists: JPEG decoded at 1/4 (or 1/2) scale, then resized; cheap, no file kept
    image = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_4)
    if image is None:
        abort(404, description="the snapshot cannot be read")
    if image.shape[1] > THUMB_WIDTH:
        h = round(image.shape[0] * THUMB_WIDTH / image.shape[1])
        image = cv2.resize(image, (THUMB_WIDTH, h), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 75])
    if not ok:
        abort(500, description="the thumbnail could not be encoded")
    resp = make_response(jpeg.tobytes())
    resp.headers["Content-Type"] = "image/jpeg"
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


# ---- review actions (manager and up) ----

def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


@bp.post("/events/<event_id>/review")
@require("manager", token=False)
def review(event_id: str):
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    status = data.get("status")
    if status not in REVIEW_STATUSES:
        raise InputError(f"status: use one of {', '.join(REVIEW_STATUSES)}")
    # a form posts line breaks as CRLF, which the textarea's maxlength counted as one character
    comment = (data.get("comment") or "").replace("\r\n", "\n").strip() or None
    if comment is not None and len(comment) > 2000:
        if _wants_json():
            raise InputError("comment: at most 2000 characters")
        # the page again, with what was typed and the reason in the page's language: nothing is lost
        return event(event_id, t("comment_too_long").format(n=len(comment)), comment), 400
    updated = store().set_review(event_id, status, comment, actor())
    if _wants_json():
        return jsonify(alert_json(updated))
    back = local_path(request.form.get("next"))
    if back is None:
        back = url_for("pages.event", event_id=event_id)
        if status == "false_positive":     # the alert was wrong: offer at once to teach the heads what was there
            back = url_for("pages.event", event_id=event_id, teach="fp") + "#teach"
    return redirect(back)


@bp.post("/events/<event_id>/keep")
@require("manager", token=False)
def keep(event_id: str):
    data = request.get_json(silent=True) if request.is_json else request.form
    value = str((data or {}).get("keep", "")).lower() in ("1", "true", "on", "yes")
    _event_or_404(event_id)
    store().set_keep(event_id, value)
    if _wants_json():
        return jsonify({"id": event_id, "keep": value})
    return redirect(url_for("pages.event", event_id=event_id))
