"""What one analysed frame says about one service window.

``vision.observe.frame`` builds these from detections and zones (pure geometry);
``vision.rules`` turns a stream of them into events. Every verdict keeps the
evidence it was judged on so that it can be drawn and checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vision.perception.detections import Box, Detection, Face, Pose


@dataclass
class PersonObservation:
    box: Box
    score: float
    pose: Pose | None
    staff: bool                  # stands or sits in the window's staff zone
    citizen: bool = False        # in the window's citizen zone
    badge: bool | None = None    # None: chest not visible or too small to judge
    phone_in_hand: bool = False
    phone_at_ear: bool = False
    eating: bool = False
    head_down: bool = False
    heads: dict[str, float] | None = None   # the learned heads' probabilities on this person's crop
    eyes: str | None = None      # "open" | "closed"; None: no face found, or the eyes could not be judged
    face: Face | None = None     # what the face stage found on this person's head
    evidence: dict = field(default_factory=dict)
    index: int | None = None     # position in the frame's persons: the same person in every window's view

    def to_json(self) -> dict:
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "keypoints": self.pose.to_json() if self.pose is not None else None,
            "staff": self.staff,
            "citizen": self.citizen,
            "badge": self.badge,
            "phone_in_hand": self.phone_in_hand,
            "phone_at_ear": self.phone_at_ear,
            "eating": self.eating,
            "head_down": self.head_down,
            "heads": self.heads,
            "eyes": self.eyes,
            "face": self.face.to_json() if self.face is not None else None,
            "evidence": self.evidence,
        }


@dataclass
class ObjectObservation:
    detection: Detection
    on_counter: bool = False
    held: bool = False           # at a wrist keypoint of some person
    at_face: bool = False        # near a person's mouth or ear
    index: int | None = None     # position in the frame's objects: the same object in every window's view

    def to_json(self) -> dict:
        return {**self.detection.to_json(), "on_counter": self.on_counter,
                "held": self.held, "at_face": self.at_face}


@dataclass
class WindowObservation:
    """One window at one instant. The input of every rule."""

    window_id: str
    staff_count: int = 0
    phone_on_counter: bool = False
    phone_in_use: bool = False            # a staff member holds a phone or has it at the ear
    phone_at_ear: bool = False
    badge_missing: bool | None = None     # None: no staff, or no staff chest visible
    eating: bool = False
    head_down: bool = False
    citizen_waiting: bool = False
    pause_sign: bool | None = None        # None: the window has no sign template
    staff_motion: float | None = None     # share of changed pixels in head-down staff boxes
    score: float = 0.0                    # best detector score behind the verdicts
    # the window's own state heads on its staff zone crop (``hallmonitor train``), e.g.
    # {"window_occupied": {"p": 0.97, "seen": True}}; None when no state head is on for the window
    zone_state: dict | None = None
    # why the window counts as staffed: per staff member, "detector" (scored over the person bar) or the
    # reason a weak one was kept ("head and shoulders in the pose", "a face", "person pixels"), each once;
    # "window state head" when only the window's state head (``zone_state``) says it is occupied
    staff_seen_by: list[str] = field(default_factory=list)
    persons: list[PersonObservation] = field(default_factory=list)
    objects: list[ObjectObservation] = field(default_factory=list)

    @property
    def staff_present(self) -> bool:
        return self.staff_count > 0

    def to_json(self) -> dict:
        return {
            "id": self.window_id,
            "staff_present": self.staff_present,
            "staff_count": self.staff_count,
            "phone_on_counter": self.phone_on_counter,
            "phone_in_use": self.phone_in_use,
            "phone_at_ear": self.phone_at_ear,
            "badge_missing": self.badge_missing,
            "eating": self.eating,
            "head_down": self.head_down,
            "citizen_waiting": self.citizen_waiting,
            "pause_sign": self.pause_sign,
            "staff_motion": None if self.staff_motion is None else round(self.staff_motion, 4),
            "zone_state": self.zone_state,
            "staff_seen_by": self.staff_seen_by,
        }


def box_key(box, label: str = "") -> tuple:
    """Identity of a detection built without a frame index (by hand, in tests): its box and label."""
    return (label,) + tuple(round(v) for v in box)


def person_key(p: PersonObservation) -> tuple:
    """The same person in every window's view of a frame: its index in the frame's persons."""
    return ("#", p.index) if p.index is not None else box_key(p.box)


def object_key(o: ObjectObservation) -> tuple:
    return ("#", o.index) if o.index is not None else box_key(o.detection.box, o.detection.label)


def distinct(observations: list[WindowObservation]) -> tuple[list[PersonObservation], list[ObjectObservation]]:
    """Every person and object of a frame once, though several windows observe it (the first window's
    view of it wins)."""
    persons: dict[tuple, PersonObservation] = {}
    objects: dict[tuple, ObjectObservation] = {}
    for obs in observations:
        for p in obs.persons:
            persons.setdefault(person_key(p), p)
        for o in obs.objects:
            objects.setdefault(object_key(o), o)
    return list(persons.values()), list(objects.values())
