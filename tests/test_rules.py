"""Window rules on scripted observation timelines (no video): dwell, grace, hysteresis, cooldown,
service hours, pause, late opening, escalation, restart."""

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from vision.config import BEHAVIOURS, Rules, RuleSettings, Schedule
from vision.events import EVENT_TYPES, parse_iso
from vision.observe.observations import ObjectObservation, PersonObservation, WindowObservation
from vision.perception.detections import Detection
from vision.rules import WindowRules, WindowState

SH = ZoneInfo("Asia/Shanghai")
MON = date(2026, 11, 2)          # a Monday; the hall serves mon-fri 09:00-12:00, 13:30-17:30


def at(h: int, m: int = 0, s: int = 0, day: date = MON) -> float:
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=SH).timestamp()


T0 = at(10)                      # Monday 10:00, in service

# Each behaviour: the observation fields that make its condition true.
POSITIVE = {
    "unattended": dict(staff_count=0),
    "phone_on_counter": dict(phone_on_counter=True),
    "phone_use": dict(phone_in_use=True),
    "long_call": dict(phone_in_use=True, phone_at_ear=True),
    "badge_absent": dict(badge_missing=True),
    "eating": dict(eating=True),
    "sleeping": dict(head_down=True, staff_motion=0.0),
    "extra_person": dict(staff_count=2),
}
KINDS = list(POSITIVE)


def test_one_list_of_behaviours_covers_rules_conditions_and_event_types():
    # the config's Rules fields are the list; every behaviour has a machine, a condition and an event type
    assert list(BEHAVIOURS) == KINDS
    assert list(window().machines) == KINDS and list(window().conditions(obs())) == KINDS
    assert set(BEHAVIOURS) <= set(EVENT_TYPES)


def obs(**fields) -> WindowObservation:
    """A staffed, well-behaved window unless ``fields`` say otherwise."""
    base = dict(staff_count=1, badge_missing=False, staff_motion=0.5)
    return WindowObservation(window_id="w1", **{**base, **fields})


def window(rules: Rules | None = None, schedule: Schedule | None = None, **kw) -> WindowRules:
    return WindowRules("cam1", "w1", rules or Rules(), schedule or Schedule(), **kw)


def feed(wr: WindowRules, t0: float, t1: float, step: float = 1.0, **fields) -> list:
    """One observation every ``step`` seconds from t0 to t1 inclusive."""
    out = []
    for i in range(int(round((t1 - t0) / step)) + 1):
        out += wr.update(obs(**fields), t0 + i * step)
    return out


def of(events: list, kind: str, phase: str | None = None) -> list:
    return [e for e in events if e.type == kind and (phase is None or e.phase == phase)]


def setting(kind: str) -> RuleSettings:
    return getattr(Rules(), kind)


# ---- mechanics shared by every behaviour ----

@pytest.mark.parametrize("kind", KINDS)
def test_fires_after_its_dwell_and_not_before(kind):
    wr, s = window(), setting(kind)
    assert of(feed(wr, T0, T0 + s.dwell_s - 1, **POSITIVE[kind]), kind) == []
    [started] = of(wr.update(obs(**POSITIVE[kind]), T0 + s.dwell_s), kind)
    assert started.phase == "started"
    assert started.started_at == T0                                   # when the condition began
    assert parse_iso(started.details["fired_at"]) == T0 + s.dwell_s
    assert started.severity == s.severity


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("gap", ["missing samples", "negative samples"])
def test_a_gap_shorter_than_grace_keeps_the_dwell_and_the_event(kind, gap):
    wr, s, pos = window(), setting(kind), POSITIVE[kind]
    g, half = s.grace_s - 2, s.dwell_s // 2

    def hole(t0):
        return feed(wr, t0, t0 + g - 1) if gap == "negative samples" else []

    events = feed(wr, T0, T0 + half, **pos) + hole(T0 + half + 1)
    events += feed(wr, T0 + half + g, T0 + s.dwell_s, **pos)
    [started] = of(events, kind, "started")
    assert started.started_at == T0 and parse_iso(started.details["fired_at"]) == T0 + s.dwell_s

    t = T0 + s.dwell_s + s.dwell_s + 2 * s.grace_s                     # fill the off-ratio window
    events = feed(wr, T0 + s.dwell_s + 1, t, **pos) + hole(t + 1)
    events += feed(wr, t + g, t + g + 5, **pos)
    assert of(events, kind, "ended") == [] and of(events, kind, "started") == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("gap", ["missing samples", "negative samples"])
def test_a_gap_longer_than_grace_resets_the_dwell(kind, gap):
    wr, s, pos = window(), setting(kind), POSITIVE[kind]
    feed(wr, T0, T0 + s.dwell_s - 5, **pos)
    if gap == "negative samples":
        feed(wr, T0 + s.dwell_s - 4, T0 + s.dwell_s - 4 + s.grace_s + 1)
    restart = T0 + s.dwell_s - 4 + s.grace_s + 2
    assert of(feed(wr, restart, restart + s.dwell_s - 1, **pos), kind) == []
    [started] = of(wr.update(obs(**pos), restart + s.dwell_s), kind)
    assert started.started_at == restart


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["negative samples", "ticks (frames dropped)"])
def test_it_ends_after_grace_with_the_right_duration(kind, how):
    wr, s, pos = window(), setting(kind), POSITIVE[kind]
    last = T0 + s.dwell_s + 30
    events = feed(wr, T0, last, **pos)
    for i in range(1, int(s.grace_s) + 2):
        t = last + i
        events += wr.update(obs(), t) if how == "negative samples" else wr.tick(t)
        assert (len(of(events, kind, "ended")) == 1) == (t > last + s.grace_s)
    [started] = of(events, kind, "started")
    [ended] = of(events, kind, "ended")
    assert ended.id == started.id
    assert ended.ended_at == last and ended.duration_s == last - T0
    assert ended.updated_at == last + s.grace_s + 1
    assert ended.details["end_reason"] == "condition_gone"


@pytest.mark.parametrize("kind", KINDS)
def test_cooldown_holds_back_the_next_event(kind):
    wr, s, pos = window(), setting(kind), POSITIVE[kind]
    last = T0 + s.dwell_s + 10
    feed(wr, T0, last, **pos)
    end = last + s.grace_s + 1
    [ended] = of(feed(wr, last + 1, end), kind, "ended")
    assert ended.updated_at == end
    events = feed(wr, end + 1, end + s.cooldown_s + s.dwell_s + 5, **pos)
    [again] = of(events, kind, "started")
    assert again.started_at == end + s.cooldown_s                      # samples in cooldown are ignored
    assert parse_iso(again.details["fired_at"]) == end + s.cooldown_s + s.dwell_s
    assert again.id != ended.id


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("start, schedule", [
    (at(12, 5), Schedule()),                                 # lunch break
    (at(18), Schedule()),                                    # after closing
    (at(10, day=date(2026, 11, 7)), Schedule()),             # Saturday
    (T0, Schedule(closed=[MON])),                            # closed date
], ids=["lunch-break", "evening", "saturday", "closed-date"])
def test_nothing_fires_outside_service_hours(kind, start, schedule):
    wr, s = window(schedule=schedule), setting(kind)
    assert feed(wr, start, start + s.dwell_s + s.grace_s + 30, **POSITIVE[kind]) == []
    assert wr.state(start + 60).status == "closed"


@pytest.mark.parametrize("kind", KINDS)
def test_an_active_event_ends_at_closing_time(kind):
    wr, s = window(), setting(kind)
    start = at(12) - s.dwell_s - 30
    events = feed(wr, start, at(12, 2), **POSITIVE[kind])
    [started] = of(events, kind, "started")
    [ended] = of(events, kind, "ended")
    assert ended.id == started.id and ended.details["end_reason"] == "closed"
    assert ended.ended_at == at(11, 59, 59) and ended.updated_at == at(12)
    assert of(feed(wr, at(13, 30), at(13, 30) + s.dwell_s, **POSITIVE[kind]), kind, "started")  # no cooldown


# ---- hysteresis ----

@pytest.mark.parametrize("pattern, fires", [
    ((True, False, False), False),         # 33 % positive < on_ratio 0.6
    ((True, True, False, False), False),   # 50 %
    ((True, True, False), True),           # 67 %
    ((True, None, None), True),            # None is a missing sample, not a negative one
])
def test_on_ratio_over_the_dwell(pattern, fires):
    wr, events = window(), []
    for i in range(120):
        sample = pattern[i % len(pattern)]
        if sample is None:
            events += wr.tick(T0 + i)           # no observation at all
        else:
            events += wr.update(obs(eating=sample), T0 + i)
    assert bool(of(events, "eating", "started")) is fires


def test_stray_positives_do_not_keep_an_event_alive():
    """Positives every 7 s (gaps < grace 10 s) but a share of 1/7 < off_ratio 0.2: it ends."""
    wr = window()
    feed(wr, T0, T0 + 40, eating=True)
    events = []
    for i in range(41, 120):
        events += wr.update(obs(eating=(i % 7 == 0)), T0 + i)
    [ended] = of(events, "eating", "ended")
    assert ended.details["end_reason"] == "condition_faded"
    assert ended.ended_at < ended.updated_at - 1


# ---- the behaviours' own cases ----

def test_a_phone_left_on_the_counter_for_ten_minutes_is_one_event():
    wr = window()
    events = feed(wr, T0, T0 + 599, phone_on_counter=True) + feed(wr, T0 + 600, T0 + 660)
    phone = of(events, "phone_on_counter")
    assert [e.phase for e in phone].count("started") == 1
    assert [e.phase for e in phone].count("ended") == 1
    assert [e.phase for e in phone].count("updated") == 9              # every 60 s from 10:00:30
    assert {e.id for e in phone} == {phone[0].id}
    assert phone[-1].duration_s == 599


def test_badge_none_is_neither_missing_nor_present():
    wr = window()
    assert feed(wr, T0, T0 + 300, badge_missing=None) == []            # chest never visible: no event
    events = feed(wr, T0 + 301, T0 + 430, badge_missing=True)
    [started] = of(events, "badge_absent", "started")
    grace = setting("badge_absent").grace_s
    last = T0 + 430
    assert of(feed(wr, last + 1, last + grace, badge_missing=None), "badge_absent", "ended") == []
    [ended] = of(feed(wr, last + grace + 1, last + grace + 1, badge_missing=None), "badge_absent", "ended")
    assert ended.id == started.id and ended.ended_at == last


@pytest.mark.parametrize("fields, sleeps", [
    (dict(head_down=True, staff_motion=0.0), True),
    (dict(head_down=True, staff_motion=0.019), True),
    (dict(head_down=True, staff_motion=0.2), False),    # reading or writing
    (dict(head_down=True, staff_motion=None), False),   # stillness unknown
    (dict(head_down=False, staff_motion=0.0), False),
])
def test_sleeping_needs_head_down_and_still(fields, sleeps):
    wr = window()
    assert bool(of(feed(wr, T0, T0 + 200, **fields), "sleeping", "started")) is sleeps


def test_still_motion_threshold_is_a_constructor_argument():
    wr = window(still_motion=0.1)
    assert of(feed(wr, T0, T0 + 100, head_down=True, staff_motion=0.05), "sleeping", "started")


@pytest.mark.parametrize("seconds, long_calls", [(170, 0), (181, 1)])
def test_a_call_over_three_minutes_is_a_long_call(seconds, long_calls):
    wr = window()
    events = feed(wr, T0, T0 + seconds, phone_in_use=True, phone_at_ear=True)
    assert len(of(events, "long_call", "started")) == long_calls
    assert len(of(events, "phone_use", "started")) == 1


@pytest.mark.parametrize("staff, count, fires", [(1, 2, True), (2, 2, False), (2, 3, True)])
def test_extra_person_counts_against_the_window_staff(staff, count, fires):
    wr = window(staff=staff)
    assert bool(of(feed(wr, T0, T0 + 130, staff_count=count), "extra_person", "started")) is fires


def test_a_disabled_rule_never_fires_and_ends_an_adopted_event():
    before = window()
    feed(before, T0, T0 + 25, eating=True)
    [open_event] = before.open_events
    wr = window(Rules(eating=RuleSettings(dwell_s=20, enabled=False)))
    assert wr.adopt(open_event)
    [ended] = wr.update(obs(eating=True), T0 + 30)
    assert ended.id == open_event.id and ended.details["end_reason"] == "disabled"
    assert feed(wr, T0 + 31, T0 + 200, eating=True) == []


def test_staff_rules_need_staff():
    wr = window()
    assert feed(wr, T0, T0 + 50, staff_count=0, eating=True, phone_in_use=True) == []


def test_evidence_is_the_latest_observation_and_stays_small():
    persons = [PersonObservation(box=(i, 0, i + 50, 100), score=0.5 + i / 100, pose=None, staff=i == 0)
               for i in range(6)]
    objects = [ObjectObservation(Detection("cell phone", 0.9, (1, 2, 3, 4)), on_counter=True)] * 10
    wr = window()
    events = []
    for i in range(31):
        o = obs(phone_on_counter=True, score=0.9, persons=persons, objects=objects)
        events += wr.update(o, T0 + i)
    [started] = of(events, "phone_on_counter", "started")
    assert len(started.evidence["persons"]) == 4 and started.evidence["persons"][0]["staff"]
    assert len(started.evidence["objects"]) == 6
    assert started.evidence["objects"][0]["box"] == [1.0, 2.0, 3.0, 4.0]
    assert started.score == 0.9
    assert len(json.dumps(started.to_json())) < 20_000


# ---- unattended: escalation and pause ----

@pytest.mark.parametrize("citizen_from, severity, escalations", [
    (None, "medium", 0),
    (0, "high", 0),          # a citizen already waits when it fires: starts high
    (100, "medium", 1),      # a citizen arrives later: one `updated` raising it
])
def test_unattended_escalates_when_a_citizen_waits(citizen_from, severity, escalations):
    wr = window()
    events = [e for i in range(200) for e in wr.update(
        obs(staff_count=0, citizen_waiting=citizen_from is not None and i >= citizen_from), T0 + i)]
    [started] = of(events, "unattended", "started")
    assert started.severity == severity
    raised = [e for e in of(events, "unattended", "updated") if e.severity == "high"]
    first_high = [e for e in raised if e.updated_at == T0 + (citizen_from or 0)]
    assert len(first_high) == escalations
    if escalations:
        assert first_high[0].details["citizen_waiting"] is True and first_high[0].id == started.id


def test_api_pause_exempts_unattended_until_it_expires():
    wr = window()
    [paused] = wr.pause(T0, until=T0 + 600, reason="fetching files")
    assert paused.type == "window_paused" and paused.phase == "started"
    assert paused.details == {"reason": "fetching files", "source": "api", "until": "2026-11-02T02:10:00.000Z"}
    assert feed(wr, T0, T0 + 599, staff_count=0) == []
    assert wr.state(T0 + 300) == WindowState("paused", T0, ["window_paused"])
    events = feed(wr, T0 + 600, T0 + 700, staff_count=0)
    [ended] = of(events, "window_paused")
    assert ended.id == paused.id and ended.ended_at == T0 + 600 and ended.details["end_reason"] == "expired"
    [unattended] = of(events, "unattended", "started")
    assert unattended.started_at == T0 + 600


def test_resume_ends_the_pause_and_a_pause_ends_unattended():
    wr = window()
    feed(wr, T0, T0 + 70, staff_count=0)
    events = wr.pause(T0 + 71, until=None, reason="system down")
    assert [(e.type, e.phase) for e in events] == [("window_paused", "started"), ("unattended", "ended")]
    assert events[1].details["end_reason"] == "paused"
    assert feed(wr, T0 + 72, T0 + 300, staff_count=0) == []
    [resumed] = wr.resume(T0 + 301)
    assert resumed.phase == "ended" and resumed.ended_at == T0 + 301
    [again] = of(feed(wr, T0 + 302, T0 + 362, staff_count=0), "unattended", "started")  # no cooldown after a pause
    assert again.started_at == T0 + 302


def test_bad_pauses_are_refused():
    wr = window()
    with pytest.raises(ValueError, match="future"):
        wr.pause(T0, until=T0 - 1, reason="x")
    with pytest.raises(ValueError, match="source"):
        wr.pause(T0, until=None, reason="x", source="phone")


def test_the_pause_sign_pauses_while_it_stands():
    wr = window()
    events = feed(wr, T0, T0 + 299, staff_count=0, pause_sign=True)
    assert [(e.type, e.phase, e.details["source"]) for e in events] == [("window_paused", "started", "sign")]
    events = []
    for i in range(300, 400):   # flickers for 5 s (shorter than grace), then gone
        events += wr.update(obs(staff_count=0, pause_sign=i < 305 and i % 2 == 0), T0 + i)
    [ended] = of(events, "window_paused")
    assert ended.ended_at == T0 + 304 and ended.updated_at == T0 + 315 and ended.details["end_reason"] == "sign_gone"
    [unattended] = of(events, "unattended", "started")
    assert unattended.started_at == T0 + 315


def test_no_sign_template_is_no_pause():
    wr = window()
    assert of(feed(wr, T0, T0 + 60, staff_count=0, pause_sign=None), "unattended", "started")


# ---- late opening ----

def ids(events):
    return [(e.type, e.phase) for e in events]


@pytest.mark.parametrize("absent_from, arrive, late_from", [
    (at(8, 50), at(9, 10), at(8, 57)),        # the first opening
    (at(13, 20), at(13, 35), at(13, 27)),     # after the lunch break
    (at(8, 50), at(8, 56), None),             # at the window before 08:57
    (at(8, 50), at(8, 57), None),             # exactly on time
])
def test_late_opening(absent_from, arrive, late_from):
    wr = window()
    events = feed(wr, absent_from, arrive - 1, staff_count=0) + feed(wr, arrive, arrive + 120)
    late = of(events, "late_opening")
    if late_from is None:
        assert late == [] and of(events, "unattended") == []
        return
    started, *updates, ended = late
    assert started.phase == "started" and ended.phase == "ended"
    assert len(updates) == int((arrive - 1 - late_from) // 60) and {e.id for e in updates} == {started.id}
    assert started.started_at == late_from and parse_iso(started.details["fired_at"]) == late_from
    assert ended.id == started.id and ended.ended_at == arrive
    assert ended.duration_s == arrive - late_from == ended.details["lateness_s"]
    assert of(events, "unattended") == []                # the absence is reported once, as late


def test_a_short_step_out_before_the_deadline_is_not_late_but_unattended_follows():
    wr = window()
    events = feed(wr, at(8, 50), at(8, 56, 55)) + feed(wr, at(8, 56, 56), at(9, 2), staff_count=0)
    assert of(events, "late_opening") == []
    [unattended] = of(events, "unattended", "started")
    assert unattended.started_at == at(9)                # absence counts from the opening


def test_late_opening_grace_delays_firing_not_the_start():
    rules = Rules(late_opening={"grace_s": 60})
    wr = window(rules)
    events = feed(wr, at(8, 50), at(8, 59), staff_count=0)
    [started] = of(events, "late_opening", "started")
    assert started.started_at == at(8, 57) and parse_iso(started.details["fired_at"]) == at(8, 58)


def test_late_opening_ends_with_the_period_when_nobody_comes():
    wr = window()
    events = feed(wr, at(8, 50), at(12, 0, 5), step=5, staff_count=0)
    started, *updates, ended = of(events, "late_opening")
    assert updates and all(e.phase == "updated" for e in updates)
    assert ended.ended_at == at(12) and ended.details["staff_arrived"] is False
    assert of(events, "unattended") == []


@pytest.mark.parametrize("case", ["paused", "closed date", "camera blind at the deadline", "disabled"])
def test_no_late_opening(case):
    rules = Rules(late_opening={"enabled": False}) if case == "disabled" else None
    wr = window(rules, Schedule(closed=[MON]) if case == "closed date" else None)
    if case == "paused":
        wr.pause(at(8, 50), until=at(9, 30), reason="training")
    if case == "camera blind at the deadline":
        feed(wr, at(8, 50), at(8, 55), staff_count=0)
        events = feed(wr, at(9, 5), at(9, 10), staff_count=0)
    else:
        events = feed(wr, at(8, 50), at(9, 10), staff_count=0)
    assert of(events, "late_opening") == []


# ---- tick, state, restart ----

@pytest.mark.parametrize("kind", KINDS)
def test_an_absence_across_a_camera_outage_stays_one_event(kind):
    wr, s, pos = window(), setting(kind), POSITIVE[kind]
    last = T0 + s.dwell_s + 30
    events = feed(wr, T0, last, **pos)
    outage = [e for i in range(1, 301) for e in wr.offline(last + i)]     # 5 min offline: held, not ended
    assert of(outage, kind, "ended") == []
    back = last + 301
    events += outage + feed(wr, back, back + 20, **pos)                    # back, and still the same
    [started] = of(events, kind, "started")
    assert of(events, kind, "ended") == []
    assert wr.machines[kind].event.id == started.id
    # once back, its grace runs from the return, not from before the outage
    ended = [e for i in range(1, int(s.grace_s) + 2) for e in wr.update(obs(), back + 20 + i)]
    assert [e.id for e in of(ended, kind, "ended")] == [started.id]


def test_a_long_outage_ends_open_events_saying_so():
    wr, s = window(), setting("unattended")
    last = T0 + s.dwell_s + 5
    events = feed(wr, T0, last, staff_count=0)
    events += [e for i in range(1, 16 * 60, 5) for e in wr.offline(last + i)]
    [ended] = of(events, "unattended", "ended")
    assert ended.details["end_reason"] == "camera_offline" and ended.ended_at == last
    # no cooldown after it: when the camera is back, a new absence counts from its start
    back = last + 16 * 60
    assert of(feed(wr, back, back + s.dwell_s + 1, staff_count=0), "unattended", "started")


def test_a_pending_dwell_does_not_survive_an_outage():
    wr, s = window(), setting("unattended")
    feed(wr, T0, T0 + s.dwell_s - 5, staff_count=0)
    for i in range(1, 60):
        assert wr.offline(T0 + s.dwell_s - 5 + i) == []
    back = T0 + s.dwell_s + 60
    assert of(feed(wr, back, back + s.dwell_s - 1, staff_count=0), "unattended") == []


def test_ticks_never_fire_and_reset_a_pending_dwell():
    wr = window()
    events = feed(wr, T0, T0 + 50, staff_count=0)
    events += [e for i in range(51, 200) for e in wr.tick(T0 + i)]
    assert events == []
    assert of(feed(wr, T0 + 200, T0 + 259, staff_count=0), "unattended") == []   # the dwell starts again


def test_state_for_the_board():
    wr = window()
    assert wr.state(at(8)) == WindowState("closed", at(17, 30, day=date(2026, 10, 30)), [])
    feed(wr, at(8, 50), at(9, 30))
    assert wr.state(at(9, 30)) == WindowState("staffed", at(9), [])       # since the opening
    feed(wr, at(9, 30, 1), at(9, 30, 20), staff_count=0)
    assert wr.state(at(9, 30, 20)) == WindowState("unattended", at(9, 30), [])
    feed(wr, at(9, 30, 21), at(9, 31, 30), staff_count=0)
    assert wr.state(at(9, 31, 30)).active == ["unattended"]
    feed(wr, at(9, 31, 31), at(9, 32))
    assert wr.state(at(9, 32)).status == "staffed" and wr.state(at(9, 32)).since == at(9, 31, 31)
    wr.pause(at(9, 33), until=at(9, 40), reason="break")
    assert wr.state(at(9, 35)).status == "paused"
    feed(wr, at(9, 40), at(9, 41))
    assert wr.state(at(9, 41)) == WindowState("staffed", at(9, 40), [])    # since the pause ended
    assert wr.state(at(12, 30)).status == "closed" and wr.state(at(12, 30)).since == at(12)


def test_state_late():
    wr = window()
    feed(wr, at(8, 50), at(8, 58), staff_count=0)
    assert wr.state(at(8, 58)) == WindowState("late", at(8, 57), ["late_opening"])


@pytest.mark.parametrize("kind", KINDS)
def test_adopt_after_a_restart_continues_the_same_event(kind):
    s, pos = setting(kind), POSITIVE[kind]
    before = window()
    feed(before, T0, T0 + s.dwell_s + 5, **pos)
    [open_event] = [e for e in before.open_events if e.type == kind]

    after = window()                       # the worker restarted 30 s later
    assert after.adopt(open_event)
    events = of(feed(after, T0 + s.dwell_s + 35, T0 + s.dwell_s + 200, **pos), kind)
    assert events and "started" not in [e.phase for e in events]
    assert {e.id for e in events} == {open_event.id}
    [ended] = of(feed(after, T0 + s.dwell_s + 201, T0 + s.dwell_s + 240), kind, "ended")
    assert ended.id == open_event.id and ended.started_at == T0


def test_adopt_when_the_condition_is_gone_ends_after_grace():
    before = window()
    feed(before, T0, T0 + 65, staff_count=0)
    [open_event] = before.open_events
    after = window()
    after.adopt(open_event)
    assert feed(after, T0 + 300, T0 + 310) == []          # the grace starts at the restart
    [ended] = after.update(obs(), T0 + 311)
    assert ended.id == open_event.id and ended.ended_at == open_event.updated_at


def test_adopt_pause_and_late_opening():
    before = window()
    feed(before, at(8, 50), at(8, 58), staff_count=0)
    [late] = before.open_events
    after = window()
    assert after.adopt(late)
    [ended] = of(feed(after, at(9, 5), at(9, 5)), "late_opening")
    assert ended.id == late.id and ended.ended_at == at(9, 5) and ended.phase == "ended"

    before = window()
    [paused] = before.pause(T0, until=T0 + 600, reason="meeting")
    after = window()
    assert after.adopt(paused)
    assert after.state(T0 + 10).status == "paused"
    [ended] = of(feed(after, T0 + 590, T0 + 600, staff_count=0), "window_paused")
    assert ended.id == paused.id and ended.ended_at == T0 + 600


def test_adopt_ignores_other_windows_and_ended_events():
    before = window()
    feed(before, T0, T0 + 65, staff_count=0)
    [open_event] = before.open_events
    other = WindowRules("cam1", "w2", Rules(), Schedule())
    assert not other.adopt(open_event)
    assert not window().adopt(open_event.advance("ended", T0 + 70))


def test_an_observation_of_another_window_is_refused():
    with pytest.raises(ValueError, match="w2"):
        window().update(WindowObservation(window_id="w2"), T0)
