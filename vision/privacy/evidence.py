"""Blurred copies of an event's snapshot and clip: what leaves the system instead of the originals.

The originals stay as recorded (an admin investigating a complaint may need them, and a blur cannot
be undone); the copies are written once beside them (``evt_x.blurred.jpg``, ``evt_x.blurred.mp4``),
so retention deletes them with the event's other media (``clips.media_event_id``), and they keep the
original's modification time so they do not make the event look newer to retention.

A clip is blurred frame by frame in two passes over the decoded video. The first finds faces on a
frame every ``detect_every_s`` (finding faces costs far more than decoding); the second blurs each
frame over the faces of the looks just before and just after it (so a face that moves between two
looks stays covered) and encodes H.264 (PyAV, libx264) with ``+faststart`` like the clips. A
``progress(done, total)`` callback hears about every frame of both passes.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from vision.perception.detections import Box
from vision.privacy.blur import blur_boxes, faces_to_blur
from vision.privacy.faces import FaceFinder

BLURRED = ".blurred"
DETECT_EVERY_S = 0.4          # people at a counter move little in 0.4 s; both looks around a frame count
Progress = Callable[[int, int], None]


def blurred_path(original: Path) -> Path:
    """``media/cam/day/evt_x.mp4`` -> ``evt_x.blurred.mp4`` beside it."""
    original = Path(original)
    stem = original.name.split(".", 1)[0]
    return original.with_name(stem + BLURRED + original.suffix)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _finish(tmp: Path, path: Path, original: Path) -> Path:
    st = original.stat()
    os.utime(tmp, (st.st_atime, st.st_mtime))
    os.replace(tmp, path)
    return path


def blur_image(image: np.ndarray, finder: FaceFinder, windows: Sequence, mode: str) -> tuple[np.ndarray, list[Box]]:
    """A copy of ``image`` with the faces ``mode`` picks blurred, and the boxes blurred."""
    h, w = image.shape[:2]
    boxes = faces_to_blur([f.box for f in finder.find(image)], windows, w, h, mode)
    return blur_boxes(image.copy(), boxes), boxes


def blur_snapshot(original: Path, finder: FaceFinder, windows: Sequence, mode: str,
                  out: Path | None = None) -> Path:
    """Write the blurred copy of a JPEG snapshot (``blurred_path`` unless ``out``); returns its path."""
    original = Path(original)
    image = cv2.imread(str(original), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{original}: not a picture OpenCV can read")
    blurred, _ = blur_image(image, finder, windows, mode)
    ok, jpeg = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise ValueError(f"{original}: the blurred copy could not be encoded")
    path = Path(out) if out else blurred_path(original)
    tmp = _tmp(path)
    tmp.write_bytes(jpeg.tobytes())
    return _finish(tmp, path, original)


def _frame_count(stream) -> int:
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base and stream.average_rate:
        return max(1, int(float(stream.duration * stream.time_base) * float(stream.average_rate)))
    return 0


def _looks(original: Path, finder: FaceFinder, windows: Sequence, mode: str, every_s: float,
           tick: Callable[[], None]) -> tuple[list[float], list[list[Box]]]:
    """Pass 1: (times, boxes to blur) of the frames looked at."""
    times: list[float] = []
    boxes: list[list[Box]] = []
    with av.open(str(original)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in src.decode(stream):
            t = float(frame.time or 0.0)
            if not times or t - times[-1] >= every_s - 1e-6:
                image = frame.to_ndarray(format="bgr24")
                h, w = image.shape[:2]
                times.append(t)
                boxes.append(faces_to_blur([f.box for f in finder.find(image)], windows, w, h, mode))
            tick()
    return times, boxes


def _near(times: list[float], boxes: list[list[Box]], t: float) -> list[Box]:
    """The boxes of the looks just before and just after ``t``."""
    i = bisect_left(times, t)
    out: list[Box] = []
    for j in (i - 1, i):
        if 0 <= j < len(times):
            out += boxes[j]
    return out


def blur_clip(original: Path, finder: FaceFinder, windows: Sequence, mode: str, out: Path | None = None,
              progress: Progress | None = None, detect_every_s: float = DETECT_EVERY_S) -> Path:
    """Write the blurred copy of an MP4 clip (``blurred_path`` unless ``out``); returns its path."""
    original = Path(original)
    with av.open(str(original)) as probe:
        vstream = probe.streams.video[0]
        total = _frame_count(vstream)
        rate = vstream.average_rate or 25
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, max(2 * total, done))   # the header's count may be off: never past 100 %

    times, boxes = _looks(original, finder, windows, mode, detect_every_s, tick)
    total = done                                    # pass 2 decodes as many frames as pass 1
    path = Path(out) if out else blurred_path(original)
    tmp = _tmp(path)
    try:
        with av.open(str(original)) as src, av.open(str(tmp), "w", format="mp4",
                                                   options={"movflags": "+faststart"}) as dst:
            stream = src.streams.video[0]
            stream.thread_type = "AUTO"
            enc = dst.add_stream("libx264", rate=rate)
            enc.width, enc.height = stream.codec_context.width, stream.codec_context.height
            enc.pix_fmt = "yuv420p"
            enc.options = {"preset": "veryfast", "crf": "20"}
            for frame in src.decode(stream):
                image = frame.to_ndarray(format="bgr24")
                blur_boxes(image, _near(times, boxes, float(frame.time or 0.0)))
                new = av.VideoFrame.from_ndarray(image, format="bgr24")
                new.pts, new.time_base = frame.pts, frame.time_base
                for packet in enc.encode(new):
                    dst.mux(packet)
                tick()
            for packet in enc.encode(None):
                dst.mux(packet)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _finish(tmp, path, original)


class SnapshotBlurrer:
    """The blurred copy of a camera's snapshot, for senders outside the dashboard (the group robots' image
    messages); the face model is loaded on first use."""

    def __init__(self, mode: str, camera_windows: dict[str, Sequence], finder: FaceFinder | None = None,
                 models=None, base_dir=None):
        self.mode = mode
        self.camera_windows = camera_windows
        self._finder = finder
        self._models, self._base_dir = models, base_dir
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config) -> SnapshotBlurrer:
        return cls(config.privacy.blur_faces, {c.id: list(c.windows) for c in config.cameras},
                   models=config.models, base_dir=config.base_dir)

    def copy_of(self, snapshot: Path, camera_id: str) -> Path:
        """The file to send instead of ``snapshot`` (itself when blurring is off)."""
        if self.mode == "off":
            return snapshot
        copy = blurred_path(snapshot)
        with self._lock:
            if not copy.is_file():
                if self._finder is None:
                    from vision.privacy.faces import load_face_finder
                    self._finder = load_face_finder(self._models, self._base_dir)
                blur_snapshot(snapshot, self._finder, self.camera_windows.get(camera_id, []), self.mode)
        return copy
