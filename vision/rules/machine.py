"""One behaviour at one window, as a state machine in seconds: IDLE -> PENDING -> ACTIVE -> COOLDOWN -> IDLE.

Each call brings one sample of the behaviour's condition: True (seen), False (seen
not to hold) or None (cannot tell: a missing sample). Time is passed in.

* PENDING starts at the first positive sample. A gap - no positive sample for more
  than ``grace_s`` - drops it back to IDLE. It fires (-> ACTIVE, ``started``) on a
  positive sample once the condition has held ``dwell_s`` (first to latest
  positive) and the positive share of the samples since the pending began is at
  least ``on_ratio``. ``started_at`` is the start of the dwell; ``details.fired_at``
  is when it fired.
* ACTIVE ends (``ended``, ``ended_at`` = the last positive sample) when no positive
  sample came for more than ``grace_s``, or when the positive share over the last
  ``off_window_s = max(dwell_s, 2 * grace_s)`` falls below ``off_ratio`` (stray
  positives do not keep an event alive). The window is longer than the grace so that
  a gap shorter than the grace never ends an event by itself (with off_ratio <= 0.5).
  None samples count toward neither share. While active, an ``updated`` goes out every
  ``update_every_s`` and whenever the severity changes.
* COOLDOWN ignores samples for ``cooldown_s`` from the moment an event ended (its
  ``ended`` was sent); afterwards a new event needs its full dwell again. ``stop``
  (a pause, closing time) ends an event without a cooldown.
* ``adopt`` continues an event left open by a crashed process: same id, no new
  ``started``; its grace and update cadence restart at the first sample afterwards.
* ``hold`` is for a camera that is offline: the condition is unknown, not gone. A pending
  dwell is dropped; an active event stays open with its grace stopped (it restarts at the
  first sample after the camera is back, as after ``adopt``), so one absence that spans an
  outage stays one event. An outage longer than ``limit_s`` ends it with ``end_reason``
  "camera_offline" (at its last positive sample, no cooldown).
"""

from __future__ import annotations

from collections import deque
from enum import Enum

from vision.config import RuleSettings
from vision.events import SEVERITIES, Event, iso, new_event_id


def higher(severity: str, than: str) -> bool:
    return SEVERITIES.index(severity) > SEVERITIES.index(than)


class Phase(Enum):
    IDLE = "idle"
    PENDING = "pending"
    ACTIVE = "active"
    COOLDOWN = "cooldown"


class Machine:
    def __init__(self, kind: str, camera_id: str, window_id: str, settings: RuleSettings) -> None:
        self.kind, self.camera_id, self.window_id, self.settings = kind, camera_id, window_id, settings
        self.off_window_s = max(settings.dwell_s, 2 * settings.grace_s)
        self.phase = Phase.IDLE
        self.event: Event | None = None
        self._reset()

    def _reset(self) -> None:
        self._since = 0.0              # start of the dwell (first positive sample)
        self._last_positive = 0.0      # latest positive sample
        self._gap_from = 0.0           # the gap is measured from here (last positive, or adoption)
        self._counted_from = 0.0       # samples in the shares were collected from here
        self._positive = self._total = 0
        self._recent: deque[tuple[float, bool]] = deque()
        self._last_emit = 0.0
        self._cooldown_until = 0.0
        self._evidence: dict = {}
        self._score = 0.0
        self._adopted = False
        self._held_since: float | None = None

    def reconfigure(self, settings: RuleSettings) -> None:
        """New settings (a reloaded config); the phase, the dwell so far and an open event are kept."""
        self.settings = settings
        self.off_window_s = max(settings.dwell_s, 2 * settings.grace_s)

    @property
    def active(self) -> bool:
        return self.phase is Phase.ACTIVE

    def sample(self, now: float, positive: bool | None, evidence: dict | None = None,
               score: float = 0.0, raise_to: tuple[str, dict] | None = None) -> list[Event]:
        """Feed one sample; returns the events it caused (started/updated/ended).

        ``raise_to=(severity, details)`` asks for a higher severity now: an event that fires
        on this sample starts with it, an active one sends an ``updated`` (see ``escalate``).
        """
        events = self._sample(now, positive, evidence, score, raise_to)
        if raise_to is not None and self.active:
            events += self.escalate(now, raise_to[0], **raise_to[1])
        return events

    def _sample(self, now: float, positive: bool | None, evidence: dict | None, score: float,
                raise_to: tuple[str, dict] | None) -> list[Event]:
        if not self.settings.enabled:          # switched off: an adopted event ends, nothing starts
            return self.stop(now, "disabled")
        self._held_since = None
        if self._adopted:                      # first sample after a restart or an outage: the grace starts now
            self._adopted, self._gap_from, self._counted_from = False, max(self._gap_from, now), now
            self._last_emit = now
        out: list[Event] = []
        if self.phase in (Phase.PENDING, Phase.ACTIVE) and now - self._gap_from > self.settings.grace_s:
            if self.phase is Phase.PENDING:    # the gap before this sample broke the dwell
                self.phase = Phase.IDLE
            else:
                out = self._end(now, "condition_gone")
        if self.phase is Phase.COOLDOWN:
            if now < self._cooldown_until:
                return out
            self.phase = Phase.IDLE
        if self.phase is Phase.IDLE:
            if not positive:
                return out
            self.phase, self._since = Phase.PENDING, now
            self._counted_from = now
            self._positive = self._total = 0
            self._recent.clear()
        if positive is not None:
            self._total += 1
            self._positive += positive
            self._recent.append((now, positive))
        while self._recent and self._recent[0][0] <= now - self.off_window_s:
            self._recent.popleft()
        if positive:
            self._last_positive = self._gap_from = now
            self._evidence, self._score = evidence or {}, score
        if self.phase is Phase.PENDING:
            return out + self._pending(now, positive, raise_to)
        return out + self._active(now)

    def tick(self, now: float) -> list[Event]:
        """Time passes without an observation: nothing fires, gaps grow, updates continue."""
        return self.sample(now, None)

    def hold(self, now: float, limit_s: float) -> list[Event]:
        """The camera is offline at ``now``: nothing is known (see the module docstring)."""
        if self.phase is Phase.PENDING:
            self.phase = Phase.IDLE
        if self.phase is not Phase.ACTIVE:
            return []
        if self._held_since is None:
            self._held_since = now
        if now - self._held_since > limit_s:
            return self._end(now, "camera_offline", cooldown=False)
        self._adopted = True                   # the grace and the update cadence restart when it is back
        return []

    def _pending(self, now: float, positive: bool | None, raise_to: tuple[str, dict] | None) -> list[Event]:
        s = self.settings
        held = self._last_positive - self._since
        if positive and held >= s.dwell_s and self._positive >= s.on_ratio * self._total:
            return [self._start(now, raise_to)]
        return []

    def _start(self, now: float, raise_to: tuple[str, dict] | None) -> Event:
        self.phase, self._last_emit = Phase.ACTIVE, now
        severity: str = self.settings.severity
        details = {"fired_at": iso(now), "dwell_s": self.settings.dwell_s}
        if raise_to is not None and higher(raise_to[0], severity):
            severity, details = raise_to[0], {**details, **raise_to[1]}
        self.event = Event(
            id=new_event_id(self._since), type=self.kind, camera_id=self.camera_id,
            window_id=self.window_id, phase="started", severity=severity,
            started_at=self._since, updated_at=now, score=self._score, evidence=self._evidence,
            details=details)
        return self.event

    def _active(self, now: float) -> list[Event]:
        s = self.settings
        covered = now - self._counted_from >= self.off_window_s
        if covered and self._recent:
            share = sum(p for _, p in self._recent) / len(self._recent)
            if share < s.off_ratio:
                return self._end(now, "condition_faded")
        if now - self._last_emit >= s.update_every_s:
            return [self._emit(now)]
        return []

    def _emit(self, now: float, **changes) -> Event:
        assert self.event is not None
        self._last_emit = now
        self.event = self.event.advance("updated", now, evidence=self._evidence, score=self._score, **changes)
        return self.event

    def _end(self, now: float, reason: str, cooldown: bool = True) -> list[Event]:
        assert self.event is not None
        ended = self.event.advance("ended", now, ended_at=max(self._last_positive, self.event.started_at),
                                   details={**self.event.details, "end_reason": reason})
        self._reset()
        self.event = None
        self.phase = Phase.COOLDOWN if cooldown and self.settings.cooldown_s > 0 else Phase.IDLE
        self._cooldown_until = now + self.settings.cooldown_s
        return [ended]

    def stop(self, now: float, reason: str) -> list[Event]:
        """End an active event now for an outside reason (pause, closing time) and forget any dwell.

        No cooldown follows: the next event after the pause or the next opening is not suppressed.
        """
        if self.phase is Phase.ACTIVE:
            return self._end(now, reason, cooldown=False)
        if self.phase is Phase.PENDING:
            self.phase = Phase.IDLE
        return []

    def escalate(self, now: float, severity: str, **details) -> list[Event]:
        """Raise an active event's severity (never lowers it); sends an ``updated`` when it changes."""
        if self.event is None or not higher(severity, self.event.severity):
            return []
        return [self._emit(now, severity=severity, details={**self.event.details, **details})]

    def adopt(self, event: Event) -> None:
        """Continue an event that was still open when the process stopped (same id, no new ``started``)."""
        self._reset()
        self.phase, self.event, self._adopted = Phase.ACTIVE, event, True
        self._since = event.started_at
        self._last_positive = self._gap_from = self._last_emit = event.updated_at
        self._evidence, self._score = event.evidence, event.score
