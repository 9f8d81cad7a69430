"""The heavy looks (crop pass, face stage, counter zoom) handed to the hall's queue: a live watch's frame
runs only the presence look and the light stages; the finds come back and hold from the next frame, the
same evidence a frame's own pass would have given."""

from __future__ import annotations

import threading
import time

import cv2

from tests.test_watch_schedule import HALL, _verdicts
from vision.config import parse_config
from vision.perception.pipeline import AnalyzerPool
from vision.runtime.heavy_looks import HeavyLooks
from vision.runtime.watch import CameraWatch

ZOOM_HALL = HALL.replace("counter_zoom_every_s: 0", "counter_zoom_every_s: 10")


def _wait(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_live_frame_hands_its_heavy_looks_off_and_holds_their_finds_from_the_next_frame(analyzer, media):
    image = cv2.imread(str(media / "ultralytics" / "zidane.jpg"))
    changed = image.copy()
    changed[:60, :200] = 255
    config = parse_config(ZOOM_HALL)
    inline = CameraWatch(config, "cam", analyzer)
    live = CameraWatch(config, "cam", analyzer)
    heavy = HeavyLooks(AnalyzerPool([analyzer])).start()
    live.heavy = heavy
    try:
        first_inline, first_live = inline.step(image, 100.0), live.step(image, 100.0)
        assert first_inline.timing_ms["crop_detect"] > 0 and first_inline.timing_ms["counter_zoom"] > 0
        # the live frame ran the detector and the pose, not the crop pass, the zoom or the faces
        assert first_live.timing_ms["detect"] > 0 and first_live.timing_ms.get("pose", 0) > 0
        assert first_live.timing_ms.get("crop_detect", 0.0) == 0.0 and "counter_zoom" not in first_live.timing_ms
        assert "face" not in first_live.timing_ms
        assert _wait(lambda: heavy.done == 1)
        second_inline, second_live = inline.step(changed, 101.0), live.step(changed, 101.0)
        # their finds came back: the next frame holds them, as the inline watch holds its own
        assert second_live.timing_ms["crop_detect"] > 0 and second_live.timing_ms["counter_zoom"] > 0
        assert _verdicts(second_live) == _verdicts(second_inline)
        staff = [i for i, p in enumerate(second_live.observations[0].persons) if p.staff]
        assert staff
        for i in staff:
            assert second_live.frame.faces[i] == second_inline.frame.faces[i]
            assert second_live.frame.crop_objects[i] == second_inline.frame.crop_objects[i]
        assert sorted(d.box for d in second_live.frame.zoomed) == sorted(d.box for d in second_inline.frame.zoomed)
    finally:
        heavy.stop()


def test_finds_from_before_a_gap_are_dropped(analyzer, media):
    image = cv2.imread(str(media / "ultralytics" / "zidane.jpg"))
    live = CameraWatch(parse_config(HALL), "cam", analyzer)
    heavy = HeavyLooks(AnalyzerPool([analyzer])).start()
    live.heavy = heavy
    try:
        live.step(image, 100.0)
        live.offline(100.5)                            # the camera went away while the look was out
        assert _wait(lambda: heavy.done == 1)
        after = live.step(image, 110.0)
        assert after.timing_ms.get("crop_detect", 0.0) == 0.0
        assert all(v is None for v in after.frame.crop_objects) and all(f is None for f in after.frame.faces)
        assert _wait(lambda: heavy.done == 2)          # and the new look went out at once
    finally:
        heavy.stop()


def test_finds_held_longer_than_their_stage_may_hold_them_expire_while_the_next_look_is_starved(analyzer, media):
    """A saturated machine: the face look that should replace the staff's faces does not come back. The faces
    of the last look hold for the face stage's keep-alive and one period more (5 s faces: 15 + 5 s), then the
    staff are without a face (the rules see no eyes) until a look comes back."""
    from vision.runtime.schedule import evidence_expires_s
    image = cv2.imread(str(media / "ultralytics" / "zidane.jpg"))
    frames = [image.copy(), image.copy()]
    frames[0][:60, :200], frames[1][:60, :200] = 255, 0           # every frame moved: every stage is due on time
    live = CameraWatch(parse_config(HALL), "cam", analyzer)
    heavy = HeavyLooks(AnalyzerPool([analyzer])).start()
    live.heavy = heavy
    limit = evidence_expires_s(live.clock.period("w1", "face"))
    assert limit == 20.0

    def faces(ts: float) -> list:
        step = live.step(frames[int(ts) % 2], ts)
        return [step.frame.faces[i] for i, p in enumerate(step.observations[0].persons) if p.staff]

    try:
        live.step(image, 100.0)
        assert _wait(lambda: heavy.done == 1)
        assert all(f is not None for f in faces(101.0))              # the look came back: the faces hold
        heavy.stop()                                                  # no look is served from now on
        for ts in range(102, 120):                                    # the face look at 105 is queued, not served
            assert all(f is not None for f in faces(float(ts)))       # 19 s old: still held
        assert all(f is None for f in faces(100.0 + limit + 1))      # 21 s old: expired
        heavy.start()                                 # the machine frees up: the queued look runs, the faces go next
        assert _wait(lambda: heavy.done == 2)
        faces(122.0)
        assert _wait(lambda: heavy.done == 3)
        assert any(f is not None for f in faces(123.0))              # faces from a fresh look: held again
    finally:
        heavy.stop()


def test_a_heavy_look_waits_for_the_analyzer_while_a_frame_waits(analyzer):
    pool = AnalyzerPool([analyzer], heavy_patience_s=30)
    order: list[str] = []
    held = pool.acquire()

    def take(name: str, background: bool):
        a = pool.acquire(background=background)
        order.append(name)
        time.sleep(0.05)
        pool.release(a)

    look = threading.Thread(target=take, args=("heavy look", True))
    look.start()
    time.sleep(0.1)                                     # the heavy look asked first ...
    frame = threading.Thread(target=take, args=("frame", False))
    frame.start()
    assert _wait(lambda: pool._frames_waiting == 1, 5)
    pool.release(held)                                  # ... but the frame goes first
    look.join(5)
    frame.join(5)
    assert order == ["frame", "heavy look"]
    assert pool.acquire(background=True) is analyzer


def test_a_heavy_look_is_not_starved_by_frames_that_keep_coming(analyzer):
    """A saturated pool: a frame always waits. After its patience the heavy look takes its turn."""
    pool = AnalyzerPool([analyzer], heavy_patience_s=0.3)
    stop = threading.Event()
    got: list[float] = []

    def frames():
        while not stop.is_set():
            a = pool.acquire()
            time.sleep(0.02)
            pool.release(a)

    cameras = [threading.Thread(target=frames) for _ in range(3)]
    for t in cameras:
        t.start()
    try:
        t0 = time.monotonic()
        a = pool.acquire(background=True)
        got.append(time.monotonic() - t0)
        pool.release(a)
    finally:
        stop.set()
        for t in cameras:
            t.join(5)
    assert 0.25 <= got[0] < 5.0, got
