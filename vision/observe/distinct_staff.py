"""How many distinct people staff a window: the boxes of one person count once.

The detector and the weak-person confirmations can give one person several boxes. On the one-person photos
of the dev set a window said 2 or more staff on 262 of 781 (34 %): webcam, in-car and stock photos of one
person each (docs/models.md, "Distinct staff, session 7"). The kinds, and the rule for each:

* **the same head**: a box whose own head (its face, else its pose's head points inside the box) lies in
  the head of a person already counted is that person: a weak box confirmed by the pose on the counted
  person's head, a box of the whole car around the driver, two boxes on one body;
* **a part**: a box with no head of its own that has ``part_share`` of its area inside another staff box,
  or ``beside_share`` inside a staff box with a head, is a part of that person: a hand or a held thing close
  to the lens beside the face (the detector scores it 0.6-0.8), an arm, a torso under the full box;
* **person pixels**: the boxes the selfie segmentation kept (``presence_cue``; only where nobody else was
  found) say that someone is there, not how many: they count as one unless each has a head of its own and
  the heads differ.

Every box stays a person for the behaviours (a second box's pose or crop can be the one that sees the
phone or the bowed head); only the count, which the ``extra_person`` rule reads, groups them.

Pure: the window's staff persons in, for each the index (in that list) of the person it is counted as.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.observe.observations import PersonObservation
from vision.perception.detections import KP, Box
from vision.perception.geometry import inside_share
from vision.perception.presence_cue import PERSON_PIXELS

HEAD_POINTS = (KP["nose"], KP["left_eye"], KP["right_eye"], KP["left_ear"], KP["right_ear"])
SAME_HEAD = "the same head"
A_PART = "a part of another box"
PIXELS_ONCE = "person pixels, one person"


@dataclass(frozen=True)
class SamePerson:
    """The cuts, chosen on half of the dev set and checked on the other (docs/models.md, "Distinct staff,
    session 7")."""

    head_point_score: float = 0.3   # a head keypoint counts from this MoveNet score
    head_width: float = 0.35        # a head seen only as keypoints: a square this share of its box's width ...
    min_head_px: float = 4.0        # ... and at least this many pixels on each side of the head point
    face_grow: float = 0.25         # a face's head: its box grown by this share of its size on each side
    part_share: float = 0.7         # a headless box with this share of its area inside another is a part of it
    beside_share: float = 0.3       # ... or this share inside a box with a head (a hand held up beside the face) ...
    beside_area: float = 0.25       # ... when it is at least this share of that box's area (a hand at the lens is big)
    pixels_once: bool = True        # boxes kept by person pixels alone are one person unless their heads differ


@dataclass(frozen=True)
class Head:
    point: tuple[float, float]
    region: Box                      # where another box's head is the same head


def head_of(p: PersonObservation, cuts: SamePerson) -> Head | None:
    """The person's own head: its face, else the mean of its pose's head points inside its box (MoveNet reads
    a padded crop: points outside the box are a neighbour's)."""
    if p.face is not None:
        x1, y1, x2, y2 = p.face.box
        gx, gy = cuts.face_grow * (x2 - x1), cuts.face_grow * (y2 - y1)
        return Head(((x1 + x2) / 2, (y1 + y2) / 2), (x1 - gx, y1 - gy, x2 + gx, y2 + gy))
    if p.pose is None:
        return None
    k = p.pose.keypoints[list(HEAD_POINTS)]
    bx1, by1, bx2, by2 = p.box
    ok = (k[:, 2] >= cuts.head_point_score) & (k[:, 0] >= bx1) & (k[:, 0] <= bx2) & (k[:, 1] >= by1) & (k[:, 1] <= by2)
    if not ok.any():
        return None
    pts = k[ok, :2]
    cx, cy = (float(v) for v in pts.mean(axis=0))
    spread = float(np.ptp(pts[:, 0])) if len(pts) > 1 else 0.0
    half = max(cuts.head_width * (bx2 - bx1) / 2, spread / 2, cuts.min_head_px)
    return Head((cx, cy), (cx - half, cy - half, cx + half, cy + half))


def _in(pt: tuple[float, float], box: Box) -> bool:
    return box[0] <= pt[0] <= box[2] and box[1] <= pt[1] <= box[3]


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def by_pixels(p: PersonObservation) -> bool:
    return p.evidence.get("confirmed_by") == PERSON_PIXELS


def _same(i: int, j: int, staff: list[PersonObservation], heads: list[Head | None], cuts: SamePerson) -> str | None:
    """Why ``staff[i]`` is the person ``staff[j]`` already counted, or None."""
    mine, theirs = heads[i], heads[j]
    if mine is not None and theirs is not None:
        if _in(mine.point, theirs.region) or _in(theirs.point, mine.region):
            return SAME_HEAD
    elif mine is None:
        share = inside_share(staff[i].box, staff[j].box)
        if share >= cuts.part_share or (theirs is not None and share >= cuts.beside_share
                                        and _area(staff[i].box) >= cuts.beside_area * _area(staff[j].box)):
            return A_PART
    if cuts.pixels_once and by_pixels(staff[i]) and by_pixels(staff[j]) and (mine is None or theirs is None):
        return PIXELS_ONCE
    return None


def counted_as(staff: list[PersonObservation], cuts: SamePerson | None = None) -> list[tuple[int, str | None]]:
    """For each staff person, (the index in ``staff`` of the person it is counted as, why); (i, None) for a
    person counted on its own. Persons with a head of their own come first, then by the detector's score,
    so a duplicate joins the box most likely to be the real person. ``cuts`` None: every box counts."""
    if cuts is None:
        return [(i, None) for i in range(len(staff))]
    heads = [head_of(p, cuts) for p in staff]
    order = sorted(range(len(staff)), key=lambda i: (heads[i] is None, -staff[i].score))
    out: list[tuple[int, str | None]] = [(i, None) for i in range(len(staff))]
    counted: list[int] = []
    for i in order:
        match = next(((j, why) for j in counted if (why := _same(i, j, staff, heads, cuts)) is not None), None)
        if match is None:
            counted.append(i)
        else:
            out[i] = match
    return out


def people_in(counted: list[tuple[int, str | None]]) -> int:
    """How many distinct people a ``counted_as`` answer holds: the persons counted as themselves."""
    return sum(1 for i, (j, _) in enumerate(counted) if i == j)


def staff_count(staff: list[PersonObservation], cuts: SamePerson | None = None) -> int:
    """How many distinct people ``staff`` are."""
    return people_in(counted_as(staff, cuts))


def same_person_cuts(th) -> SamePerson | None:
    """The cuts for a window's ``Thresholds`` (None: ``distinct_staff`` is off, every box counts)."""
    return SamePerson() if th.distinct_staff else None
