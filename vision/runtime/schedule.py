"""Which perception stage is due for which window, and when: the CPU goes where the answer can change.

Pure: the hall's config, the time and what moved in; the stages to run out. ``vision.watch`` asks
``StageClock.plan`` before each frame, runs the stages it names (the detector once for all the
windows due, the per-person stages only on the staff of the windows due) and holds the last
evidence of every stage that did not run, exactly as a rule would have seen it at its last look.

A stage is one entry of ``STAGES``:

* ``name``: what ``Analyzer.analyze(looks=...)`` and ``CameraWatch`` call it;
* ``behaviours``: the rules whose evidence it gives; a stage none of a window's enabled rules
  needs never runs there; ``()`` means every window needs it (presence);
* how often: ``every_s`` (a fixed period, or the name of a ``models`` setting in cameras.yaml that
  fixes it), or else ``looks_per_dwell`` looks (``LOOKS_PER_DWELL``, four) over the shortest dwell of
  the rules it serves (a 30 s phone dwell: a look every 7.5 s; its verdict holds in between), within
  ``MIN_LOOK_S``..``MAX_LOOK_S``;
* ``off_unless``: ``models`` settings that switch the stage off when they are 0 or empty (the counter's
  turned looks: no counter zoom, or no turns);
* ``needs``: stages that must run with it on the same persons (the face stage reads the head where
  the pose puts it);
* ``holds``: for a stage that looks at each staff member, the ``FrameDetections`` list it fills
  (aligned with persons); between looks each staff member keeps what the last look found on the
  person at the same place.

``CameraWatch`` passes each per-person stage to ``Analyzer.analyze(looks={name: who})``: who it
runs on this time (the staff of the windows it is due for).

Motion gating: a stage is only run for a window whose pixels (where the stage ``watches``: the
staff zone for the per-person stages, the counter for the counter zoom) changed since that stage
last looked at them, or when its keep-alive has run out (``KEEP_ALIVE_S``, or three of its periods when
that is longer: a still counter is zoomed every 30 s, not every 10 s); a still window keeps what was last seen (a
still, sleeping person is still seen, since stillness is measured on every frame anyway).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

LOOKS_PER_DWELL = 4.0     # looks over a dwell: its on/off ratios still have four samples to judge
MIN_LOOK_S = 1.0
MAX_LOOK_S = 30.0
KEEP_ALIVE_S = 10.0       # a still window is looked at again after this long all the same ...
KEEP_ALIVE_PERIODS = 3.0  # ... or, for a stage that looks less often, after this many of its periods
WATCHED = ("zones", "staff_zone", "counter")   # where a stage's motion gating can look
HEAVY_PER_FRAME = 1       # heavy looks (Stage.heavy) on one frame, after the first
SLACK_S = 0.25            # frames are sampled about on time: 0.99 s after the last look is a second


@dataclass(frozen=True)
class Stage:
    name: str
    behaviours: tuple[str, ...] = ()            # () = every window needs it
    every_s: float | str | None = None          # seconds, or a ModelChoice field; None: from the dwells
    needs: tuple[str, ...] = ()
    zero_is_off: bool = False                   # the setting's 0 switches the stage off (else: every frame)
    # a per-person stage: the FrameDetections list (aligned with persons) it fills; between its looks
    # each staff member keeps the value the last look found on the person at the same place
    holds: str | None = None
    # where its motion gating looks: the window's "zones" (all of them), its "staff_zone" or its "counter"
    watches: str = "zones"
    # a look costs detector passes (a crop pass, zoom tiles): after the first frame, at most
    # ``HEAVY_PER_FRAME`` such looks go on one frame and the others wait a frame or two (a frame that
    # carries them all delays the alerts judged on it, and the other cameras' frames behind it)
    heavy: bool = False
    # looks over the shortest dwell of the rules it serves, when ``every_s`` is None
    looks_per_dwell: float = LOOKS_PER_DWELL
    # ModelChoice settings that switch the stage off when 0 or empty
    off_unless: tuple[str, ...] = ()


PHONE, CALL, EATING, BADGE, SLEEPING = "phone_use", "long_call", "eating", "badge_absent", "sleeping"

STAGES: tuple[Stage, ...] = (
    # the detector: who is at the window, once a second
    Stage("presence", (), every_s=1.0),
    # a pose on the weak person candidates in the staff zones (a head and shoulders makes them persons);
    # between looks a weak box at the same place keeps its verdict
    Stage("confirm", (), every_s=5.0, watches="staff_zone"),
    # a second detector pass on each staff member's enlarged crop: small phones and cups in hand,
    # cards on the chest
    Stage("crop_pass", (PHONE, CALL, EATING, BADGE), holds="crop_objects", watches="staff_zone",
          heavy=True),
    # MoveNet on each staff member: wrists, ears, mouth, head angle, chest
    Stage("pose", (PHONE, CALL, EATING, BADGE, SLEEPING), holds="poses", watches="staff_zone"),
    # face, landmarks and eyes on each staff member's head: eyes closed or open decide head down
    Stage("face", (SLEEPING,), every_s="face_every_s", needs=("pose",), holds="faces",
          watches="staff_zone"),
    # the behaviour heads on each staff member's crop
    Stage("heads", (PHONE, EATING, BADGE, SLEEPING), holds="head_scores", watches="staff_zone"),
    # the detector on squares around the staff's wrists: phones in the hand or at the ear (off by default)
    Stage("hand_zoom", (PHONE, CALL), every_s="hand_zoom_every_s", zero_is_off=True, needs=("pose",),
          watches="staff_zone"),
    # the counter in tiles of the detector's size: phones and cups lying there
    Stage("counter_zoom", ("phone_on_counter",), every_s="counter_zoom_every_s", zero_is_off=True,
          watches="counter", heavy=True),
    # the same tiles turned (models.counter_zoom_turns): phones lying across or at a slant. Two more detector
    # passes a tile, so once a dwell of the phone-on-the-counter rule (30 s), not at the upright zoom's rate:
    # a phone only they see is seen up to a dwell later. A counter where they hold a phone is looked at again
    # with each upright look (``CameraWatch``), so a phone taken away is missed as soon as before
    Stage("counter_turns", ("phone_on_counter",), looks_per_dwell=1.0, watches="counter", heavy=True,
          off_unless=("counter_zoom_every_s", "counter_zoom_turns")),
)


def keep_alive_s(period: float, keep_alive: float = KEEP_ALIVE_S) -> float:
    """The longest a still window goes without a look of a stage with this period."""
    return max(keep_alive, KEEP_ALIVE_PERIODS * period)


def evidence_expires_s(period: float, keep_alive: float = KEEP_ALIVE_S) -> float:
    """How old a stage's held evidence may get: the longest the schedule holds it (the keep-alive), and one
    period more for the look that replaces it to come back. A look later than that (a heavy look starved on a
    saturated machine) leaves the window without the stage's evidence until it comes: rules never judge on
    older finds."""
    return keep_alive_s(period, keep_alive) + period


def look_every_s(dwell_s: float, looks_per_dwell: float = LOOKS_PER_DWELL) -> float:
    """How often a rule with this dwell needs a fresh look (``looks_per_dwell`` looks over the dwell)."""
    return min(MAX_LOOK_S, max(MIN_LOOK_S, dwell_s / looks_per_dwell))


def stage_period(stage: Stage, rules, models) -> float | None:
    """Seconds between two looks of ``stage`` at a window with these ``rules`` (``config.rules(win)``);
    0: every frame; None: never (no enabled rule of the window needs it, or its setting is off)."""
    needed = [getattr(rules, b) for b in stage.behaviours if getattr(rules, b).enabled]
    if stage.behaviours and not needed:
        return None
    if any(not getattr(models, setting) for setting in stage.off_unless):
        return None
    if isinstance(stage.every_s, str):
        value = float(getattr(models, stage.every_s))     # the hall's own setting
        return None if value <= 0 and stage.zero_is_off else value
    if stage.every_s is not None:
        return float(stage.every_s)
    return min(look_every_s(r.dwell_s, stage.looks_per_dwell) for r in needed)


@dataclass
class Plan:
    """The stages to run now: stage name -> the windows it runs for."""

    ts: float
    due: dict[str, frozenset[str]]
    late: dict[tuple[str, str], float] = field(default_factory=dict)   # (window, stage) -> s it waited

    def windows(self, stage: str) -> frozenset[str]:
        return self.due.get(stage, frozenset())

    def runs(self, stage: str) -> bool:
        return bool(self.due.get(stage))

    @property
    def idle(self) -> bool:
        return not any(self.due.values())


class StageClock:
    """One camera's schedule: per window and stage, the period and the time of the last look."""

    def __init__(self, periods: dict[str, dict[str, float | None]], stages: Iterable[Stage] = STAGES,
                 keep_alive_s: float = KEEP_ALIVE_S):
        self.stages = {s.name: s for s in stages}
        for s in self.stages.values():
            if s.watches not in WATCHED:
                raise ValueError(f"stage {s.name!r} watches {s.watches!r}; one of {', '.join(WATCHED)}")
            for need in s.needs:
                if need not in self.stages:
                    raise ValueError(f"stage {s.name!r} needs {need!r}, which is not a stage")
        self.periods = periods
        self.keep_alive_s = keep_alive_s
        self.last: dict[tuple[str, str], float] = {}
        self.early: dict[tuple[str, str], float] = {}     # how much earlier than a period the next look is due
        # window i of n takes its second look i/n of a period early, so that the windows of a camera
        # look on different frames (one frame does not carry every window's crop pass and zoom)
        self.phase = {win: i / len(periods) for i, win in enumerate(periods)} if periods else {}

    @classmethod
    def for_camera(cls, config, camera, stages: Iterable[Stage] = STAGES, **kw) -> StageClock:
        from vision.config import BEHAVIOURS
        stages = tuple(stages)
        for s in stages:
            unknown = [b for b in s.behaviours if b not in BEHAVIOURS]
            if unknown:
                raise ValueError(f"stage {s.name!r} serves {', '.join(unknown)}, which is no behaviour; "
                                 f"behaviours: {', '.join(BEHAVIOURS)}")
        periods = {win.id: {s.name: stage_period(s, config.rules(win), config.models) for s in stages}
                   for win in camera.windows}
        return cls(periods, stages, **kw)

    def period(self, window_id: str, stage: str) -> float | None:
        return self.periods[window_id].get(stage)

    def plan(self, ts: float, moved: Callable[[str, str], bool] | None = None) -> Plan:
        """What is due at ``ts``. ``moved(window_id, stage)``: did the window's pixels change since that
        stage last looked at it (None: always treated as changed)."""
        due: dict[str, set[str]] = {name: set() for name in self.stages}
        heavy: list[tuple[float, int, str, str]] = []     # (how long overdue, order, window, stage)
        order = 0
        for win, periods in self.periods.items():
            for name, period in periods.items():
                order += 1
                if period is None:
                    continue
                last = self.last.get((win, name), -math.inf)
                elapsed = ts - last
                if elapsed < period - self.early.get((win, name), 0.0) - SLACK_S:
                    continue
                keep_alive = keep_alive_s(period, self.keep_alive_s)
                due_after = period - self.early.get((win, name), 0.0)
                if moved is not None and not moved(win, name):
                    if elapsed < keep_alive - SLACK_S:
                        continue
                    due_after = keep_alive
                if self.stages[name].heavy and math.isfinite(last):
                    heavy.append((elapsed - due_after, -order, win, name))
                else:
                    due[name].add(win)
        # the most overdue heavy looks go now, the others on the next frames (they stay due); a look that
        # waited counts from when it was due, so waiting does not stretch its period
        late: dict[tuple[str, str], float] = {}
        for overdue, _, win, name in sorted(heavy, reverse=True)[:HEAVY_PER_FRAME]:
            due[name].add(win)
            late[(win, name)] = max(0.0, overdue)
        # a stage's needs run with it, on the same windows
        for name in list(due):
            for need in self.stages[name].needs:
                due[need] |= due[name]
        # every per-person stage needs fresh persons; and one detector pass looks at every window's
        # zones at once, so when it runs it is fresh for all of them
        if "presence" in due and any(due.values()):
            due["presence"] = {w for w, p in self.periods.items() if p.get("presence") is not None}
        return Plan(ts, {name: frozenset(wins) for name, wins in due.items() if wins}, late)

    def done(self, plan: Plan) -> None:
        """The plan ran: its stages looked at its windows at ``plan.ts``."""
        for name, wins in plan.due.items():
            for win in wins:
                first = (win, name) not in self.last
                period = self.periods[win].get(name) or 0.0
                self.early[(win, name)] = self.phase.get(win, 0.0) * period if first and name != "presence" else 0.0
                self.last[(win, name)] = plan.ts - min(plan.late.get((win, name), 0.0), period / 2)

    def reset(self) -> None:
        """After a gap (camera offline, video over): everything is due at the next frame."""
        self.last.clear()
        self.early.clear()
