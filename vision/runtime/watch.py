"""One camera's frames through models, observations and every window's rules.

No I/O: a frame and its time in, observations and lifecycle events out. The live
worker and ``analyze VIDEO`` both drive it, so a video gives the same events a
camera would.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from vision.config import HallConfig
from vision.events import Event
from vision.observe.frame import observe_camera
from vision.observe.observations import WindowObservation
from vision.perception.crops import zone_crop
from vision.perception.detections import Detection, FrameDetections
from vision.perception.geometry import bounding_rect, box_center, box_iou, box_overlap, to_pixels
from vision.perception.motion import box_motion, to_gray
from vision.perception.pipeline import merge_detections
from vision.perception.presence_check import doubtful_for
from vision.rules import WindowRules
from vision.runtime.heavy_looks import HeavyFinds, HeavyLook, HeavyLooks
from vision.runtime.schedule import STAGES, Plan, StageClock, evidence_expires_s

if TYPE_CHECKING:
    from vision.training.versions import HeadSwitch

# the per-person stages and the FrameDetections list (aligned with persons) each one fills
PERSON_STAGES = {s.name: s.holds for s in STAGES if s.holds}
MOVED_SHARE = 0.01       # a window moved when this share of its pixels changed since a stage's last look
# the stages a live watch hands to the hall's heavy-look queue (vision.runtime.heavy_looks) instead of
# running them inside its frame
# the counter zoom's stages (vision.runtime.schedule): upright tiles, and the same tiles turned; each holds its finds
# per window until its own next look there
COUNTER_STAGES = ("counter_zoom", "counter_turns")
HANDED_OFF = ("crop_pass", "face", *COUNTER_STAGES)


@dataclass
class Step:
    ts: float
    frame: FrameDetections
    observations: list[WindowObservation]
    events: list[Event]
    timing_ms: dict[str, float]


def held_value(box, held: list[tuple], min_iou: float = 0.5):
    """Between two looks of a stage, a person keeps what the last look found on the person at the same
    place (box IoU >= ``min_iou``): staff sit still; one who moved is unknown until the next look."""
    best, value = max(((box_iou(box, b), v) for b, v, _ in held), default=(0.0, None), key=lambda x: x[0])
    return value if best >= min_iou else None


def on_counter(found: list[Detection], rect) -> list[Detection]:
    """The finds whose centre lies in the counter rectangle ``rect`` (those that counter's look holds)."""
    x1, y1, x2, y2 = rect
    return [d for d, (cx, cy) in ((d, box_center(d.box)) for d in found) if x1 <= cx <= x2 and y1 <= cy <= y2]


class CameraWatch:
    def __init__(self, config: HallConfig, camera_id: str, analyzer):
        self.analyzer = analyzer
        self.rules: dict[str, WindowRules] = {}
        self._configure(config, camera_id)
        self._prev_gray: np.ndarray | None = None
        self._look_gray: dict[tuple[str, str], np.ndarray] = {}
        # what the last look of each per-person stage found: (person box, value, window ids), held until
        # the next look of that stage at those windows
        self._held: dict[str, list[tuple]] = {stage: [] for stage in PERSON_STAGES}
        # counter stage -> window id -> what its last look at that counter found
        self._counter_finds: dict[str, dict[str, list[Detection]]] = {stage: {} for stage in COUNTER_STAGES}
        self._hand_phones: list[Detection] = []           # what the last hand looks found, held in between
        self._last_frame: FrameDetections | None = None   # carried over a tick on which nothing was due
        self._zone_last: dict[str, dict] = {}            # window id -> the state heads' last verdict
        self._confirm_held: list[tuple] = []              # the last verdicts on weak persons (box, pose, ok)
        # the hall's window-state heads (vision.training.versions.HeadSwitch: ``zone`` window id -> heads,
        # ``zone_backbone``); None: only the detector says whether a window is staffed
        self.zone_heads: HeadSwitch | None = None
        # the hall's heavy-look queue (the live worker's): the crop pass, face stage and counter zoom go
        # there and their finds are held from the next frame on; None: they run inside the frame
        self.heavy: HeavyLooks | None = None
        self._heavy_inbox: deque[HeavyFinds] = deque()
        self._heavy_out = False        # a look of this camera is queued or running
        self._heavy_at: dict[tuple[str, str], float] = {}   # (window id, stage) -> frame time of its held finds
        self._generation = 0           # a gap in the frames starts a new one: older finds are dropped

    def _configure(self, config: HallConfig, camera_id: str) -> None:
        """What the config decides: each window's rules (kept, with their state, for the windows
        already watched), the score cuts, the pose budget, the stage clock, the zones' geometry."""
        self.config = config
        self.camera = config.camera(camera_id)
        for win in self.camera.windows:
            rules, schedule = config.rules(win), config.schedule_for(win)
            still = config.thresholds(win).still_motion
            if win.id in self.rules:
                self.rules[win.id].reconfigure(rules, schedule, staff=win.staff, still_motion=still)
            else:
                self.rules[win.id] = WindowRules(camera_id, win.id, rules, schedule, staff=win.staff,
                                                 still_motion=still)
        self.person_score = min(config.thresholds(w).person_score for w in self.camera.windows)
        self.confirm_score = min(config.thresholds(w).person_confirm_score for w in self.camera.windows)
        # each window's staff and one person at its counter: more poses than that cost and add nothing
        self.max_poses = sum(w.staff + 1 for w in self.camera.windows)
        # the windows whose new weak or doubtful boxes beside a counted staff member wait for the confirmation
        # (``_weak_waits``)
        self._waiting = frozenset(w.id for w in self.camera.windows if config.thresholds(w).unsure_beside_staff_wait)
        self._geometry: tuple | None = None
        self._doubtful: Callable[[Detection], bool] | None = None   # presence_check.doubtful_for, per frame size
        # which stage is due for which window (vision.runtime.schedule), and the picture each stage last looked at
        self.clock = StageClock.for_camera(config, self.camera)

    def reconfigure(self, config: HallConfig, now: float) -> list[Event]:
        """A reloaded config for this camera: changed zones, rules, hours and thresholds apply from the
        next frame; every window still in the config keeps its rule state (pending dwells, open events,
        pauses); a window taken out of the config ends its open events (returned)."""
        ids = {w.id for w in config.camera(self.camera.id).windows}
        gone = [wid for wid in self.rules if wid not in ids]
        out = [ev for wid in gone for ev in self.rules.pop(wid).retire(now)]
        self._configure(config, self.camera.id)
        self._forget()            # the next frame looks again everywhere, with the new zones
        return out

    def _frame_geometry(self, width: int, height: int):
        """Per frame size: whose staff a person is (window ids), whether a person stands at a counter,
        the region the detector looks at (the windows' zones, or the whole frame), each window's counter
        rectangle and the rectangles where its motion is measured ((window id, "zones" / "staff_zone" /
        "counter") -> rectangle)."""
        if self._geometry is None or self._geometry[0] != (width, height):
            staff = [(w.id, to_pixels(w.staff_zone, width, height), self.config.thresholds(w).staff_zone_overlap)
                     for w in self.camera.windows]
            counters = [to_pixels(w.counter, width, height) for w in self.camera.windows]

            # pure in the box, and asked for each person by every stage of a frame: worked out once per box
            @lru_cache(maxsize=512)
            def staff_of_box(box) -> tuple[str, ...]:
                return tuple(wid for wid, z, t in staff if box_overlap(box, z) >= t)

            @lru_cache(maxsize=512)
            def at_counter_box(box) -> bool:
                return any(box_overlap(box, c) > 0.05 for c in counters)

            def staff_of(person) -> tuple[str, ...]:
                return staff_of_box(tuple(person.box))

            def at_counter(person) -> bool:
                return at_counter_box(tuple(person.box))

            counter_rects = {w.id: bounding_rect(c, width, height) for w, c in zip(self.camera.windows, counters)}
            def rect(*polygons) -> tuple[float, float, float, float]:
                pts = np.concatenate([to_pixels(poly, width, height) for poly in polygons if poly])
                return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())

            # where each stage's motion gating looks, per window (vision.schedule.Stage.watches)
            window_rects = {(w.id, "zones"): rect(w.staff_zone, w.counter, w.citizen_zone) for w in self.camera.windows}
            window_rects.update({(w.id, "staff_zone"): rect(w.staff_zone) for w in self.camera.windows})
            window_rects.update({(w.id, "counter"): rect(w.counter) for w in self.camera.windows})
            # small persons at a middling score need a head and shoulders (vision.perception.presence_check)
            self._doubtful = doubtful_for(self.camera.windows, self.config.thresholds, width, height)
            self._geometry = ((width, height), staff_of, at_counter, self._region(width, height),
                              counter_rects, window_rects)
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
        """Analyse one frame taken at ``ts`` (with ``analyzer``, or the watch's own): the stages the
        schedule says are due, the last evidence of the others."""
        analyzer = analyzer or self.analyzer
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        staff_of, at_counter, region, counter_rects, window_rects = self._frame_geometry(w, h)
        gray = to_gray(image)

        def moved(window_id: str, stage: str) -> bool:
            ref = self._look_gray.get((window_id, stage))
            where = window_rects[(window_id, self.clock.stages[stage].watches)]
            return ref is None or box_motion(ref, gray, where, w) > MOVED_SHARE

        heavy_timing = self._take_heavy_finds()
        self._expire_heavy_finds(ts)
        plan = self._recheck_turned(self.clock.plan(ts, moved))
        handed: dict[str, frozenset[str]] = {}
        if self.heavy is not None and any(plan.runs(s) for s in HANDED_OFF):
            here = {name: wins for name, wins in plan.due.items() if name not in HANDED_OFF}
            if self._heavy_out:      # the camera's last heavy look is not back yet: these stay due
                plan = Plan(ts, here, plan.late)
            else:
                handed = {name: plan.windows(name) for name in HANDED_OFF if plan.runs(name)}
            run = Plan(ts, here, plan.late)
        else:
            run = plan
        if run.idle and self._last_frame is not None:
            # nothing changed where it matters: the rules see what the last look saw
            frame = replace(self._last_frame, timing_ms={})
        else:
            frame = self._look(image, ts, analyzer, run, staff_of, at_counter, region, counter_rects)
            self._last_frame = frame
        if handed:
            self._hand_off(image, ts, frame, handed, staff_of, counter_rects, analyzer)
        self._hold_hand_phones(frame, plan, staff_of)
        self.clock.done(plan)
        for stage, wins in plan.due.items():
            for wid in wins:
                self._look_gray[(wid, stage)] = gray
        t1 = time.perf_counter()
        observations = observe_camera(frame, self.config, self.camera.id, image)
        tz = time.perf_counter()
        zone_boxes = self._zone_states(image, observations, fresh=plan.runs("presence"))
        zone_ms = (time.perf_counter() - tz) * 1000
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
        timing = {**frame.timing_ms, **heavy_timing, "observe": (t2 - t1) * 1000 - zone_ms, "zone_heads": zone_ms,
                  "rules": (t3 - t2) * 1000, "analyse": (t1 - t0) * 1000}
        return Step(ts, frame, observations, events, timing)

    def _look(self, image, ts, analyzer, plan: Plan, staff_of, at_counter, region, counter_rects) -> FrameDetections:
        """Run the stages ``plan`` names; every per-person stage that did not look at a person leaves it
        what its last look found on the person at the same place."""

        def staff_of_due(stage: str):
            due = plan.windows(stage)
            return lambda person: any(wid in due for wid in staff_of(person))

        looks = {stage: staff_of_due(stage) for stage in self.clock.stages}
        staff_pose = looks["pose"]
        # persons at a counter who are nobody's staff get a pose every pass: a citizen's phone in the
        # hand is not a phone lying on the counter
        looks["pose"] = lambda p: staff_pose(p) or (at_counter(p) and not staff_of(p))
        zoom_windows, turn_windows = sorted(plan.windows("counter_zoom")), sorted(plan.windows("counter_turns"))
        zoom = [counter_rects[wid] for wid in zoom_windows] or None
        frame = analyzer.analyze(image, person_min_score=self.person_score, focus=lambda p: bool(staff_of(p)),
                                 pose_focus=looks["pose"], region=region, max_poses=self.max_poses, zoom=zoom,
                                 zoom_turned=[counter_rects[wid] for wid in turn_windows],
                                 confirm_min_score=self.confirm_score, read_faces=plan.runs("face"), looks=looks,
                                 hands=plan.runs("hand_zoom"), confirm_held=self._confirm_held,
                                 doubtful=self._doubtful, confirm_waits=self._weak_waits(plan, staff_of))
        self._hold_weak_verdicts(frame, plan, staff_of)
        held_objects: list[Detection] = []
        for stage, name in PERSON_STAGES.items():
            values = list(getattr(frame, name)) or [None] * len(frame.persons)
            due = plan.windows(stage)
            fresh = [(p.box, v, staff_of(p)) for p, v in zip(frame.persons, values)
                     if staff_of(p) and looks[stage](p)]
            old = self._held[stage]
            for i, p in enumerate(frame.persons):
                wins = staff_of(p)
                if values[i] is None and wins and not looks[stage](p):
                    values[i] = held_value(p.box, old)
                    if stage == "crop_pass" and values[i]:
                        held_objects.extend(values[i])
            self._held[stage] = [e for e in old if not (set(e[2]) & due)] + fresh if due else old
            setattr(frame, name, values)
        if held_objects:
            frame.objects = merge_detections(frame.objects + held_objects)
        # the counters: what a look of each counter stage found holds until that stage's next look there
        turned = list(frame.zoomed_turned)        # already in objects
        looked = {"counter_zoom": (zoom_windows, frame.zoomed), "counter_turns": (turn_windows, turned)}
        for stage, (wins, found) in looked.items():
            for wid in wins:
                self._counter_finds[stage][wid] = on_counter(found, counter_rects[wid])
        kept = [d for stage, held in self._counter_finds.items() for wid, found in held.items()
                if wid not in looked[stage][0] for d in found]
        if kept:
            frame.objects = merge_detections(frame.objects + kept)
        frame.zoomed = list(frame.zoomed) + turned + kept     # every counter find the rules see, fresh or held
        return frame

    def _weak_waits(self, plan: Plan, staff_of) -> Callable[[Detection, list[Detection]], bool] | None:
        """Which new weak or doubtful boxes wait for their window's confirmation instead of a pose now
        (``Analyzer.analyze``'s ``confirm_waits``): those whose every window already counts a staff member this
        frame (a sure person, or one a held verdict confirms) and is not due for its confirmation. A window that
        counts nobody poses a new box at once, so presence is never late; only an extra person is counted up to
        one confirmation period later (the extra_person rule's dwell is 120 s)."""
        if not self._waiting:
            return None
        due = plan.windows("confirm")

        def waits(box: Detection, counted: list[Detection]) -> bool:
            wins = set(staff_of(box))
            if not wins or not wins <= self._waiting or wins & due:
                return False
            return all(any(wid in staff_of(p) for p in counted) for wid in wins)

        return waits

    def _recheck_turned(self, plan: Plan) -> Plan:
        """A counter where the turned looks hold a phone gets them again with each upright look: their own period
        (a dwell) would hold a phone taken away that long, so it is missed as soon as an upright find is."""
        held = {wid for wid, found in self._counter_finds["counter_turns"].items() if found}
        again = {wid for wid in plan.windows("counter_zoom") & held if self.clock.period(wid, "counter_turns")}
        if again <= plan.windows("counter_turns"):
            return plan
        return Plan(plan.ts, {**plan.due, "counter_turns": plan.windows("counter_turns") | again}, plan.late)

    def _hold_weak_verdicts(self, frame: FrameDetections, plan: Plan, staff_of) -> None:
        """The verdicts on weak persons held for the next frames: this frame's (``weak_checked``), and each
        earlier one that this frame did not look at again (no weak box there this time, or beyond the best
        ``max_confirm``), until the confirmation of its window is due. So a weak box that comes and goes
        (a sign on the wall scored 0.2 on one frame out of two) is posed once a confirmation period, not
        on every frame it comes back."""
        due = plan.windows("confirm")
        checked = list(frame.weak_checked)
        kept = [e for e in self._confirm_held
                if not set(staff_of(Detection("person", 0.0, e[0]))) & due
                and not any(box_iou(e[0], c[0]) >= 0.5 for c in checked)]
        self._confirm_held = checked + kept

    def _hand_off(self, image, ts, frame: FrameDetections, handed: dict[str, frozenset[str]], staff_of,
                  counter_rects, analyzer) -> None:
        """Queue this frame's heavy looks (``handed``: stage -> windows) with the staff it picks, as the
        frame's own pass would have: the biggest ``max_crop_persons`` for the crop pass, the first
        ``max_face_persons`` for the face stage; their finds are held from a later frame on."""
        def staff_in(stage: str) -> list[int]:
            due = handed.get(stage, frozenset())
            return [i for i, p in enumerate(frame.persons) if set(staff_of(p)) & due]

        crop_idx = sorted(staff_in("crop_pass"), key=lambda i: frame.persons[i].width * frame.persons[i].height,
                          reverse=True)[: getattr(analyzer, "max_crop_persons", 3)]
        face_idx = staff_in("face")[: getattr(analyzer, "max_face_persons", 3)]
        poses = list(frame.poses) or [None] * len(frame.persons)
        look = HeavyLook(
            self.camera.id, ts, image,
            crops=[(frame.persons[i].box, staff_of(frame.persons[i])) for i in crop_idx],
            faces=[(frame.persons[i].box, poses[i], staff_of(frame.persons[i])) for i in face_idx],
            counters=[(wid, counter_rects[wid]) for wid in sorted(handed.get("counter_zoom", ()))],
            turned=[(wid, counter_rects[wid]) for wid in sorted(handed.get("counter_turns", ()))],
            stages=handed, generation=self._generation, deliver=self._heavy_inbox.append)
        if not (look.crops or look.faces or look.counters or look.turned):
            # nobody to look at: as a look that found nothing, at once
            self._apply_heavy(HeavyFinds(look, [], [], {}, {}, 0.0))
            return
        assert self.heavy is not None
        self._heavy_out = True
        self.heavy.submit(look)

    def _take_heavy_finds(self) -> dict[str, float]:
        """Apply the heavy looks that came back since the last frame; their stage times (for the bench)."""
        timing: dict[str, float] = {}
        while self._heavy_inbox:
            finds = self._heavy_inbox.popleft()
            self._heavy_out = False
            if finds.look.generation != self._generation or finds.error:
                continue      # from before a gap (nothing seen then holds), or failed: the next look is due
            self._apply_heavy(finds)
            for stage, ms in finds.timing_ms.items():
                timing[stage] = timing.get(stage, 0.0) + ms
        return timing

    def _apply_heavy(self, finds: HeavyFinds) -> None:
        """A heavy look's finds replace what the last look at those windows found (held as a frame's own)."""
        look = finds.look
        for stage, entries in (("crop_pass", [(box, found, wins) for (box, wins), found
                                              in zip(look.crops, finds.crop_objects)]),
                               ("face", [(box, face, wins) for (box, _, wins), face in zip(look.faces, finds.faces)])):
            due = look.stages.get(stage)
            if due:
                self._held[stage] = [e for e in self._held[stage] if not (set(e[2]) & due)] + entries
        for stage, wins in look.stages.items():
            self._heavy_at.update({(wid, stage): look.ts for wid in wins})
        for stage, rects, found in (("counter_zoom", dict(look.counters), finds.zoomed),
                                    ("counter_turns", dict(look.turned), finds.turned)):
            for wid in look.stages.get(stage, ()):
                self._counter_finds[stage][wid] = on_counter(found.get(wid, []), rects.get(wid, (0, 0, 0, 0)))

    def _expire_heavy_finds(self, ts: float) -> None:
        """Drop the heavy looks' finds held longer than their stage may hold them (``evidence_expires_s``): on a
        saturated machine the look that should replace them is that late, and the window is then without
        them (no phone, cup or face seen) until it comes back."""
        expired = [(wid, stage) for (wid, stage), at in self._heavy_at.items()
                   if ts - at > evidence_expires_s(self.clock.period(wid, stage) or 0.0, self.clock.keep_alive_s)]
        for wid, stage in expired:
            del self._heavy_at[(wid, stage)]
            if stage in self._counter_finds:
                self._counter_finds[stage].pop(wid, None)
            else:
                self._held[stage] = [e for e in self._held[stage] if wid not in e[2]]
        if expired:
            self._last_frame = None       # the carried frame holds them too: the next frame looks again

    def _hold_hand_phones(self, frame: FrameDetections, plan: Plan, staff_of) -> None:
        """The phones a hand look found stay in the hands that held them until that window's next look: a
        look replaces the phones of the windows it was due for (by the staff member holding each phone)."""
        if plan.runs("hand_zoom"):
            due = plan.windows("hand_zoom")

            def windows_of(phone: Detection) -> set[str]:
                c = box_center(phone.box)
                holders = [p for p in frame.persons if p.box[0] - 0.15 * p.width <= c[0] <= p.box[2] + 0.15 * p.width
                           and p.box[1] - 0.15 * p.height <= c[1] <= p.box[3] + 0.15 * p.height]
                return set(staff_of(min(holders, key=lambda p: p.width * p.height))) if holders else set()

            kept = [d for d in self._hand_phones if not (windows_of(d) & due)]
            self._hand_phones = kept + list(frame.hand_phones)
        frame.hand_phones = list(self._hand_phones)

    def _zone_states(self, image: np.ndarray, observations: list[WindowObservation],
                     fresh: bool = True) -> dict[str, list]:
        """Run the windows' state heads on their staff zone crops (one batched backbone call).

        Presence is the detector OR the state head: a window whose head sees it occupied is staffed
        even when the detector found nobody there (seated staff seen from above, a bowed head). A head
        that sees a head down on the counter marks the window head-down; its stillness is then
        measured over the zone (returned: window id -> boxes whose motion to measure). When the frame
        was not looked at again (``fresh`` False: nothing was due), each window keeps the last verdict.
        """
        switch = self.zone_heads
        zone = getattr(switch, "zone", None)
        if switch is None or not zone:
            return {}
        h, w = image.shape[:2]
        todo = [(win, zone[win.id]) for win in self.camera.windows if zone.get(win.id)]
        if not todo:
            return {}
        polygons = [to_pixels(win.staff_zone, w, h) for win, _ in todo]
        if fresh or any(win.id not in self._zone_last for win, _ in todo):
            features = switch.zone_backbone.features([zone_crop(image, poly) for poly in polygons])
            for row, (win, heads) in enumerate(todo):
                state = {}
                for head in heads:
                    p = float(head.predict(features[row:row + 1])[0])
                    state[head.behaviour] = {"p": round(p, 4), "seen": p >= head.threshold}
                self._zone_last[win.id] = state
        by_id = {obs.window_id: obs for obs in observations}
        still: dict[str, list] = {}
        for (win, _heads), poly in zip(todo, polygons):
            obs = by_id.get(win.id)
            if obs is None:
                continue
            state = dict(self._zone_last[win.id])
            obs.zone_state = state
            if state.get("window_occupied", {}).get("seen") and obs.staff_count == 0:
                obs.staff_count = 1
                obs.staff_seen_by = ["window state head"]
            if state.get("window_head_down", {}).get("seen") and obs.staff_count > 0:
                obs.head_down = True
                still[win.id] = [(float(poly[:, 0].min()), float(poly[:, 1].min()),
                                  float(poly[:, 0].max()), float(poly[:, 1].max()))]
        return still

    def _forget(self) -> None:
        """After a gap in the frames nothing seen before holds: every stage is due at the next frame."""
        self._prev_gray = None
        self._last_frame = None
        self._look_gray.clear()
        self._zone_last.clear()
        for held in self._counter_finds.values():
            held.clear()
        self._hand_phones = []
        self._confirm_held = []
        self._held = {stage: [] for stage in PERSON_STAGES}
        self._heavy_at.clear()
        self._generation += 1         # a heavy look still out is dropped when it comes back
        self.clock.reset()

    def tick(self, ts: float) -> list[Event]:
        """Time passes without a frame (the video is over): let grace periods and pauses run out."""
        return self._without_frame(ts, "tick")

    def offline(self, ts: float) -> list[Event]:
        """The camera is offline: its windows are unknown; open events are held, not ended by grace."""
        return self._without_frame(ts, "offline")

    def _without_frame(self, ts: float, what: str) -> list[Event]:
        self._forget()
        return [event for rules in self.rules.values() for event in getattr(rules, what)(ts)]

    def adopt(self, events: list[Event]) -> int:
        """Continue events a previous run left open (after a crash), instead of starting duplicates."""
        adopted = 0
        for ev in events:
            rules = self.rules.get(ev.window_id or "")
            if rules is not None and rules.adopt(ev):
                adopted += 1
        return adopted
