"""Hand zoom: squares around the staff's hands (from real MoveNet poses), the detector's look at them,
how a phone found there becomes "phone in hand" or "at the ear", and how often a camera looks."""

from __future__ import annotations

import pytest

from vision.analysis.photo import read_image
from vision.config import Thresholds, parse_config, single_window_config
from vision.observe.frame import observe_window
from vision.perception.detections import Detection, FrameDetections
from vision.perception.hand_zoom import hand_regions
from vision.runtime.watch import CameraWatch


@pytest.fixture(scope="module")
def bus(media, analyzer):
    image = read_image(media / "ultralytics" / "bus.jpg")
    return image, analyzer.analyze(image, hands=True)


def test_hand_squares_sit_on_the_wrists_of_real_poses(bus):
    image, frame = bus
    h, w = image.shape[:2]
    seen = 0
    for i, (person, pose) in enumerate(zip(frame.persons, frame.poses)):
        regions = hand_regions(pose, person.box, i, w, h)
        wrists = [pose.point(n, 0.2) for n in ("left_wrist", "right_wrist")] if pose is not None else []
        wrists = [p for p in wrists if p]
        assert len(regions) <= len(wrists)
        for r in regions:
            x1, y1, x2, y2 = r.box
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            assert abs((x2 - x1) - (y2 - y1)) <= 1                     # a square: the detector sees it unstretched
            # each square holds a wrist of its person, and is about a hand's size (not the whole person)
            assert any(x1 <= wx <= x2 and y1 <= wy <= y2 for wx, wy in wrists)
            assert (x2 - x1) < 0.8 * max(person.width, person.height)
            seen += 1
    assert seen >= 2            # the people standing in front of the bus show their hands


def test_no_pose_or_no_wrist_gives_no_square(bus):
    image, frame = bus
    h, w = image.shape[:2]
    assert hand_regions(None, frame.persons[0].box, 0, w, h) == []
    pose = frame.poses[0]
    hidden = pose.keypoints.copy()
    hidden[9:11, 2] = 0.0                                  # both wrists unseen
    from vision.perception.detections import Pose
    assert hand_regions(Pose(hidden), frame.persons[0].box, 0, w, h) == []


@pytest.mark.parametrize("photo", ["ultralytics/zidane.jpg", "opencv/messi5.jpg", "opencv/basketball1.png"])
def test_empty_hands_give_no_phone(media, analyzer, photo):
    """Hands holding nothing (a tie in zidane.jpg, a footballer, basketball players): the zoom looks and
    finds no phone at the bar observe uses; it ran (its timing is there)."""
    image = read_image(media / photo)
    frame = analyzer.analyze(image, hands=True)
    assert "hand_zoom" in frame.timing_ms
    th = Thresholds()
    assert [d for d in frame.hand_phones if d.score >= th.hand_phone_score] == []
    plain = analyzer.analyze(image)                       # not asked to: no look, nothing found
    assert not plain.hand_phones and "hand_zoom" not in plain.timing_ms


def _phone_at(point, size: float = 30.0) -> Detection:
    x, y = point
    return Detection("cell phone", 0.6, (x - size / 2, y - size / 2, x + size / 2, y + size / 2))


def test_a_phone_in_a_hand_square_is_in_use_never_on_the_counter(bus):
    """observe on the real bus.jpg frame: a phone the hand zoom found at a wrist is that person's phone in
    hand; one at an ear is at the ear; one in nobody's box counts for nobody; none lies on the counter."""
    image, frame = bus
    h, w = image.shape[:2]
    config = single_window_config(w, h, (0, 0, w, h))           # the whole photo is the counter
    win, th = config.cameras[0].windows[0], Thresholds()
    k = th.keypoint_score

    def first(pose, names):
        return next((p for p in (pose.point(n, k) for n in names) if p), None) if pose is not None else None
    # a person whose pose shows a wrist and an ear (or eye)
    i = next(j for j, pose in enumerate(frame.poses)
             if first(pose, ("right_wrist", "left_wrist")) and first(pose, ("left_ear", "right_ear", "left_eye", "right_eye")))
    wrist = first(frame.poses[i], ("right_wrist", "left_wrist"))
    ear = first(frame.poses[i], ("left_ear", "right_ear", "left_eye", "right_eye"))

    def judged(phones):
        f = FrameDetections(w, h, objects=[], persons=frame.persons, poses=frame.poses, hand_phones=phones)
        return observe_window(f, win, th, config.badge, image)

    obs = judged([_phone_at(wrist)])
    assert obs.phone_in_use and not obs.phone_at_ear and not obs.phone_on_counter
    assert obs.persons[i].phone_in_hand and "hand_zoom_phone" in obs.persons[i].evidence
    obs = judged([_phone_at(ear)])
    assert obs.phone_at_ear and obs.persons[i].phone_at_ear and not obs.phone_on_counter
    weak = Detection("cell phone", th.hand_phone_score - 0.05, _phone_at(wrist).box)
    assert not judged([weak]).phone_in_use                       # under the bar: nothing
    far = _phone_at((w - 5, 5), size=8)                            # the sky over the bus: nobody's hand
    assert not any(b.box[0] <= w - 5 <= b.box[2] and b.box[1] <= 5 <= b.box[3] for b in frame.persons)
    assert not judged([far]).phone_in_use


CONFIG = """
cameras:
  - id: cam
    url: rtsp://127.0.0.1:1/x
    detect_on: frame
    windows:
      - id: w1
        staff_zone: [[0, 0], [1, 0], [1, 1], [0, 1]]
        counter: [[0, 0.9], [1, 0.9], [1, 1], [0, 1]]
models:
  counter_zoom_every_s: 0
  face_every_s: 0
  hand_zoom_every_s: {every}
"""


def test_a_camera_looks_at_hands_every_hand_zoom_every_s_and_holds_between(media, analyzer):
    image = read_image(media / "ultralytics" / "bus.jpg")
    watch = CameraWatch(parse_config(CONFIG.format(every=3)), "cam", analyzer)
    held = Detection("cell phone", 0.9, (100.0, 500.0, 130.0, 540.0))
    changed = image.copy()
    changed[:120, -240:] = 255           # something moved at the window: a look that is due runs
    looked = []
    for ts, picture in ((0.0, image), (1.0, image), (2.0, image), (3.0, changed), (4.0, changed), (6.5, image)):
        step = watch.step(picture, ts)
        looked.append("hand_zoom" in step.timing_ms)
        if ts == 0.0:
            watch._hand_phones = [held]          # stands for what a look found (bus.jpg has no phone to find)
        elif ts < 3.0:                           # held between looks, in the hand of the man on the left
            assert step.frame.hand_phones == [held] and step.observations[0].phone_in_use
    assert looked == [True, False, False, True, False, True]
    assert step.frame.hand_phones == [] and not step.observations[0].phone_in_use      # a new look found none
    off = CameraWatch(parse_config(CONFIG.format(every=0)), "cam", analyzer)
    assert "hand_zoom" not in off.step(image, 0.0).timing_ms


def test_bench_shows_what_the_hand_zoom_costs(media):
    from hallmonitor.photo_bench import format_stage_table, stage_bench
    result = stage_bench([media / "ultralytics" / "bus.jpg"], repeats=1, hand_zoom=True)
    assert result["samples"]["hand_zoom"][0] > 0
    assert "| hand_zoom |" in format_stage_table(result)
    assert "hand_zoom" not in stage_bench([media / "ultralytics" / "bus.jpg"], repeats=1)["samples"]
