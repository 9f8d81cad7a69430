"""Every rule of one service window: observations in, lifecycle events out. Pure; time passed in.

What applies when (the hall's rules):

* Outside service hours (before opening, at a break, after closing, closed dates) no
  behaviour fires and active behaviour events end at the first update/tick after
  closing (``end_reason`` "closed", no cooldown). Only late_opening looks ahead.
* unattended (staff_count == 0) runs during service hours unless the window is
  paused (API or sign) or a late_opening event already reports the absence; a pause
  ends an active unattended event. A citizen waiting raises it to "high".
* phone_on_counter and extra_person look at the counter and the staff zone, staffed
  or not. phone_use, long_call, badge_absent, eating and sleeping are about the staff
  member: without staff they are negative samples (badge: ``None`` stays a missing
  sample). Sleeping = head down AND staff_motion known and below ``still_motion``.
  These rules keep running during a pause: a pause excuses absence, not behaviour.
* late_opening: at each opening's deadline (opening - lead_s + grace_s, the first
  opening and after each break) the window must be staffed (staff seen in the last
  unattended grace). Otherwise an event starts, ``started_at`` = opening - lead_s, and
  ends when staff arrive (``ended_at`` = arrival, duration = lateness) or when the
  period ends without them. It is judged on the first observation after the deadline
  and only if the camera was watching (the previous observation no more than the
  unattended grace earlier): no accusation from a blind camera. Not when paused.
* tick(now) (no frames): nothing new fires; active events end once their grace has run
  out since the last positive sample (ended_at = that sample) and pending dwells
  reset; pause expiry, closing time and late_opening's period end still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from vision.config import BEHAVIOURS, Rules, Schedule
from vision.events import Event, iso, new_event_id, parse_iso
from vision.observe.observations import WindowObservation
from vision.rules.machine import Machine
from vision.rules.pause import PauseKeeper
from vision.rules.service_hours import is_open, last_closing, local_time, period_at, periods_on

# an outage shorter than this keeps a window's open events open (one absence across it stays one event)
OUTAGE_HOLD_S = 15 * 60

MAX_PERSONS, MAX_OBJECTS = 4, 6   # evidence size: an event stays small (webhook payload < 20 kB)
STATUSES = ("closed", "staffed", "unattended", "paused", "late")


@dataclass
class WindowState:
    status: str                 # one of STATUSES
    since: float                # Unix seconds when this status began
    active: list[str] = field(default_factory=list)   # types of the events now active


def evidence_of(obs: WindowObservation) -> dict:
    persons = sorted(obs.persons, key=lambda p: (not p.staff, -p.score))[:MAX_PERSONS]
    objects = sorted(obs.objects, key=lambda o: -o.detection.score)[:MAX_OBJECTS]
    return {"window": obs.to_json(), "persons": [p.to_json() for p in persons],
            "objects": [o.to_json() for o in objects]}


class WindowRules:
    def __init__(self, camera_id: str, window_id: str, rules: Rules, schedule: Schedule,
                 staff: int = 1, still_motion: float = 0.02) -> None:
        self.camera_id, self.window_id, self.rules, self.schedule = camera_id, window_id, rules, schedule
        self.staff, self.still_motion = staff, still_motion
        self.machines = {k: Machine(k, camera_id, window_id, getattr(rules, k)) for k in BEHAVIOURS}
        self.pause_keeper = PauseKeeper(camera_id, window_id, sign_grace_s=rules.unattended.grace_s)
        self.late: Event | None = None
        self._late_until = 0.0             # end of the period the late event belongs to
        self._late_emit = self._late_ended_at = 0.0
        self._last_obs_at: float | None = None
        self._last_staff_at: float | None = None
        self._presence: str | None = None  # "staffed" / "unattended", judged with the unattended grace
        self._presence_since = 0.0
        self._deadline_cache: dict[date, list[tuple[float, float, datetime, float]]] = {}

    # ---- the inputs ----

    def conditions(self, obs: WindowObservation) -> dict[str, bool | None]:
        """Each behaviour's sample for one observation: True, False or None (cannot tell)."""
        staffed = obs.staff_present

        def of_staff(value: bool | None) -> bool | None:
            return value if staffed else False

        sleeping = (None if obs.head_down and obs.staff_motion is None
                    else bool(obs.head_down and obs.staff_motion is not None and obs.staff_motion < self.still_motion))
        return {
            "unattended": not staffed,
            "phone_on_counter": obs.phone_on_counter,
            "phone_use": of_staff(obs.phone_in_use),
            "long_call": of_staff(obs.phone_at_ear),
            "badge_absent": of_staff(obs.badge_missing),
            "eating": of_staff(obs.eating),
            "sleeping": of_staff(sleeping),
            "extra_person": obs.staff_count > self.staff,
        }

    def update(self, obs: WindowObservation, now: float) -> list[Event]:
        """All transitions one observation causes, in order."""
        if obs.window_id != self.window_id:
            raise ValueError(f"observation of window {obs.window_id!r} fed to the rules of window {self.window_id!r}")
        out = self._pause_step(now, obs.pause_sign)
        out += self._late_step(now, obs)
        self._track_presence(now, obs.staff_present)
        if not is_open(self.schedule, now):
            out += self._close(now)
        else:
            evidence, conds = evidence_of(obs), self.conditions(obs)
            exempt = self.pause_keeper.active or self.late is not None
            for kind, machine in self.machines.items():
                if kind == "unattended" and exempt:
                    out += machine.stop(now, "paused" if self.pause_keeper.active else "late_opening")
                    continue
                raise_to = ("high", {"citizen_waiting": True}) if kind == "unattended" and obs.citizen_waiting else None
                out += machine.sample(now, conds[kind], evidence, obs.score, raise_to)
        self._last_obs_at = now
        return out

    def offline(self, now: float, limit_s: float = OUTAGE_HOLD_S) -> list[Event]:
        """The camera is offline: the window is unknown, not fine. Open events are held (not ended by
        their grace) for up to ``limit_s``; pauses and opening hours still run their course."""
        out = self._pause_step(now, None) + self._late_step(now, None)
        if not is_open(self.schedule, now):
            return out + self._close(now)
        for machine in self.machines.values():
            out += machine.hold(now, limit_s)
        return out

    def tick(self, now: float) -> list[Event]:
        """Time passes without an observation (frames dropped, the end of a video)."""
        out = self._pause_step(now, None) + self._late_step(now, None)
        if not is_open(self.schedule, now):
            return out + self._close(now)
        for machine in self.machines.values():
            out += machine.tick(now)
        return out

    def reconfigure(self, rules: Rules, schedule: Schedule, staff: int = 1, still_motion: float = 0.02) -> None:
        """New settings from a reloaded config, keeping the window's state: a pending dwell goes on
        against the new dwell, an active event stays open (a rule switched off ends it at its next
        sample), a pause or late opening continues."""
        for kind, machine in self.machines.items():
            machine.reconfigure(getattr(rules, kind))
        if schedule != self.schedule:
            self._deadline_cache.clear()
        self.rules, self.schedule, self.staff, self.still_motion = rules, schedule, staff, still_motion
        self.pause_keeper.sign_grace_s = rules.unattended.grace_s

    def retire(self, now: float, reason: str = "window_removed") -> list[Event]:
        """The window left the config: end what is open, now."""
        out: list[Event] = []
        for machine in self.machines.values():
            out += machine.stop(now, reason)
        out += self._end_late(now, now, reason, False)
        if self.pause_keeper.active:
            out += self.pause_keeper.end(now, reason)
        return out

    def pause(self, now: float, until: float | None, reason: str, source: str = "api") -> list[Event]:
        """Pause the window (暂停服务) until ``until`` (None: until resumed)."""
        return self.pause_keeper.start(now, until, reason, source) + self._exempt(now)

    def resume(self, now: float) -> list[Event]:
        return self.pause_keeper.end(now, "resumed")

    def adopt(self, event: Event) -> bool:
        """Continue an event the store still has open (after a restart). False if it is not ours."""
        if event.phase == "ended" or event.camera_id != self.camera_id or event.window_id != self.window_id:
            return False
        if event.type == "window_paused":
            self.pause_keeper.adopt(event)
        elif event.type == "late_opening":
            self.late, self._late_emit = event, event.updated_at
            self._late_until = parse_iso(event.details.get("period_end")) or event.started_at
        elif event.type in self.machines:
            self.machines[event.type].adopt(event)
        else:
            return False
        return True

    @property
    def open_events(self) -> list[Event]:
        """The events now active, latest phase of each."""
        found = [self.pause_keeper.event, self.late] + [m.event for m in self.machines.values()]
        return [e for e in found if e is not None]

    def state(self, now: float) -> WindowState:
        """The window on the dashboard board."""
        active = [e.type for e in self.open_events]
        if self.pause_keeper.event is not None:          # paused
            return WindowState("paused", self.pause_keeper.event.started_at, active)
        if self.late is not None:
            return WindowState("late", self.late.started_at, active)
        period = period_at(self.schedule, now)
        ended = max(self.pause_keeper.ended_at, self._late_ended_at)
        if period is None:
            closing = last_closing(self.schedule, now)
            return WindowState("closed", max(closing.timestamp() if closing else 0.0, ended), active)
        status = self._presence or "unattended"
        since = max(self._presence_since, period[0].timestamp(), ended)
        return WindowState(status, since, active)

    # ---- the parts ----

    def _pause_step(self, now: float, sign: bool | None) -> list[Event]:
        was_paused = self.pause_keeper.active
        out = self.pause_keeper.step(now, sign)
        if self.pause_keeper.active and not was_paused:
            out += self._exempt(now)
        return out

    def _exempt(self, now: float) -> list[Event]:
        """A pause began: it ends an active unattended event and a late opening."""
        return self.machines["unattended"].stop(now, "paused") + self._end_late(now, now, "paused", False)

    def _close(self, now: float) -> list[Event]:
        out: list[Event] = []
        for machine in self.machines.values():
            out += machine.stop(now, "closed")
        return out

    def _track_presence(self, now: float, staffed: bool) -> None:
        if staffed:
            if self._presence != "staffed":
                self._presence, self._presence_since = "staffed", now
            self._last_staff_at = now
        elif self._presence is None:
            self._presence, self._presence_since = "unattended", now
        elif (self._presence == "staffed" and self._last_staff_at is not None
              and now - self._last_staff_at > self.rules.unattended.grace_s):
            self._presence, self._presence_since = "unattended", self._last_staff_at

    def _late_step(self, now: float, obs: WindowObservation | None) -> list[Event]:
        if self.late is not None:
            if obs is not None and obs.staff_present:
                return self._end_late(now, now, "staff_arrived", True)
            if now >= self._late_until:
                return self._end_late(now, self._late_until, "period_ended", False)
            if now - self._late_emit >= self.rules.unattended.update_every_s:
                self._late_emit = now
                self.late = self.late.advance("updated", now)
                return [self.late]
            return []
        if obs is None or not self._watching(now):
            return []
        return self._judge_openings(now, obs)

    def _watching(self, now: float) -> bool:
        s = self.rules.late_opening
        prev = self._last_obs_at
        return s.enabled and prev is not None and now - prev <= self.rules.unattended.grace_s

    def _deadlines(self, day: date) -> list[tuple[float, float, datetime, float]]:
        """(deadline, due, opening, period end) for each opening of a day; cached, asked every sample."""
        if day not in self._deadline_cache:
            s = self.rules.late_opening
            if len(self._deadline_cache) > 8:
                self._deadline_cache.clear()
            self._deadline_cache[day] = [
                (start.timestamp() - s.lead_s + s.grace_s, start.timestamp() - s.lead_s, start, end.timestamp())
                for start, end in periods_on(self.schedule, day)]
        return self._deadline_cache[day]

    def _judge_openings(self, now: float, obs: WindowObservation) -> list[Event]:
        s, grace, prev = self.rules.late_opening, self.rules.unattended.grace_s, self._last_obs_at
        assert prev is not None, "judged only while watching (after an observation)"
        first = local_time(self.schedule, prev).date()
        for day in (first, first + timedelta(days=1)):
            for deadline, due, start, end in self._deadlines(day):
                if not prev < deadline <= now or self.pause_keeper.active:
                    continue
                if deadline < start.timestamp() and is_open(self.schedule, deadline):
                    continue   # a break shorter than the lead: service never stopped
                seen = self._last_staff_at is not None and self._last_staff_at >= deadline - grace
                if obs.staff_present or seen:
                    continue
                self._late_until, self._late_emit = end, now
                self.late = Event(
                    id=new_event_id(due), type="late_opening", camera_id=self.camera_id,
                    window_id=self.window_id, phase="started", severity=s.severity,
                    started_at=due, updated_at=now, score=obs.score, evidence=evidence_of(obs),
                    details={"fired_at": iso(now), "opening": start.isoformat(), "due_at": iso(due),
                             "period_end": iso(end)})
                return [self.late]
        return []

    def _end_late(self, now: float, at: float, reason: str, arrived: bool) -> list[Event]:
        if self.late is None:
            return []
        at = max(self.late.started_at, at)
        details = {**self.late.details, "end_reason": reason, "staff_arrived": arrived,
                   "lateness_s": round(at - self.late.started_at, 3)}
        ended = self.late.advance("ended", now, ended_at=at, details=details)
        self.late, self._late_ended_at = None, at
        return [ended]
