"""Blurring faces on a frame, and choosing whose: citizens' faces go, the staff member's stays.

Pure image work (no model): the faces come from ``vision.privacy.faces``. A face is blurred over its
box grown by ``MARGIN`` on each side (hair, ears, a detector box a little off), first pixelated to
blocks of a tenth of the face, then smoothed: what is left cannot be sharpened back into a face.

Whose faces (``privacy.blur_faces`` in cameras.yaml):

- ``all_but_staff`` (default): every face but those whose centre lies in a staff zone of the
  camera's windows (the staff member on duty; the hall's own staff are not the ones PIPL protects
  here, and the review is about them);
- ``citizen_zone``: only faces whose centre lies in a citizen zone (a window without one keeps all);
- ``off``: none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from vision.perception.detections import Box
from vision.perception.geometry import to_pixels

MARGIN = 0.25          # share of the face's width / height added on each side
BLUR_MODES = ("all_but_staff", "citizen_zone", "off")


def grow(box: Box, width: int, height: int, margin: float = MARGIN) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    return (max(0, int(x1 - mx)), max(0, int(y1 - my)), min(width, int(np.ceil(x2 + mx))),
            min(height, int(np.ceil(y2 + my))))


def blur_boxes(image: np.ndarray, boxes: Iterable[Box], margin: float = MARGIN) -> np.ndarray:
    """``image`` (BGR) with each box (grown by ``margin``) pixelated and smoothed, in place; returned."""
    h, w = image.shape[:2]
    for box in boxes:
        x1, y1, x2, y2 = grow(box, w, h, margin)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        region = image[y1:y2, x1:x2]
        bw, bh = x2 - x1, y2 - y1
        blocks = max(2, min(bw, bh) // max(4, min(bw, bh) // 10))
        small = cv2.resize(region, (max(2, bw * blocks // max(bw, bh)), max(2, bh * blocks // max(bw, bh))),
                           interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (bw, bh), interpolation=cv2.INTER_NEAREST)
        k = max(3, (min(bw, bh) // 4) | 1)
        region[:] = cv2.GaussianBlur(coarse, (k, k), 0)
    return image


def _inside(point: tuple[float, float], polygon: np.ndarray) -> bool:
    return cv2.pointPolygonTest(polygon.astype(np.float32).reshape(-1, 1, 2), point, False) >= 0


def faces_to_blur(faces: Sequence[Box], windows: Sequence, width: int, height: int,
                  mode: str = "all_but_staff") -> list[Box]:
    """Which of ``faces`` (frame pixels) to blur on a frame of the camera with ``windows`` (their zones in
    0..1 frame units), under ``mode`` (see the module's docstring)."""
    if mode == "off":
        return []
    if mode not in BLUR_MODES:
        raise ValueError(f"privacy.blur_faces: unknown mode {mode!r}; use one of {', '.join(BLUR_MODES)}")
    staff = [to_pixels(w.staff_zone, width, height) for w in windows]
    citizen = [to_pixels(w.citizen_zone, width, height) for w in windows if w.citizen_zone]
    out = []
    for box in faces:
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        if mode == "all_but_staff":
            if not any(_inside(centre, z) for z in staff):
                out.append(box)
        elif any(_inside(centre, z) for z in citizen):
            out.append(box)
    return out
