"""A counter tile seen turned: a phone lying on the counter lies any way round.

COCO's phones are mostly upright in a hand, and NanoDet, trained on them, misses many phones lying
across the counter or at a slant. Turning the tile before the detector looks at it shows such a phone
the way the detector knows one; its box is then turned back into the frame's pixels. On the dev set's
floors the zoom found 32 of 60 phones looking upright, 42 with two more looks turned 45 degrees each way,
with no new false phone on 120 office desks (docs/models.md, "Phone on the counter, session 6").

Pure: pixels and boxes in, pixels and boxes out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.perception.detections import Detection

Rect = tuple[int, int, int, int]

# the counter zoom's turned looks and the score a phone they find needs (models.counter_zoom_turns,
# models.counter_zoom_turned_score: the shipped defaults, chosen on half the dev set)
DEFAULT_TURNS: tuple[int, ...] = (45, 315)
TURNED_PHONE_SCORE = 0.3
# what lies beyond the frame's edge in a view turned by other than a quarter turn: the letterbox grey
BEYOND_FRAME = (114, 114, 114)


@dataclass(frozen=True)
class CounterLook:
    """One detector pass of the counter zoom: a tile of the frame, turned ``degrees`` clockwise first."""

    tile: Rect
    degrees: int = 0

    @property
    def turned(self) -> bool:
        return self.degrees % 360 != 0


def turned_view(image: np.ndarray, tile: Rect, degrees: int) -> tuple[np.ndarray, np.ndarray]:
    """The tile of ``image`` turned ``degrees`` clockwise, and the 2 x 3 affine map from the view's pixels
    back to the frame's. A quarter turn shows exactly the tile's pixels; another angle shows the square of
    the tile's longer side around its centre, turned, taken from the frame (``BEYOND_FRAME`` grey outside
    it), so the detector sees the counter at the same scale as the upright look."""
    x1, y1, x2, y2 = tile
    w, h = x2 - x1, y2 - y1
    if w <= 0 or h <= 0:
        raise ValueError(f"tile {tile} is empty")
    to_tile = np.array([[1, 0, -x1], [0, 1, -y1], [0, 0, 1]], np.float64)
    if degrees % 90 == 0:
        q = (degrees // 90) % 4
        view = np.ascontiguousarray(np.rot90(image[y1:y2, x1:x2], -q))     # np.rot90 turns anticlockwise
        turn = (np.eye(3),
                np.array([[0, -1, h], [1, 0, 0], [0, 0, 1]], np.float64),      # (x, y) -> (h - y, x)
                np.array([[-1, 0, w], [0, -1, h], [0, 0, 1]], np.float64),
                np.array([[0, 1, 0], [-1, 0, w], [0, 0, 1]], np.float64))[q]
        to_view = turn @ to_tile
    else:
        side = max(w, h)
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), -float(degrees), 1.0)   # OpenCV turns anticlockwise
        rot[:, 2] += np.array([(side - w) / 2, (side - h) / 2])
        to_view = np.vstack([rot, (0, 0, 1)]) @ to_tile
        view = cv2.warpAffine(image, to_view[:2], (side, side), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=BEYOND_FRAME)
    return view, np.linalg.inv(to_view)[:2]


def boxes_back(found: list[Detection], back: np.ndarray, frame_w: int, frame_h: int) -> list[Detection]:
    """Each box found in a turned view as the frame's upright rectangle around it, clipped to the frame (a
    phone the detector boxed tightly at a slant is boxed around its corners in the frame, as an upright look
    at a slanted phone would box it)."""
    out = []
    for d in found:
        bx1, by1, bx2, by2 = d.box
        corners = np.array([[bx1, by1, 1], [bx2, by1, 1], [bx2, by2, 1], [bx1, by2, 1]], np.float64) @ back.T
        x1, y1 = max(0.0, float(corners[:, 0].min())), max(0.0, float(corners[:, 1].min()))
        x2, y2 = min(float(frame_w), float(corners[:, 0].max())), min(float(frame_h), float(corners[:, 1].max()))
        if x2 > x1 and y2 > y1:
            out.append(Detection(d.label, d.score, (x1, y1, x2, y2)))
    return out
