"""Evidence as it leaves the dashboard: citizens' faces blurred (PIPL), and every look written to the audit.

Who gets blurred media (``privacy:`` in cameras.yaml, vision/privacy/blur.py for whose faces):

- every download (the event page's button, ``?download=1``), every API answer (integrators' systems
  keep what they fetch) and every signed share link: always blurred, whoever asks;
- the dashboard's own player and pictures: blurred for viewers and managers; admins see the
  originals while ``privacy.admins_see_originals`` is on (the default), because the admins are the
  ones a complaint goes to and a blur cannot be undone. Managers review the staff member, whose face
  stays sharp, so the blur costs their review nothing.

A snapshot's blurred copy is made on the first request (well under a second). A clip's takes seconds
(every frame is decoded, blurred and encoded again), so it is made by one background worker: until it
is ready the clip's URL answers 202 with the progress (``{"status": "preparing", "done": .., "total":
..}``) and the event page shows a progress bar, then plays the copy. Copies are kept beside the
originals (vision/privacy/evidence.py), so each is made once.

The teach panel's crops (a person, a window, a window-state candidate) are cut from the event's clean
frame, which has no blur of its own: the same rule applies, so the frame is blurred first for those who
get blurred media (a few recent frames are kept blurred in memory, since one panel asks for several
crops), and each look is audited as a look at the evidence the frame came from. The live view is not
evidence (nothing is kept) and stays as it is.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import current_app, g, request

from vision.privacy.evidence import blur_clip, blur_image, blur_snapshot, blurred_path
from vision.privacy.faces import FaceFinder, load_face_finder
from vision.store.audit import EvidenceAudit

from .api_common import hall, store
from .auth import actor

log = logging.getLogger(__name__)


def blur_off() -> bool:
    return hall().privacy.blur_faces == "off"


def must_blur(download: bool) -> bool:
    """Whether this request gets the blurred copy (see the module's docstring)."""
    if blur_off():
        return False
    if download or g.get("token") is not None:
        return True
    user = g.get("user")
    return not (user is not None and user["role"] == "admin" and hall().privacy.admins_see_originals)


def _windows(camera_id: str) -> list:
    return next((list(c.windows) for c in hall().cameras if c.id == camera_id), [])


def _finder() -> FaceFinder:
    ext = current_app.extensions
    with _LOAD_LOCK:
        if "hallmonitor.face_finder" not in ext:
            ext["hallmonitor.face_finder"] = load_face_finder(hall().models, hall().base_dir)
    return ext["hallmonitor.face_finder"]


_LOAD_LOCK = threading.Lock()
_FIND_LOCK = threading.Lock()      # one blur at a time: the dashboard shares two cores with the cameras


def snapshot_for(event: dict, path: Path, download: bool = False) -> tuple[Path, bool]:
    """(file to send, blurred?) for an event's snapshot at ``path``."""
    if not must_blur(download):
        return path, False
    copy = blurred_path(path)
    if not copy.is_file():
        with _FIND_LOCK:
            if not copy.is_file():
                blur_snapshot(path, _finder(), _windows(event["camera_id"]), hall().privacy.blur_faces)
    return copy, True


BLURRED_FRAMES_KEPT = 8


def frame_for(key: str, camera_id: str, image: np.ndarray) -> tuple[np.ndarray, bool]:
    """(picture to cut crops from, blurred?) for a clean frame of ``camera_id``: faces blurred as on its
    snapshot for those who get blurred media. ``key`` names the frame (an event id, a teach frame id)."""
    if not must_blur(False):
        return image, False
    kept: OrderedDict = current_app.extensions.setdefault("hallmonitor.blurred_frames", OrderedDict())
    with _FIND_LOCK:
        found = kept.get(key)
        if found is None or found[0] != image.shape:
            found = kept[key] = (image.shape, blur_image(image, _finder(), _windows(camera_id),
                                                         hall().privacy.blur_faces)[0])
        kept.move_to_end(key)
        while len(kept) > BLURRED_FRAMES_KEPT:
            kept.popitem(last=False)
    return found[1], True


@dataclass
class Export:
    event_id: str
    done: int = 0
    total: int = 0
    error: str | None = None

    def to_json(self) -> dict:
        state = "failed" if self.error else "preparing"
        out: dict = {"status": state, "event_id": self.event_id, "done": self.done, "total": self.total,
                     "progress": round(self.done / self.total, 3) if self.total else 0.0}
        if self.error:
            out["error"] = self.error
        return out


class ClipExports:
    """The blurred clips being made, one at a time, in a daemon thread; their progress by event id."""

    def __init__(self, finder_factory):
        self.finder_factory = finder_factory
        self.jobs: dict[str, Export] = {}
        self.queue: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def start(self, event_id: str, clip: Path, windows: list, mode: str) -> Export:
        with self.lock:
            job = self.jobs.get(event_id)
            if job is not None and job.error is None:
                return job
            job = self.jobs[event_id] = Export(event_id)
            self.queue.put((job, clip, windows, mode))
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="clip-exports", daemon=True)
                self.thread.start()
            return job

    def status(self, event_id: str) -> Export | None:
        return self.jobs.get(event_id)

    def _run(self) -> None:
        while True:
            try:
                job, clip, windows, mode = self.queue.get(timeout=30)
            except queue.Empty:
                return
            def progress(done: int, total: int, job: Export = job) -> None:
                job.done, job.total = done, total
            try:
                with _FIND_LOCK:
                    blur_clip(clip, self.finder_factory(), windows, mode, progress=progress)
                with self.lock:
                    self.jobs.pop(job.event_id, None)
            except Exception as exc:  # noqa: BLE001 - a broken clip fails its own export, and says so
                log.warning("event %s: blurred clip not made: %s", job.event_id, exc)
                job.error = f"the blurred copy could not be made ({exc})"


def exports() -> ClipExports:
    ext = current_app.extensions
    if "hallmonitor.exports" not in ext:
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's proxy

        def factory() -> FaceFinder:
            with app.app_context():
                return _finder()
        ext["hallmonitor.exports"] = ClipExports(factory)
    return ext["hallmonitor.exports"]


def clip_for(event: dict, path: Path, download: bool = False) -> tuple[Path | None, bool, Export | None]:
    """(file to send or None while its blurred copy is being made, blurred?, the export's progress)."""
    if not must_blur(download):
        return path, False, None
    copy = blurred_path(path)
    if copy.is_file():
        return copy, True, None
    job = exports().start(event["id"], path, _windows(event["camera_id"]), hall().privacy.blur_faces)
    return None, True, job


def audit() -> EvidenceAudit:
    return EvidenceAudit(store())


def first_look() -> bool:
    """A request that starts a look: not the second and later byte ranges a video player asks for."""
    ranges = request.headers.get("Range", "")
    return not ranges or ranges.replace(" ", "").startswith("bytes=0-")


def record_look(event_id: str, what: str, action: str, via: str, blurred: bool, who: str | None = None) -> None:
    if first_look():
        audit().record(who or actor(), event_id, what, action, via, blurred, request.remote_addr)
