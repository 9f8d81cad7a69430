"""Square crops turned level along a line (the eyes, an eye's corners), and the way back to the frame.

The face-landmark and iris models expect an upright face or eye filling a square crop; mediapipe cuts
that crop rotated so that the line through two keypoints is horizontal. ``AlignedCrop`` holds the
affine map from crop pixels to frame pixels, so points a model finds in the crop go straight back.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AlignedCrop:
    image: np.ndarray        # size x size x 3, BGR
    to_frame: np.ndarray     # 2 x 3 affine: crop (u, v) -> frame (x, y)
    side_px: float           # side of the square in frame pixels

    def points(self, uv: np.ndarray) -> np.ndarray:
        """Crop pixels (..., 2) -> frame pixels."""
        uv = np.asarray(uv, dtype=np.float32)
        return uv @ self.to_frame[:, :2].T + self.to_frame[:, 2]


def aligned_crop(frame: np.ndarray, center, side: float, angle: float, size: int,
                 mirror: bool = False) -> AlignedCrop:
    """A ``size`` x ``size`` crop of a square of ``side`` frame pixels centred at ``center``, rotated by
    ``angle`` (radians; the square's x axis points along that angle in the frame). ``mirror`` flips it
    left-right (a model trained on one eye reads the other one mirrored). Outside the frame is black."""
    k = side / size
    c, s = np.cos(angle) * k, np.sin(angle) * k
    # frame = R * k * (u - size/2, v - size/2) + center, with u flipped when mirrored
    ux = -1.0 if mirror else 1.0
    a = np.array([[c * ux, -s], [s * ux, c]], dtype=np.float64)
    t = np.asarray(center, dtype=np.float64) - a @ np.array([size / 2, size / 2])
    to_frame = np.concatenate([a, t[:, None]], axis=1)
    img = cv2.warpAffine(frame, to_frame, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return AlignedCrop(img, to_frame.astype(np.float32), float(side))


def line_angle(p0, p1) -> float:
    """Angle of the line p0 -> p1 in frame pixels (y down), radians."""
    return float(np.arctan2(p1[1] - p0[1], p1[0] - p0[0]))
