"""One frame through the models: detector on the frame, a second detector pass on each
person's enlarged crop (small phones and cups show up there), pose on each person crop, and the face
stage (face, landmarks, eyes) on the heads of the staff."""

from __future__ import annotations

import numpy as np

from ..detections import Detection, FrameDetections
from ..labels import HALL_OBJECTS
from .base import Timer, batched_nms


def _merge(dets: list[Detection], iou: float = 0.5) -> list[Detection]:
    """Per-label NMS over detections from several passes."""
    if len(dets) < 2:
        return dets
    labels = sorted({d.label for d in dets})
    boxes = np.array([d.box for d in dets], dtype=np.float32)
    scores = np.array([d.score for d in dets], dtype=np.float32)
    classes = np.array([labels.index(d.label) for d in dets])
    return [dets[i] for i in batched_nms(boxes, scores, classes, iou)]


class Analyzer:
    """Detector + pose + face stage, shared by every window of a camera (and every camera of a worker
    process). ``face`` is a ``FaceReader`` or None (no face stage: every ``faces`` entry is None)."""

    def __init__(self, detector, pose=None, *, face=None, max_face_persons: int = 3, min_score: float = 0.2, person_label: str = "person",
                 crop_pass: bool = True, crop_pad: float = 0.3, max_crop_persons: int = 3,
                 min_crop_px: int = 48, max_pose_persons: int = 8,
                 crop_labels: frozenset[str] = HALL_OBJECTS, everyone: bool = False):
        self.detector = detector
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
        self.everyone = everyone      # ignore focus: crop pass and pose for every person (the benchmark's baseline)

    def analyze(self, image: np.ndarray, person_min_score: float = 0.35, focus=None, pose_focus=None,
                region: tuple[int, int, int, int] | None = None, max_poses: int | None = None) -> FrameDetections:
        """One frame through the models.

        ``region`` (x1, y1, x2, y2): run the detector on that part of the frame only (the windows'
        zones), which costs no more than the whole frame and sees small things larger.
        ``focus(person)`` picks the persons whose crops get the second detector pass (staff);
        ``pose_focus(person)`` those that get a pose (staff, and whoever is at the counter), the best
        ``max_poses`` of them. The face stage reads the heads of the persons ``focus`` picks (staff),
        the best ``max_face_persons`` of them, after their pose.
        """
        h, w = image.shape[:2]
        if self.everyone:
            focus = pose_focus = None
        timing: dict[str, float] = {"preprocess": 0.0, "detect": 0.0, "crop_detect": 0.0, "pose": 0.0, "face": 0.0}
        t = Timer()
        if region is not None:
            x1, y1, x2, y2 = region
            found = self.detector.detect(image[y1:y2, x1:x2], min_score=self.min_score, origin=(x1, y1))
        else:
            found = self.detector.detect(image, min_score=self.min_score)
        timing["preprocess"] += self.detector.timing.get("preprocess", 0.0)
        timing["detect"] = t.ms() - timing["preprocess"]
        persons = sorted((d for d in found if d.label == self.person_label and d.score >= person_min_score),
                         key=lambda d: d.score, reverse=True)
        objects = [d for d in found if d.label != self.person_label]

        if self.crop_pass and persons:
            t = Timer()
            crop_pre = 0.0
            extra: list[Detection] = []
            chosen = [p for p in persons if focus is None or focus(p)]
            biggest = sorted(chosen, key=lambda d: d.width * d.height, reverse=True)[: self.max_crop_persons]
            for p in biggest:
                x1, y1, x2, y2 = p.box
                px, py = (x2 - x1) * self.crop_pad, (y2 - y1) * self.crop_pad
                cx1, cy1 = int(max(0, x1 - px)), int(max(0, y1 - py))
                cx2, cy2 = int(min(w, x2 + px)), int(min(h, y2 + py))
                if cx2 - cx1 < self.min_crop_px or cy2 - cy1 < self.min_crop_px:
                    continue
                # a crop close to the whole frame adds nothing
                if (cx2 - cx1) * (cy2 - cy1) > 0.8 * w * h:
                    continue
                crop_found = self.detector.detect(image[cy1:cy2, cx1:cx2], min_score=self.min_score,
                                                  origin=(cx1, cy1))
                crop_pre += self.detector.timing.get("preprocess", 0.0)
                extra.extend(d for d in crop_found if d.label in self.crop_labels)
            objects = _merge(objects + extra)
            timing["preprocess"] += crop_pre
            timing["crop_detect"] = t.ms() - crop_pre

        poses = []
        t = Timer()
        budget = self.max_pose_persons if max_poses is None or self.everyone else min(max_poses, self.max_pose_persons)
        for p in persons:
            wanted = self.pose is not None and budget > 0 and (pose_focus is None or pose_focus(p))
            poses.append(self.pose.estimate(image, p.box) if wanted else None)
            budget -= wanted
        timing["pose"] = t.ms()

        faces: list = [None] * len(persons)
        t = Timer()
        if self.face is not None:
            wanted = [i for i, p in enumerate(persons) if focus is None or focus(p)][: self.max_face_persons]
            read = self.face.read_all(image, [persons[i].box for i in wanted], [poses[i] for i in wanted])
            for i, face in zip(wanted, read):
                faces[i] = face
        timing["face"] = t.ms()
        return FrameDetections(width=w, height=h, objects=objects, persons=persons, poses=poses, faces=faces,
                               timing_ms=timing)


class AnalyzerPool:
    """A few Analyzers shared by every camera: a frame takes whichever is free.

    On a small CPU, one single-threaded session per core analyses more frames per second
    than one session spread over all cores (no thread hand-offs inside each inference)."""

    def __init__(self, analyzers: list[Analyzer]):
        import queue
        if not analyzers:
            raise ValueError("AnalyzerPool needs at least one Analyzer")
        self.analyzers = analyzers
        self._free: "queue.Queue[Analyzer]" = queue.Queue()
        for a in analyzers:
            self._free.put(a)

    def __len__(self) -> int:
        return len(self.analyzers)

    def acquire(self) -> Analyzer:
        return self._free.get()

    def release(self, analyzer: Analyzer) -> None:
        self._free.put(analyzer)
