"""Per frame and per window: who is staff, where the phones are, badge, eating, head down, eyes.

Pure: detections, poses, the learned heads' scores and the window's zones in, observations out.
The frame itself is only read for the badge's colour and the pause sign. Every verdict carries
its evidence (boxes, keypoints, distances, head probabilities) so it can be drawn and checked.

Where a behaviour head ran on a person's crop it adds to the geometry: phone in use and eating
are geometry OR head (probability at or above the head's threshold); the badge head, when there
is one, replaces the badge geometry; an asleep head adds to head down. With no heads configured
every verdict is the geometry's alone.
"""

from __future__ import annotations

import numpy as np

from vision.config import BadgeProfile, HallConfig, Thresholds, Window
from vision.observe.distinct_staff import counted_as, people_in, same_person_cuts
from vision.observe.observations import ObjectObservation, PersonObservation, WindowObservation
from vision.observe.person_facts import (  # noqa: F401 - re-exported
    FrameFacts,
    check_aligned,
    eye_state,
    frame_facts,
    head_down,
    head_down_by_eyes,
    heads_say,
    shoulder_width,
)
from vision.perception.classes import PHONE_LABELS
from vision.perception.detections import Detection, FrameDetections
from vision.perception.geometry import bounding_rect, box_overlap, to_pixels
from vision.perception.pause_sign import sign_score


def observe_window(frame: FrameDetections, window: Window, th: Thresholds, badge: BadgeProfile,
                   image: np.ndarray | None = None, base_dir=None,
                   facts: FrameFacts | None = None) -> WindowObservation:
    """One window's view of the frame: who of the frame's persons is in its staff zone or citizen zone,
    what lies on its counter. The persons' own facts (``facts``, judged once per frame by
    ``person_facts.frame_facts`` with the same thresholds) are computed here when not given."""
    if facts is None:
        facts = frame_facts(frame, th, badge, image)
    w, h = frame.width, frame.height
    staff_zone = to_pixels(window.staff_zone, w, h)
    counter = to_pixels(window.counter, w, h)
    citizen_zone = to_pixels(window.citizen_zone, w, h) if window.citizen_zone else None

    persons: list[PersonObservation] = []
    for pf in facts.persons:
        overlap = box_overlap(pf.box, staff_zone)
        staff = overlap >= th.staff_zone_overlap
        cit = citizen_zone is not None and not staff and box_overlap(pf.box, citizen_zone) >= th.citizen_zone_overlap
        evidence = {"staff_zone_overlap": round(overlap, 3), **pf.evidence}
        badge_seen, eating = None, pf.eating
        if staff:
            at_face, why = facts.eating_at_face(pf)
            if at_face:
                eating = True
                evidence["eating_at_face"] = why
            badge_seen, evidence["badge"] = facts.badge_of(pf)
        persons.append(PersonObservation(
            box=pf.box, score=pf.detection.score, pose=pf.pose, staff=staff, citizen=cit, badge=badge_seen,
            phone_in_hand=pf.phone_in_hand, phone_at_ear=pf.phone_at_ear, eating=eating, head_down=pf.head_down,
            heads=pf.heads, eyes=pf.eyes, face=pf.face, evidence=evidence, index=pf.index))

    counter_rect = bounding_rect(counter, w, h)
    counter_len = float(max(counter_rect[2] - counter_rect[0], counter_rect[3] - counter_rect[1]))
    objects = [ObjectObservation(of.detection, held=of.held, at_face=of.at_face, index=of.index,
                                 on_counter=(not of.held and not of.at_face
                                             and box_overlap(of.detection.box, counter) >= th.counter_overlap
                                             and phone_sized(of.detection, counter_len, th)))
               for of in facts.objects]

    window_staff = [p for p in persons if p.staff]
    # one person seen as several boxes counts once (``distinct_staff``); every box keeps its verdicts
    counted = counted_as(window_staff, same_person_cuts(th))
    for p, (j, reason) in zip(window_staff, counted):
        if reason is not None:
            p.evidence["same_person_as"] = {"person": window_staff[j].index, "why": reason}
    judged = [p.badge for p in window_staff if p.badge is not None]
    pause = None
    if window.pause_sign is not None and image is not None:
        tmpl = window.pause_sign.template
        if base_dir is not None and not tmpl.is_absolute():
            tmpl = base_dir / tmpl
        score = sign_score(image, bounding_rect(counter, w, h), tmpl)
        pause = score >= window.pause_sign.threshold
    return WindowObservation(
        window_id=window.id,
        staff_count=people_in(counted),
        phone_on_counter=any(o.on_counter and o.detection.label in PHONE_LABELS for o in objects),
        phone_in_use=any(p.phone_in_hand or p.phone_at_ear for p in window_staff),
        phone_at_ear=any(p.phone_at_ear for p in window_staff),
        badge_missing=None if not judged else not all(judged),
        eating=any(p.eating for p in window_staff),
        head_down=any(p.head_down for p in window_staff),
        citizen_waiting=any(p.citizen for p in persons),
        pause_sign=pause,
        score=max([p.score for p in window_staff] + [o.detection.score for o in objects], default=0.0),
        staff_seen_by=sorted({p.evidence.get("confirmed_by") or "detector" for p in window_staff}),
        persons=persons,
        objects=objects,
    )


def phone_sized(det: Detection, counter_len: float, th: Thresholds) -> bool:
    """A phone lying on a counter is small beside it: a "cell phone" longer than ``counter_phone_max_share``
    of the counter's length is something bigger the detector took for one (a laptop from above), not a
    phone lying there. Other objects are not judged by size here."""
    return det.label not in PHONE_LABELS or bool(max(det.width, det.height) <= th.counter_phone_max_share * counter_len)


def observe_camera(frame: FrameDetections, config: HallConfig, camera_id: str,
                   image: np.ndarray | None = None) -> list[WindowObservation]:
    """Every window of the camera: the persons' facts judged once per frame (once per distinct set of
    thresholds, when windows override them), then each window's zones."""
    check_aligned(frame)
    cam = config.camera(camera_id)
    judged: list[tuple[Thresholds, FrameFacts]] = []
    out = []
    for win in cam.windows:
        th = config.thresholds(win)
        facts = next((f for t, f in judged if t == th), None)
        if facts is None:
            facts = frame_facts(frame, th, config.badge, image)
            judged.append((th, facts))
        out.append(observe_window(frame, win, th, config.badge, image, config.base_dir, facts))
    return out
