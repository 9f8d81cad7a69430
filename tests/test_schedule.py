"""The stage schedule: which stage looks at which window when (pure, scripted timelines)."""

from __future__ import annotations

import pytest

from vision.config import parse_config
from vision.runtime.schedule import (
    STAGES,
    Stage,
    StageClock,
    look_every_s,
    stage_period,
)

HALL = """
schedule: {hours: {mon-sun: ["00:00-24:00"]}}
cameras:
  - id: cam
    url: rtsp://192.0.2.1/x
    windows:
      - id: a
        staff_zone: [[0.0, 0.0], [0.5, 0.0], [0.5, 0.6], [0.0, 0.6]]
        counter:    [[0.0, 0.6], [0.5, 0.6], [0.5, 0.8], [0.0, 0.8]]
      - id: b
        staff_zone: [[0.5, 0.0], [1.0, 0.0], [1.0, 0.6], [0.5, 0.6]]
        counter:    [[0.5, 0.6], [1.0, 0.6], [1.0, 0.8], [0.5, 0.8]]
%s
"""
PHONE_ONLY = """        rules:
          eating: {enabled: false}
          badge_absent: {enabled: false}
          sleeping: {enabled: false}
          long_call: {enabled: false}
          phone_on_counter: {enabled: false}"""


def clock(window_b: str = "", stages=STAGES) -> StageClock:
    config = parse_config(HALL % window_b)
    return StageClock.for_camera(config, config.cameras[0], stages)


def run(c: StageClock, seconds: int, moved=None, step: float = 1.0) -> dict[tuple[str, str], int]:
    """Frames every ``step`` s for ``seconds``; how many looks each (window, stage) got."""
    looks: dict[tuple[str, str], int] = {}
    t = 1000.0
    while t < 1000.0 + seconds - 1e-9:
        plan = c.plan(t, moved)
        for stage, wins in plan.due.items():
            for w in wins:
                looks[(w, stage)] = looks.get((w, stage), 0) + 1
        c.done(plan)
        t += step
    return looks


def test_each_stage_at_the_rate_its_rules_need():
    c = clock()
    # shipped dwells: eating 20 s is the shortest a crop pass, pose or head serves -> a look every 5 s;
    # faces and counters at their cameras.yaml settings (5 s, 10 s); the counter's turned looks once per dwell
    # of the phone-on-the-counter rule (30 s); presence every second
    assert c.periods["a"] == {"presence": 1.0, "confirm": 5.0, "crop_pass": 5.0, "pose": 5.0, "face": 5.0,
                              "heads": 5.0, "hand_zoom": None, "counter_zoom": 10.0,     # hand zoom: off by default
                              "counter_turns": 30.0}
    looks = run(c, 60)
    assert looks[("a", "presence")] == looks[("b", "presence")] == 60
    assert looks[("a", "crop_pass")] == looks[("a", "pose")] == looks[("a", "face")] == 12
    assert looks[("a", "counter_zoom")] == 6
    assert looks[("a", "counter_turns")] == 2 and looks[("b", "counter_turns")] == 3    # b takes its turn 15 s early


def test_a_window_gets_only_the_stages_its_enabled_rules_need():
    c = clock(PHONE_ONLY)
    assert c.periods["b"]["crop_pass"] == 7.5             # the phone rule's 30 s dwell, four looks
    assert c.periods["b"]["face"] is None and c.periods["b"]["counter_zoom"] is None
    looks = run(c, 60)
    assert looks[("b", "crop_pass")] == 9 and ("b", "face") not in looks and ("b", "counter_zoom") not in looks
    assert looks[("a", "face")] == 12                      # the other window keeps its own needs


def test_a_still_window_is_looked_at_only_by_the_keep_alive():
    c = clock()
    looks = run(c, 60, moved=lambda window, stage: False)
    # the first frame looks at everything; then nothing changed: one look per keep-alive, 10 s or three
    # periods (crop pass 15 s, counter 30 s); the detector runs for its own keep-alive and with those
    assert looks[("a", "crop_pass")] == looks[("b", "crop_pass")] == 4            # 0, 15, 30, 45
    assert looks[("a", "counter_zoom")] == 2                                     # 0, 30
    # the detector runs for its own keep-alive and with those (a heavy look that waits for its turn
    # a frame adds a pass): 13 passes a minute against 60 when the window moves
    assert looks[("a", "presence")] == 13


def test_one_moving_window_gets_its_looks_the_still_one_waits():
    c = clock()
    looks = run(c, 60, moved=lambda window, stage: window == "b")
    # window b looks half a period early the second time (the windows of a camera take turns)
    assert looks[("b", "crop_pass")] == 13 and looks[("a", "crop_pass")] == 4
    # one detector pass sees every window's zones: presence is fresh for both whenever it runs
    assert looks[("a", "presence")] == looks[("b", "presence")] == 60


def test_the_windows_of_a_camera_take_turns():
    c = clock()
    frames = {}
    t = 0.0
    while t < 30:
        plan = c.plan(t)
        frames[t] = (plan.windows("crop_pass"), plan.windows("counter_zoom"))
        c.done(plan)
        t += 1.0
    crop_a = [t for t, (crop, _) in frames.items() if "a" in crop]
    crop_b = [t for t, (crop, _) in frames.items() if "b" in crop]
    assert crop_a == [0, 5, 10, 15, 20, 25] and crop_b == [0, 3, 8, 13, 18, 23, 28]
    zoom_a = [t for t, (_, zoom) in frames.items() if "a" in zoom]
    zoom_b = [t for t, (_, zoom) in frames.items() if "b" in zoom]
    # a zoom waits a frame for its turn when a crop pass is due on the same frame
    assert zoom_a == [0, 11, 21] and zoom_b == [0, 6, 16, 26]
    # after the first frame, never two heavy looks (crop pass, zoom) on one frame
    assert all(len(crop) + len(zoom) <= 1 for t, (crop, zoom) in frames.items() if t > 0)


def test_frames_a_little_early_still_count_as_on_time():
    looks = run(clock(), 30, step=0.98)
    assert looks[("a", "presence")] == 31 and looks[("a", "crop_pass")] == 7


def test_a_stage_runs_with_what_it_needs_and_after_a_gap_everything_is_due():
    c = clock()
    c.done(c.plan(0.0))
    plan = c.plan(5.0, moved=lambda w, s: s == "face")      # only the face stage saw a change
    assert plan.windows("face") == {"a", "b"} and plan.windows("pose") == {"a", "b"}
    assert plan.windows("presence") == {"a", "b"} and not plan.runs("crop_pass")
    c.done(plan)
    c.reset()
    assert set(c.plan(6.0).due) == {s.name for s in STAGES if c.periods["a"][s.name] is not None}


def test_a_new_stage_is_one_entry():
    hand_zoom = Stage("hand_zoom", ("phone_use", "long_call"), needs=("pose",))
    eating_cues = Stage("eating_cues", ("eating",))
    c = clock(PHONE_ONLY, (*STAGES, hand_zoom, eating_cues))
    assert c.periods["a"]["hand_zoom"] == c.periods["b"]["hand_zoom"] == 7.5
    assert c.periods["a"]["eating_cues"] == 5.0 and c.periods["b"]["eating_cues"] is None
    looks = run(c, 30)
    assert looks[("a", "hand_zoom")] == 4 and looks[("b", "hand_zoom")] == 5 and ("b", "eating_cues") not in looks
    with pytest.raises(ValueError, match="needs 'wrists', which is not a stage"):
        StageClock({}, (Stage("x", needs=("wrists",)),))
    with pytest.raises(ValueError, match="watches 'hands'; one of zones, staff_zone, counter"):
        StageClock({}, (Stage("x", watches="hands"),))
    with pytest.raises(ValueError, match="serves phone_in_hand, which is no behaviour"):
        clock("", (*STAGES, Stage("hand_zoom", ("phone_in_hand",))))


@pytest.mark.parametrize("dwell, every", [(0, 1.0), (2, 1.0), (20, 5.0), (30, 7.5), (90, 22.5), (600, 30.0)])
def test_look_every_s(dwell, every):
    assert look_every_s(dwell) == every


def test_a_setting_of_zero_means_every_frame():
    config = parse_config(HALL % "" + "models: {face_every_s: 0}\n")
    face = next(s for s in STAGES if s.name == "face")
    assert stage_period(face, config.rules(config.cameras[0].windows[0]), config.models) == 0.0


@pytest.mark.parametrize("setting, a, b", [
    ("", 30.0, 30.0),                                                       # the shipped 30 s dwell
    ("defaults: {rules: {phone_on_counter: {dwell_s: 12}}}", 12.0, 12.0),   # a shorter dwell: looked at sooner
    ("defaults: {rules: {phone_on_counter: {dwell_s: 300}}}", 30.0, 30.0),  # at least every MAX_LOOK_S
    ("models: {counter_zoom_turns: []}", None, None),                       # no turns: no stage
    ("models: {counter_zoom_every_s: 0}", None, None),                      # no counter zoom: no turned looks
])
def test_the_counter_turned_looks_once_a_dwell_of_the_phone_on_the_counter_rule(setting, a, b):
    config = parse_config(HALL % "" + setting + "\n")
    c = StageClock.for_camera(config, config.cameras[0])
    assert (c.period("a", "counter_turns"), c.period("b", "counter_turns")) == (a, b)
    assert c.period("a", "counter_zoom") == (None if "every_s: 0" in setting else 10.0)    # the upright keeps its own
    assert clock(PHONE_ONLY).period("b", "counter_turns") is None          # the rule off: no turned looks
    own = clock("        rules:\n          phone_on_counter: {dwell_s: 16}")      # one window's own dwell
    assert (own.period("a", "counter_turns"), own.period("b", "counter_turns")) == (30.0, 16.0)
