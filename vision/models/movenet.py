"""MoveNet (single person) adapter, run on each person's crop."""

from __future__ import annotations

import numpy as np

from vision.models.base import open_session, preprocess
from vision.models.manifest import ModelSpec
from vision.perception.detections import Box, Pose


def crop_box(box: Box, width: int, height: int, pad: float = 0.15) -> tuple[int, int, int, int]:
    """The person box grown by ``pad`` of its size on each side, clipped to the frame."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    return (max(0, int(x1 - pad * bw)), max(0, int(y1 - pad * bh)),
            min(width, int(np.ceil(x2 + pad * bw))), min(height, int(np.ceil(y2 + pad * bh))))


class MoveNetPose:
    task = "pose"

    def __init__(self, spec: ModelSpec, threads: int = 0, pad: float = 0.15):
        self.spec = spec
        self.session = open_session(spec, threads)
        self.output = spec.decode.get("output")
        self.order = spec.decode.get("keypoint_order", "yx")
        self.pad = pad

    def estimate(self, image: np.ndarray, box: Box) -> Pose | None:
        h, w = image.shape[:2]
        x1, y1, x2, y2 = crop_box(box, w, h, self.pad)
        if x2 - x1 < 8 or y2 - y1 < 8:
            return None
        x, tf = preprocess(image[y1:y2, x1:x2], self.spec.input, origin=(x1, y1))
        out = self.session.run([self.output] if self.output else None, {self.spec.input.name: x})[0]
        kp = np.asarray(out, dtype=np.float32).reshape(-1, 3)[:17]
        a, b, score = kp[:, 0], kp[:, 1], kp[:, 2]
        xs, ys = (b, a) if self.order == "yx" else (a, b)
        pts = np.stack([xs * self.spec.input.width, ys * self.spec.input.height], axis=1)
        pts = tf.points(pts)
        return Pose(np.concatenate([pts, score[:, None]], axis=1), float(score.mean()))
