"""Phone at the ear: a "cell phone" box at a person's head counts only when it stands upright (a phone held to
the ear lies along the jaw); a flat one there (the hand with a cigarette, a toothbrush, a cup's rim) counts as
no phone at all, neither at the ear nor in the hand. Judged on the real MoveNet poses of zidane.jpg (two men
facing the camera, ears seen) and bus.jpg (people standing, wrists seen); the boxes are placed at those
points."""

from __future__ import annotations

import numpy as np
import pytest

from vision.analysis.photo import read_image
from vision.config import Thresholds, single_window_config
from vision.observe.frame import observe_window
from vision.perception.detections import Detection, FrameDetections


@pytest.fixture(scope="module")
def zidane(media, analyzer):
    image = read_image(media / "ultralytics" / "zidane.jpg")
    return image, analyzer.analyze(image)


def _box(center, w: float, h: float, score: float = 0.4) -> Detection:
    x, y = center
    return Detection("cell phone", score, (x - w / 2, y - h / 2, x + w / 2, y + h / 2))


def _person_with_ear(frame, th: Thresholds):
    for i, pose in enumerate(frame.poses):
        if pose is None:
            continue
        ear = next((p for p in (pose.point(n, th.keypoint_score) for n in ("left_ear", "right_ear")) if p), None)
        if ear is not None:
            return i, ear
    raise AssertionError("zidane.jpg: no pose with an ear seen")


def _judged(image, frame, phones, th: Thresholds):
    h, w = image.shape[:2]
    config = single_window_config(w, h, None)
    f = FrameDetections(w, h, objects=phones, persons=frame.persons, poses=frame.poses)
    return observe_window(f, config.cameras[0].windows[0], th, config.badge, image)


def test_an_upright_phone_at_the_ear_is_a_call_a_flat_one_is_nothing(zidane):
    image, frame = zidane
    th = Thresholds()
    i, ear = _person_with_ear(frame, th)
    side = 0.25 * _judged(image, frame, [], th).persons[i].evidence["scale_px"]     # a quarter shoulder width
    upright = _judged(image, frame, [_box(ear, side, 1.8 * side)], th)
    assert upright.phone_in_use and upright.phone_at_ear and upright.persons[i].phone_at_ear
    flat = _judged(image, frame, [_box(ear, 2.5 * side, side)], th)      # a cigarette held in the fingers
    assert not flat.phone_in_use and not flat.phone_at_ear
    assert "wide_thing_at_head" in flat.persons[i].evidence
    # the rule switched off (ear_phone_upright 0): the flat box is a phone at the ear, as before
    off = _judged(image, frame, [_box(ear, 2.5 * side, side)], th.model_copy(update={"ear_phone_upright": 0.0}))
    assert off.phone_in_use and off.phone_at_ear


@pytest.fixture(scope="module")
def bus(media, analyzer):
    image = read_image(media / "ultralytics" / "bus.jpg")
    return image, analyzer.analyze(image)


def test_a_flat_phone_away_from_the_head_still_counts_in_the_hand(bus):
    """The shape rule is for the head only: a phone held flat at the wrist (texting; the real poses of the
    people standing in front of the bus in bus.jpg) is still in use."""
    image, frame = bus
    th = Thresholds()
    for i, pose in enumerate(frame.poses):
        if pose is None:
            continue
        wrist = next((p for p in (pose.point(n, th.keypoint_score) for n in ("right_wrist", "left_wrist")) if p), None)
        heads = [p for p in (pose.point(n, th.keypoint_score) for n in ("left_ear", "right_ear", "left_eye",
                                                                         "right_eye")) if p]
        sw = _judged(image, frame, [], th).persons[i].evidence["scale_px"] if wrist and heads else 0.0
        if wrist and heads and min(float(np.hypot(wrist[0] - q[0], wrist[1] - q[1])) for q in heads) > (th.ear_distance + 0.2) * sw:
            obs = _judged(image, frame, [_box(wrist, 0.4 * sw, 0.2 * sw)], th)
            assert obs.phone_in_use and obs.persons[i].phone_in_hand and not obs.phone_at_ear
            return
    raise AssertionError("bus.jpg: no pose with a wrist well below the head")


def test_a_weak_phone_counts_only_upright_at_the_ear(zidane):
    """With ear_phone_score under phone_score, a phone scored between the two counts at the ear when upright,
    and for nothing else (not in the hand, not on the counter)."""
    image, frame = zidane
    th = Thresholds(ear_phone_score=0.2)
    i, ear = _person_with_ear(frame, th)
    side = 0.25 * _judged(image, frame, [], th).persons[i].evidence["scale_px"]
    assert _judged(image, frame, [_box(ear, side, 1.8 * side, score=0.22)], th).phone_at_ear
    assert not _judged(image, frame, [_box(ear, side, 1.8 * side, score=0.22)], Thresholds()).phone_in_use
    h, w = image.shape[:2]
    elsewhere = _judged(image, frame, [_box((w - 20, h - 20), 20, 36, score=0.22)], th)
    assert not elsewhere.phone_in_use and not elsewhere.phone_on_counter and not elsewhere.objects
