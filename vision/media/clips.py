"""Event media: MP4 clips remuxed from the packet ring, JPEG snapshots, box overlays, retention.

Clips are the camera's own H.264 packets copied into an MP4 (no re-encode: milliseconds, not
seconds), starting on a keyframe at or before the pre-roll, timestamps rebased to 0, ``moov`` first
(``+faststart``) so a browser can start playing before the download ends. Boxes are not burnt
in: ``write_overlay`` stores them per timestamp as JSON for the page to draw over the video.

The output stream is built from a ``CodecInfo`` (codec name, size, time base) with PyAV's
``add_mux_stream``, never from the live input stream, so a clip can be cut after the reader has
closed or reopened its connection. The decoder configuration (SPS/PPS) is taken from the first
keyframe; if a camera sends it only out of band, ``CodecInfo.extradata`` is put in front of it.

``ClipCutter`` waits (in its own thread, or via ``poll``) until the ring holds packets up to
``start + post_s`` or the camera went away, then writes the clip; capture never waits for it.

A little over 400 lines: cutting, snapshots, overlays and retention share the clip's file layout
(media/<camera>/...) and its naming, which this module owns.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeGuard

import av
import cv2
import numpy as np

from vision.media.ring import CodecInfo, PacketRecord, PacketRing

log = logging.getLogger(__name__)

Color = tuple[int, int, int]
BoxSpec = tuple[Sequence[float], str, Color]

# NAL unit types that carry the decoder configuration, per codec.
_PARAMETER_SETS = {"h264": {7, 8}, "hevc": {32, 33, 34}}


@dataclass(frozen=True)
class ClipInfo:
    """A written clip: where, how long, how big, and whether it starts on a keyframe."""

    path: Path
    duration_s: float
    size_bytes: int
    first_is_keyframe: bool
    packets: int
    start_wall: float
    end_wall: float


def _nal_types(data: bytes, codec: str) -> set[int]:
    """The NAL unit types in an Annex-B buffer (empty if it has no start codes)."""
    types: set[int] = set()
    i = data.find(b"\x00\x00\x01")
    while 0 <= i < len(data) - 3:
        header = data[i + 3]
        types.add((header >> 1) & 0x3F if codec == "hevc" else header & 0x1F)
        i = data.find(b"\x00\x00\x01", i + 3)
    return types


def _is_annexb(data: bytes | None) -> TypeGuard[bytes]:
    return bool(data) and data is not None and (data.startswith(b"\x00\x00\x01")
                                                or data.startswith(b"\x00\x00\x00\x01"))


def select_packets(packets: Sequence[PacketRecord], start_wall: float, end_wall: float) -> list[PacketRecord]:
    """The packets from the last keyframe at or before ``start_wall`` (else the first keyframe) to ``end_wall``."""
    start = None
    for i, p in enumerate(packets):
        if not p.is_keyframe:
            continue
        if start is None or p.wall <= start_wall:
            start = i
        if p.wall > start_wall:
            break
    if start is None:
        return []
    return [p for p in packets[start:] if p.wall <= end_wall]


def _same_stream(a: CodecInfo, b: CodecInfo) -> bool:
    return (a.codec, a.width, a.height, a.time_base) == (b.codec, b.width, b.height, b.time_base)


def write_clip(packets: Sequence[PacketRecord], codec_info: CodecInfo | None, path: Path,
               start_wall: float, end_wall: float) -> ClipInfo:
    """Remux the packets between ``start_wall`` and ``end_wall`` into an MP4 at ``path``.

    Starts on the keyframe at or before ``start_wall``; timestamps are rebased to start at 0 and
    kept increasing across a reconnect (the gap is kept, as wall-clock time); every packet gets
    a duration. Stops early if the camera's stream changed (codec, size). Written to a temporary
    file and renamed, so a reader never sees half a clip. Raises ``ValueError`` if no keyframe
    falls in the window.
    """
    path = Path(path)
    chosen = select_packets(packets, start_wall, end_wall)
    if not chosen:
        raise ValueError(f"{path.name}: no keyframe in the ring between {start_wall:.1f} and {end_wall:.1f}; "
                         "is the camera sending video?")
    info = codec_info or chosen[0].codec
    chosen = [p for p in _until_stream_changes(chosen, info)]
    tb = info.time_base
    timestamps = _rebase(chosen, tb)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    first = chosen[0]
    first_data = first.data
    if _is_annexb(info.extradata) and not (_nal_types(first_data, info.codec) & _PARAMETER_SETS.get(info.codec, set())):
        first_data = info.extradata + first_data  # the camera sent SPS/PPS only out of band (SDP)
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            rate = Fraction(info.fps).limit_denominator(1001) if info.fps else None
            stream = out.add_mux_stream(info.codec, rate=rate, width=info.width, height=info.height)
            stream.time_base = tb
            for i, (record, (pts, dts, duration)) in enumerate(zip(chosen, timestamps)):
                packet = av.Packet(first_data if i == 0 else record.data)
                packet.stream = stream
                packet.time_base = tb
                packet.pts, packet.dts, packet.duration = pts, dts, duration
                packet.is_keyframe = record.is_keyframe
                out.mux(packet)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    last_pts, last_dts, last_duration = timestamps[-1]
    return ClipInfo(
        path=path,
        duration_s=float((last_dts + last_duration) * tb),
        size_bytes=path.stat().st_size,
        first_is_keyframe=first.is_keyframe,
        packets=len(chosen),
        start_wall=first.wall,
        end_wall=chosen[-1].wall,
    )


def _until_stream_changes(packets: Iterable[PacketRecord], info: CodecInfo) -> Iterable[PacketRecord]:
    for p in packets:
        if not _same_stream(p.codec, info):
            log.warning("clip cut short at %.1f: the camera's stream changed (%s %dx%d -> %s %dx%d)", p.wall,
                        info.codec, info.width, info.height, p.codec.codec, p.codec.width, p.codec.height)
            return
        yield p


def _rebase(packets: Sequence[PacketRecord], tb: Fraction) -> list[tuple[int, int, int]]:
    """(pts, dts, duration) per packet: starting at 0, strictly increasing dts, no zero durations."""
    out: list[tuple[int, int, int]] = []
    offset = None
    prev_dts: int | None = None
    prev: PacketRecord | None = None
    for p in packets:
        dts = p.dts if p.dts is not None else (p.pts or 0)
        pts = p.pts if p.pts is not None else dts
        if offset is None:
            offset = -min(dts, pts)
        elif prev is not None and p.session != prev.session and prev_dts is not None:
            # A reconnect restarted the camera's clock: continue after the previous packet, keeping the gap.
            gap = max(int(round((p.wall - prev.wall) / tb)), prev.duration)
            offset = prev_dts + gap - dts
        dts += offset
        pts += offset
        if prev_dts is not None and dts <= prev_dts:
            dts = prev_dts + 1
        pts = max(pts, dts)
        out.append((pts, dts, p.duration))
        prev_dts, prev = dts, p
    # A packet lasts until the next one starts (the camera's own duration for the last one).
    fixed = []
    for i, (pts, dts, duration) in enumerate(out):
        if i + 1 < len(out):
            duration = out[i + 1][1] - dts
        fixed.append((pts, dts, max(1, duration)))
    return fixed


def write_snapshot(image: np.ndarray, path: Path, boxes: Iterable[BoxSpec] = ()) -> Path:
    """Write ``image`` (BGR) as a JPEG at ``path`` with each ``(box, label, color)`` drawn on a copy."""
    path = Path(path)
    canvas = image.copy()
    thickness = max(2, round(min(canvas.shape[:2]) / 360))
    scale = max(0.5, min(canvas.shape[:2]) / 1200)
    for box, label, color in boxes:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness)
        if label and not label.isascii():    # Chinese needs a CJK font (Pillow)
            from vision.media.window_states import _chip
            top = max(0, y1 - round(28 * scale) - 6)
            _chip(canvas, label, label.encode("ascii", "replace").decode(), (x1, top), color, round(28 * scale))
        elif label:
            (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            top = max(0, y1 - th - base - 4)
            cv2.rectangle(canvas, (x1, top), (x1 + tw + 6, top + th + base + 4), color, cv2.FILLED)
            cv2.putText(canvas, label, (x1 + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        (255, 255, 255), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, jpeg = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise ValueError(f"{path}: OpenCV could not encode a {canvas.shape} image as JPEG")
    _write_atomic(path, jpeg.tobytes())
    return path


def overlay_path(clip_path: Path) -> Path:
    """Where the boxes of ``clip.mp4`` are stored: ``clip.boxes.json`` beside it."""
    clip_path = Path(clip_path)
    return clip_path.with_name(clip_path.stem + ".boxes.json")


def write_overlay(path: Path, frames: Iterable[dict], width: int | None = None, height: int | None = None) -> Path:
    """Write per-frame boxes as JSON for the page to draw over the clip.

    ``frames`` are ``{"t": seconds from clip start, "boxes": [...]}``; a box is either a dict
    (``{"box": [x1, y1, x2, y2], "label": ..., "color": [b, g, r]}``) or a ``(box, label, color)``
    tuple as ``write_snapshot`` takes. ``width``/``height`` give the pixel space of the boxes.
    """
    out_frames: list[dict[str, Any]] = []
    for frame in frames:
        boxes = []
        for b in frame.get("boxes", []):
            if isinstance(b, dict):
                boxes.append({**b, "box": [round(float(v), 1) for v in b["box"]]})
            else:
                box, label, color = b
                boxes.append({"box": [round(float(v), 1) for v in box], "label": label, "color": list(color)})
        out_frames.append({"t": round(float(frame["t"]), 3), "boxes": boxes})
    out_frames.sort(key=lambda f: f["t"])
    doc = {"version": 1, "width": width, "height": height, "frames": out_frames}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---- cutting clips for events ------------------------------------------------------------------


@dataclass(eq=False)
class ClipJob:
    """One clip to cut: ``pre_s`` before ``start_wall`` to ``post_s`` after it, from ``ring``."""

    event_id: str
    ring: PacketRing
    start_wall: float
    path: Path
    pre_s: float = 10.0
    post_s: float = 20.0
    is_live: Callable[[], bool] = lambda: True
    on_done: Callable[[ClipJob], None] | None = None
    result: ClipInfo | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def end_wall(self) -> float:
        return self.start_wall + self.post_s

    def wait(self, timeout: float | None = None) -> ClipInfo | None:
        """Block until the clip is written (or failed); the ClipInfo, or None."""
        self.done.wait(timeout)
        return self.result


class ClipCutter:
    """Cuts clips once the ring has the post-roll, or the camera is gone, or ``max_wait_s`` passed.

    Call ``start()`` for a worker thread that polls every ``poll_s``, or call ``poll()`` yourself.
    ``max_wait_s`` bounds how long after ``start + post_s`` a job waits for packets that never come
    (a frozen camera that has not been declared offline yet). The ring must hold ``pre_s + post_s``
    seconds plus this delay, or the clip starts later than asked (``ClipInfo.start_wall`` tells).
    """

    def __init__(self, poll_s: float = 0.5, max_wait_s: float = 15.0):
        self.poll_s = poll_s
        self.max_wait_s = max_wait_s
        self._jobs: list[ClipJob] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, event_id: str, ring: PacketRing, start_wall: float, path: Path, *, pre_s: float = 10.0,
               post_s: float = 20.0, is_live: Callable[[], bool] = lambda: True,
               on_done: Callable[[ClipJob], None] | None = None) -> ClipJob:
        """Queue a clip for an event that started at ``start_wall``; returns the job to wait on."""
        job = ClipJob(event_id=event_id, ring=ring, start_wall=start_wall, path=Path(path), pre_s=pre_s,
                      post_s=post_s, is_live=is_live, on_done=on_done)
        with self._lock:
            self._jobs.append(job)
        return job

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._jobs)

    def poll(self, now: float | None = None) -> list[ClipJob]:
        """Write every clip that is ready; return the jobs finished by this call."""
        now = time.time() if now is None else now
        with self._lock:
            ready = [job for job in self._jobs if self._is_ready(job, now)]
            self._jobs = [job for job in self._jobs if job not in ready]
        for job in ready:
            self._cut(job)
        return ready

    def _is_ready(self, job: ClipJob, now: float) -> bool:
        newest = job.ring.newest_wall
        if newest is not None and newest >= job.end_wall:
            return True
        if now >= job.end_wall + self.max_wait_s:
            return True
        try:
            return not job.is_live()
        except Exception:  # noqa: BLE001 - a broken liveness check must not stall the clip forever
            log.exception("clip %s: is_live check failed; cutting now", job.event_id)
            return True

    def _cut(self, job: ClipJob) -> None:
        started = time.perf_counter()
        try:
            packets = job.ring.since_keyframe_before(job.start_wall - job.pre_s)
            job.result = write_clip(packets, None, job.path, job.start_wall - job.pre_s, job.end_wall)
            log.info("clip %s: %.1f s, %d bytes, written in %.0f ms -> %s", job.event_id, job.result.duration_s,
                     job.result.size_bytes, (time.perf_counter() - started) * 1000, job.path)
        except Exception as exc:  # noqa: BLE001 - one bad clip must not stop the cutter
            job.error = str(exc)
            log.warning("clip %s: not written: %s", job.event_id, exc)
        finally:
            job.done.set()
            if job.on_done is not None:
                try:
                    job.on_done(job)
                except Exception:
                    log.exception("clip %s: on_done callback failed", job.event_id)

    def start(self) -> ClipCutter:
        """Start the worker thread."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="clip-cutter", daemon=True)
            self._thread.start()
        return self

    def stop(self, flush: bool = True) -> None:
        """Stop the worker; with ``flush`` cut every pending clip with what the rings hold now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if flush:
            with self._lock:
                jobs, self._jobs = self._jobs, []
            for job in jobs:
                self._cut(job)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll()


# ---- retention -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneResult:
    deleted: list[Path]
    freed_bytes: int
    kept_bytes: int


def media_event_id(path: Path) -> str:
    """The event id a media file belongs to: its name up to the first dot (``evt_x.boxes.json`` -> ``evt_x``)."""
    return path.name.split(".", 1)[0]


def prune_media(media_dir: Path, max_age_days: float, max_bytes: int, keep: AbstractSet[str] = frozenset(),
                now: float | None = None) -> PruneResult:
    """Delete event media older than ``max_age_days``, then the oldest until under ``max_bytes``.

    Files are grouped by event id (clip, snapshot and boxes of one event go together) and a
    group's age is that of its newest file. Groups whose event id is in ``keep`` are never
    deleted, even if that leaves the folder over budget. Empty sub-folders are removed.
    """
    media_dir = Path(media_dir)
    now = time.time() if now is None else now
    groups: dict[str, list[tuple[Path, float, int]]] = {}
    for path in media_dir.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            st = path.stat()
        except FileNotFoundError:   # another node pruning the same shared folder got there first
            continue
        groups.setdefault(media_event_id(path), []).append((path, st.st_mtime, st.st_size))
    order = sorted(groups.items(), key=lambda item: max(m for _, m, _ in item[1]))
    total = sum(size for files in groups.values() for _, _, size in files)
    deleted: list[Path] = []
    freed = 0
    cutoff = now - max_age_days * 86400
    for event_id, files in order:
        if event_id in keep:
            continue
        too_old = max(m for _, m, _ in files) < cutoff
        if not too_old and total <= max_bytes:
            continue
        for path, _, size in files:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            deleted.append(path)
            freed += size
            total -= size
    for folder in sorted((p for p in media_dir.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass
    if deleted:
        log.info("pruned %d media files (%d bytes) from %s", len(deleted), freed, media_dir)
    return PruneResult(deleted=deleted, freed_bytes=freed, kept_bytes=total)
