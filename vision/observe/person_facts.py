"""What one analysed frame says about each person and object, before any window is looked at.

A person's phone in hand, phone at the ear, food at the mouth, head down, eyes and badge do not
depend on which window's zones they stand in: they are judged here once per frame (once per set of
thresholds, when windows override them), and ``vision.observe`` then only decides, per window, who
is in its staff zone, who waits in its citizen zone and what lies on its counter.

Pure: detections, poses, faces, the heads' scores and the thresholds in, facts out. The frame's
pixels are read only for the badge's colour, and only for persons some window counts as staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vision.config import BadgeProfile, Thresholds
from vision.perception.badge import judge_badge
from vision.perception.classes import FOOD_LABELS, HALL_OBJECTS, PHONE_LABELS
from vision.perception.detections import KP, Detection, Face, FrameDetections, Pose
from vision.perception.eating import held_sized, judge_at_face
from vision.perception.eyes import judge_eyes, readings_from_json
from vision.perception.geometry import box_center, distance, point_box_distance


class MisalignedFrame(ValueError):
    """The per-person lists of a FrameDetections do not line up with its persons."""


def check_aligned(frame: FrameDetections) -> None:
    """``poses`` has one entry per person; ``faces``, ``head_scores`` and ``confirmed`` have one per
    person or none at all (the stage did not run). Anything else would pin one person's pose or face
    on another person, so it is refused with what to fix."""
    n = len(frame.persons)
    if len(frame.poses) != n:
        raise MisalignedFrame(f"FrameDetections has {n} persons but {len(frame.poses)} poses: poses[i] belongs "
                              f"to persons[i] (None where no pose ran), so the two lists must have the same length")
    for name in ("faces", "head_scores", "confirmed"):
        got = len(getattr(frame, name))
        if got not in (0, n):
            raise MisalignedFrame(f"FrameDetections has {n} persons but {got} {name}: {name}[i] belongs to "
                                  f"persons[i] (None where the stage did not run); give one per person or none")


@dataclass
class PersonFacts:
    """One person of the frame, judged without any window in mind."""

    index: int                      # position in ``FrameDetections.persons``: the person's identity in the frame
    detection: Detection
    pose: Pose | None
    scale: float                    # shoulder width in pixels (or a share of the box width)
    face: Face | None = None
    eyes: str | None = None         # "open" | "closed" | None (no face, or not judged)
    heads: dict[str, float] | None = None
    phone_in_hand: bool = False
    phone_at_ear: bool = False
    eating: bool = False
    head_down: bool = False
    evidence: dict = field(default_factory=dict)
    badge: bool | None = None       # judged on demand (``FrameFacts.badge_of``), for staff only
    badge_evidence: dict | None = None

    @property
    def box(self):
        return self.detection.box


@dataclass
class ObjectFacts:
    index: int | None               # position in ``FrameDetections.objects``; None: a phone the hand zoom found
    detection: Detection
    held: bool = False              # at some person's wrist (or in a hand square: never on the counter)
    at_face: bool = False           # at some person's mouth or ear


@dataclass
class FrameFacts:
    persons: list[PersonFacts]
    objects: list[ObjectFacts]
    thresholds: Thresholds
    badge_profile: BadgeProfile
    image: np.ndarray | None
    head_thresholds: dict[str, float] = field(default_factory=dict)   # behaviour -> the head's bar
    held: set[int] = field(default_factory=set)   # indices into ``objects`` of the held ones
    frame: FrameDetections | None = None
    _badge_done: set[int] = field(default_factory=set)
    _at_face: dict[int, tuple[bool, dict | None]] = field(default_factory=dict)

    def badge_of(self, person: PersonFacts) -> tuple[bool | None, dict]:
        """The person's badge (the badge head where one ran, else the chest's look), judged once."""
        if person.index not in self._badge_done:
            self._badge_done.add(person.index)
            said = heads_say(person.heads, self.head_thresholds)
            if "badge_worn" in said and person.heads is not None:   # said is empty without heads
                person.badge = said["badge_worn"]
                person.badge_evidence = {"badge": person.badge, "reason": "badge head",
                                         "p": person.heads["badge_worn"]}
            else:
                found = [o.detection for o in self.objects if o.index is not None]
                verdict = judge_badge(self.image, person.pose, found, self.held, self.badge_profile, self.thresholds)
                person.badge, person.badge_evidence = verdict.badge, verdict.to_json()
        return person.badge, person.badge_evidence or {}

    def eating_at_face(self, person: PersonFacts) -> tuple[bool, dict | None]:
        """A staff member's face found and not eating by the pose: food or drink at the mouth
        (``perception.eating.judge_at_face``), judged once."""
        if person.index not in self._at_face:
            verdict: tuple[bool, dict | None] = (False, None)
            if person.face is not None and not person.eating and self.frame is not None:
                at_face = judge_at_face(person.face, self.frame.objects, self.thresholds, person.box)
                verdict = (bool(at_face.eating), at_face.evidence)
            self._at_face[person.index] = verdict
        return self._at_face[person.index]


def shoulder_width(pose: Pose | None, box, th: Thresholds) -> tuple[float, str]:
    """The body's scale: shoulder width in pixels, or a share of the box width when shoulders are unsure."""
    if pose is not None:
        ls, rs = pose.point("left_shoulder", th.keypoint_score), pose.point("right_shoulder", th.keypoint_score)
        if ls and rs and distance(ls, rs) >= 0.15 * (box[2] - box[0]):
            return distance(ls, rs), "shoulders"
    return 0.45 * (box[2] - box[0]), "box"


def wrists(pose: Pose | None, th: Thresholds) -> list[tuple[float, float]]:
    if pose is None:
        return []
    return [p for p in (pose.point("left_wrist", th.keypoint_score), pose.point("right_wrist", th.keypoint_score)) if p]


def phone_at_ear_score(th: Thresholds) -> float:
    """The score from which a cell phone near the head counts as a phone at the ear."""
    return th.phone_score if th.ear_phone_score is None else th.ear_phone_score


def phone_at_head_shape(det: Detection, pose: Pose | None, sw: float, th: Thresholds) -> str | None:
    """Where a cell phone box lies against the person's head: None when it is not within ``ear_distance``
    of an ear or eye; "upright" when it is there and at least ``ear_phone_upright`` times as tall as wide
    (a phone held to the ear lies along the jaw); "wide" when it is there but flatter than that (on the
    Stanford 40 Actions photos the "phones" the detector sees at the face of people smoking or brushing their
    teeth are mostly the hand with a cigarette or a brush, wider than tall: docs/models.md, "Phone at the ear,
    session 6"). With ``ear_phone_upright`` 0 every phone there is "upright"."""
    if pose is None:
        return None
    heads = [q for q in (pose.point(n, th.keypoint_score) for n in ("left_ear", "right_ear", "left_eye", "right_eye"))
             if q]
    c = box_center(det.box)
    if not heads or min(distance(c, q) for q in heads) > th.ear_distance * sw:
        return None
    w, h = det.box[2] - det.box[0], det.box[3] - det.box[1]
    return "upright" if h >= th.ear_phone_upright * w else "wide"


def mouth(pose: Pose, sw: float, th: Thresholds) -> tuple[float, float] | None:
    nose = pose.point("nose", th.keypoint_score)
    return None if nose is None else (nose[0], nose[1] + 0.12 * sw)


def head_down(pose: Pose | None, box, sw: float, th: Thresholds) -> tuple[bool, dict]:
    """Head bowed toward the counter: ears above the eyes (pitch), eyes sunk to the shoulders,
    or the face hidden with nothing above the shoulders (resting on the arms)."""
    if pose is None:
        return False, {"reason": "no pose"}
    k = th.keypoint_score
    ls, rs = pose.point("left_shoulder", k), pose.point("right_shoulder", k)
    if not (ls and rs):
        return _eyes_at_unsure_shoulders(pose, sw, th)
    shoulder_y = (ls[1] + rs[1]) / 2
    eyes = [p for p in (pose.point("left_eye", k), pose.point("right_eye", k)) if p]
    ears = [p for p in (pose.point("left_ear", k), pose.point("right_ear", k)) if p]
    nose = pose.point("nose", k)
    if eyes:
        eye_y = float(np.mean([p[1] for p in eyes]))
        if eye_y >= shoulder_y - th.head_down_drop * sw:
            return True, {"reason": "eyes at the shoulder line", "eye_y": eye_y, "shoulder_y": shoulder_y}
        if ears:
            ear_y = float(np.mean([p[1] for p in ears]))
            pitch = (eye_y - ear_y) / sw
            if pitch >= th.head_down_tilt:
                # looking down at a form or a keyboard looks the same in one frame: only where the hall asks
                why = {"reason": "head pitched down (ears above eyes)", "pitch": round(pitch, 3)}
                return th.pitch_is_head_down, why
            return False, {"reason": "head up", "pitch": round(pitch, 3)}
        return False, {"reason": "head up"}
    if nose is None and not ears and box[1] > shoulder_y - 0.5 * sw:
        return True, {"reason": "face hidden, nothing above the shoulders", "shoulder_y": shoulder_y}
    return False, {"reason": "face not visible"}


def _eyes_at_unsure_shoulders(pose: Pose, sw: float, th: Thresholds) -> tuple[bool, dict]:
    """Shoulders under ``keypoint_score``: a head lying on the arms or the desk hides them, and MoveNet
    still places them, unsure. Read the shoulder line from points scoring ``head_down_unsure_score``
    and say head down only for eyes at that line (the pitch is not read from unsure points)."""
    k = th.head_down_unsure_score
    if k >= th.keypoint_score:
        return False, {"reason": "shoulders not visible"}
    ls, rs = pose.point("left_shoulder", k), pose.point("right_shoulder", k)
    eyes = [p for p in (pose.point("left_eye", k), pose.point("right_eye", k)) if p]
    if not (ls and rs and eyes):
        return False, {"reason": "shoulders not visible"}
    shoulder_y = (ls[1] + rs[1]) / 2
    eye_y = float(np.mean([p[1] for p in eyes]))
    if eye_y >= shoulder_y - th.head_down_drop * sw:
        scores = [round(float(pose.keypoints[KP[n], 2]), 2) for n in ("left_shoulder", "right_shoulder")]
        return True, {"reason": "eyes at the shoulder line, shoulders unsure", "eye_y": eye_y,
                      "shoulder_y": shoulder_y, "shoulder_scores": scores}
    return False, {"reason": "shoulders not visible"}


def heads_say(scores: dict[str, float] | None, thresholds: dict[str, float]) -> dict[str, bool]:
    """behaviour -> seen, for each head that scored this person (probability >= its threshold)."""
    if not scores:
        return {}
    return {b: p >= thresholds.get(b, 0.5) for b, p in scores.items()}


def eye_state(face: Face | None, th: Thresholds) -> tuple[str | None, dict | None]:
    """"open", "closed" or None (no face, or eyes not judged), judged with these thresholds from the
    eye readings the face stage left in the face's evidence."""
    if face is None:
        return None, None
    ev = face.evidence or {}
    if ev.get("eyes"):
        verdict = judge_eyes(readings_from_json(ev["eyes"]), ev.get("face_score"), th)
        state, why = verdict.state, verdict.to_json()
    else:
        state, why = face.eyes, {"state": face.eyes, "reason": ev.get("eyes_reason", "eyes not read")}
    return (state if state in ("open", "closed") else None), why


def head_down_by_eyes(eyes: str | None, geometry: tuple[bool, dict]) -> tuple[bool, dict]:
    """The eyes decide where they are seen: closed is head down (dozing), open is not, whatever the
    head's angle; unknown eyes leave the verdict to the geometry."""
    down, why = geometry
    if eyes == "closed":
        return True, {"reason": "eyes closed", "geometry": why}
    if eyes == "open":
        return False, {"reason": "eyes open", "geometry": why}
    return down, why


def frame_facts(frame: FrameDetections, th: Thresholds, badge: BadgeProfile,
                image: np.ndarray | None = None) -> FrameFacts:
    """Every person's and object's facts in ``frame``, judged with ``th``."""
    check_aligned(frame)
    persons: list[PersonFacts] = []
    for i, (det, pose) in enumerate(zip(frame.persons, frame.poses)):
        if det.score < th.person_score and not frame.is_confirmed(i):
            continue
        sw, scale_src = shoulder_width(pose, det.box, th)
        face = frame.face_of(i)
        eyes, eyes_why = eye_state(face, th)
        evidence: dict = {"scale_px": round(sw, 1), "scale_from": scale_src}
        if frame.is_confirmed(i):
            evidence["confirmed_by"] = frame.confirmed[i]
        if eyes_why is not None:
            evidence["eyes"] = eyes_why
        persons.append(PersonFacts(index=i, detection=det, pose=pose, scale=sw, face=face, eyes=eyes,
                                   heads=frame.heads_of(i), evidence=evidence))

    objects: list[ObjectFacts] = []
    held: set[int] = set()
    relevant = HALL_OBJECTS | set(badge.detector_labels)
    ear_cut = phone_at_ear_score(th)
    for oi, det in enumerate(frame.objects):
        if det.label not in relevant:
            continue
        is_phone = det.label in PHONE_LABELS
        if det.score < (min(th.phone_score, ear_cut) if is_phone else th.object_score):
            continue
        weak = is_phone and det.score < th.phone_score    # counts only as a phone at the ear (upright)
        obj = ObjectFacts(oi, det)
        c = box_center(det.box)
        for p in persons:
            pose, sw = p.pose, p.scale
            shape = phone_at_head_shape(det, pose, sw, th) if is_phone else None
            if shape == "wide":      # a wide "phone" at the head: a cigarette, a toothbrush, a cup's rim
                p.evidence.setdefault("wide_thing_at_head", det.to_json())
                continue
            if not weak and any(min(distance(c, wr), point_box_distance(wr, det.box)) <= th.hand_distance * sw
                                for wr in wrists(pose, th)):
                obj.held = True
                if is_phone:
                    p.phone_in_hand = True
            if pose is None:
                continue
            if is_phone and shape is not None and det.score >= ear_cut:
                obj.at_face = True
                p.phone_at_ear = True
                p.evidence["phone_at_ear"] = det.to_json()
            elif det.label in FOOD_LABELS and det.score >= th.eating_cue_score \
                    and held_sized(det, p.box, th.mouth_food_max_share):
                m = mouth(pose, sw, th)
                if m and min(distance(c, m), point_box_distance(m, det.box)) <= th.mouth_distance * sw:
                    obj.at_face = True
                    p.eating = True
                    p.evidence["food_at_mouth"] = det.to_json()
        if weak and not obj.at_face:
            continue
        if obj.held:
            held.add(len(objects))
        objects.append(obj)

    for det in frame.hand_phones:
        if det.score >= th.hand_phone_score:
            phone = _phone_in_hand_square(det, persons, th)
            if phone is not None:
                objects.append(phone)

    for p in persons:
        pose, sw = p.pose, p.scale
        if pose is not None and not p.eating and not p.phone_in_hand and th.wrist_at_mouth > 0:
            cue = th.model_copy(update={"keypoint_score": max(th.keypoint_score, th.eating_cue_score)})
            m = mouth(pose, sw, cue)
            if m and any(distance(wr, m) <= th.wrist_at_mouth * sw for wr in wrists(pose, cue)):
                p.eating = True
                p.evidence["wrist_at_mouth"] = True
        down, why = head_down_by_eyes(p.eyes, head_down(pose, p.box, sw, th))
        p.head_down = down
        p.evidence["head"] = why
        scores = p.heads or {}
        cuts = dict(frame.head_thresholds)
        if th.phone_head_score is not None:
            cuts["phone_in_use"] = th.phone_head_score
        said = heads_say(scores, cuts)
        if said:
            p.evidence["heads"] = {b: {"p": scores[b], "threshold": cuts.get(b, 0.5),
                                       "seen": seen} for b, seen in said.items()}
        if said.get("phone_in_use") and not p.phone_in_hand and not p.phone_at_ear:
            p.phone_in_hand = True
            p.evidence["phone_in_hand_from"] = "head"
        if said.get("eating") and not p.eating:
            p.eating = True
            p.evidence["eating_from"] = "head"
        if said.get("asleep") and not p.head_down:
            p.head_down = True
            p.evidence["head"] = {"reason": "asleep head", "p": scores["asleep"]}
    return FrameFacts(persons, objects, th, badge, image, dict(frame.head_thresholds), held, frame)


def _phone_in_hand_square(det: Detection, persons: list[PersonFacts], th: Thresholds) -> ObjectFacts | None:
    """A phone the hand zoom found goes to the person whose box (grown by 15 %: a hand reaches out) holds
    its centre, the smallest such box: at the ear when it is near the head (``ear_distance``), else in the
    hand; it is never on the counter."""
    c = box_center(det.box)

    def holds(box) -> bool:
        mx, my = 0.15 * (box[2] - box[0]), 0.15 * (box[3] - box[1])
        return box[0] - mx <= c[0] <= box[2] + mx and box[1] - my <= c[1] <= box[3] + my
    holders = [p for p in persons if holds(p.box)]
    if not holders:
        return None
    p = min(holders, key=lambda q: q.detection.width * q.detection.height)
    obj = ObjectFacts(None, det, held=True)
    heads = [q for q in (p.pose.point(n, th.keypoint_score) for n in ("left_ear", "right_ear", "left_eye", "right_eye"))
             if q] if p.pose is not None else []
    if heads and min(distance(c, q) for q in heads) <= th.ear_distance * p.scale:
        obj.at_face = True
        p.phone_at_ear = True
        p.evidence["phone_at_ear"] = det.to_json()
    else:
        p.phone_in_hand = True
    p.evidence["hand_zoom_phone"] = det.to_json()
    return obj
