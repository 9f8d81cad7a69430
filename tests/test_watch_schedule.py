"""The live watch on a real photo: stages run when the schedule says, the rest hold their last look."""

from __future__ import annotations

import cv2
import numpy as np

from vision.config import parse_config
from vision.runtime.watch import CameraWatch

HALL = """
schedule: {hours: {mon-sun: ["00:00-24:00"]}}
cameras:
  - id: cam
    url: rtsp://127.0.0.1:1/x
    detect_on: frame
    windows:
      - id: w1
        staff_zone: [[0, 0], [1, 0], [1, 0.8], [0, 0.8]]
        counter: [[0, 0.8], [1, 0.8], [1, 1], [0, 1]]
models:
  counter_zoom_every_s: 0
"""


def _verdicts(step):
    return [(o.to_json(), [(p.staff, p.phone_in_hand, p.head_down, p.badge, p.eyes) for p in o.persons])
            for o in step.observations]


def test_between_looks_each_staff_member_keeps_the_last_evidence(analyzer, media):
    image = cv2.imread(str(media / "ultralytics" / "zidane.jpg"))
    watch = CameraWatch(parse_config(HALL), "cam", analyzer)
    first = watch.step(image, 100.0)
    assert first.timing_ms["crop_detect"] > 0 and "face" in first.timing_ms
    staff = [i for i, p in enumerate(first.observations[0].persons) if p.staff]
    assert staff and all(first.frame.poses[i] is not None for i in staff)

    changed = image.copy()
    changed[:60, :200] = 255                   # something moved: the detector looks again
    second = watch.step(changed, 101.0)
    assert second.timing_ms["detect"] > 0
    assert second.timing_ms.get("crop_detect", 0.0) == 0.0 and "face" not in second.timing_ms
    # the staff keep the poses, faces and crop finds of the last look: the rules see the same verdicts
    assert _verdicts(second) == _verdicts(first)
    for i in staff:
        assert np.array_equal(second.frame.poses[i].keypoints, first.frame.poses[i].keypoints)
        assert second.frame.faces[i] == first.frame.faces[i]

    still = watch.step(changed, 102.0)         # nothing moved since: no model runs at all
    assert not {"detect", "pose", "crop_detect", "face"} & set(still.timing_ms)
    assert _verdicts(still) == _verdicts(first)

    again = changed.copy()
    again[:60, :200] = 0
    fresh = watch.step(again, 105.0)           # the crop pass, pose and face are due again (every 5 s)
    assert fresh.timing_ms["crop_detect"] > 0 and "face" in fresh.timing_ms


class CountingPose:
    """The real MoveNet, counting its calls."""

    def __init__(self, pose):
        self.pose, self.calls = pose, 0

    def estimate(self, image, box):
        self.calls += 1
        return self.pose.estimate(image, box)


CONFIRM_HALL = """
schedule: {hours: {mon-sun: ["00:00-24:00"]}}
defaults:
  thresholds: {person_confirm_score: 0.15}
cameras:
  - id: cam
    url: rtsp://127.0.0.1:1/x
    detect_on: frame
    windows:
      - id: w1
        staff_zone: [[0, 0], [1, 0], [1, 0.8], [0, 0.8]]
        counter: [[0, 0.8], [1, 0.8], [1, 1], [0, 1]]
        rules: {eating: {enabled: false}, phone_use: {enabled: false}, long_call: {enabled: false},
                badge_absent: {enabled: false}, sleeping: {enabled: false}}
models:
  counter_zoom_every_s: 0
"""


def test_a_weak_person_confirmed_by_the_pose_stays_confirmed_without_a_new_pose(media):
    """basketball1.png: the man on the left scores under the person bar; his head and shoulders confirm
    him. Between two looks of the confirmation his box at the same place keeps the verdict."""
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer
    # int8 presence (auto): the weak persons come from the float detector, so its held verdicts hold here too
    analyzer = load_analyzer(ModelChoice(presence_detector="auto"))
    analyzer.pose = counting = CountingPose(analyzer.pose)
    image = cv2.imread(str(media / "opencv" / "basketball1.png"))
    watch = CameraWatch(parse_config(CONFIRM_HALL), "cam", analyzer)
    first = watch.step(image, 100.0)
    assert any(first.frame.confirmed) and counting.calls >= 1
    calls = counting.calls
    changed = image.copy()
    changed[:40, -120:] = 255                   # the detector looks again; the confirmation is not due
    second = watch.step(changed, 101.0)
    assert counting.calls == calls              # no pose at all: the phone, eating... rules are off
    assert second.frame.confirmed == first.frame.confirmed
    assert second.observations[0].staff_count == first.observations[0].staff_count
    changed[:40, -120:] = 0
    watch.step(changed, 105.0)                  # due again (every 5 s): checked afresh
    assert counting.calls > calls


def test_a_weak_box_that_comes_and_goes_keeps_its_verdict_until_the_confirmation_is_due(media):
    """basketball1.png: the man confirmed by his pose is gone from one frame (painted over) and back on the
    next. His verdict is held all the same, without a new pose, until his window's confirmation is due."""
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer
    analyzer = load_analyzer(ModelChoice())
    analyzer.pose = counting = CountingPose(analyzer.pose)
    image = cv2.imread(str(media / "opencv" / "basketball1.png"))
    watch = CameraWatch(parse_config(CONFIRM_HALL), "cam", analyzer)
    first = watch.step(image, 100.0)
    confirmed = [p.box for p, why in zip(first.frame.persons, first.frame.confirmed) if why]
    assert confirmed
    x1, y1, x2, y2 = (int(v) for v in confirmed[0])
    gone = image.copy()
    gone[y1:y2, x1:x2] = 128                    # he is not there on this frame
    second = watch.step(gone, 101.0)
    assert not any(np.allclose(p.box, confirmed[0], atol=8) for p in second.frame.persons)
    calls = counting.calls
    back = image.copy()
    back[:40, -120:] = 255                      # back at his place; the detector looks again
    third = watch.step(back, 102.0)
    assert counting.calls == calls              # his held verdict: no new pose
    assert third.frame.confirmed == first.frame.confirmed
    assert third.observations[0].staff_count == first.observations[0].staff_count
    back[:40, -120:] = 0
    watch.step(back, 105.0)                     # the confirmation is due (every 5 s): checked afresh
    assert counting.calls > calls
