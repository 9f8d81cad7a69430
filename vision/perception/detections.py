"""The result types every model adapter returns and every later stage reads.

Boxes are ``(x1, y1, x2, y2)`` in pixels of the analysed image; keypoints are
``(x, y, score)`` in the same pixels, in COCO-17 order (see ``KEYPOINTS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
KP = {name: i for i, name in enumerate(KEYPOINTS)}

# Pairs of keypoints joined when a skeleton is drawn.
SKELETON = (
    (KP["left_ear"], KP["left_eye"]), (KP["left_eye"], KP["nose"]),
    (KP["nose"], KP["right_eye"]), (KP["right_eye"], KP["right_ear"]),
    (KP["left_shoulder"], KP["right_shoulder"]),
    (KP["left_shoulder"], KP["left_elbow"]), (KP["left_elbow"], KP["left_wrist"]),
    (KP["right_shoulder"], KP["right_elbow"]), (KP["right_elbow"], KP["right_wrist"]),
    (KP["left_shoulder"], KP["left_hip"]), (KP["right_shoulder"], KP["right_hip"]),
    (KP["left_hip"], KP["right_hip"]),
    (KP["left_hip"], KP["left_knee"]), (KP["left_knee"], KP["left_ankle"]),
    (KP["right_hip"], KP["right_knee"]), (KP["right_knee"], KP["right_ankle"]),
)

Box = tuple[float, float, float, float]


def as_box(values) -> Box:
    """Four numbers (a list, an array row, JSON) as a Box of floats."""
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


@dataclass(frozen=True)
class Detection:
    """One object found by a detector."""

    label: str
    score: float
    box: Box

    def __post_init__(self) -> None:
        if len(self.box) != 4:
            raise ValueError(f"Detection.box needs 4 numbers (x1, y1, x2, y2), got {len(self.box)}")

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    def to_json(self) -> dict:
        return {"label": self.label, "score": round(float(self.score), 4),
                "box": [round(float(v), 1) for v in self.box]}


@dataclass
class Pose:
    """17 COCO keypoints of one person, ``(x, y, score)`` in image pixels."""

    keypoints: np.ndarray
    score: float = 0.0

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if self.keypoints.shape != (len(KEYPOINTS), 3):
            raise ValueError(f"Pose.keypoints must have shape (17, 3), got {self.keypoints.shape}")

    def point(self, name: str, min_score: float) -> tuple[float, float] | None:
        """The keypoint ``name`` if its score reaches ``min_score``, else None."""
        x, y, s = self.keypoints[KP[name]]
        return (float(x), float(y)) if s >= min_score else None

    def to_json(self) -> list[list[float]]:
        return [[round(float(x), 1), round(float(y), 1), round(float(s), 3)] for x, y, s in self.keypoints]


@dataclass
class Face:
    """A person's face and what its eyes show. ``eyes`` is "open", "closed" or "unknown" (face too
    small, turned away, or the eye model unsure): never a guess."""

    box: Box
    score: float
    eyes: str = "unknown"
    eye_openness: float | None = None      # eyelid gap over eye width, mean of the eyes judged
    evidence: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"box": [round(float(v), 1) for v in self.box], "score": round(float(self.score), 4),
                "eyes": self.eyes,
                "eye_openness": None if self.eye_openness is None else round(float(self.eye_openness), 3),
                "evidence": self.evidence}


@dataclass
class FrameDetections:
    """Everything the models found in one frame. ``poses``, ``faces`` and ``head_scores`` are
    aligned with ``persons``: entry i belongs to person i, None where that stage did not run
    (or, for faces, found no face)."""

    width: int
    height: int
    objects: list[Detection] = field(default_factory=list)   # every non-person detection
    persons: list[Detection] = field(default_factory=list)
    poses: list[Pose | None] = field(default_factory=list)   # one per person, None if not run
    faces: list[Face | None] = field(default_factory=list)   # one per person, None if not run / no face
    # one per person: learned heads' probabilities on the person's crop, e.g. {"phone_in_use": 0.91}
    head_scores: list[dict[str, float] | None] = field(default_factory=list)
    zoomed: list[Detection] = field(default_factory=list)   # what the counter zoom found (also in objects)
    # what the counter zoom's turned looks found when they ran on their own (``Analyzer.analyze(zoom_turned=...)``,
    # the live watch's "counter_turns" stage; also in objects, not in zoomed)
    zoomed_turned: list[Detection] = field(default_factory=list)
    # phones the hand zoom found in a staff member's hand square (not in objects: never "on the counter")
    hand_phones: list[Detection] = field(default_factory=list)
    # one per person: what the crop pass found on the person's enlarged crop (also in objects); None: not run
    crop_objects: list[list[Detection] | None] = field(default_factory=list)
    # (box, pose, confirmed?) of each weak person candidate the pose confirmation judged (held by the caller)
    weak_checked: list[tuple] = field(default_factory=list)
    # one per person: why a person the detector scored under the bar (or missed) counts, e.g. "a face",
    # "head and shoulders in the pose"; None for the detector's own persons
    confirmed: list[str | None] = field(default_factory=list)
    # behaviour -> the probability at or above which its head says "seen" (the heads that ran)
    head_thresholds: dict[str, float] = field(default_factory=dict)
    timing_ms: dict[str, float] = field(default_factory=dict)

    def is_confirmed(self, i: int) -> bool:
        return i < len(self.confirmed) and bool(self.confirmed[i])

    def face_of(self, i: int) -> Face | None:
        return self.faces[i] if i < len(self.faces) else None

    def heads_of(self, i: int) -> dict[str, float] | None:
        return self.head_scores[i] if i < len(self.head_scores) else None
