"""Doubtful persons: a small box the detector alone believes, at a middling score, needs a head and shoulders.

NanoDet scores some things that are not people between the person bar (0.35) and about 0.53: the top of a
round bin seen from overhead CCTV, a stain or a reflection on a floor, a traffic cone. On the public dev set
those were 20 of the 24 empty desks and floors called staffed; every one was small in the view (under 8 % of
its area) and had no head or shoulder point in MoveNet's pose, and no staffed image there had only such a
person (docs/models.md, "Doubtful persons"). So a person the detector scores under ``sure_score`` (0.5: 18 of
the 20 score under it, and a real man cut by the frame's edge scores 0.54 on the int8 detector) whose box covers
under ``max_zone_share`` of the staff zone it stands in counts only when the pose on its box finds a head
and shoulders (``pipeline.head_and_shoulders``), the check weak persons already get. A big box at the same
score (a close-up, a driver filling an 80x60 frame) is believed as before: the pose often misses a head there.

Pure: the zones and the cuts in, a predicate on a person out; ``Analyzer.analyze(doubtful=...)`` runs the
pose on the persons it picks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vision.perception.detections import Detection
from vision.perception.geometry import Polygon, box_overlap, to_pixels


@dataclass(frozen=True)
class Doubt:
    """One window's cuts (``thresholds.person_sure_score``, ``thresholds.small_person_share``)."""

    sure_score: float = 0.50        # from this score the detector alone is believed
    max_zone_share: float = 0.08    # a box under this share of the staff zone's area is small


def polygon_area(poly: Polygon) -> float:
    """Area of a simple polygon in pixels (the shoelace formula)."""
    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def doubtful_in(zones: Sequence[tuple[Polygon, float, Doubt]]) -> Callable[[Detection], bool]:
    """The predicate for one camera: ``zones`` are each window's staff zone (pixels), its
    ``staff_zone_overlap`` and its cuts. A person is doubtful when it stands in some staff zone and, in
    every staff zone it stands in, scores under that window's ``sure_score`` with a box under
    ``max_zone_share`` of the zone's area."""
    areas = [polygon_area(z) for z, _, _ in zones]
    top = max((d.sure_score for _, _, d in zones), default=0.0)

    def doubtful(person: Detection) -> bool:
        if person.score >= top:                 # sure everywhere: no zone test
            return False
        mine = [(a, d) for (z, overlap, d), a in zip(zones, areas) if box_overlap(person.box, z) >= overlap]
        size = person.width * person.height
        return bool(mine) and all(person.score < d.sure_score and size < d.max_zone_share * a for a, d in mine)

    return doubtful


def doubtful_for(windows, thresholds_of, width: int, height: int) -> Callable[[Detection], bool]:
    """``doubtful_in`` for a camera's windows (config ``Window``s; ``thresholds_of(window)`` their resolved
    ``Thresholds``) on a ``width`` x ``height`` frame."""
    zones = []
    for win in windows:
        th = thresholds_of(win)
        zones.append((to_pixels(win.staff_zone, width, height), th.staff_zone_overlap,
                      Doubt(th.person_sure_score, th.small_person_share)))
    return doubtful_in(zones)
