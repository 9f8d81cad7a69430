"""One camera's frames through models, observations and every window's rules.

No I/O: a frame and its time in, observations and lifecycle events out. The live
worker and ``analyze VIDEO`` both drive it, so a video gives the same events a
camera would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import HallConfig
from .detections import FrameDetections
from .events import Event
from .geometry import box_overlap, to_pixels
from .motion import box_motion, to_gray
from .observations import WindowObservation
from .observe import observe_camera
from .rules import WindowRules


@dataclass
class Step:
    ts: float
    frame: FrameDetections
    observations: list[WindowObservation]
    events: list[Event]


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
        self._prev_gray: np.ndarray | None = None
        self._zones: list[tuple[np.ndarray, float]] | None = None

    def _in_a_staff_zone(self, width: int, height: int):
        if self._zones is None or self._zones_size != (width, height):
            self._zones_size = (width, height)
            self._zones = [(to_pixels(w.staff_zone, width, height), self.config.thresholds(w).staff_zone_overlap)
                           for w in self.camera.windows]
        zones = self._zones
        return lambda person: any(box_overlap(person.box, z) >= t for z, t in zones)

    def step(self, image: np.ndarray, ts: float) -> Step:
        h, w = image.shape[:2]
        frame = self.analyzer.analyze(image, person_min_score=self.person_score,
                                      focus=self._in_a_staff_zone(w, h))
        observations = observe_camera(frame, self.config, self.camera.id, image)
        gray = to_gray(image)
        for obs in observations:
            still_boxes = [p.box for p in obs.persons if p.staff and p.head_down]
            if still_boxes and self._prev_gray is not None:
                obs.staff_motion = max(box_motion(self._prev_gray, gray, b, frame.width) for b in still_boxes)
        self._prev_gray = gray
        events: list[Event] = []
        for obs in observations:
            events.extend(self.rules[obs.window_id].update(obs, ts))
        return Step(ts, frame, observations, events)

    def tick(self, ts: float) -> list[Event]:
        """Time passes without a frame (camera offline): let grace periods and pauses run out."""
        self._prev_gray = None
        events: list[Event] = []
        for rules in self.rules.values():
            events.extend(rules.tick(ts))
        return events

    def adopt(self, events: list[Event]) -> int:
        """Continue events a previous run left open (after a crash), instead of starting duplicates."""
        adopted = 0
        for ev in events:
            rules = self.rules.get(ev.window_id or "")
            if rules is not None and rules.adopt(ev):
                adopted += 1
        return adopted
