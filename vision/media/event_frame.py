"""The clean frame of an event: the pixels the models saw when it started, and who was where.

The snapshot has boxes and zones drawn on it, so a crop cut from it would teach a head to look for
green rectangles. The worker therefore keeps the un-annotated frame beside the snapshot
(``evt_x.frame.jpg``) with the frame's persons (``evt_x.frame.json``: box in frame pixels, score,
and the windows whose staff zone holds them). Both share the event id prefix, so retention keeps
or deletes them with the event's other media.

Events recorded before this existed have only the annotated snapshot; for them the frame is
re-decoded from the clip (the analysed frame nearest to the event's start, with that frame's
boxes from the clip's overlay), when the clip is there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.media.clips import overlay_path
from vision.observe.observations import WindowObservation, person_key
from vision.perception.detections import as_box

log = logging.getLogger(__name__)

FRAME_SUFFIX, PERSONS_SUFFIX = ".frame.jpg", ".frame.json"
JPEG_QUALITY = 92


@dataclass(frozen=True)
class FramePerson:
    box: tuple[float, float, float, float]   # frame pixels
    score: float
    staff: bool
    windows: tuple[str, ...] = ()             # windows whose staff zone holds this person

    def to_json(self) -> dict:
        return {"box": [round(float(v), 1) for v in self.box], "score": round(float(self.score), 4),
                "staff": self.staff, "windows": list(self.windows)}


@dataclass
class EventFrame:
    image: np.ndarray            # BGR, clean
    jpeg: bytes                  # the same pixels as stored (what a label keeps)
    persons: list[FramePerson]
    source: str                  # "frame" (saved by the worker) or "clip" (re-decoded)
    taken_at: float | None = None


def frame_paths(snapshot_path: Path) -> tuple[Path, Path]:
    """``media/cam/day/evt_x.jpg`` -> (``evt_x.frame.jpg``, ``evt_x.frame.json``) beside it."""
    stem = snapshot_path.name.split(".", 1)[0]
    return snapshot_path.with_name(stem + FRAME_SUFFIX), snapshot_path.with_name(stem + PERSONS_SUFFIX)


def frame_persons(observations: list[WindowObservation]) -> list[FramePerson]:
    """Each person of an analysed frame once, with every window that counts them as staff."""
    found: dict[tuple, tuple] = {}
    for obs in observations:
        for p in obs.persons:
            key = person_key(p)
            box, score, staff, windows = found.get(key, (p.box, p.score, False, []))
            if p.staff:
                windows = windows + [obs.window_id]
            found[key] = (box, score, staff or p.staff, windows)
    return [FramePerson(as_box(box), float(score), staff, tuple(windows))
            for box, score, staff, windows in found.values()]


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} image as JPEG")
    return buf.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a picture OpenCV can read")
    return image


def write_event_frame(snapshot_path: Path, image: np.ndarray, persons: list[FramePerson], taken_at: float) -> Path:
    """Keep the clean frame and its persons beside the event's snapshot (written atomically)."""
    jpg, meta = frame_paths(Path(snapshot_path))
    jpg.parent.mkdir(parents=True, exist_ok=True)
    h, w = image.shape[:2]
    doc = {"version": 1, "width": w, "height": h, "taken_at": taken_at, "persons": [p.to_json() for p in persons]}
    for path, data in ((jpg, encode_jpeg(image)), (meta, json.dumps(doc, ensure_ascii=False).encode())):
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return jpg


def _persons_of(doc: dict) -> list[FramePerson]:
    return [FramePerson(as_box(p["box"]), float(p.get("score", 0.0)), bool(p.get("staff")),
                        tuple(p.get("windows") or ())) for p in doc.get("persons", [])]


def _inside(media_dir: Path, relative: str | None) -> Path | None:
    if not relative:
        return None
    root = media_dir.resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) else None


def load_event_frame(media_dir: Path, event: dict, pre_s: float = 10.0) -> EventFrame | None:
    """The event's clean frame and persons: the worker's saved frame, else one decoded from the clip.

    ``event`` is the store's JSON of the event (snapshot and clip paths relative to ``media_dir``);
    ``pre_s`` is the camera's clip lead-in (where in the clip the event starts). None when neither
    is there (no snapshot taken, or deleted by retention).
    """
    snap = _inside(media_dir, event.get("snapshot"))
    if snap is not None:
        jpg, meta = frame_paths(snap)
        if jpg.is_file() and meta.is_file():
            data = jpg.read_bytes()
            doc = json.loads(meta.read_text(encoding="utf-8"))
            return EventFrame(decode_jpeg(data), data, _persons_of(doc), "frame", doc.get("taken_at"))
    clip = _inside(media_dir, event.get("clip"))
    if clip is not None and clip.is_file():
        try:
            return _frame_from_clip(clip, pre_s)
        except (OSError, ValueError) as exc:
            log.warning("event %s: no frame from its clip %s: %s", event.get("id"), clip, exc)
    return None


def _frame_from_clip(clip: Path, pre_s: float) -> EventFrame | None:
    """The analysed frame of the clip's overlay nearest to the event's start, decoded from the clip."""
    import av

    boxes = overlay_path(clip)
    if not boxes.is_file():
        return None
    doc = json.loads(boxes.read_text(encoding="utf-8"))
    frames = [f for f in doc.get("frames", []) if f.get("boxes")]
    if not frames:
        return None
    chosen = min(frames, key=lambda f: abs(f["t"] - pre_s))
    persons = [FramePerson(as_box(b["box"]), 0.0, str(b.get("label", "")).startswith("staff"))
               for b in chosen["boxes"] if str(b.get("label", "")).split(":")[0] in ("staff", "person")]
    image: np.ndarray | None = None
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        best = None
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            gap = abs(frame.time - chosen["t"])
            if best is None or gap < best[0]:
                best = (gap, frame.to_ndarray(format="bgr24"))
            elif frame.time > chosen["t"]:
                break
        if best is not None:
            image = best[1]
    if image is None:
        return None
    w, h = doc.get("width"), doc.get("height")
    if w and h and (image.shape[1], image.shape[0]) != (w, h):   # boxes are in the overlay's pixel space
        image = cv2.resize(image, (int(w), int(h)), interpolation=cv2.INTER_AREA)
    return EventFrame(image, encode_jpeg(image), persons, "clip")
