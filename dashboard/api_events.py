"""/api/events: list (filters, keyset paging), one event, its timeline, its media, its review and review
history; reviewing many events in one call."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from flask import Blueprint, jsonify, request
from werkzeug.routing import BaseConverter

from vision.errors import InputError, NotFound
from vision.media.clips import overlay_path
from vision.store.checks import MAX_PAGE
from vision.store.reviews import MAX_BULK, MAX_COMMENT

from .api_common import hall, int_arg, json_body, query, store, text
from .auth import actor, require
from .evidence import send_evidence
from .privacy import clip_for, record_look, snapshot_for

bp = Blueprint("events", __name__, url_prefix="/events")


class EventIdConverter(BaseConverter):
    """An event id in /api/events/<id>: any path segment but ``review`` (POST /api/events/review is the
    bulk review, so its Allow header must not also list the one-event GET)."""
    regex = r"(?!review$)[^/]+"


def _add_converter(state) -> None:
    state.app.url_map.converters.setdefault("event_id", EventIdConverter)


bp.record_once(_add_converter)

LIST_PARAMS = {"since", "until", "window", "camera", "type", "phase", "severity", "review_status", "limit", "cursor"}
REVIEW_VERDICTS = ("acknowledged", "resolved", "false_positive")
MAX_TIMESTAMP = 253402300799.0  # 9999-12-31T23:59:59Z
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _time_arg(name: str) -> float | None:
    """ISO 8601 with a zone (RFC 3339), or Unix seconds; between 1970 and 9999."""
    value = request.args.get(name)
    if value is None:
        return None
    text_value = value.strip()
    if _NUMBER.match(text_value):
        ts = float(text_value)
    else:
        try:
            parsed = datetime.fromisoformat(text_value.upper().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise InputError(f"{name}: {value!r} is not a time with a zone; use ISO 8601 such as "
                             f"2026-11-03T09:00:00+08:00 (or ...Z), or Unix seconds")
        ts = parsed.timestamp()
    if not 0 <= ts <= MAX_TIMESTAMP:
        raise InputError(f"{name}: {value!r} is outside the years 1970 to 9999")
    return ts


def _many(name: str):
    values = request.args.getlist(name)
    return values or None


def _event(event_id: str) -> dict:
    event = store().get_event(event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r}")
    return event


def _media(event_id: str, relative: str | None, what: str) -> Path:
    """The event's file under storage.media_dir, or 404 saying why it is not there."""
    _event(event_id)
    media_dir = hall().path(hall().storage.media_dir).resolve()
    if relative:
        path = (media_dir / relative).resolve()
        if media_dir in path.parents and path.is_file():
            return path
    if what == "clip":
        raise NotFound(f"event {event_id}: the clip is not there yet (clips are written once the seconds after "
                       f"the event are recorded) or was removed by retention; try again later")
    raise NotFound(f"event {event_id}: no {what} (not written, or removed by retention)")


@bp.get("")
@require("viewer")
def list_events():
    query(LIST_PARAMS)
    events, next_cursor = store().list_events(
        since=_time_arg("since"), until=_time_arg("until"), window_id=_many("window"), camera_id=_many("camera"),
        types=_many("type"), phases=_many("phase"), severity=_many("severity"),
        review_status=_many("review_status"), limit=int_arg("limit", 50, 1, MAX_PAGE),
        cursor=request.args.get("cursor") or None)     # an empty cursor= is the first page
    return jsonify({"events": events, "next_cursor": next_cursor})


@bp.get("/<event_id:event_id>")
@require("viewer")
def get_event(event_id: str):
    query(set())
    return jsonify({**_event(event_id), "reviews": store().reviews(event_id)})


@bp.get("/<event_id>/reviews")
@require("viewer")
def reviews(event_id: str):
    query(set())
    return jsonify({"event_id": event_id, "reviews": store().reviews(event_id)})


@bp.get("/<event_id>/timeline")
@require("viewer")
def timeline(event_id: str):
    query(set())
    return jsonify({"event_id": event_id, "timeline": store().timeline(event_id)})


@bp.get("/<event_id>/clip.mp4")
@require("viewer")
def clip(event_id: str):
    query(set())
    event = _event(event_id)
    path, blurred, job = clip_for(event, _media(event_id, event["clip"], "clip"), download=True)
    if path is None:          # faces are being blurred: ask again (Retry-After) until it is ready
        assert job is not None
        return jsonify(job.to_json()), 202, {"Retry-After": "2"}
    record_look(event_id, "clip", "download", "api", blurred)
    # conditional: ETag/Last-Modified, 304, and Range (206) so a browser's <video> can seek
    return send_evidence(path, mimetype="video/mp4", conditional=True, max_age=3600)


@bp.get("/<event_id>/snapshot.jpg")
@require("viewer")
def snapshot(event_id: str):
    query(set())
    event = _event(event_id)
    path, blurred = snapshot_for(event, _media(event_id, event["snapshot"], "snapshot"), download=True)
    record_look(event_id, "snapshot", "download", "api", blurred)
    return send_evidence(path, mimetype="image/jpeg", conditional=True, max_age=3600)


@bp.get("/<event_id>/boxes.json")
@require("viewer")
def boxes(event_id: str):
    query(set())
    clip_path = _event(event_id)["clip"]
    path = _media(event_id, overlay_path(Path(clip_path)).as_posix() if clip_path else None, "boxes overlay")
    return send_evidence(path, mimetype="application/json", conditional=True, max_age=60)


@bp.post("/<event_id>/review")
@require("manager")
def review(event_id: str):
    query(set())
    data = json_body({"status", "comment"})
    status = text(data, "status", max_len=32, required=True, allowed=REVIEW_VERDICTS)
    comment = text(data, "comment", max_len=2000)
    _event(event_id)
    return jsonify(store().set_review(event_id, status, comment, actor()))


@bp.post("/review")
@require("manager")
def review_many():
    """One call for many events (the events list's bulk actions): all reviewed, or none (404 naming the
    unknown ids); one history row and one ``event.reviewed`` webhook message per event."""
    query(set())
    data = json_body({"ids", "status", "comment"})
    status = text(data, "status", max_len=32, required=True, allowed=REVIEW_VERDICTS)
    comment = text(data, "comment", max_len=MAX_COMMENT)
    if "ids" not in data:
        raise InputError(f"ids: required, a list of 1 to {MAX_BULK} event ids")
    events = store().review_events(data["ids"], status, comment, actor())
    return jsonify({"reviewed": len(events), "events": events})
