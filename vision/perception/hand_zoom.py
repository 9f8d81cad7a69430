"""Hand zoom: the detector looks again at each staff member's hands, enlarged to its own input size.

A phone in a hand is a small thing in a 416 px view of the frame or even of the person's crop; cut
out a square around the hand (where MoveNet puts the wrist, pushed a little along the forearm) and
the detector sees it at several times the scale. A phone found there lies in the hand by
construction, so it is a phone in use, not one on the counter. A hand raised to the head (a call)
gets a square that takes in the ear as well.

``hand_regions`` is pure geometry (a pose in, squares out); ``look_at_hands`` runs the detector on
them. The Analyzer calls it for the staff only, and live only as often as
``models.hand_zoom_every_s`` says (``CameraWatch`` holds what it found between looks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.perception.classes import PHONE_LABELS
from vision.perception.detections import Detection, Pose
from vision.perception.geometry import box_iou

Rect = tuple[int, int, int, int]

SIDES = (("left_wrist", "left_elbow"), ("right_wrist", "right_elbow"))
HEAD_POINTS = ("left_ear", "right_ear", "left_eye", "right_eye", "nose")


@dataclass(frozen=True)
class HandRegion:
    """A square of the frame around one hand of person ``person`` (index into the frame's persons);
    ``at_head``: the hand is raised to the head, so the square takes in the ear too."""

    box: Rect
    person: int
    at_head: bool = False


def body_scale(pose: Pose, box, min_score: float) -> float:
    """Shoulder width in pixels, or 45 % of the box width when the shoulders are unsure."""
    ls, rs = pose.point("left_shoulder", min_score), pose.point("right_shoulder", min_score)
    if ls and rs:
        d = float(np.hypot(ls[0] - rs[0], ls[1] - rs[1]))
        if d >= 0.15 * (box[2] - box[0]):
            return d
    return 0.45 * (box[2] - box[0])


def _square(cx: float, cy: float, side: float, width: int, height: int) -> Rect:
    """A square of ``side`` centred on (cx, cy), shifted (not cut) to stay inside the frame."""
    side = min(side, width, height)
    x1 = min(max(0.0, cx - side / 2), width - side)
    y1 = min(max(0.0, cy - side / 2), height - side)
    return int(x1), int(y1), int(x1 + side), int(y1 + side)


def hand_regions(pose: Pose | None, box, person: int, width: int, height: int, *, min_score: float = 0.2,
                 size: float = 1.2, reach: float = 0.35, min_px: int = 32) -> list[HandRegion]:
    """Squares around the person's hands: centred ``reach`` of the forearm past the wrist (where the
    palm is), ``size`` shoulder widths across; a hand within one shoulder width of the head gets a
    square over hand and head together. Two squares that mostly overlap become one. None when the
    pose finds no wrist at ``min_score``, or the square would be under ``min_px``."""
    if pose is None:
        return []
    sw = body_scale(pose, box, min_score)
    side = max(float(min_px), size * sw)
    head = [p for p in (pose.point(n, min_score) for n in HEAD_POINTS) if p]
    out: list[HandRegion] = []
    for wrist_name, elbow_name in SIDES:
        wrist = pose.point(wrist_name, min_score)
        if wrist is None:
            continue
        elbow = pose.point(elbow_name, min_score)
        cx, cy = wrist
        if elbow is not None:
            cx, cy = cx + reach * (wrist[0] - elbow[0]), cy + reach * (wrist[1] - elbow[1])
        near = min(head, key=lambda p: np.hypot(p[0] - wrist[0], p[1] - wrist[1]), default=None)
        at_head = near is not None and float(np.hypot(near[0] - wrist[0], near[1] - wrist[1])) <= sw
        s = side
        if at_head and near is not None:   # the phone is between the hand and the ear
            s = max(side, 1.2 * float(np.hypot(near[0] - cx, near[1] - cy)) + 0.5 * side)
            cx, cy = (cx + near[0]) / 2, (cy + near[1]) / 2
        rect = _square(cx, cy, s, width, height)
        if rect[2] - rect[0] < min_px:
            continue
        region = HandRegion(rect, person, at_head)
        for i, other in enumerate(out):
            if box_iou(rect, other.box) >= 0.4:     # both hands together (texting): one look
                u = (min(rect[0], other.box[0]), min(rect[1], other.box[1]),
                     max(rect[2], other.box[2]), max(rect[3], other.box[3]))
                side_u = max(u[2] - u[0], u[3] - u[1])
                out[i] = HandRegion(_square((u[0] + u[2]) / 2, (u[1] + u[3]) / 2, side_u, width, height), person,
                                    at_head or other.at_head)
                break
        else:
            out.append(region)
    return out


def look_at_hands(detector, image: np.ndarray, regions: list[HandRegion], *, min_score: float = 0.2,
                  labels: frozenset[str] = PHONE_LABELS) -> list[Detection]:
    """Phones the detector finds in each hand square (frame pixels). A find whose centre falls
    outside the square's middle is left out: it is the edge of something else, not what the hand holds."""
    found: list[Detection] = []
    for r in regions:
        x1, y1, x2, y2 = r.box
        crop = image[y1:y2, x1:x2]
        if crop.size == 0:
            continue
        m = 0.1 * (x2 - x1)
        for d in detector.detect(crop, min_score=min_score, origin=(x1, y1)):
            cx, cy = d.center
            if d.label in labels and x1 + m <= cx <= x2 - m and y1 + m <= cy <= y2 - m:
                found.append(d)
    return found
