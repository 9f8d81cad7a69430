"""How the pages show things: hall-local times, durations, event titles, window names, media files.

Shared by the page blueprints (pages, live, sse, report, settings); no routes here.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import abort, current_app, g

from vision.config import HallConfig
from vision.events import EVENT_TYPES, parse_iso
from vision.store.database import Store

from .i18n import TEXT


def hall() -> HallConfig:
    return current_app.config["HALL"]


def store() -> Store:
    return current_app.extensions["hallmonitor.store"]


def supervisor():
    return current_app.extensions.get("hallmonitor.supervisor")


def hall_tz() -> ZoneInfo:
    return ZoneInfo(hall().schedule.timezone)


def lang() -> str:
    return g.get("lang") or hall().hall.language


def type_title(event_type: str) -> str:
    en, zh = EVENT_TYPES.get(event_type, (event_type, event_type))
    return en if lang() == "en" else zh


def to_ts(value) -> float | None:
    """An ISO string (as the store returns) or Unix seconds -> Unix seconds."""
    if value is None or isinstance(value, (int, float)):
        return value
    return parse_iso(value)


def local(value, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    ts = to_ts(value)
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=hall_tz()).strftime(fmt)


def duration(seconds: float | None) -> str:
    """73 -> '1m 13s' / '1分13秒'; 3700 -> '1h 1m' / '1小时1分'."""
    if seconds is None:
        return ""
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    zh = lang() != "en"
    if h:
        return f"{h}小时{m}分" if zh else f"{h}h {m}m"
    if m:
        return f"{m}分{sec}秒" if zh else f"{m}m {sec}s"
    return f"{sec}秒" if zh else f"{sec}s"


def window_names() -> dict[str, str]:
    """window id -> its display name (name, else id)."""
    return {w.id: (w.name or w.id) for cam in hall().cameras for w in cam.windows}


def camera_or_404(camera_id: str):
    """The camera's config, or a 404 that names it."""
    if camera_id not in camera_names():
        abort(404, description=f"no camera {camera_id!r} in the config")
    return hall().camera(camera_id)


def camera_names() -> dict[str, str]:
    return {cam.id: (cam.name or cam.id) for cam in hall().cameras}


def where(event: dict) -> str:
    """The window's name, or the camera's for camera-level events."""
    if event.get("window_id"):
        return window_names().get(event["window_id"], event["window_id"])
    return camera_names().get(event["camera_id"], event["camera_id"])


def local_day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=hall_tz()).timestamp()


# the dates a hall's events can have: a date picker allows 9999-12-31, whose next day overflows
YEARS = range(1970, 3000)


def parse_day(text: str | None) -> date | None:
    """An ISO date from a query string; None (the filter is ignored) when it is not one, or is
    outside the years events can have."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if day.year in YEARS else None


def media_file(relative: str | None) -> Path:
    """The file of a snapshot/clip path stored on an event, refusing anything outside media_dir."""
    if not relative:
        abort(404, description="this event has no such media file")
    root = hall().path(hall().storage.media_dir).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        abort(404, description="this event has no such media file")
    if not path.is_file():
        abort(404, description="the media file is gone (deleted by retention, or not written yet)")
    return path


def timeline_steps(event: dict, timeline: list[dict]) -> list[dict]:
    """The event's transitions as its page shows them, on the header's clock: ``started`` at the event's
    ``started_at`` and ``ended`` at its ``ended_at`` (a rule dates an event from when the condition began,
    and ends it when it last held, so both differ from the moment the transition was reported); an
    ``update`` at when it was reported. ``reported`` is that moment when it differs by a second or more."""
    steps = []
    for step in timeline:
        at = float(parse_iso(step["at"]) or 0.0)
        own = to_ts({"started": event.get("started_at"), "ended": event.get("ended_at")}.get(step["phase"]))
        when = at if own is None else own
        steps.append({**step, "when": when, "reported": at if abs(at - when) >= 1 else None})
    return steps


REVIEW_KEYS = ("review_status", "review_comment", "reviewed_by")


def staff_text(staff: dict | None) -> str:
    """The staff member on duty (an event's or a tile's ``staff``) as the board shows it; "" for nobody."""
    if not staff:
        return ""
    entry = TEXT["on_duty_as"]         # lang(), not t(): the SSE stream may run outside the request
    text = entry.get(lang(), entry["en"])
    return text.replace("{name}", str(staff.get("name", ""))).replace("{number}", str(staff.get("number", "")))


def alert_json(event: dict) -> dict:
    """An event as the board gets it (page data, SSE ``alert`` message, review answer): the event's own
    JSON (``Event.to_json()``, the same as /api and the webhook ``data``), its review state, and what
    to display in this hall's language under ``display`` (title, where, local time, who was on duty)."""
    return {
        **event,
        "review_status": event.get("review_status") or "new",
        **{k: event.get(k) for k in REVIEW_KEYS[1:]},
        "display": {
            "title": type_title(event["type"]),
            "where": where(event),
            "time": local(event.get("started_at"), "%m-%d %H:%M:%S"),
            "staff": staff_text(event.get("staff")),
        },
    }
