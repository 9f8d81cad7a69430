"""The counter zoom's turned looks: each counter tile is also shown to the detector turned 45 degrees each
way (models.counter_zoom_turns), so a phone lying at a slant is seen the way the detector knows phones.

Real photos, real detector. No photo that ships with the test dependencies shows a real phone; the
astronaut's chest patch is what the zoom takes for one (0.37) on scikit-image's photo, so that patch, turned
with the whole photo, stands in for a phone lying turned: the upright looks lose it, the turned looks find
it again where it now lies. The dev set's floors measure the gain on real phones (docs/models.md,
"Phone on the counter, session 6").
"""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import skimage.data

from vision.config import ModelChoice
from vision.perception.classes import PHONE_LABELS
from vision.perception.detections import Detection
from vision.perception.pipeline import AnalyzerPool, merge_detections
from vision.perception.turned_looks import CounterLook, boxes_back, turned_view
from vision.runtime.heavy_looks import HeavyLook, run_look

from .test_capture import wait_until

PATCH_CENTRE = (206, 263)        # the astronaut's chest patch, which the zoom takes for a phone


@pytest.mark.parametrize("degrees", [0, 45, 90, 180, 270, 315, 30])
@pytest.mark.parametrize("tile", [(40, 60, 340, 260), (100, 100, 400, 400)])
def test_a_mark_seen_in_a_turned_view_is_boxed_where_it_lies_in_the_frame(degrees, tile):
    frame = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)       # 600 x 400
    frame[120:130, 200:214] = (255, 0, 255)                             # a magenta mark, 14 x 10 px
    view, back = turned_view(frame, tile, degrees)
    w, h = tile[2] - tile[0], tile[3] - tile[1]
    assert view.shape[:2] == ((w, h) if degrees in (90, 270) else (h, w) if degrees % 90 == 0 else (max(w, h),) * 2)
    ys, xs = np.nonzero((view[..., 0] > 200) & (view[..., 1] < 60) & (view[..., 2] > 200))
    assert len(xs) >= 80                                                 # the mark is in the view, whole
    seen = Detection("cell phone", 0.9, (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
    (box,) = [d.box for d in boxes_back([seen], back, frame.shape[1], frame.shape[0])]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    assert abs(cx - 207) <= 1.5 and abs(cy - 125) <= 1.5, box
    if degrees % 90 == 0:                                                # a quarter turn is exact
        assert box == pytest.approx((200, 120, 214, 130), abs=0.01)
    else:            # the upright box around the view's upright box around the turned mark: 24 px at 45 degrees
        assert 14 <= box[2] - box[0] <= 26 and 10 <= box[3] - box[1] <= 26


def test_an_empty_tile_is_refused():
    with pytest.raises(ValueError, match="empty"):
        turned_view(np.zeros((50, 50, 3), np.uint8), (10, 10, 10, 40), 45)


@pytest.fixture(scope="module")
def turned_astronaut() -> np.ndarray:
    """scikit-image's astronaut turned 45 degrees clockwise about her chest patch."""
    image = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    turn = cv2.getRotationMatrix2D(PATCH_CENTRE, -45, 1.0)
    return cv2.warpAffine(image, turn, (512, 512), borderMode=cv2.BORDER_REPLICATE)


def _phones_at_the_patch(found: list[Detection], min_score: float) -> list[Detection]:
    return [d for d in found if d.label in PHONE_LABELS and d.score >= min_score
            and abs((d.box[0] + d.box[2]) / 2 - PATCH_CENTRE[0]) < 30
            and abs((d.box[1] + d.box[3]) / 2 - PATCH_CENTRE[1]) < 30]


def test_the_patch_the_zoom_takes_for_a_phone_upright(analyzer):
    image = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    upright = copy.copy(analyzer)
    upright.zoom_turns = ()
    assert _phones_at_the_patch(upright.zoom_counters(image, [(0, 0, 512, 512)]), 0.3)


def test_turned_45_degrees_only_the_turned_looks_find_it(analyzer, turned_astronaut):
    upright = copy.copy(analyzer)
    upright.zoom_turns = ()
    assert not _phones_at_the_patch(upright.zoom_counters(turned_astronaut, [(0, 0, 512, 512)]), 0.2)
    assert analyzer.zoom_turns == (45, 315)                             # the shipped default
    found = _phones_at_the_patch(analyzer.zoom_counters(turned_astronaut, [(0, 0, 512, 512)]), 0.3)
    assert found
    # boxed around the turned patch (about 140 x 55 px turned 45 degrees: about 140 px square), in the frame
    x1, y1, x2, y2 = found[0].box
    assert 120 <= x2 - x1 <= 170 and 120 <= y2 - y1 <= 170


def test_each_turn_is_one_more_pass_per_tile_and_none_turns_them_off(analyzer):
    looks = analyzer.counter_looks(np.zeros((512, 512, 3), np.uint8), (0, 0, 512, 512))
    tiles = sorted({look.tile for look in looks})
    assert len(tiles) == 4
    assert sorted(looks, key=lambda k: (k.tile, k.degrees)) == [CounterLook(t, d) for t in tiles for d in (0, 45, 315)]
    off = copy.copy(analyzer)
    off.zoom_turns = ()
    assert [k.degrees for k in off.counter_looks(np.zeros((512, 512, 3), np.uint8), (0, 0, 512, 512))] == [0] * 4


def test_the_setting_reaches_the_analyzer():
    from vision.perception.load import load_analyzer
    mine = load_analyzer(ModelChoice(counter_zoom_turns=[90], counter_zoom_turned_score=0.5, face=None,
                                     segmenter=None, heads=[]))
    assert mine.zoom_turns == (90,) and mine.zoom_turned_score == 0.5


def test_a_photo_gets_every_look_in_one_pass(analyzer, phone_only_turned):
    """``hallmonitor analyze`` and ``eval`` (``analyze(zoom=...)`` without ``zoom_turned``): the upright and the
    turned looks on every photo, as before they were a stage of their own."""
    frame = analyzer.analyze(phone_only_turned, zoom=[(0, 0, 512, 512)])
    assert _phones_at_the_patch(frame.zoomed, 0.3) and _phones_at_the_patch(frame.objects, 0.3)
    assert "counter_zoom" in frame.timing_ms and "counter_turns" not in frame.timing_ms and not frame.zoomed_turned
    upright = analyzer.analyze(phone_only_turned, zoom=[(0, 0, 512, 512)], zoom_turned=[])
    assert not _phones_at_the_patch(upright.zoomed, 0.2)                 # the upright looks alone miss it


def test_the_live_watch_finds_what_analyze_finds(analyzer, turned_astronaut):
    """The heavy-look queue (the live watch) makes the same passes, the upright ones for the counter zoom and the
    turned ones for its turned stage, and keeps the same finds between them as the eval's one look."""
    got = []
    counter = [("w1", (0, 0, 512, 512))]
    look = HeavyLook("cam", 0.0, turned_astronaut, crops=[], faces=[], counters=counter, turned=counter,
                     stages={"counter_zoom": frozenset({"w1"}), "counter_turns": frozenset({"w1"})},
                     generation=0, deliver=got.append)
    finds = run_look(look, AnalyzerPool([analyzer]))
    assert not _phones_at_the_patch(finds.zoomed["w1"], 0.2)        # upright: not seen
    assert _phones_at_the_patch(finds.turned["w1"], 0.3)            # turned: seen
    assert {d.label for d in finds.turned["w1"]} <= PHONE_LABELS
    assert finds.timing_ms["counter_zoom"] > 0 and finds.timing_ms["counter_turns"] > 0
    live = merge_detections(finds.zoomed["w1"] + finds.turned["w1"])
    assert sorted((d.label, d.box) for d in live) == sorted(
        (d.label, d.box) for d in analyzer.zoom_counters(turned_astronaut, [(0, 0, 512, 512)]))


# a counter where only the phone-on-the-counter rule (and presence) is on: the counter's two stages alone
ONLY_THE_COUNTER = """
schedule: {hours: {mon-sun: ["00:00-24:00"]}}
cameras:
  - id: cam
    url: rtsp://127.0.0.1:1/x
    detect_on: frame
    windows:
      - id: w1
        staff_zone: %s
        counter: %s
defaults:
  rules:
    phone_use: {enabled: false}
    long_call: {enabled: false}
    eating: {enabled: false}
    badge_absent: {enabled: false}
    sleeping: {enabled: false}
    extra_person: {enabled: false}
"""
# the astronaut is on the counter, nobody's staff (the staff zone is a corner): only the counter looks see her patch
WHOLE_COUNTER = ONLY_THE_COUNTER % ("[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1]]", "[[0, 0], [1, 0], [1, 1], [0, 1]]")


def _counter_phones(step) -> list[Detection]:
    return _phones_at_the_patch(step.frame.zoomed, 0.3)


def _rubbed_out(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``image`` with ``box`` filled in from around it (OpenCV's inpainting): what lay there is gone."""
    x1, y1, x2, y2 = box
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[y1:y2, x1:x2] = 255
    return cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA)


@pytest.fixture(scope="module")
def phone_only_turned(turned_astronaut) -> np.ndarray:
    """The turned astronaut without her glove, which every look takes for a phone (0.33 upright): her patch, which
    only the turned looks take for one, is the only phone on the counter."""
    return _rubbed_out(turned_astronaut, (172, 358, 248, 430))


def test_the_turned_looks_run_at_their_own_period_on_real_footage(analyzer, media):
    """vtest.avi, people walking over the counter (the lower half) every frame: the upright zoom looks every 10 s
    (``counter_zoom_every_s``), the turned looks once per 30 s dwell of the phone-on-the-counter rule, a frame
    later when the upright look takes that frame's turn."""
    from vision.config import parse_config
    from vision.runtime.watch import CameraWatch
    cap = cv2.VideoCapture(str(media / "opencv" / "vtest.avi"))
    frames = []
    while len(frames) < 10:
        ok, image = cap.read()
        assert ok
        frames.append(image)
        for _ in range(49):                       # 5 s of the 10 fps clip between two frames
            cap.grab()
    cap.release()
    config = parse_config(ONLY_THE_COUNTER % ("[[0, 0], [1, 0], [1, 0.5], [0, 0.5]]",
                                              "[[0, 0.5], [1, 0.5], [1, 1], [0, 1]]"))
    watch = CameraWatch(config, "cam", analyzer)
    assert watch.clock.period("w1", "counter_zoom") == 10.0 and watch.clock.period("w1", "counter_turns") == 30.0
    upright, turned = [], []
    for k, image in enumerate(frames):
        ts = 100.0 + 5 * k
        step = watch.step(image, ts)
        upright += [ts] if "counter_zoom" in step.timing_ms else []
        turned += [ts] if "counter_turns" in step.timing_ms else []
    assert upright == [100.0, 110.0, 120.0, 130.0, 140.0]
    assert turned == [100.0, 135.0]


def test_a_phone_only_the_turned_looks_see_is_held_between_them_and_rechecked_with_each_upright_look(
        analyzer, phone_only_turned):
    from vision.config import parse_config
    from vision.runtime.watch import CameraWatch
    watch = CameraWatch(parse_config(WHOLE_COUNTER), "cam", analyzer)
    moved = phone_only_turned.copy()
    moved[:40, 400:] = 0                                          # something moved on the counter, away from the patch
    first = watch.step(phone_only_turned, 100.0)
    assert {"counter_zoom", "counter_turns"} <= set(first.timing_ms)
    assert _counter_phones(first) and first.observations[0].phone_on_counter
    held = watch.step(moved, 105.0)                               # neither stage due: the turned find holds
    assert not {"counter_zoom", "counter_turns"} & set(held.timing_ms)
    assert _counter_phones(held) == _counter_phones(first) and held.observations[0].phone_on_counter
    x, y = PATCH_CENTRE
    taken = _rubbed_out(moved, (x - 60, y - 60, x + 60, y + 60))   # the phone is taken away
    gone = watch.step(taken, 110.0)
    # the upright look is due, and the turned looks go with it where they hold a phone (their own next look
    # would be at 130): the phone is missed on this frame, as an upright find would be
    assert {"counter_zoom", "counter_turns"} <= set(gone.timing_ms)
    assert not _counter_phones(gone) and not gone.observations[0].phone_on_counter
    back = watch.step(moved, 120.0)                               # back, but only an upright look is due
    assert "counter_zoom" in back.timing_ms and "counter_turns" not in back.timing_ms
    assert not back.observations[0].phone_on_counter              # seen again at the turned looks' next look


def test_the_live_watch_holds_the_turned_finds_and_they_expire_when_the_next_look_is_starved(
        analyzer, phone_only_turned):
    """The heavy-look queue: the turned looks' phone comes back and holds on its own clock (keep-alive 90 s and
    one 30 s period: 120 s), after the upright finds (10 s period: 40 s) have expired, then it expires too."""
    from vision.config import parse_config
    from vision.runtime.heavy_looks import HeavyLooks
    from vision.runtime.schedule import evidence_expires_s
    from vision.runtime.watch import CameraWatch
    live = CameraWatch(parse_config(WHOLE_COUNTER), "cam", analyzer)
    heavy = HeavyLooks(AnalyzerPool([analyzer])).start()
    live.heavy = heavy
    assert evidence_expires_s(live.clock.period("w1", "counter_turns")) == 120.0
    assert evidence_expires_s(live.clock.period("w1", "counter_zoom")) == 40.0
    frames = [phone_only_turned.copy(), phone_only_turned.copy()]
    frames[0][:40, 400:], frames[1][:40, 400:] = 255, 0            # every frame moved: every look is due on time
    try:
        first = live.step(phone_only_turned, 100.0)
        assert not {"counter_zoom", "counter_turns"} & set(first.timing_ms)    # handed off
        assert wait_until(lambda: heavy.done == 1, 30)
        came = live.step(frames[1], 101.0)
        assert came.timing_ms["counter_turns"] > 0 and _counter_phones(came)
        assert came.observations[0].phone_on_counter
        heavy.stop()                                               # no look is served from now on
        for ts in (150.0, 219.0):                                  # the upright finds expired at 140; these hold
            step = live.step(frames[int(ts) % 2], ts)
            assert _counter_phones(step) and step.observations[0].phone_on_counter, ts
        late = live.step(frames[1], 221.0)                         # 121 s old: expired
        assert not _counter_phones(late) and not late.observations[0].phone_on_counter
        heavy.start()                                              # the queued look runs: held again
        assert wait_until(lambda: heavy.done == 2, 30)
        assert _counter_phones(live.step(frames[0], 222.0))
    finally:
        heavy.stop()
