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

from vision.perception.badge import judge_badge
from vision.config import BadgeProfile, HallConfig, Thresholds, Window
from vision.perception.detections import Detection, Face, FrameDetections, Pose
from vision.perception.eating import judge_at_face
from vision.perception.eyes import judge_eyes, readings_from_json
from vision.perception.classes import FOOD_LABELS, HALL_OBJECTS, PHONE_LABELS
from vision.perception.geometry import bounding_rect, box_center, box_overlap, distance, point_box_distance, to_pixels
from vision.observe.observations import ObjectObservation, PersonObservation, WindowObservation
from vision.perception.pause_sign import sign_score



def shoulder_width(pose: Pose | None, box, th: Thresholds) -> tuple[float, str]:
    """The body's scale: shoulder width in pixels, or a share of the box width when shoulders are unsure."""
    if pose is not None:
        ls, rs = pose.point("left_shoulder", th.keypoint_score), pose.point("right_shoulder", th.keypoint_score)
        if ls and rs and distance(ls, rs) >= 0.15 * (box[2] - box[0]):
            return distance(ls, rs), "shoulders"
    return 0.45 * (box[2] - box[0]), "box"


def _wrists(pose: Pose | None, th: Thresholds) -> list[tuple[float, float]]:
    if pose is None:
        return []
    return [p for p in (pose.point("left_wrist", th.keypoint_score), pose.point("right_wrist", th.keypoint_score)) if p]


def _mouth(pose: Pose, sw: float, th: Thresholds) -> tuple[float, float] | None:
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
        return False, {"reason": "shoulders not visible"}
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
                return th.pitch_is_head_down, {"reason": "head pitched down (ears above eyes)", "pitch": round(pitch, 3)}
            return False, {"reason": "head up", "pitch": round(pitch, 3)}
        return False, {"reason": "head up"}
    if nose is None and not ears and box[1] > shoulder_y - 0.5 * sw:
        return True, {"reason": "face hidden, nothing above the shoulders", "shoulder_y": shoulder_y}
    return False, {"reason": "face not visible"}


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


def _phone_in_hand_square(det: Detection, people, persons: list[PersonObservation],
                           objects: list[ObjectObservation], th: Thresholds) -> None:
    """A phone the hand zoom found goes to the person whose box (grown by 15 %: a hand reaches out) holds
    its centre, the smallest such box: at the ear when it is near the head (``ear_distance``), else in the
    hand; it is never on the counter."""
    c = box_center(det.box)

    def holds(box) -> bool:
        mx, my = 0.15 * (box[2] - box[0]), 0.15 * (box[3] - box[1])
        return box[0] - mx <= c[0] <= box[2] + mx and box[1] - my <= c[1] <= box[3] + my
    holders = [i for i, (p, _, _) in enumerate(people) if holds(p.box)]
    if not holders:
        return
    pi = min(holders, key=lambda i: people[i][0].width * people[i][0].height)
    _, pose, sw = people[pi]
    obs = ObjectObservation(det, held=True)
    heads = [q for q in (pose.point(n, th.keypoint_score) for n in ("left_ear", "right_ear", "left_eye", "right_eye"))
             if q] if pose is not None else []
    if heads and min(distance(c, q) for q in heads) <= th.ear_distance * sw:
        obs.at_face = True
        persons[pi].phone_at_ear = True
        persons[pi].evidence["phone_at_ear"] = det.to_json()
    else:
        persons[pi].phone_in_hand = True
    persons[pi].evidence["hand_zoom_phone"] = det.to_json()
    objects.append(obs)


def observe_window(frame: FrameDetections, window: Window, th: Thresholds, badge: BadgeProfile,
                   image: np.ndarray | None = None, base_dir=None) -> WindowObservation:
    w, h = frame.width, frame.height
    staff_zone = to_pixels(window.staff_zone, w, h)
    counter = to_pixels(window.counter, w, h)
    citizen_zone = to_pixels(window.citizen_zone, w, h) if window.citizen_zone else None

    people: list[tuple[Detection, Pose | None, float]] = []
    persons: list[PersonObservation] = []
    for i, (det, pose) in enumerate(zip(frame.persons, frame.poses)):
        if det.score < th.person_score and not frame.is_confirmed(i):
            continue
        sw, scale_src = shoulder_width(pose, det.box, th)
        face = frame.face_of(i)
        overlap = box_overlap(det.box, staff_zone)
        staff = overlap >= th.staff_zone_overlap
        cit = citizen_zone is not None and not staff and box_overlap(det.box, citizen_zone) >= th.citizen_zone_overlap
        people.append((det, pose, sw))
        eyes, eyes_why = eye_state(face, th)
        evidence = {"staff_zone_overlap": round(overlap, 3), "scale_px": round(sw, 1), "scale_from": scale_src}
        if frame.is_confirmed(i):
            evidence["confirmed_by"] = frame.confirmed[i]
        if eyes_why is not None:
            evidence["eyes"] = eyes_why
        persons.append(PersonObservation(box=det.box, score=det.score, pose=pose, staff=staff, citizen=cit,
                                         heads=frame.heads_of(i), eyes=eyes, face=face, evidence=evidence))

    objects: list[ObjectObservation] = []
    held: set[int] = set()
    kept: list[Detection] = []
    relevant = HALL_OBJECTS | set(badge.detector_labels)
    for det in frame.objects:
        if det.label not in relevant:
            continue
        is_phone = det.label in PHONE_LABELS
        if det.score < (th.phone_score if is_phone else th.object_score):
            continue
        obs = ObjectObservation(det)
        c = box_center(det.box)
        for pi, (p, pose, sw) in enumerate(people):
            if any(min(distance(c, wr), point_box_distance(wr, det.box)) <= th.hand_distance * sw
                   for wr in _wrists(pose, th)):
                obs.held = True
                if is_phone:
                    persons[pi].phone_in_hand = True
            if pose is None:
                continue
            if is_phone:
                heads = [q for q in (pose.point(n, th.keypoint_score) for n in
                                     ("left_ear", "right_ear", "left_eye", "right_eye")) if q]
                if heads and min(distance(c, q) for q in heads) <= th.ear_distance * sw:
                    obs.at_face = True
                    persons[pi].phone_at_ear = True
                    persons[pi].evidence["phone_at_ear"] = det.to_json()
            elif det.label in FOOD_LABELS:
                mouth = _mouth(pose, sw, th)
                if mouth and min(distance(c, mouth), point_box_distance(mouth, det.box)) <= th.mouth_distance * sw:
                    obs.at_face = True
                    persons[pi].eating = True
                    persons[pi].evidence["food_at_mouth"] = det.to_json()
        obs.on_counter = (not obs.held and not obs.at_face
                          and box_overlap(det.box, counter) >= th.counter_overlap)
        if obs.held:
            held.add(len(kept))
        kept.append(det)
        objects.append(obs)

    for det in frame.hand_phones:
        if det.score >= th.hand_phone_score:
            _phone_in_hand_square(det, people, persons, objects, th)

    for (det, pose, sw), person in zip(people, persons):
        if pose is not None and not person.eating and not person.phone_in_hand:
            mouth = _mouth(pose, sw, th)
            if mouth and any(distance(wr, mouth) <= 0.6 * th.mouth_distance * sw for wr in _wrists(pose, th)):
                person.eating = True
                person.evidence["wrist_at_mouth"] = True
        if person.staff and person.face is not None and not person.eating:
            at_face = judge_at_face(person.face, frame.objects, th)
            if at_face.eating:
                person.eating = True
                person.evidence["eating_at_face"] = at_face.evidence
        down, why = head_down_by_eyes(person.eyes, head_down(pose, det.box, sw, th))
        person.head_down = down
        person.evidence["head"] = why
        said = heads_say(person.heads, frame.head_thresholds)
        if said:
            person.evidence["heads"] = {b: {"p": person.heads[b], "threshold": frame.head_thresholds.get(b, 0.5),
                                            "seen": seen} for b, seen in said.items()}
        if said.get("phone_in_use") and not person.phone_in_hand and not person.phone_at_ear:
            person.phone_in_hand = True
            person.evidence["phone_in_hand_from"] = "head"
        if said.get("eating") and not person.eating:
            person.eating = True
            person.evidence["eating_from"] = "head"
        if said.get("asleep") and not person.head_down:
            person.head_down = True
            person.evidence["head"] = {"reason": "asleep head", "p": person.heads["asleep"]}
        if person.staff:
            if "badge_worn" in said:
                person.badge = said["badge_worn"]
                person.evidence["badge"] = {"badge": person.badge, "reason": "badge head",
                                            "p": person.heads["badge_worn"]}
            else:
                verdict = judge_badge(image, pose, kept, held, badge, th)
                person.badge = verdict.badge
                person.evidence["badge"] = verdict.to_json()

    staff = [p for p in persons if p.staff]
    judged = [p.badge for p in staff if p.badge is not None]
    pause = None
    if window.pause_sign is not None and image is not None:
        tmpl = window.pause_sign.template
        if base_dir is not None and not tmpl.is_absolute():
            tmpl = base_dir / tmpl
        score = sign_score(image, bounding_rect(counter, w, h), tmpl)
        pause = score >= window.pause_sign.threshold
    return WindowObservation(
        window_id=window.id,
        staff_count=len(staff),
        phone_on_counter=any(o.on_counter and o.detection.label in PHONE_LABELS for o in objects),
        phone_in_use=any(p.phone_in_hand or p.phone_at_ear for p in staff),
        phone_at_ear=any(p.phone_at_ear for p in staff),
        badge_missing=None if not judged else not all(judged),
        eating=any(p.eating for p in staff),
        head_down=any(p.head_down for p in staff),
        citizen_waiting=any(p.citizen for p in persons),
        pause_sign=pause,
        score=max([p.score for p in staff] + [o.detection.score for o in objects], default=0.0),
        persons=persons,
        objects=objects,
    )


def observe_camera(frame: FrameDetections, config: HallConfig, camera_id: str,
                   image: np.ndarray | None = None) -> list[WindowObservation]:
    cam = config.camera(camera_id)
    return [observe_window(frame, win, config.thresholds(win), config.badge, image, config.base_dir)
            for win in cam.windows]
