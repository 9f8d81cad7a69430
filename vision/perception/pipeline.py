"""One frame through the models: detector on the frame, a second detector pass on each
person's enlarged crop (small phones and cups show up there), pose on each person crop, the face
stage (face, landmarks, eyes) on the heads of the staff, and the learned behaviour heads on the
staff's crops (one batched backbone call, then each head)."""

from __future__ import annotations

import numpy as np

from vision.models.base import Timer, batched_nms
from vision.perception.classes import HALL_OBJECTS, PHONE_LABELS
from vision.perception.crops import person_crop
from vision.perception.detections import KP, Detection, FrameDetections, Pose
from vision.perception.geometry import box_iou, inside_share
from vision.perception.hand_zoom import hand_regions, look_at_hands
from vision.perception.presence_cue import PERSON_PIXELS, PersonPixels
from vision.perception.turned_looks import DEFAULT_TURNS, TURNED_PHONE_SCORE, CounterLook, boxes_back, turned_view
from vision.perception.zoom import counter_tiles


def merge_detections(dets: list[Detection], iou: float = 0.5) -> list[Detection]:
    """Per-label NMS over detections from several passes."""
    if len(dets) < 2:
        return dets
    labels = sorted({d.label for d in dets})
    boxes = np.array([d.box for d in dets], dtype=np.float32)
    scores = np.array([d.score for d in dets], dtype=np.float32)
    classes = np.array([labels.index(d.label) for d in dets])
    return [dets[i] for i in batched_nms(boxes, scores, classes, iou)]


# a hands head (Head.crop "hands") looks at the hand squares of wrists MoveNet scores at least this: webcam
# close-ups get wrist scores of 0.1-0.3 (docs/models.md, "Phone in use, session 4")
HAND_HEAD_KEYPOINT = 0.1
BY_POSE = "head and shoulders in the pose"   # why a weak or doubtful person counts (``FrameDetections.confirmed``)
HEAD_AND_SHOULDERS = (KP["nose"], KP["left_eye"], KP["right_eye"], KP["left_ear"], KP["right_ear"],
                      KP["left_shoulder"], KP["right_shoulder"])


def head_and_shoulders(pose: Pose | None, box, min_points: int = 3, min_score: float = 0.4) -> bool:
    """A pose that finds at least ``min_points`` confident head or shoulder points inside ``box``: a
    person is there. A stain, a chair or a blurred crowd gives no confident head or shoulder; points
    outside the box (MoveNet reads a padded crop) belong to a neighbour, not to this box."""
    if pose is None:
        return False
    k = pose.keypoints[list(HEAD_AND_SHOULDERS)]
    x1, y1, x2, y2 = box
    inside = (k[:, 0] >= x1) & (k[:, 0] <= x2) & (k[:, 1] >= y1) & (k[:, 1] <= y2)
    return int(((k[:, 2] >= min_score) & inside).sum()) >= min_points


def held_verdict(box, held) -> tuple | None:
    """The last look's (IoU, pose, confirmed?) on a weak box at the same place as ``box`` (IoU >= 0.5), if any."""
    best = max(((box_iou(box, b), pose, ok) for b, pose, ok in held or ()), default=None, key=lambda x: x[0])
    return best if best is not None and best[0] >= 0.5 else None


class Analyzer:
    """Detector + pose + face stage + behaviour heads, shared by every window of a camera (and every camera
    of a worker process). ``presence``: another detector for the presence pass (None: ``detector``).
    ``pixels`` (a ``presence_cue.PersonPixels``): where nobody is in focus, a weak person box made of person
    pixels counts (None: it does not).
    ``face`` is a ``FaceReader`` or None (no face stage: every ``faces`` entry is
    None); ``heads`` run on ``backbone`` features (none: every ``head_scores`` entry is None)."""

    def __init__(self, detector, pose=None, *, face=None, max_face_persons: int = 3, min_score: float = 0.2,
                 person_label: str = "person", crop_pass: bool = True, crop_pad: float = 0.3, max_crop_persons: int = 3,
                 min_crop_px: int = 48, max_pose_persons: int = 8,
                 crop_labels: frozenset[str] = HALL_OBJECTS, everyone: bool = False, zoom_max_tiles: int = 4,
                 zoom_turns: tuple[int, ...] = DEFAULT_TURNS, zoom_turned_score: float = TURNED_PHONE_SCORE,
                 max_confirm: int = 2,
                 backbone=None, heads=(), max_head_persons: int = 8, mouth=None, presence=None,
                 pixels: PersonPixels | None = None, fit_looks: bool = True, max_doubtful: int = 4,
                 presence_stretch: float | None = None):
        self.detector = detector
        # the crop pass and the counter zoom give a detector with a free input size (models/free_input_size.py)
        # their rectangle at its own aspect, and the counter strips along it (docs/performance.md section 14)
        self.fit_looks = fit_looks
        # the presence pass (and the detector's look again at weak persons) gives a free-size detector the zones'
        # rectangle (or a photo) at its own aspect, each side stretched at most this many times more than the
        # other; None: stretched to the square input (models.presence_max_stretch, docs/performance.md section 17)
        self.presence_stretch = presence_stretch
        # the detector of the presence pass (the whole frame or the windows' zones): ``presence`` (e.g. the
        # int8 twin, docs/performance.md section 12), else ``detector``; the crop pass, the counter zoom and
        # the hand zoom (the small phones and cups) always use ``detector``
        self.presence = presence if presence is not None else detector
        self.pixels = pixels          # person pixels: the presence cue where the detector found nobody
        self.mouth = mouth            # a MouthReader (vision.perception.mouth): what is at each face's mouth
        self.pose = pose
        self.face = face
        self.max_face_persons = max_face_persons
        self.min_score = min_score
        self.person_label = person_label
        self.crop_pass = crop_pass
        self.crop_pad = crop_pad
        self.max_crop_persons = max_crop_persons
        self.min_crop_px = min_crop_px
        self.max_pose_persons = max_pose_persons
        self.crop_labels = crop_labels
        self.zoom_max_tiles = zoom_max_tiles
        # the counter zoom also looks at each tile turned by these degrees (clockwise), for phones lying
        # across or at a slant; a phone a turned look finds needs ``zoom_turned_score`` (turned_looks.py)
        self.zoom_turns = tuple(d for d in zoom_turns if d % 360)
        self.zoom_turned_score = zoom_turned_score
        # weak persons (a score under the person bar) kept when a pose confirms them, at most this many a frame
        self.max_confirm = max_confirm if pose is not None else 0
        # doubtful persons (``analyze(doubtful=...)``) the pose checks a frame, best first; the others are believed
        self.max_doubtful = max_doubtful
        self.everyone = everyone      # ignore focus: crop pass and pose for every person (the benchmark's baseline)
        self.heads = list(heads)
        self.backbone = backbone if self.heads else None
        self.max_head_persons = max_head_persons
        if self.heads:
            if backbone is None:
                raise ValueError("heads need a backbone to read their features from")
            behaviours = [hd.behaviour for hd in self.heads]
            if len(set(behaviours)) != len(behaviours):
                raise ValueError(f"one head per behaviour, got {behaviours}")
            for hd in self.heads:
                if hd.backbone != backbone.name or (backbone.dim and hd.dim != backbone.dim):
                    raise ValueError(f"head {hd.name!r} reads {hd.dim} features of {hd.backbone!r}; "
                                     f"the backbone is {backbone.name!r} with {backbone.dim}")

    def analyze(self, image: np.ndarray, person_min_score: float = 0.35, focus=None, pose_focus=None,
                region: tuple[int, int, int, int] | None = None, max_poses: int | None = None,
                zoom: list[tuple[int, int, int, int]] | None = None,
                confirm_min_score: float | None = None, read_faces: bool = True,
                hands: bool = False, looks: dict | None = None, confirm_held: list | None = None,
                doubtful=None, zoom_turned: list[tuple[int, int, int, int]] | None = None,
                confirm_waits=None) -> FrameDetections:
        """One frame through the models.

        ``region`` (x1, y1, x2, y2): run the detector on that part of the frame only (the windows'
        zones), which costs no more than the whole frame and sees small things larger.
        ``focus(person)`` picks the persons whose crops get the second detector pass (staff);
        ``pose_focus(person)`` those that get a pose (staff, and whoever is at the counter), the best
        ``max_poses`` of them. The heads score the ``focus`` persons (staff; everyone when there is
        no focus), at most ``max_head_persons`` of them, in one batched backbone call.
        ``zoom``: rectangles (the counters) the detector also looks at in tiles of its own input
        size, for phones and cups lying there (``zoom_counters``): upright, and turned by each of
        ``zoom_turns`` when ``zoom_turned`` is None (a photo: every look).
        ``zoom_turned``: the counters of the turned looks instead (the live watch runs them as a stage of
        their own, ``vision.runtime.schedule``'s "counter_turns"); what they find is in ``zoomed_turned``.
        ``confirm_min_score``: a person scored from this up to ``person_min_score`` (in the focus) is
        kept when its pose shows a head and shoulders (``head_and_shoulders``); None: none is.
        The face stage reads the heads of the persons ``focus`` picks (staff),
        the best ``max_face_persons`` of them, after their pose; not at all when ``read_faces`` is False
        (the caller holds the last reading, see ``CameraWatch``).
        ``hands``: the detector also looks at the hands of the focus persons with a pose
        (``look_at_hands``, the biggest ``max_crop_persons``): phones in a hand or at the ear.
        ``looks``: per stage ("crop_pass", "pose", "face", "heads", "hand_zoom"), who it runs on this time instead of
        ``focus`` / ``pose_focus`` (``vision.runtime.schedule``: the staff of the windows it is due for); a stage
        nobody is due for is skipped, and the caller holds its last evidence.
        ``confirm_held``: the last look's verdicts on weak persons (``FrameDetections.weak_checked``); a
        weak box at the same place (IoU >= 0.5) keeps its verdict and pose without a new pose, unless
        ``looks["confirm"]`` picks it (the confirmation is due where it stands); None: every weak box is
        checked afresh.
        ``doubtful(person)`` (``presence_check.doubtful_in``): with the confirmations on, a person at the bar
        it picks (a small box at a middling score) is kept only when its pose shows a head and shoulders,
        like a weak one, with the same held verdicts; None: every person at the bar is believed.
        ``confirm_waits(box, counted)``: a new weak or doubtful box (no held verdict at its place) for which it
        says True,
        given the persons counted so far (``counted``: the sure ones and the weak ones whose held verdict
        confirms them), is neither posed nor counted nor held this frame; it is looked at again on the next
        (``CameraWatch``: beside a counted staff member it waits for its window's confirmation). None: every
        new weak box is posed at once.
        """
        h, w = image.shape[:2]
        if self.everyone:
            focus = pose_focus = looks = None
        looks = looks or {}
        crop_focus, head_focus = looks.get("crop_pass", focus), looks.get("heads", focus)
        face_focus, pose_focus = looks.get("face", focus), looks.get("pose", pose_focus)
        timing: dict[str, float] = {"preprocess": 0.0, "detect": 0.0, "crop_detect": 0.0, "pose": 0.0, "heads": 0.0}
        t = Timer()
        confirming = self.max_confirm and confirm_min_score is not None and confirm_min_score < person_min_score
        confirm_floor = confirm_min_score if confirming and confirm_min_score is not None else self.min_score
        floor = min(self.min_score, confirm_floor)
        if confirming and self.pixels is not None:
            floor = min(floor, self.pixels.cue.min_score)
        found = self._detect(self.presence, image, region, floor, stretch=self.presence_stretch)
        timing["preprocess"] += self.presence.timing.get("preprocess", 0.0)
        timing["detect"] = t.ms() - timing["preprocess"]
        persons = sorted((d for d in found if d.label == self.person_label and d.score >= person_min_score),
                         key=lambda d: d.score, reverse=True)
        objects = [d for d in found if d.label != self.person_label and d.score >= self.min_score]
        confirmed: dict[int, Pose | None] = {}     # person index -> its pose, if the confirmation made one
        weak_checked: list[tuple] = []               # (box, pose, confirmed?) of each weak person looked at
        why: dict[int, str] = {}
        if confirming:
            t = Timer()
            weak = self._weak_persons(found, persons, focus, confirm_floor, person_min_score)
            posed: dict[tuple, Pose | None] = {}       # the poses taken on the way (box -> pose)
            confirm_due = looks.get("confirm")

            def prior_of(d: Detection) -> tuple | None:
                """The verdict held on the weak box ``d``; none where the confirmation is due."""
                return None if confirm_due is not None and confirm_due(d) else held_verdict(d.box, confirm_held)

            if self.presence is not self.detector and self._a_new_weak_person(image, weak, prior_of, posed):
                # int8's scores under the person bar are not float's (on basketball1.png it scores a body-wide box
                # between two players 0.23, float under 0.1, and the pose there finds the right player's head): when
                # the pose confirms a new int8 weak box, the detector looks again and its own persons are judged,
                # as with the detector alone; int8's weak boxes it does not back are held as such (no pose, not
                # confirmed), so they do not make it look again while the verdicts hold
                again = self._detect(self.detector, image, region, confirm_floor, stretch=self.presence_stretch)
                strong = [f for f in again if f.label == self.person_label and f.score >= person_min_score
                          and (focus is None or focus(f)) and not any(box_iou(f.box, p.box) >= 0.5 for p in persons)]
                persons += strong                      # persons at the bar for the detector: held as such
                backed = self._weak_persons(again, persons, focus, confirm_floor, person_min_score)
                weak_checked += [(d.box, None, False) for d in weak
                                 if not any(box_iou(d.box, f.box) >= 0.5 for f in backed + persons)]
                weak_checked += [(f.box, None, True) for f in strong]
                weak = backed
            if doubtful is not None:
                persons = self._judge_doubtful(image, persons, doubtful, prior_of, posed, confirmed, why,
                                               weak_checked, confirm_waits)
            looked = weak[: self.max_confirm]
            counted = persons + [d for d in looked if (held := prior_of(d)) is not None and held[2]]
            for d in looked:
                if self._waits(d, confirm_waits, counted, posed, prior_of):
                    continue                          # beside someone counted: its window's confirmation poses it
                pose, ok = self._checked(image, d, prior_of, posed, weak_checked)
                if ok:
                    confirmed[len(persons)] = pose
                    why[len(persons)] = BY_POSE if pose is not None else "the detector"
                    persons.append(d)
                    counted.append(d)
            # nobody in focus at all: a clear face there is a person the detector missed (a close-up, a
            # head resting on the arms turned to the camera, someone slumped back)
            if self.face is not None and not any(focus is None or focus(p) for p in persons):
                for d in self._persons_from_faces(image, region, focus):
                    confirmed[len(persons)] = None
                    why[len(persons)] = "a face"
                    persons.append(d)
            timing["confirm"] = t.ms()
            # still nobody in focus: a weak box made of person pixels is a person (``presence_cue``)
            if self.pixels is not None and not any(focus is None or focus(p) for p in persons):
                t = Timer()
                for d in self._persons_from_pixels(image, region, found, focus, person_min_score):
                    confirmed[len(persons)] = None
                    why[len(persons)] = PERSON_PIXELS
                    persons.append(d)
                timing["segment"] = t.ms()

        crop_objects: list[list[Detection] | None] = [None] * len(persons)
        chosen = [i for i, p in enumerate(persons) if crop_focus is None or crop_focus(p)] if self.crop_pass else []
        if chosen:
            t = Timer()
            crop_pre = 0.0
            extra: list[Detection] = []
            biggest = sorted(chosen, key=lambda i: persons[i].width * persons[i].height,
                             reverse=True)[: self.max_crop_persons]
            for i in biggest:
                kept = self.crop_finds(image, persons[i].box)
                if kept is None:
                    continue
                crop_pre += self.detector.timing.get("preprocess", 0.0)
                crop_objects[i] = kept
                extra.extend(kept)
            objects = merge_detections(objects + extra)
            timing["preprocess"] += crop_pre
            timing["crop_detect"] = t.ms() - crop_pre

        zoomed: list[Detection] = []
        if zoom:
            t = Timer()
            zoomed = self.zoom_counters(image, zoom, turned=zoom_turned is None)
            objects = merge_detections(objects + zoomed)
            timing["counter_zoom"] = t.ms()
        zoomed_turned: list[Detection] = []
        if zoom_turned:
            t = Timer()
            zoomed_turned = self.zoom_counters(image, zoom_turned, upright=False)
            objects = merge_detections(objects + zoomed_turned)
            timing["counter_turns"] = t.ms()

        poses = []
        t = Timer()
        budget = self.max_pose_persons if max_poses is None or self.everyone else min(max_poses, self.max_pose_persons)
        for i, p in enumerate(persons):
            if confirmed.get(i) is not None:           # its pose is already known
                poses.append(confirmed[i])
                continue
            wanted = self.pose is not None and budget > 0 and (pose_focus is None or pose_focus(p))
            poses.append(self.pose.estimate(image, p.box) if wanted else None)
            budget -= wanted
        timing["pose"] = t.ms()

        hand_phones: list[Detection] = []
        if hands and self.pose is not None:
            t = Timer()
            hand_phones = self.look_at_hands(image, persons, poses, looks.get("hand_zoom", focus))
            timing["hand_zoom"] = t.ms()

        faces: list = [None] * len(persons)
        t = Timer()
        if self.face is not None and read_faces:
            wanted = [i for i, p in enumerate(persons) if face_focus is None or face_focus(p)][: self.max_face_persons]
            read = self.face.read_all(image, [persons[i].box for i in wanted], [poses[i] for i in wanted])
            for i, face in zip(wanted, read):
                faces[i] = face
        if read_faces:
            timing["face"] = t.ms()
            if self.mouth is not None:
                t = Timer()
                self.mouth.read(image, faces)
                timing["mouth"] = t.ms()
        t = Timer()
        head_scores = self._head_scores(image, persons, head_focus, poses)
        timing["heads"] = t.ms()
        return FrameDetections(width=w, height=h, objects=objects, persons=persons, poses=poses, zoomed=zoomed,
                               zoomed_turned=zoomed_turned,
                               hand_phones=hand_phones,
                               confirmed=[why.get(i) for i in range(len(persons))], faces=faces,
                               head_scores=head_scores, crop_objects=crop_objects, weak_checked=weak_checked,
                               head_thresholds={hd.behaviour: hd.threshold for hd in self.heads}, timing_ms=timing)

    @staticmethod
    def _detect(detector, image: np.ndarray, region, min_score: float, fit: bool = False,
                stretch: float | None = None) -> list[Detection]:
        """``detector`` on the frame, or on ``region`` of it (boxes in frame coordinates). ``fit``: a detector
        with a free input size (``free_size``) takes the region at its own aspect (``fit_size``) instead of
        stretched to its square input; ``stretch`` (not None): so it does, each side stretched at most this many
        times more than the other (``fit_size``'s ``max_stretch``; 1 is ``fit``)."""
        free = getattr(detector, "free_size", False)
        if stretch is None and fit:
            stretch = 1.0
        x1, y1, x2, y2 = region if region is not None else (0, 0, image.shape[1], image.shape[0])
        sized = {"size": detector.fit_size(x2 - x1, y2 - y1, stretch)} if free and stretch is not None else {}
        if region is None:
            return detector.detect(image, min_score=min_score, **sized)
        return detector.detect(image[y1:y2, x1:x2], min_score=min_score, origin=(x1, y1), **sized)

    def _weak_persons(self, found, persons, focus, confirm_min_score: float,
                      person_min_score: float) -> list[Detection]:
        """The persons of ``found`` scored from ``confirm_min_score`` up to the bar, in the focus, best first;
        a weak box mostly inside a person already found is a part of that person, not another one."""
        weak = sorted((d for d in found if d.label == self.person_label
                       and confirm_min_score <= d.score < person_min_score
                       and (focus is None or focus(d))), key=lambda d: d.score, reverse=True)
        return [d for d in weak if not any(inside_share(d.box, p.box) > 0.5 for p in persons)]

    @staticmethod
    def _waits(d: Detection, waits, counted: list[Detection], posed: dict, prior_of) -> bool:
        """A new weak or doubtful box (not posed this frame, no verdict held at its place) that ``waits`` (``analyze``'s
        ``confirm_waits``) leaves for its window's confirmation, given the persons ``counted`` so far."""
        return waits is not None and d.box not in posed and prior_of(d) is None and waits(d, counted)

    def _judge_doubtful(self, image, persons: list[Detection], doubtful, prior_of, posed: dict, confirmed: dict,
                        why: dict, weak_checked: list, waits=None) -> list[Detection]:
        """The persons at the bar without the doubtful ones whose pose shows no head and shoulders (the best
        ``max_doubtful`` doubtful ones are checked; a verdict held at the same place, ``prior_of``, stands).
        The kept ones' poses go into ``confirmed``, their reason into ``why``, every verdict into
        ``weak_checked``. A new doubtful one for which ``waits(box, counted)`` says True (``analyze``'s
        ``confirm_waits``) is left out this frame, without a pose."""
        judged: set[int] = set()                      # the doubtful ones checked (the best ``max_doubtful``)
        for i, d in enumerate(persons):
            if len(judged) < self.max_doubtful and doubtful(d):
                judged.add(i)
        # who counts without a new pose: the persons believed, and the doubtful ones a held verdict confirms
        counted = [d for i, d in enumerate(persons)
                   if i not in judged or ((held := prior_of(d)) is not None and held[2])]
        kept: list[Detection] = []
        for i, d in enumerate(persons):
            if i not in judged:
                kept.append(d)
                continue
            if self._waits(d, waits, counted, posed, prior_of):
                continue                              # beside someone counted: its window's confirmation poses it
            pose, ok = self._checked(image, d, prior_of, posed, weak_checked)
            if ok:
                confirmed[len(kept)] = pose
                why[len(kept)] = BY_POSE if pose is not None else "the detector"
                kept.append(d)
        return kept

    def _checked(self, image, d: Detection, prior_of, posed: dict, weak_checked: list) -> tuple[Pose | None, bool]:
        """Does the pose show a head and shoulders in the doubtful or weak box ``d``: the verdict held for its place
        (``prior_of``), else the pose taken on the way (``posed``) or a new one. The look goes into
        ``weak_checked``."""
        prior = prior_of(d)
        if prior is not None:
            pose, ok = prior[1], prior[2]
        else:
            pose = posed[d.box] if d.box in posed else self.pose.estimate(image, d.box)
            ok = head_and_shoulders(pose, d.box)
        weak_checked.append((d.box, pose, ok))
        return pose, ok

    def _a_new_weak_person(self, image, weak: list[Detection], prior_of, posed: dict) -> bool:
        """Does the pose confirm one of the weak boxes ``weak`` that no held verdict covers (``prior_of(box)``
        None; the best ``max_confirm``)? The poses it takes go into ``posed``."""
        for d in weak[: self.max_confirm]:
            if prior_of(d) is None:
                posed[d.box] = self.pose.estimate(image, d.box)
                if head_and_shoulders(posed[d.box], d.box):
                    return True
        return False

    def crop_finds(self, image: np.ndarray, box) -> list[Detection] | None:
        """The crop pass on one person: hall objects the detector finds on the person's crop enlarged by
        ``crop_pad``; None when the crop is too small to look at or close to the whole frame."""
        h, w = image.shape[:2]
        x1, y1, x2, y2 = box
        px, py = (x2 - x1) * self.crop_pad, (y2 - y1) * self.crop_pad
        cx1, cy1 = int(max(0, x1 - px)), int(max(0, y1 - py))
        cx2, cy2 = int(min(w, x2 + px)), int(min(h, y2 + py))
        if cx2 - cx1 < self.min_crop_px or cy2 - cy1 < self.min_crop_px:
            return None
        if (cx2 - cx1) * (cy2 - cy1) > 0.8 * w * h:     # a crop close to the whole frame adds nothing
            return None
        return self.zoom_tile(image, (cx1, cy1, cx2, cy2))

    def read_faces(self, image: np.ndarray, boxes: list, poses: list) -> list:
        """The face stage on these persons (faces, landmarks, eyes; with the mouth reader, what is held at
        each mouth): one reading per box, None where no face was found; all None without a face stage."""
        if self.face is None or not boxes:
            return [None] * len(boxes)
        faces = list(self.face.read_all(image, boxes, poses))
        if self.mouth is not None:
            self.mouth.read(image, faces)
        return faces

    def counter_looks(self, image: np.ndarray, rect, upright: bool = True, turned: bool = True) -> list[CounterLook]:
        """The detector passes ``zoom_counters`` makes on one counter: each tile of the detector's input size
        upright (unless ``upright`` is False), then turned by each of ``zoom_turns`` (unless ``turned`` is
        False)."""
        h, w = image.shape[:2]
        size = max(self.detector.spec.input.width, self.detector.spec.input.height)
        square = not (self.fit_looks and getattr(self.detector, "free_size", False))
        tiles = [t for t in counter_tiles(rect, size, self.zoom_max_tiles, frame_size=(w, h), square=square)
                 if t[2] - t[0] >= 8 and t[3] - t[1] >= 8]
        turns = ((0,) if upright else ()) + (self.zoom_turns if turned else ())
        return [CounterLook(t, degrees) for t in tiles for degrees in turns]

    def zoom_look(self, image: np.ndarray, look: CounterLook) -> list[Detection]:
        """One pass of the counter zoom: hall objects on the upright tile; on a turned one (the tile turned a
        quarter, or the square of its long side turned: ``turned_looks.turned_view``), the phones scored
        ``zoom_turned_score`` or more, boxed in the frame."""
        if not look.turned:
            return self.zoom_tile(image, look.tile)
        view, back = turned_view(image, look.tile, look.degrees)
        vh, vw = view.shape[:2]
        found = [d for d in self._detect(self.detector, view, (0, 0, vw, vh), self.zoom_turned_score,
                                         fit=self.fit_looks) if d.label in PHONE_LABELS]
        h, w = image.shape[:2]
        return boxes_back(found, back, w, h)

    def zoom_tile(self, image: np.ndarray, tile) -> list[Detection]:
        """Hall objects the detector finds on one counter tile (or any rectangle of the frame: a staff crop),
        at the tile's own aspect when the detector takes that (``fit_looks``)."""
        return [d for d in self._detect(self.detector, image, tile, self.min_score, fit=self.fit_looks)
                if d.label in self.crop_labels]

    def _persons_from_faces(self, image: np.ndarray, region, focus, min_face_score: float = 0.75,
                            min_face_px: int = 24) -> list[Detection]:
        """Persons around the clear faces BlazeFace finds in the frame (or ``region``): the face box grown
        to head and shoulders (a face width each side, 2.5 face heights down), scored by the face."""
        h, w = image.shape[:2]
        x0, y0, x1, y1 = region if region is not None else (0, 0, w, h)
        out = []
        for f in self.face.detector.detect(image[y0:y1, x0:x1], min_score=min_face_score, origin=(x0, y0)):
            fx1, fy1, fx2, fy2 = f.box
            fw, fh = fx2 - fx1, fy2 - fy1
            if min(fw, fh) < min_face_px:
                continue
            box = (max(0.0, fx1 - fw), max(0.0, fy1 - 0.4 * fh), min(float(w), fx2 + fw), min(float(h), fy2 + 2.5 * fh))
            d = Detection(self.person_label, round(float(f.score), 4), box)
            if focus is None or focus(d):
                out.append(d)
        return out[: self.max_confirm]

    def _persons_from_pixels(self, image: np.ndarray, region, found: list[Detection], focus,
                             person_min_score: float) -> list[Detection]:
        """The weak person boxes in focus (under ``person_min_score``) that the segmenter finds made of person
        pixels, best first, at most ``max_confirm``; a box mostly inside one already kept is the same person."""
        assert self.pixels is not None
        weak = self._weak_persons(found, [], focus, 0.0, person_min_score)
        kept: list[Detection] = []
        for reading in self.pixels.read(image, region, weak):
            d = reading.detection
            if reading.person and not any(inside_share(d.box, k.box) > 0.5 for k in kept):
                kept.append(d)
        return kept[: self.max_confirm]

    def _head_scores(self, image: np.ndarray, persons: list[Detection], focus,
                     poses: list | None = None) -> list[dict[str, float] | None]:
        """Each head's probability for the focus persons, in one batched backbone call: a person-crop head
        reads the person's crop; a hands head (``Head.crop == "hands"``) reads every square the hand zoom
        would look at (``hand_zoom.hand_regions`` at wrist score >= ``HAND_HEAD_KEYPOINT``) and gives the
        best square's, or nothing for a person with no square. None for everyone else."""
        scores: list[dict[str, float] | None] = [None] * len(persons)
        if not self.heads or self.backbone is None or not persons:   # no heads means no backbone
            return scores
        chosen = [i for i, p in enumerate(persons) if focus is None or focus(p)][: self.max_head_persons]
        if not chosen:
            return scores
        h, w = image.shape[:2]
        crops = [person_crop(image, persons[i].box) for i in chosen] if any(hd.crop == "person"
                                                                            for hd in self.heads) else []
        squares: list[tuple[int, tuple[int, int, int, int]]] = []
        if poses is not None and any(hd.crop == "hands" for hd in self.heads):
            squares = [(row, r.box) for row, i in enumerate(chosen)
                       for r in hand_regions(poses[i], persons[i].box, i, w, h, min_score=HAND_HEAD_KEYPOINT)]
        features = self.backbone.features(crops + [image[y1:y2, x1:x2] for _, (x1, y1, x2, y2) in squares])
        out: list[dict[str, float]] = [{} for _ in chosen]
        for hd in self.heads:
            if hd.crop == "person":
                probs = hd.predict(features[: len(crops)])
                for row in range(len(chosen)):
                    out[row][hd.behaviour] = round(float(probs[row]), 4)
            elif squares:
                probs = hd.predict(features[len(crops):])
                for (row, _), p in zip(squares, probs):
                    out[row][hd.behaviour] = max(out[row].get(hd.behaviour, 0.0), round(float(p), 4))
        for row, i in enumerate(chosen):
            scores[i] = out[row]
        return scores

    def look_at_hands(self, image: np.ndarray, persons: list[Detection], poses: list, focus) -> list[Detection]:
        """Phones in the hand squares (``hand_zoom.hand_regions``) of the biggest ``max_crop_persons`` focus
        persons that have a pose."""
        h, w = image.shape[:2]
        chosen = [i for i, p in enumerate(persons) if poses[i] is not None and (focus is None or focus(p))]
        chosen = sorted(chosen, key=lambda i: persons[i].width * persons[i].height,
                        reverse=True)[: self.max_crop_persons]
        regions = [r for i in chosen for r in hand_regions(poses[i], persons[i].box, i, w, h)]
        return look_at_hands(self.detector, image, regions, min_score=self.min_score)

    def zoom_counters(self, image: np.ndarray, counters: list[tuple[int, int, int, int]], upright: bool = True,
                      turned: bool = True) -> list[Detection]:
        """Hall objects (phones, cups, food, cards) found in tiles of each counter rectangle (and phones in its
        turned looks); one box per thing a pass or two both found. ``upright`` / ``turned`` False: without
        the upright looks / the turned ones (``counter_looks``)."""
        return merge_detections([d for rect in counters for look in self.counter_looks(image, rect, upright, turned)
                                 for d in self.zoom_look(image, look)])


class AnalyzerPool:
    """A few Analyzers shared by every camera: a frame takes whichever is free.

    On a small CPU, one single-threaded session per core analyses more frames per second
    than one session spread over all cores (no thread hand-offs inside each inference).
    ``acquire(background=True)`` (the heavy looks, ``vision.runtime.heavy_looks``) lets any waiting
    frame go first, for up to ``heavy_patience_s``; then it takes the next free Analyzer like a frame.
    So a camera's presence look waits for at most one heavy detector pass, and on a saturated machine
    the heavy looks still get about one pass per ``heavy_patience_s`` (they are not starved)."""

    def __init__(self, analyzers: list[Analyzer], heavy_patience_s: float = 0.5):
        import threading
        if not analyzers:
            raise ValueError("AnalyzerPool needs at least one Analyzer")
        self.analyzers = analyzers
        self.heavy_patience_s = heavy_patience_s
        self._free: list[Analyzer] = list(analyzers)
        self._changed = threading.Condition()
        self._frames_waiting = 0
        self._heavy_turn = 0       # heavy looks whose patience is over, waiting for the next free Analyzer

    def __len__(self) -> int:
        return len(self.analyzers)

    def acquire(self, background: bool = False) -> Analyzer:
        import time
        with self._changed:
            if background:
                until = time.monotonic() + self.heavy_patience_s
                # a free Analyzer no frame waits for is its; else it waits, up to its patience
                while (not self._free or self._frames_waiting) and time.monotonic() < until:
                    self._changed.wait(max(0.01, until - time.monotonic()))
                if not self._free or self._frames_waiting:
                    self._heavy_turn += 1      # its patience is over: the next free Analyzer is its
                    try:
                        while not self._free:
                            self._changed.wait()
                    finally:
                        self._heavy_turn -= 1
                        self._changed.notify_all()
            else:
                self._frames_waiting += 1
                try:
                    while not self._free or self._heavy_turn:
                        self._changed.wait()
                finally:
                    self._frames_waiting -= 1
            return self._free.pop()

    def release(self, analyzer: Analyzer) -> None:
        with self._changed:
            self._free.append(analyzer)
            self._changed.notify_all()
