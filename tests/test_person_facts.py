"""A person's facts are judged once per frame; windows only decide who is in their zones."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_observe import seated_pose
from vision.config import BadgeProfile, Thresholds, parse_config
from vision.media.event_frame import frame_persons
from vision.observe.frame import observe_camera, observe_window
from vision.observe.observations import distinct
from vision.observe.person_facts import MisalignedFrame, frame_facts
from vision.perception.detections import Detection, Face, FrameDetections

W, H = 1000, 800
HALL = """
schedule: {hours: {mon-sun: ["00:00-24:00"]}}
cameras:
  - id: cam
    url: rtsp://192.0.2.1/x
    windows:
      - id: left
        staff_zone: [[0.0, 0.0], [0.5, 0.0], [0.5, 0.6], [0.0, 0.6]]
        counter:    [[0.0, 0.6], [0.5, 0.6], [0.5, 0.8], [0.0, 0.8]]
      - id: right
        staff_zone: [[0.5, 0.0], [1.0, 0.0], [1.0, 0.6], [0.5, 0.6]]
        counter:    [[0.5, 0.6], [1.0, 0.6], [1.0, 0.8], [0.5, 0.8]]
        thresholds: {phone_score: %s}
"""
LEFT, RIGHT = (130.0, 120.0, 370.0, 470.0), (630.0, 120.0, 870.0, 470.0)


def two_staff_frame() -> FrameDetections:
    """One staff member per window, each with a phone in the hand; a cup lies on the right counter."""
    left_pose = seated_pose(cx=250.0, wrist=((315, 450), (190, 450)))
    right_pose = seated_pose(cx=750.0, wrist=((815, 450), (690, 450)))
    objects = [Detection("cell phone", 0.4, (295.0, 430.0, 335.0, 470.0)),
               Detection("cell phone", 0.4, (795.0, 430.0, 835.0, 470.0)),
               Detection("cup", 0.7, (900.0, 580.0, 940.0, 620.0))]
    return FrameDetections(W, H, objects=objects, persons=[Detection("person", 0.9, LEFT), Detection("person", 0.8, RIGHT)],
                           poses=[left_pose, right_pose])


def test_each_window_sees_the_frame_persons_with_its_own_zones():
    config = parse_config(HALL % 0.25)
    frame = two_staff_frame()
    left, right = observe_camera(frame, config, "cam")
    assert [p.staff for p in left.persons] == [True, False] and [p.staff for p in right.persons] == [False, True]
    assert left.phone_in_use and right.phone_in_use
    # the same person in both views is the same frame person (by index), with the same facts
    assert [p.index for p in left.persons] == [p.index for p in right.persons] == [0, 1]
    assert [p.phone_in_hand for p in left.persons] == [p.phone_in_hand for p in right.persons] == [True, True]
    assert [o.on_counter for o in left.objects] == [False, False, False]
    assert [o.on_counter for o in right.objects] == [False, False, True]
    persons, objects = distinct([left, right])
    assert len(persons) == 2 and len(objects) == 3
    assert [fp.windows for fp in frame_persons([left, right])] == [("left",), ("right",)]
    # the verdicts are those of each window observed on its own
    for win, obs in zip(config.cameras[0].windows, (left, right)):
        alone = observe_window(frame, win, config.thresholds(win), config.badge)
        assert alone.to_json() == obs.to_json()
        assert [p.to_json() for p in alone.persons] == [p.to_json() for p in obs.persons]


def test_a_window_with_its_own_thresholds_gets_its_own_facts():
    config = parse_config(HALL % 0.5)      # the right window ignores phones scored under 0.5
    left, right = observe_camera(two_staff_frame(), config, "cam")
    assert left.phone_in_use and not right.phone_in_use
    assert [o.detection.label for o in right.objects] == ["cup"]


def test_two_persons_at_the_same_place_stay_two():
    """Identity is the frame index, not rounded coordinates: two detections with one box are two persons."""
    frame = FrameDetections(W, H, persons=[Detection("person", 0.9, LEFT), Detection("person", 0.7, LEFT)],
                            poses=[seated_pose(cx=250.0), None])
    obs = observe_camera(frame, parse_config(HALL % 0.25), "cam")
    persons, _ = distinct(obs)
    assert [p.index for p in persons] == [0, 1] and persons[1].pose is None


def test_badge_is_judged_once_per_frame_for_staff_only():
    image = np.full((H, W, 3), (90, 60, 40), np.uint8)
    image[290:330, 280:310] = 255                   # a white card on the left staff member's chest
    frame = two_staff_frame()
    facts = frame_facts(frame, Thresholds(), BadgeProfile(), image)
    assert all(p.badge is None and p.badge_evidence is None for p in facts.persons)   # not judged yet
    first = facts.badge_of(facts.persons[0])
    assert first[0] is True and facts.badge_of(facts.persons[0]) is not None
    assert facts.persons[1].badge_evidence is None   # nobody asked: the right person's chest was not looked at
    left, right = observe_camera(frame, parse_config(HALL % 0.25), "cam", image)
    assert left.persons[0].badge is True and left.persons[1].badge is None     # the right one is not staff here
    assert right.persons[1].badge is False and right.badge_missing is True


@pytest.mark.parametrize("change, message", [
    ({"poses": [None]}, "2 persons but 1 poses"),
    ({"faces": [Face((0, 0, 1, 1), 0.9)]}, "2 persons but 1 faces"),
    ({"head_scores": [{"asleep": 0.1}] * 3}, "2 persons but 3 head_scores"),
    ({"confirmed": [None]}, "2 persons but 1 confirmed"),
])
def test_per_person_lists_that_do_not_line_up_are_refused(change, message):
    frame = two_staff_frame()
    for name, value in change.items():
        setattr(frame, name, value)
    with pytest.raises(MisalignedFrame, match=message):
        observe_camera(frame, parse_config(HALL % 0.25), "cam")
    with pytest.raises(MisalignedFrame, match="belongs to"):
        frame_facts(frame, Thresholds(), BadgeProfile())
