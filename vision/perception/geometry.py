"""Pure geometry on zones (relative polygons scaled to pixels), boxes and keypoints."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vision.perception.detections import Box

Polygon = np.ndarray  # shape (N, 2), pixels


def to_pixels(points: Sequence[Sequence[float]], width: int, height: int) -> Polygon:
    """Relative (0..1) polygon -> pixel polygon for a frame of ``width`` x ``height``."""
    return np.asarray(points, dtype=np.float32) * np.array([width, height], dtype=np.float32)


def points_in_polygon(xy: np.ndarray, poly: Polygon) -> np.ndarray:
    """Even-odd rule for many points at once; returns a bool mask."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x, y = xy[:, 0:1], xy[:, 1:2]
    px, py = poly[:, 0].astype(np.float64), poly[:, 1].astype(np.float64)
    qx, qy = np.roll(px, -1), np.roll(py, -1)
    crosses = (py > y) != (qy > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = px + (y - py) * (qx - px) / (qy - py)
    inside = crosses & (x < xint)
    return (inside.sum(axis=1) % 2) == 1


def point_in_polygon(x: float, y: float, poly: Polygon) -> bool:
    return bool(points_in_polygon(np.array([[x, y]]), poly)[0])


def box_overlap(box: Box, poly: Polygon, samples: int = 12) -> float:
    """Share of the box's area inside the polygon, estimated on a ``samples`` x ``samples`` grid.

    The even-odd rule of ``points_in_polygon`` on the grid, worked out per grid row (the row's edge
    crossings are shared by its points): the same arithmetic, so the same share, in a quarter of the time
    (it runs for every person and zone of every frame)."""
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        return 0.0
    steps = np.arange(samples) + 0.5
    xs, ys = x1 + steps * (x2 - x1) / samples, (y1 + steps * (y2 - y1) / samples)[:, None]
    p = poly.astype(np.float64)
    q = np.concatenate((p[1:], p[:1]))            # each vertex's next one
    px, py, qx, qy = p[:, 0], p[:, 1], q[:, 0], q[:, 1]
    crosses = (py > ys) != (qy > ys)                                 # row x edge
    rise = qy - py
    rise[rise == 0] = 1.0            # a flat edge is never crossed: its intersection is not used
    xint = px + (ys - py) * (qx - px) / rise
    inside = crosses[:, None, :] & (xs[None, :, None] < xint[:, None, :])   # row x column x edge
    return float(np.count_nonzero(np.logical_xor.reduce(inside, axis=2))) / (samples * samples)


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def box_center(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def point_box_distance(p: tuple[float, float], box: Box) -> float:
    """0 inside the box, else the distance to its nearest edge."""
    dx = max(box[0] - p[0], 0.0, p[0] - box[2])
    dy = max(box[1] - p[1], 0.0, p[1] - box[3])
    return math.hypot(dx, dy)


def bounding_rect(poly: Polygon, width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1 = np.floor(poly.min(axis=0)).astype(int)
    x2, y2 = np.ceil(poly.max(axis=0)).astype(int)
    return max(0, x1), max(0, y1), min(width, x2), min(height, y2)


def inside_share(inner: Box, outer: Box) -> float:
    """Share of ``inner``'s area that lies inside ``outer``."""
    ix = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    iy = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    area = max(1e-9, (inner[2] - inner[0]) * (inner[3] - inner[1]))
    return ix * iy / area


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (x1, y1, x2, y2)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
