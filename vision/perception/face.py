"""The face stage: on staff members' heads, find the face, its landmarks and each eye's lids.

Where the head is: around the pose's head keypoints when the pose has them, else the top of the
person's box. BlazeFace looks there; a face belongs to a person only if most of it lies inside the
person's box, and to one person only (where boxes overlap, the one it fits best). The face mesh reads
each face kept; the iris model reads each eye from a crop cut at the mesh's eye corners, and
``vision.perception.eyes`` turns the lids into open / closed / unknown.
"""

from __future__ import annotations

import numpy as np

from vision.config import Thresholds
from vision.models.blazeface import BlazeFaceDetector, FaceCandidate
from vision.perception.detections import KP, Box, Face, Pose
from vision.perception.eyes import EyeReading, judge_eyes, read_eye
from vision.perception.geometry import box_iou, inside_share

HEAD_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
Region = tuple[int, int, int, int]


def _square(cx: float, cy: float, side: float, width: int, height: int) -> Region | None:
    x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x2, y2 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return (x1, y1, x2, y2) if x2 - x1 >= 16 and y2 - y1 >= 16 else None


def head_regions(box: Box, pose: Pose | None, width: int, height: int, kp_score: float = 0.3) -> list[Region]:
    """Squares where the person's face may be, clipped to the frame.

    Around the pose's head keypoints: 3.2 times their spread, at least a third of the box width (a
    third of the box's longer side around a single point). Head points too far apart for one head
    (the pose mixed two people up) give one square per group of nearby points. Without head points:
    the box's width at its top."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    longer = max(bw, bh)
    pts = []
    if pose is not None:
        pts = [pose.keypoints[KP[n], :2] for n in HEAD_POINTS if pose.keypoints[KP[n], 2] >= kp_score]
    if not pts:
        side = min(bw, bh)
        r = _square((x1 + x2) / 2, y1 + side / 2, side, width, height)
        return [r] if r else []
    groups: list[list[np.ndarray]] = []
    for p in pts:     # greedy grouping: a point joins the first group it is near
        for g in groups:
            if min(float(np.linalg.norm(p - q)) for q in g) <= 0.15 * longer:
                g.append(p)
                break
        else:
            groups.append([p])
    regions = []
    for group in sorted(groups, key=len, reverse=True):
        points = np.asarray(group)
        if len(points) == 1:
            side = longer / 3
        else:
            spread = float(np.max(np.linalg.norm(points[:, None] - points[None], axis=-1)))
            side = max(3.2 * spread, bw / 3)
        cx, cy = points.mean(axis=0)
        r = _square(cx, cy, min(side, 1.2 * longer), width, height)
        if r:
            regions.append(r)
    return regions


class FaceReader:
    """Face detector + optional face mesh + optional iris model."""

    def __init__(self, detector: BlazeFaceDetector, mesh=None, iris=None, *, min_score: float = 0.5,
                 min_inside: float = 0.7, thresholds: Thresholds | None = None):
        self.detector = detector
        self.mesh = mesh
        self.iris = iris
        self.min_score = min_score
        self.min_inside = min_inside       # share of a face's box inside the person's box
        self.thresholds = thresholds or Thresholds()

    def candidates(self, image: np.ndarray, box: Box, pose: Pose | None = None) -> list[tuple[float, FaceCandidate]]:
        """(fit, face) for every face found in the person's head regions that lies mostly inside the box;
        fit = detector score x share inside the box."""
        h, w = image.shape[:2]
        out: list[tuple[float, FaceCandidate]] = []
        for x1, y1, x2, y2 in head_regions(box, pose, w, h):
            for f in self.detector.detect(image[y1:y2, x1:x2], min_score=self.min_score, origin=(x1, y1)):
                share = inside_share(f.box, box)
                if share >= self.min_inside and all(box_iou(f.box, g.box) < 0.5 for _, g in out):
                    out.append((f.score * share, f))
        return out

    def read_all(self, image: np.ndarray, boxes: list[Box], poses: list[Pose | None]) -> list[Face | None]:
        """One face (or None) per person: each face found goes to the person it fits best, once."""
        found = [(fit, i, f) for i, (b, p) in enumerate(zip(boxes, poses)) for fit, f in self.candidates(image, b, p)]
        chosen: dict[int, FaceCandidate] = {}
        for _fit, i, f in sorted(found, key=lambda t: t[0], reverse=True):
            if i not in chosen and all(box_iou(f.box, g.box) < 0.5 for g in chosen.values()):
                chosen[i] = f
        return [self.read_eyes(image, chosen[i]) if i in chosen else None for i in range(len(boxes))]

    def read(self, image: np.ndarray, box: Box, pose: Pose | None = None) -> Face | None:
        """One person's face and eye state, or None when no face is found."""
        return self.read_all(image, [box], [pose])[0]

    def read_eyes(self, image: np.ndarray, face: FaceCandidate) -> Face:
        """Landmarks and both eyes of a face found, judged open / closed / unknown."""
        evidence: dict = {"keypoints": [[round(float(x), 1), round(float(y), 1)] for x, y in face.keypoints]}
        if self.mesh is None or self.iris is None:
            evidence["eyes_reason"] = "face landmarks off" if self.mesh is None else "eye model off"
            return Face(face.box, face.score, "unknown", None, evidence)
        marks = self.mesh.landmarks(image, face)
        evidence["face_score"] = round(marks.score, 3)
        readings: list[EyeReading] = []
        lids: dict[str, list] = {}
        if marks.score >= self.thresholds.face_score:
            for side in ("right", "left"):
                mesh_lids = marks.eye(side)
                eye = self.iris.eye(image, mesh_lids[0], mesh_lids[8], side)
                readings.append(read_eye(side, eye.lids))
                lids[side] = [[round(float(x), 1), round(float(y), 1)] for x, y in eye.lids]
        verdict = judge_eyes(readings, marks.score, self.thresholds)
        evidence["eyes"] = [r.to_json() for r in readings]
        evidence["lids"] = lids
        evidence["eyes_reason"] = verdict.reason
        return Face(face.box, face.score, verdict.state, verdict.openness, evidence)
