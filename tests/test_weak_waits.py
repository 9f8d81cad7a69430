"""A new weak or doubtful person box beside a counted staff member waits for its window's confirmation; one in
a window that counts nobody is posed at once (docs/performance.md section 18). basketball1.png: the man on the
left scores 0.17 (under the person bar, weak), the boy beside him 0.47 in a small box (doubtful), the player on
the right 0.53 (sure)."""

from __future__ import annotations

import cv2
import pytest

from vision.config import ModelChoice, parse_config
from vision.perception.geometry import box_iou
from vision.perception.load import load_analyzer
from vision.runtime.watch import CameraWatch

from .test_watch_schedule import CountingPose

RULES_OFF = """
        rules: {eating: {enabled: false}, phone_use: {enabled: false}, long_call: {enabled: false},
                badge_absent: {enabled: false}, sleeping: {enabled: false}}"""


def hall(staff_zone: str, waits: bool = True) -> str:
    return f"""
schedule: {{hours: {{mon-sun: ["00:00-24:00"]}}}}
defaults:
  thresholds: {{person_confirm_score: 0.15, unsure_beside_staff_wait: {str(waits).lower()}}}
cameras:
  - id: cam
    url: rtsp://127.0.0.1:1/x
    detect_on: frame
    windows:
      - id: w1
        staff_zone: {staff_zone}
        counter: [[0, 0.8], [1, 0.8], [1, 1], [0, 1]]{RULES_OFF}
models:
  counter_zoom_every_s: 0
"""


WHOLE = "[[0, 0], [1, 0], [1, 0.8], [0, 0.8]]"       # the man on the left and the players
LEFT = "[[0, 0], [0.2, 0], [0.2, 0.8], [0, 0.8]]"     # the man on the left only
LEFT_HALF = "[[0, 0], [0.45, 0], [0.45, 0.8], [0, 0.8]]"    # the man and the boy, a small box here (doubtful)


@pytest.fixture(scope="module")
def scene(media):
    analyzer = load_analyzer(ModelChoice())
    analyzer.pose = CountingPose(analyzer.pose)
    image = cv2.imread(str(media / "opencv" / "basketball1.png"))
    man = [d for d in analyzer.detector.detect(image, min_score=0.15)
           if d.label == "person" and 0.15 <= d.score < 0.35 and d.box[0] < 60 and d.box[3] > 300]
    assert len(man) == 1, man                  # the man on the left: a weak box
    x1, y1, x2, y2 = (int(v) for v in man[0].box)
    without = image.copy()
    without[y1:y2, x1:x2] = 128                # before he comes in (the boy beside him stays)
    boy = [d for d in analyzer.detector.detect(image, min_score=0.35) if d.label == "person" and d.box[2] < 200]
    for b in boy:
        bx1, by1, bx2, by2 = (int(v) for v in b.box)
        without[by1:by2, bx1:bx2] = image[by1:by2, bx1:bx2]
    no_boy = image.copy()
    for b in boy:
        bx1, by1, bx2, by2 = (int(v) for v in b.box)
        no_boy[by1:by2, bx1:bx2] = 128
    return analyzer, image, without, man[0].box, no_boy


def _confirmed(step, box) -> bool:
    return any(why and p.box == box for p, why in zip(step.frame.persons, step.frame.confirmed))


def test_a_new_weak_box_beside_a_counted_staff_member_waits_for_the_confirmation(scene):
    analyzer, image, without, man, _ = scene
    watch = CameraWatch(parse_config(hall(WHOLE)), "cam", analyzer)
    first = watch.step(without, 100.0)          # every stage due: the players are counted
    staff = first.observations[0].staff_count
    assert staff >= 1
    calls = analyzer.pose.calls
    second = watch.step(image, 101.0)           # he comes in; the confirmation is due at 105
    assert analyzer.pose.calls == calls         # not posed on arrival
    assert not _confirmed(second, man)
    assert second.observations[0].staff_count == staff
    third = watch.step(image, 102.0)
    assert analyzer.pose.calls == calls and not _confirmed(third, man)
    due = watch.step(image, 105.0)              # the window's confirmation: posed and counted
    assert analyzer.pose.calls > calls and _confirmed(due, man)
    assert due.observations[0].staff_count == staff + 1
    calls = analyzer.pose.calls
    held = watch.step(image, 106.0)             # his verdict is held until the next confirmation
    assert analyzer.pose.calls == calls and _confirmed(held, man)
    assert held.observations[0].staff_count == staff + 1


def test_off_a_new_weak_box_beside_staff_is_posed_on_arrival(scene):
    analyzer, image, without, man, _ = scene
    watch = CameraWatch(parse_config(hall(WHOLE, waits=False)), "cam", analyzer)
    staff = watch.step(without, 100.0).observations[0].staff_count
    calls = analyzer.pose.calls
    second = watch.step(image, 101.0)
    assert analyzer.pose.calls > calls and _confirmed(second, man)
    assert second.observations[0].staff_count == staff + 1


def test_a_new_weak_box_in_a_window_that_counts_nobody_is_posed_at_once(scene):
    analyzer, image, without, man, _ = scene
    watch = CameraWatch(parse_config(hall(LEFT)), "cam", analyzer)
    first = watch.step(without, 100.0)
    assert first.observations[0].staff_count == 0
    calls = analyzer.pose.calls
    second = watch.step(image, 101.0)           # not due, but nobody else counts here: presence is not late
    assert analyzer.pose.calls > calls and _confirmed(second, man)
    assert second.observations[0].staff_count == 1


def _checked_at(step, box) -> bool:
    """A new pose judged the box at ``box``'s place this frame."""
    return any(box_iou(b, box) >= 0.8 and pose is not None for b, pose, _ in step.frame.weak_checked)


def test_a_new_doubtful_box_beside_a_counted_staff_member_waits_too(scene):
    analyzer, image, _, _, no_boy = scene
    boy = [d for d in analyzer.detector.detect(image, min_score=0.35) if d.label == "person" and d.box[2] < 200][0]
    watch = CameraWatch(parse_config(hall(WHOLE)), "cam", analyzer)
    assert watch.step(no_boy, 100.0).observations[0].staff_count >= 1
    calls = analyzer.pose.calls
    moved = image.copy()
    moved[:40, :120] = 255                      # he is a small box: this corner makes the detector look again
    second = watch.step(moved, 101.0)           # he (and the man his paint covered) come in
    assert analyzer.pose.calls == calls and not _checked_at(second, boy.box)
    moved[:40, :120] = 0
    due = watch.step(moved, 105.0)              # the window's confirmation
    assert analyzer.pose.calls > calls and _checked_at(due, boy.box)


def test_a_new_doubtful_box_in_a_window_that_counts_nobody_is_posed_at_once(scene):
    analyzer, image, _, man, no_boy = scene
    boy = [d for d in analyzer.detector.detect(image, min_score=0.35) if d.label == "person" and d.box[2] < 200][0]
    empty = no_boy.copy()
    x1, y1, x2, y2 = (int(v) for v in man)
    empty[y1:y2, x1:x2] = 128                  # the man is not there either: nobody counts
    watch = CameraWatch(parse_config(hall(LEFT_HALF)), "cam", analyzer)
    assert watch.step(empty, 100.0).observations[0].staff_count == 0
    calls = analyzer.pose.calls
    moved = image.copy()
    moved[:40, :120] = 255
    second = watch.step(moved, 101.0)
    assert analyzer.pose.calls > calls and _checked_at(second, boy.box)
