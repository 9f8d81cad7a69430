"""One camera's frames through models, observations and every window's rules.

No I/O: a frame and its time in, observations and lifecycle events out. The live
worker and ``analyze VIDEO`` both drive it, so a video gives the same events a
camera would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from vision.config import HallConfig
from vision.perception.crops import zone_crop
from vision.perception.pipeline import merge_detections
from vision.perception.detections import FrameDetections
from vision.events import Event
from vision.perception.geometry import bounding_rect, box_iou, box_overlap, to_pixels
from vision.perception.motion import box_motion, to_gray
from vision.observe.observations import WindowObservation
from vision.observe.frame import observe_camera
from vision.rules import WindowRules


@dataclass
class Step:
    ts: float
    frame: FrameDetections
    observations: list[WindowObservation]
    events: list[Event]
    timing_ms: dict[str, float]


def held_faces(persons, faced, min_iou: float = 0.5) -> list:
    """Between two reads of the face stage, each person keeps the face read on the person at the same
    place (box IoU >= ``min_iou``): staff sit still; one who moved is unknown until the next read."""
    out = []
    for p in persons:
        best, face = max(((box_iou(p.box, box), f) for box, f in faced), default=(0.0, None), key=lambda x: x[0])
        out.append(face if best >= min_iou else None)
    return out


class CameraWatch:
    def __init__(self, config: HallConfig, camera_id: str, analyzer):
        self.config = config
        self.camera = config.camera(camera_id)
        self.analyzer = analyzer
        self.rules: dict[str, WindowRules] = {}
        for win in self.camera.windows:
            self.rules[win.id] = WindowRules(
                camera_id, win.id, config.rules(win), config.schedule_for(win), staff=win.staff,
                still_motion=config.thresholds(win).still_motion)
        self.person_score = min(config.thresholds(w).person_score for w in self.camera.windows)
        self.confirm_score = min(config.thresholds(w).person_confirm_score for w in self.camera.windows)
        # each window's staff and one person at its counter: more poses than that cost and add nothing
        self.max_poses = sum(w.staff + 1 for w in self.camera.windows)
        self._prev_gray: np.ndarray | None = None
        self._geometry: tuple | None = None
        # counter zoom: due when, and what the last look found (it holds until the next look)
        self.zoom_every_s = config.models.counter_zoom_every_s
        self._zoom_due = float("-inf")
        self._zoomed: list = []
        # hand zoom: likewise, phones in the staff's hands (a phone in use must last the rule's 30 s dwell)
        self.hands_every_s = config.models.hand_zoom_every_s
        self._hands_due = float("-inf")
        self._hand_phones: list = []
        # face stage: due when, and the last reading (person box -> face) that persons in place keep
        self.face_every_s = config.models.face_every_s
        self._face_due = float("-inf")
        self._faced: list = []
        # the hall's window-state heads (vision.training.versions.HeadSwitch: ``zone`` window id -> heads,
        # ``zone_backbone``); None: only the detector says whether a window is staffed
        self.zone_heads = None

    def _frame_geometry(self, width: int, height: int):
        """Per frame size: who gets the crop pass (staff), who gets a pose (staff or at a counter),
        and the region the detector looks at (the windows' zones, or the whole frame)."""
        if self._geometry is None or self._geometry[0] != (width, height):
            staff = [(to_pixels(w.staff_zone, width, height), self.config.thresholds(w).staff_zone_overlap)
                     for w in self.camera.windows]
            counters = [to_pixels(w.counter, width, height) for w in self.camera.windows]

            def in_staff_zone(person) -> bool:
                return any(box_overlap(person.box, z) >= t for z, t in staff)

            def wants_pose(person) -> bool:
                return in_staff_zone(person) or any(box_overlap(person.box, c) > 0.05 for c in counters)

            counter_rects = [bounding_rect(c, width, height) for c in counters]
            self._geometry = ((width, height), in_staff_zone, wants_pose, self._region(width, height),
                              counter_rects)
        return self._geometry[1:]

    def _region(self, width: int, height: int) -> tuple[int, int, int, int] | None:
        """The bounding rectangle of every window's zones, padded; None when it is most of the frame."""
        if self.camera.detect_on == "frame":
            return None
        pts = np.concatenate([to_pixels(poly, width, height) for w in self.camera.windows
                              for poly in (w.staff_zone, w.counter, w.citizen_zone) if poly])
        pad_x, pad_y = 0.05 * width, 0.08 * height
        x1, y1 = max(0, int(pts[:, 0].min() - pad_x)), max(0, int(pts[:, 1].min() - pad_y))
        x2, y2 = min(width, int(pts[:, 0].max() + pad_x)), min(height, int(pts[:, 1].max() + pad_y))
        if self.camera.detect_on == "auto" and (x2 - x1) * (y2 - y1) > 0.7 * width * height:
            return None
        return x1, y1, x2, y2

    def step(self, image: np.ndarray, ts: float, analyzer=None) -> Step:
        """Analyse one frame taken at ``ts`` (with ``analyzer``, or the watch's own)."""
        analyzer = analyzer or self.analyzer
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        in_staff_zone, wants_pose, region, counter_rects = self._frame_geometry(w, h)
        zoom = None
        if self.zoom_every_s > 0 and ts >= self._zoom_due:
            zoom, self._zoom_due = counter_rects, ts + self.zoom_every_s
        read_faces = self.face_every_s <= 0 or ts >= self._face_due
        hands = self.hands_every_s > 0 and ts >= self._hands_due
        if hands:
            self._hands_due = ts + self.hands_every_s
        frame = analyzer.analyze(image, person_min_score=self.person_score, focus=in_staff_zone,
                                 pose_focus=wants_pose, region=region, max_poses=self.max_poses, zoom=zoom,
                                 confirm_min_score=self.confirm_score, read_faces=read_faces, hands=hands)
        if read_faces:
            self._face_due = ts + self.face_every_s
            self._faced = [(p.box, f) for p, f in zip(frame.persons, frame.faces) if f is not None]
        else:
            frame.faces = held_faces(frame.persons, self._faced)
        if zoom is not None:
            self._zoomed = list(frame.zoomed)
        elif self._zoomed:      # between looks, the counter keeps what the last look found on it
            frame.objects = merge_detections(frame.objects + self._zoomed)
            frame.zoomed = list(self._zoomed)
        if hands:
            self._hand_phones = list(frame.hand_phones)
        else:       # between looks, the last look's phones stay in the hands that held them
            frame.hand_phones = list(self._hand_phones)
        t1 = time.perf_counter()
        observations = observe_camera(frame, self.config, self.camera.id, image)
        tz = time.perf_counter()
        zone_boxes = self._zone_states(image, observations)
        zone_ms = (time.perf_counter() - tz) * 1000
        gray = to_gray(image)
        for obs in observations:
            still_boxes = [p.box for p in obs.persons if p.staff and p.head_down] + zone_boxes.get(obs.window_id, [])
            if still_boxes and self._prev_gray is not None:
                obs.staff_motion = max(box_motion(self._prev_gray, gray, b, frame.width) for b in still_boxes)
        self._prev_gray = gray
        t2 = time.perf_counter()
        events: list[Event] = []
        for obs in observations:
            events.extend(self.rules[obs.window_id].update(obs, ts))
        t3 = time.perf_counter()
        timing = {**frame.timing_ms, "observe": (t2 - t1) * 1000 - zone_ms, "zone_heads": zone_ms,
                  "rules": (t3 - t2) * 1000, "analyse": (t1 - t0) * 1000}
        return Step(ts, frame, observations, events, timing)

    def _zone_states(self, image: np.ndarray, observations: list[WindowObservation]) -> dict[str, list]:
        """Run the windows' state heads on their staff zone crops (one batched backbone call).

        Presence is the detector OR the state head: a window whose head sees it occupied is staffed
        even when the detector found nobody there (seated staff seen from above, a bowed head). A head
        that sees a head down on the counter marks the window head-down; its stillness is then
        measured over the zone (returned: window id -> boxes whose motion to measure).
        """
        switch = self.zone_heads
        zone = getattr(switch, "zone", None)
        if not zone:
            return {}
        h, w = image.shape[:2]
        todo = [(win, zone[win.id]) for win in self.camera.windows if zone.get(win.id)]
        if not todo:
            return {}
        polygons = [to_pixels(win.staff_zone, w, h) for win, _ in todo]
        features = switch.zone_backbone.features([zone_crop(image, poly) for poly in polygons])
        by_id = {obs.window_id: obs for obs in observations}
        still: dict[str, list] = {}
        for row, ((win, heads), poly) in enumerate(zip(todo, polygons)):
            obs = by_id.get(win.id)
            if obs is None:
                continue
            state = {}
            for head in heads:
                p = float(head.predict(features[row:row + 1])[0])
                state[head.behaviour] = {"p": round(p, 4), "seen": p >= head.threshold}
            obs.zone_state = state
            if state.get("window_occupied", {}).get("seen") and obs.staff_count == 0:
                obs.staff_count = 1
            if state.get("window_head_down", {}).get("seen") and obs.staff_count > 0:
                obs.head_down = True
                still[win.id] = [(float(poly[:, 0].min()), float(poly[:, 1].min()),
                                  float(poly[:, 0].max()), float(poly[:, 1].max()))]
        return still

    def tick(self, ts: float) -> list[Event]:
        """Time passes without a frame (the video is over): let grace periods and pauses run out."""
        self._prev_gray = None
        events: list[Event] = []
        for rules in self.rules.values():
            events.extend(rules.tick(ts))
        return events

    def offline(self, ts: float) -> list[Event]:
        """The camera is offline: its windows are unknown; open events are held, not ended by grace."""
        self._prev_gray = None
        events: list[Event] = []
        for rules in self.rules.values():
            events.extend(rules.offline(ts))
        return events

    def adopt(self, events: list[Event]) -> int:
        """Continue events a previous run left open (after a crash), instead of starting duplicates."""
        adopted = 0
        for ev in events:
            rules = self.rules.get(ev.window_id or "")
            if rules is not None and rules.adopt(ev):
                adopted += 1
        return adopted
