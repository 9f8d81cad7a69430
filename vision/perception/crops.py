"""How a picture of one person, or of one window's zone, is cut from a frame.

The ONE definition, used alike at run time (the heads stage of the Analyzer), by the training
script (models/train_heads.py) and by the hall's own training loop: a head only sees at run time
crops cut the way its training crops were cut.

``person_crop``: the person's box grown by ``PERSON_PAD`` of its width and height on each side,
then made square around the box's centre (the longer side wins), so the backbone's square input
sees the person undistorted. Parts of the square outside the frame are filled with ``FILL`` grey.
``zone_crop``: the bounding rectangle of a zone polygon (pixels), clipped to the frame, as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PERSON_PAD = 0.1          # share of the box's width / height added on each side
FILL = 114                # grey for the parts of a square crop outside the frame
MIN_SIDE = 8              # a crop is never smaller than this (px): tiny boxes still give a picture


def person_square(box: Sequence[float], pad: float = PERSON_PAD) -> tuple[int, int, int]:
    """(x, y, side) of the square a person's crop covers, in frame pixels (may reach outside the frame)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    side = max(w * (1 + 2 * pad), h * (1 + 2 * pad), float(MIN_SIDE))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side_i = int(round(side))
    return int(round(cx - side / 2)), int(round(cy - side / 2)), side_i


def person_crop(image: np.ndarray, box: Sequence[float], pad: float = PERSON_PAD) -> np.ndarray:
    """The square crop of the person in ``box`` (x1, y1, x2, y2 pixels) from a BGR ``image``."""
    if image is None or image.ndim != 3:
        raise ValueError(f"person_crop needs an H x W x 3 image, got shape {getattr(image, 'shape', None)}")
    h, w = image.shape[:2]
    x, y, side = person_square(box, pad)
    out = np.full((side, side, 3), FILL, dtype=image.dtype)
    sx1, sy1, sx2, sy2 = max(0, x), max(0, y), min(w, x + side), min(h, y + side)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y:sy2 - y, sx1 - x:sx2 - x] = image[sy1:sy2, sx1:sx2]
    return out


def zone_crop(image: np.ndarray, polygon_px) -> np.ndarray:
    """The bounding rectangle of a zone polygon (N x 2 pixels) cut from ``image``, clipped to the frame."""
    poly = np.asarray(polygon_px, dtype=np.float32).reshape(-1, 2)
    if len(poly) < 3:
        raise ValueError(f"zone_crop needs a polygon of at least 3 points, got {len(poly)}")
    h, w = image.shape[:2]
    x1, y1 = max(0, int(np.floor(poly[:, 0].min()))), max(0, int(np.floor(poly[:, 1].min())))
    x2, y2 = min(w, int(np.ceil(poly[:, 0].max()))), min(h, int(np.ceil(poly[:, 1].max())))
    if x2 - x1 < 1 or y2 - y1 < 1:
        raise ValueError(f"zone polygon {poly.tolist()} lies outside the {w}x{h} frame")
    return np.ascontiguousarray(image[y1:y2, x1:x2])
