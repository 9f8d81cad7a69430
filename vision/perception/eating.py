"""Eating or drinking, judged from the face: food or drink at the mouth.

Pure: a staff member's head (the face box the face stage found, else a box from the pose's head
points) and the food and drink the detector found (on the frame, the person's crop, the face zoom) in,
a verdict and its evidence out. Distances are in head widths, which a close-up and a CCTV view both
give reliably; the pose's shoulders are often wrong on close-ups (MoveNet assumes a whole body), so
the mouth is taken from the face, not from the shoulders.
"""

from __future__ import annotations

from dataclasses import dataclass

from vision.perception.classes import FOOD_LABELS
from vision.perception.detections import Box, Detection
from vision.perception.geometry import point_box_distance


@dataclass(frozen=True)
class MouthVerdict:
    eating: bool
    evidence: dict


def mouth_point(head: Box) -> tuple[float, float]:
    """The mouth: on the head box's centre line, three quarters of the way down (a BlazeFace box ends at the chin)."""
    x1, y1, x2, y2 = head
    return ((x1 + x2) / 2, y1 + 0.75 * (y2 - y1))


def held_sized(det: Detection, person: Box | None, max_share: float) -> bool:
    """A food or drink box small enough to be held at the person's mouth: its longer side at most
    ``max_share`` of the person box's longer side (no person box: any size)."""
    if person is None:
        return True
    longer = max(person[2] - person[0], person[3] - person[1])
    return max(det.width, det.height) <= max_share * longer


def food_at_mouth(head: Box, objects: list[Detection], reach: float = 0.6, min_score: float = 0.3,
                  max_size: float = 4.0, person: Box | None = None, max_share: float = 1.0) -> MouthVerdict:
    """Eating when a food or drink box comes within ``reach`` head widths of the mouth. A box more than
    ``max_size`` head widths across is not held to the mouth (a table, a pizza on the counter), nor one
    bigger than ``max_share`` of the ``person`` box (``held_sized``)."""
    hw = max(1.0, head[2] - head[0])
    mouth = mouth_point(head)
    best: tuple[float, Detection] | None = None
    for det in objects:
        if det.label not in FOOD_LABELS or det.score < min_score:
            continue
        if max(det.width, det.height) > max_size * hw or not held_sized(det, person, max_share):
            continue
        gap = point_box_distance(mouth, det.box) / hw
        if gap <= reach and (best is None or gap < best[0]):
            best = (gap, det)
    if best is None:
        return MouthVerdict(False, {"reason": "no food or drink at the mouth"})
    gap, det = best
    return MouthVerdict(True, {"reason": "food or drink at the mouth", "object": det.to_json(),
                               "gap_head_widths": round(gap, 2)})


def judge_at_face(face, objects: list[Detection], th, person: Box | None = None) -> MouthVerdict:
    """A staff member's face found: eating when the mouth stage saw a mouth-held thing around the face
    (probability >= ``th.mouth_object``), or a food or drink box comes within ``th.food_at_face`` face
    widths of the mouth, no bigger than ``th.mouth_food_max_share`` of the ``person`` box. ``face`` is a
    ``Face``; ``th`` the window's ``Thresholds``."""
    mouth = (face.evidence or {}).get("mouth")
    if mouth is not None and mouth.get("p", 0.0) >= th.mouth_object:
        return MouthVerdict(True, {"reason": "a mouth-held thing around the face", "p": mouth["p"],
                                   "top": mouth.get("top"), "threshold": th.mouth_object})
    verdict = food_at_mouth(face.box, objects, reach=th.food_at_face, min_score=th.object_score, person=person,
                            max_share=th.mouth_food_max_share)
    if mouth is not None and not verdict.eating:
        verdict.evidence["mouth_p"] = mouth.get("p")
    return verdict
