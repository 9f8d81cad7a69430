"""Stillness: how much changed inside a box between two analysed frames."""

from __future__ import annotations

import cv2
import numpy as np

from vision.perception.detections import Box


def to_gray(image: np.ndarray, width: int = 320) -> np.ndarray:
    """A small blurred grey copy, cheap to difference; keeps the frame's aspect ratio."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return cv2.GaussianBlur(gray, (5, 5), 0)


def box_motion(prev_gray: np.ndarray, gray: np.ndarray, box: Box, frame_width: int,
               level: int = 18) -> float:
    """Share of pixels in ``box`` (frame pixels) whose grey level changed by more than ``level``."""
    if prev_gray.shape != gray.shape:
        return 1.0
    s = gray.shape[1] / frame_width
    x1, y1 = max(0, int(box[0] * s)), max(0, int(box[1] * s))
    x2, y2 = min(gray.shape[1], int(np.ceil(box[2] * s))), min(gray.shape[0], int(np.ceil(box[3] * s)))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    diff = cv2.absdiff(prev_gray[y1:y2, x1:x2], gray[y1:y2, x1:x2])
    return float((diff > level).mean())
