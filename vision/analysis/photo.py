"""`hallmonitor analyze IMAGE|DIR`: one photo (or a folder of them) through models and observations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.config import HallConfig, Window, single_window_config
from vision.errors import InputError
from vision.observe.frame import observe_camera
from vision.observe.observations import WindowObservation, distinct
from vision.perception.detections import FrameDetections
from vision.perception.geometry import bounding_rect, to_pixels
from vision.perception.presence_check import doubtful_for

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def read_image(path: Path) -> np.ndarray:
    """Read a photo or fail with a message that says what is wrong with it."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not data:
        raise InputError(f"{path}: the file is empty")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise InputError(f"{path}: not an image OpenCV can decode "
                         "(corrupt, truncated, or not a JPEG/PNG/BMP/WebP/TIFF)")
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise InputError(f"{path}: the JPEG is truncated (no end-of-image marker); copy the file again")
    return image


@dataclass
class ImageResult:
    path: Path
    image: np.ndarray
    observations: list[WindowObservation]
    timing_ms: dict[str, float]
    windows: list[Window]
    frame: FrameDetections
    object_score: float = 0.3

    def to_json(self) -> dict:
        h, w = self.image.shape[:2]
        persons, judged = distinct(self.observations)
        objects = [o.to_json() for o in judged]
        seen = {o.index for o in judged}
        for i, d in enumerate(self.frame.objects):  # the rest of what the detector saw, with no window meaning
            if i not in seen and d.score >= self.object_score:
                objects.append({**d.to_json(), "on_counter": False, "held": False, "at_face": False})
        return {
            "image": {"path": str(self.path), "width": w, "height": h},
            "persons": [p.to_json() for p in persons],
            "objects": objects,
            "windows": [o.to_json() for o in self.observations],
            "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()},
        }


def analyze_image(path: Path, analyzer, config: HallConfig | None = None, camera_id: str | None = None,
                  counter_px=None) -> ImageResult:
    t0 = time.perf_counter()
    image = read_image(path)
    decode_ms = (time.perf_counter() - t0) * 1000
    h, w = image.shape[:2]
    if config is None:
        config = single_window_config(w, h, counter_px)
        camera_id = "image"
    elif camera_id is None:
        camera_id = config.cameras[0].id
    config.camera(camera_id)
    th = config.thresholds(config.camera(camera_id).windows[0])
    doubtful = doubtful_for(config.camera(camera_id).windows, config.thresholds, w, h)
    frame = analyzer.analyze(image, person_min_score=th.person_score, zoom=counter_rects(config, camera_id, w, h),
                             confirm_min_score=th.person_confirm_score,
                             hands=config.models.hand_zoom_every_s > 0, doubtful=doubtful)
    t1 = time.perf_counter()
    observations = observe_camera(frame, config, camera_id, image)
    observe_ms = (time.perf_counter() - t1) * 1000
    timing = {"decode": decode_ms, **frame.timing_ms, "observe": observe_ms}
    timing["total"] = (time.perf_counter() - t0) * 1000
    return ImageResult(path, image, observations, timing, list(config.camera(camera_id).windows), frame,
                       th.object_score)


def counter_rects(config: HallConfig, camera_id: str, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The counters the detector zooms into on a photo (none when the config turns the zoom off)."""
    if config.models.counter_zoom_every_s <= 0:
        return []
    rects = [bounding_rect(to_pixels(w.counter, width, height), width, height)
             for w in config.camera(camera_id).windows]
    return [r for r in rects if r[2] - r[0] >= 8 and r[3] - r[1] >= 8]


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
