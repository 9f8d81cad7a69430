"""Eye contour and iris (mediapipe iris_landmark) on one eye's crop, turned level along its corners.

The crop follows mediapipe's: centred between the eye's corners, its side the corner-to-corner distance
times ``decode.crop_scale`` (2.3). The model reads one eye; mediapipe feeds the subject's left eye
mirrored (``IS_RIGHT_EYE`` in its graph names the other, image-side, convention), and so does this.
Output per eye: 71 contour points (the first 16 are the eyelids, in the order of facemesh.RIGHT_EYE /
LEFT_EYE) and 5 iris points (centre first), in frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.errors import ModelError
from vision.models.base import Timer, open_session
from vision.models.facemesh import model_input
from vision.models.manifest import ModelSpec
from vision.perception.aligned import aligned_crop, line_angle


@dataclass(frozen=True)
class EyeLandmarks:
    side: str                # "right" or "left": the subject's
    contour: np.ndarray      # (71, 2) frame pixels; [:16] the eyelids
    iris: np.ndarray         # (5, 2) frame pixels; [0] the centre
    crop_side_px: float

    @property
    def lids(self) -> np.ndarray:
        return self.contour[:16]


class IrisLandmarks:
    task = "eyes"

    # which eye the model reads unmirrored (checked on real photos, tests/test_face_eyes.py)
    UNMIRRORED = "right"

    def __init__(self, spec: ModelSpec, threads: int = 0):
        self.spec = spec
        self.session = open_session(spec, threads)
        dec = spec.decode
        try:
            self.contour_output, self.iris_output = dec["contour"], dec["iris"]
            self.n_contour, self.n_iris = int(dec["contour_points"]), int(dec["iris_points"])
        except KeyError as exc:
            raise ModelError(f"model {spec.name!r}: manifest `decode` lacks {exc} "
                             f"(iris needs contour, iris, contour_points, iris_points)") from None
        self.crop_scale = float(dec.get("crop_scale", 2.3))
        self.timing: dict[str, float] = {}

    def eye(self, frame: np.ndarray, corner_a, corner_b, side: str, mirror: bool | None = None) -> EyeLandmarks:
        """Landmarks of one eye whose corners are ``corner_a`` (the one the contour starts at: the
        outer corner, mesh point 33 or 263) and ``corner_b``; ``side`` is the subject's eye."""
        t = Timer()
        a, b = np.asarray(corner_a, np.float32), np.asarray(corner_b, np.float32)
        mirror = (side != self.UNMIRRORED) if mirror is None else mirror
        # level the corner-to-corner line, image-left to image-right, whichever corner comes first
        left_first = (a, b) if a[0] <= b[0] else (b, a)
        angle = line_angle(*left_first)
        side_px = float(np.linalg.norm(b - a)) * self.crop_scale
        size = self.spec.input.width
        crop = aligned_crop(frame, (a + b) / 2, side_px, angle, size, mirror=mirror)
        contour, iris = self.session.run([self.contour_output, self.iris_output],
                                         {self.spec.input.name: model_input(crop.image, self.spec.input)})
        contour = np.asarray(contour, np.float32).reshape(-1, 3)[: self.n_contour, :2]
        iris = np.asarray(iris, np.float32).reshape(-1, 3)[: self.n_iris, :2]
        self.timing = {"infer": t.ms()}
        return EyeLandmarks(side, crop.points(contour), crop.points(iris), side_px)
