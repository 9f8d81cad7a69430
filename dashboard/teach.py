"""The Training page (label counts, the Train button with its progress, before/after on the held-back
labels as a table and a chart, the versions with switch-on and roll-back), and the crops the teach
panel of an event shows: exactly the pictures the heads see (``vision.perception.crops``)."""

from __future__ import annotations

import numpy as np
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from vision.media.event_frame import decode_jpeg, encode_jpeg
from vision.perception.crops import person_crop, zone_crop
from vision.training.teaching import BEHAVIOURS

from .api_teach import camera_windows, event_and_frame, hall_heads, shown_persons, teaching, window_polygon
from .auth import actor, require
from .i18n import t
from .present import local, window_names
from .privacy import frame_for, record_look
from .report import bar_chart

bp = Blueprint("teach_pages", __name__, url_prefix="/teach")

BEFORE_COLOUR, AFTER_COLOUR = "#b8c2d6", "#2f5fb3"
CROP_SIDE = 160


def _jpeg(image):
    import cv2
    h, w = image.shape[:2]
    if max(h, w) > CROP_SIDE * 2:
        scale = CROP_SIDE * 2 / max(h, w)
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    resp = make_response(encode_jpeg(image, 88))
    resp.headers["Content-Type"] = "image/jpeg"
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


def _seen(ev: dict, frame) -> np.ndarray:
    """The event's clean frame as this user may see it (dashboard/privacy.py), the look audited as one at
    the evidence it came from (the snapshot's frame, or the clip)."""
    image, blurred = frame_for(ev["id"], ev["camera_id"], frame.image)
    record_look(ev["id"], "clip" if frame.source == "clip" else "snapshot", "view", "dashboard", blurred)
    return image


@bp.route("/events/<event_id>/person/<int:index>.jpg")
@require("manager", token=False)
def person_picture(event_id: str, index: int):
    ev, frame = event_and_frame(event_id)
    if index not in shown_persons(frame):
        abort(404, description=f"event {event_id}: no person {index} in its frame")
    return _jpeg(person_crop(_seen(ev, frame), frame.persons[index].box))


@bp.route("/events/<event_id>/window/<window_id>.jpg")
@require("manager", token=False)
def window_picture(event_id: str, window_id: str):
    ev, frame = event_and_frame(event_id)
    win = next((w for w in camera_windows(ev["camera_id"]) if w.id == window_id), None)
    if win is None:
        abort(404, description=f"event {event_id}: camera {ev['camera_id']} has no window {window_id!r}")
    return _jpeg(zone_crop(_seen(ev, frame), window_polygon(win, frame)))


@bp.route("/candidates/<int:candidate_id>.jpg")
@require("manager", token=False)
def candidate_picture(candidate_id: int):
    found = [c for c in teaching().candidates(limit=10_000) if c["id"] == candidate_id]
    if not found:
        abort(404, description=f"no open window-state candidate {candidate_id}")
    image = decode_jpeg(teaching().frame_jpeg(found[0]["frame_id"]))
    image, _ = frame_for(f"teach-frame-{found[0]['frame_id']}", found[0]["camera_id"], image)
    return _jpeg(zone_crop(image, found[0]["region"]))


def _label_of(head: str) -> str:
    """hall-window_occupied-w01 -> '有人 · 1号窗口' style names for the table and chart."""
    name = head.removeprefix("hall-")
    behaviour, _, window = name.partition("-")
    text = t(f"head_{behaviour}")
    return f"{text} · {window_names().get(window, window)}" if window else text


def _charts(rows: list[dict]) -> list[tuple[str, str]]:
    """(caption, SVG) per head: P, R and F1 on the held-back labels, before and after."""
    out = []
    for r in rows:
        metrics = ("precision", "recall", "f1")
        before = [round(r["before"]["scores"][m], 2) if r.get("before") else 0.0 for m in metrics]
        after = [round(r["after"][m], 2) for m in metrics]
        svg = bar_chart([t(f"metric_{m}") for m in metrics],
                        [(t("before"), before, BEFORE_COLOUR), (t("after"), after, AFTER_COLOUR)], width=360, row_h=30)
        out.append((f"{_label_of(r['head'])} · {r['ref']}", svg))
    return out


@bp.route("")
@require("manager", token=False)
def index():
    counts = teaching().counts()
    windows = window_names()
    rows = []
    for behaviour, by_window in counts.items():
        for window, values in sorted(by_window.items()):
            rows.append({"behaviour": behaviour, "window": windows.get(window, window) if window else "",
                         "values": [(v, values.get(v, 0)) for v in BEHAVIOURS[behaviour]],
                         "total": sum(values.values())})
    hh = hall_heads()
    run = hh.run()
    last_done = run
    if run is not None and run["status"] != "done":
        done = [r for r in (hh.run(i) for i in range(run["id"] - 1, 0, -1)) if r and r["status"] == "done"][:1]
        last_done = done[0] if done else None
    result = (last_done or {}).get("result") or {}
    versions = hh.versions()
    switched = {a["head"] for a in hh.audit(limit=10_000) if a["action"] != "trained"}
    return render_template("teach.html", rows=rows, total=sum(r["total"] for r in rows), run=run,
                           last_done=last_done, result=result, charts=_charts(result.get("rows", [])),
                           versions=versions, switched=switched, audit=hh.audit(limit=20),
                           candidates=teaching().candidates(limit=24), label_of=_label_of, local=local,
                           window_names=windows)


def _back():
    return redirect(url_for("teach_pages.index") + "#versions")


@bp.post("/heads/activate")
@require("admin", token=False)
def activate():
    hall_heads().activate(request.form.get("ref", ""), actor())
    return _back()


@bp.post("/heads/rollback")
@require("admin", token=False)
def rollback():
    hall_heads().rollback(request.form.get("head") or None, actor())
    return _back()
