"""/api/teach: a hall teaches its own heads. Labels on an event's staff crops and window zones
(managers), training runs with their progress (managers), the head versions and their switches
(admins). A logged-in user only: every label, run and switch names the person who made it."""

from __future__ import annotations

import logging
import os
import threading

from flask import Blueprint, current_app, jsonify

from vision.errors import InputError, NotFound
from vision.events import parse_iso
from vision.media.event_frame import EventFrame, load_event_frame
from vision.perception.geometry import to_pixels
from vision.training.teaching import BEHAVIOURS, PERSON_BEHAVIOURS, Teaching, subject_key
from vision.training.versions import HallHeads

from .api_common import hall, json_body, query, store, text
from .auth import actor, require

log = logging.getLogger(__name__)

bp = Blueprint("teach", __name__, url_prefix="/teach")


def teaching() -> Teaching:
    return Teaching(store())


def hall_heads() -> HallHeads:
    return HallHeads(store())


# ---- an event's crops ----

def event_and_frame(event_id: str) -> tuple[dict, EventFrame]:
    """The event and its clean frame, or 404 saying why there is none."""
    ev = store().get_event(event_id)
    if ev is None:
        raise NotFound(f"no event {event_id!r}")
    pre_s = 10.0
    try:
        pre_s = hall().camera(ev["camera_id"]).clip.pre_s
    except Exception:  # noqa: BLE001 - a camera since removed from the config: the default lead-in
        pass
    frame = load_event_frame(hall().path(hall().storage.media_dir), ev, pre_s)
    if frame is None:
        raise NotFound(f"event {event_id}: no clean frame to teach from (the event has no snapshot and no clip, "
                       f"or retention removed them)")
    return ev, frame


def shown_persons(frame: EventFrame) -> list[int]:
    """Which persons the panel offers: the staff (every person when the models marked nobody as staff)."""
    staff = [i for i, p in enumerate(frame.persons) if p.staff]
    return staff or list(range(len(frame.persons)))


def camera_windows(camera_id: str):
    for cam in hall().cameras:
        if cam.id == camera_id:
            return cam.windows
    return []


def window_polygon(window, frame: EventFrame) -> list[list[float]]:
    h, w = frame.image.shape[:2]
    return [[round(float(x), 1), round(float(y), 1)] for x, y in to_pixels(window.staff_zone, w, h)]


def teach_view(event_id: str) -> dict:
    """What the teach panel shows: each staff crop and each window of the event's frame, with its labels."""
    ev, frame = event_and_frame(event_id)
    frame_id = teaching().frame_id_of_event(event_id)
    given: dict[str, dict[str, dict]] = {}
    for lab in teaching().labels(frame_id=frame_id) if frame_id else []:
        key = subject_key(lab.subject, lab.region, lab.window_id)
        given.setdefault(key, {})[lab.behaviour] = {"value": lab.value, "by": lab.labelled_by,
                                                    "at": lab.to_json()["labelled_at"]}
    h, w = frame.image.shape[:2]
    persons = []
    for i in shown_persons(frame):
        p = frame.persons[i]
        key = subject_key("person", list(p.box), None)
        persons.append({"index": i, "box": [round(v, 1) for v in p.box], "staff": p.staff,
                        "windows": list(p.windows), "labels": given.get(key, {})})
    windows = []
    for win in camera_windows(ev["camera_id"]):
        label = given.get(subject_key("window", [], win.id), {}).get("window_state")
        windows.append({"window_id": win.id, "name": win.name or win.id, "polygon": window_polygon(win, frame),
                        "label": label})
    return {"event_id": event_id, "frame": {"width": w, "height": h, "source": frame.source, "frame_id": frame_id},
            "behaviours": [{"behaviour": b, "values": list(BEHAVIOURS[b])} for b in PERSON_BEHAVIOURS],
            "window_states": list(BEHAVIOURS["window_state"]), "persons": persons, "windows": windows}


def label_event(event_id: str, data: dict, by: str) -> dict:
    """Keep the event's clean frame (once) and set or clear one label on a person or a window of it."""
    ev, frame = event_and_frame(event_id)
    behaviour = text(data, "behaviour", max_len=32, required=True, allowed=tuple(BEHAVIOURS))
    value = data.get("value")
    if value is not None:
        value = text(data, "value", max_len=16, allowed=BEHAVIOURS[behaviour])
    person, window_id = data.get("person"), data.get("window")
    if (person is None) == (window_id is None):
        raise InputError("name exactly one of person (its index in the frame) or window (its id)")
    h, w = frame.image.shape[:2]
    if person is not None:
        if isinstance(person, bool) or not isinstance(person, int) or person not in shown_persons(frame):
            raise InputError(f"person: expected the index of a person in this frame "
                             f"({', '.join(map(str, shown_persons(frame))) or 'nobody was found'}), got {person!r}")
        p = frame.persons[person]
        region: list[float] | list[list[float]]     # a person's box, or a window's polygon
        subject, region = "person", list(p.box)
        window_id = p.windows[0] if p.windows else ev.get("window_id")
    else:
        win = next((x for x in camera_windows(ev["camera_id"]) if x.id == window_id), None)
        if win is None:
            known = ", ".join(x.id for x in camera_windows(ev["camera_id"])) or "none"
            raise InputError(f"window: {window_id!r} is not a window of camera {ev['camera_id']} (windows: {known})")
        subject, region = "window", window_polygon(win, frame)
    taken_at = frame.taken_at if frame.taken_at is not None else parse_iso(ev["started_at"])
    frame_id = teaching().add_frame(frame.jpeg, w, h, ev["camera_id"], taken_at, source="event", event_id=event_id,
                                    persons=[p.to_json() for p in frame.persons])
    label = teaching().label(frame_id, subject, region, behaviour, value, by, window_id=window_id)
    return {"label": None if label is None else label.to_json(), "cleared": label is None,
            "frame_id": frame_id}


@bp.get("/events/<event_id>")
@require("manager", token=False)
def event_view(event_id: str):
    query(set())
    return jsonify(teach_view(event_id))


@bp.post("/events/<event_id>/labels")
@require("manager", token=False)
def event_label(event_id: str):
    query(set())
    data = json_body({"person", "window", "behaviour", "value"})
    return jsonify(label_event(event_id, data, actor()))


@bp.get("/labels")
@require("manager", token=False)
def label_counts():
    query(set())
    counts = teaching().counts()
    return jsonify({"counts": counts, "total": sum(n for ws in counts.values() for vs in ws.values()
                                                   for n in vs.values())})


# ---- window-state candidates ----

@bp.get("/candidates")
@require("manager", token=False)
def candidates():
    query(set())
    return jsonify({"candidates": teaching().candidates()})


@bp.post("/candidates/<int:candidate_id>")
@require("manager", token=False)
def resolve_candidate(candidate_id: int):
    query(set())
    data = json_body({"value"})
    value = data.get("value")
    if value is not None:
        value = text(data, "value", max_len=16, allowed=BEHAVIOURS["window_state"])
    label = teaching().resolve_candidate(candidate_id, value, actor())
    return jsonify({"label": None if label is None else label.to_json()})


# ---- training ----

def start_training(behaviours: list[str] | None, by: str) -> dict:
    """Record a run and fit in a background thread; the run's row carries its progress and result."""
    from vision.training.fit import start_run, train_in_run

    config, st = hall(), store()
    run_id = start_run(st, behaviours, by)
    backbone = current_app.extensions.get("hallmonitor.backbone")

    def work() -> None:
        # the cameras may run in this process: train on one core, at a lower priority (Linux nices threads)
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        try:
            train_in_run(config, st, behaviours, by, run_id=run_id, backbone=backbone, threads=1)
        except Exception:  # noqa: BLE001 - recorded on the run's row (failed, with the message)
            log.exception("training run %s failed", run_id)

    threading.Thread(target=work, name=f"train-{run_id}", daemon=True).start()
    run = hall_heads().run(run_id)
    assert run is not None, "the run was just recorded"
    return run


@bp.post("/train")
@require("manager", token=False)
def train():
    query(set())
    data = json_body({"behaviours"}, required=False)
    behaviours = data.get("behaviours")
    if behaviours is not None and (not isinstance(behaviours, list)
                                   or not all(isinstance(b, str) for b in behaviours)):
        raise InputError("behaviours: expected a list of behaviour names")
    return jsonify({"run": start_training(behaviours or None, actor())}), 202


@bp.get("/runs/latest")
@require("manager", token=False)
def latest_run():
    query(set())
    return jsonify({"run": hall_heads().run()})


@bp.get("/runs/<int:run_id>")
@require("manager", token=False)
def one_run(run_id: int):
    query(set())
    return jsonify({"run": hall_heads().run(run_id)})


# ---- versions and switches ----

@bp.get("/heads")
@require("manager", token=False)
def versions():
    query(set())
    hh = hall_heads()
    return jsonify({"versions": [v.to_json() for v in hh.versions()], "audit": hh.audit()})


@bp.post("/heads/<ref>/activate")
@require("admin", token=False)
def activate(ref: str):
    query(set())
    json_body(set(), required=False)
    return jsonify({"version": hall_heads().activate(ref, actor()).to_json()})


@bp.post("/heads/<head>/rollback")
@require("admin", token=False)
def rollback(head: str):
    query(set())
    json_body(set(), required=False)
    return jsonify(hall_heads().rollback(head, actor()))
