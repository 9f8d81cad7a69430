"""Face landmarks (mediapipe face_landmark): 468 points and a face score on a face crop turned level.

The crop follows mediapipe's: centred on the detector's box, its side the box's longer side times
``decode.crop_scale`` (1.5), rotated so that the detector's two eye keypoints lie level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.errors import ModelError
from vision.models.base import Timer, open_session
from vision.models.blazeface import FaceCandidate
from vision.models.manifest import ModelSpec
from vision.perception.aligned import aligned_crop, line_angle

# Eye contours in the mesh, in the order of the iris model's first 16 contour points: corner, 7 points
# along the lower lid, the other corner, 7 points along the upper lid (mediapipe's mesh topology).
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)   # subject's right
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)  # subject's left


def model_input(crop: np.ndarray, spec) -> np.ndarray:
    """A BGR uint8 crop (already the model's size) as the model's NHWC float tensor."""
    x = crop[..., ::-1] if spec.color == "RGB" else crop
    x = (x.astype(np.float32) - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(x[None])


@dataclass(frozen=True)
class FaceLandmarks:
    points: np.ndarray      # (468, 3): x, y in frame pixels, z (depth, in the same scale as x)
    score: float            # the model's face-presence probability

    def eye(self, side: str) -> np.ndarray:
        """The 16 contour points (x, y) of the subject's ``right`` or ``left`` eye."""
        return self.points[list(RIGHT_EYE if side == "right" else LEFT_EYE), :2]


class FaceMesh:
    task = "landmarks"

    def __init__(self, spec: ModelSpec, threads: int = 0):
        self.spec = spec
        self.session = open_session(spec, threads)
        dec = spec.decode
        try:
            self.landmarks_output, self.score_output = dec["landmarks"], dec["score"]
            self.n_points = int(dec["points"])
        except KeyError as exc:
            raise ModelError(f"model {spec.name!r}: manifest `decode` lacks {exc} "
                             f"(facemesh needs landmarks, score, points)") from None
        self.crop_scale = float(dec.get("crop_scale", 1.5))
        if spec.input.width != spec.input.height:
            raise ModelError(f"model {spec.name!r}: facemesh input must be square, got "
                             f"{spec.input.width}x{spec.input.height}")
        self.timing: dict[str, float] = {}

    def landmarks(self, frame: np.ndarray, face: FaceCandidate) -> FaceLandmarks:
        t = Timer()
        x1, y1, x2, y2 = face.box
        side = max(x2 - x1, y2 - y1) * self.crop_scale
        size = self.spec.input.width
        # the detector's "right eye" is on the image's left of an upright face: level that line
        angle = line_angle(face.right_eye, face.left_eye)
        crop = aligned_crop(frame, ((x1 + x2) / 2, (y1 + y2) / 2), side, angle, size)
        lm, score = self.session.run([self.landmarks_output, self.score_output],
                                     {self.spec.input.name: model_input(crop.image, self.spec.input)})
        pts = np.asarray(lm, np.float32).reshape(-1, 3)[: self.n_points]
        xy = crop.points(pts[:, :2])
        z = pts[:, 2:3] * (crop.side_px / size)
        self.timing = {"infer": t.ms()}
        logit = float(np.clip(np.asarray(score).ravel()[0], -80, 80))
        return FaceLandmarks(np.concatenate([xy, z], axis=1), 1.0 / (1.0 + np.exp(-logit)))
