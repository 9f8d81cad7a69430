"""The pure observe step: scripted detections and poses in, per-window verdicts out."""

from __future__ import annotations

import numpy as np
import pytest

from vision.config import BadgeProfile, Thresholds, Window
from vision.observe.frame import head_down, observe_window
from vision.perception.detections import KP, Detection, FrameDetections, Pose

W, H = 1000, 800
TH = Thresholds()
WINDOW = Window(id="w1", staff_zone=[(0.0, 0.0), (1.0, 0.0), (1.0, 0.6), (0.0, 0.6)],
                counter=[(0.0, 0.6), (1.0, 0.6), (1.0, 0.8), (0.0, 0.8)],
                citizen_zone=[(0.0, 0.8), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0)])


def seated_pose(cx=500.0, shoulder_y=250.0, sw=160.0, *, wrist=None, eye_dy=-90.0, ear_dy=-85.0, face=True):
    """A frontal seated person: shoulders sw apart at shoulder_y, head above."""
    kp = np.zeros((17, 3), np.float32)
    def put(name, x, y, s=0.9):
        kp[KP[name]] = (x, y, s)
    if face:
        put("nose", cx, shoulder_y + eye_dy + 25)
        put("left_eye", cx + 20, shoulder_y + eye_dy)
        put("right_eye", cx - 20, shoulder_y + eye_dy)
        put("left_ear", cx + 45, shoulder_y + ear_dy)
        put("right_ear", cx - 45, shoulder_y + ear_dy)
    put("left_shoulder", cx + sw / 2, shoulder_y)
    put("right_shoulder", cx - sw / 2, shoulder_y)
    put("left_elbow", cx + sw / 2 + 10, shoulder_y + 110)
    put("right_elbow", cx - sw / 2 - 10, shoulder_y + 110)
    lw, rw = wrist or ((cx + 60, shoulder_y + 200), (cx - 60, shoulder_y + 200))
    put("left_wrist", *lw)
    put("right_wrist", *rw)
    put("left_hip", cx + 60, shoulder_y + 260, 0.5)
    put("right_hip", cx - 60, shoulder_y + 260, 0.5)
    return Pose(kp, 0.8)


def frame(persons, objects=()):
    return FrameDetections(W, H, objects=list(objects), persons=[p for p, _ in persons], poses=[q for _, q in persons])


STAFF_BOX = (380.0, 120.0, 620.0, 470.0)


def test_staff_by_zone_not_by_presence():
    citizen = Detection("person", 0.9, (400.0, 650.0, 600.0, 800.0))
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), seated_pose()), (citizen, None)]),
                         WINDOW, TH, BadgeProfile())
    assert obs.staff_count == 1 and obs.citizen_waiting
    assert [p.staff for p in obs.persons] == [True, False]
    assert obs.persons[0].evidence["staff_zone_overlap"] > 0.9
    empty = observe_window(frame([(citizen, None)]), WINDOW, TH, BadgeProfile())
    assert empty.staff_count == 0 and empty.badge_missing is None


@pytest.mark.parametrize("phone_box, wrist, on_counter, in_hand, at_ear", [
    ((700, 520, 740, 560), None, True, False, False),                          # lying on the counter
    ((545, 430, 585, 470), ((565, 450), (440, 450)), False, True, False),      # in the left hand
    ((530, 130, 570, 190), ((550, 165), (440, 450)), False, True, True),       # held at the ear
    ((700, 300, 740, 340), None, False, False, False),                         # in the staff zone, not on the counter
])
def test_phone_positions(phone_box, wrist, on_counter, in_hand, at_ear):
    phone = Detection("cell phone", 0.6, tuple(float(v) for v in phone_box))
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), seated_pose(wrist=wrist))], [phone]),
                         WINDOW, TH, BadgeProfile())
    assert obs.phone_on_counter is on_counter
    assert obs.persons[0].phone_in_hand is in_hand
    assert obs.phone_at_ear is at_ear
    assert obs.phone_in_use is (in_hand or at_ear)
    assert obs.objects[0].to_json()["on_counter"] is on_counter


def test_low_score_phone_is_ignored():
    phone = Detection("cell phone", 0.1, (700.0, 520.0, 740.0, 560.0))
    seated = (Detection("person", 0.9, STAFF_BOX), seated_pose())
    obs = observe_window(frame([seated], [phone]), WINDOW, TH, BadgeProfile())
    assert not obs.phone_on_counter and obs.objects == []


def test_cup_at_mouth_is_eating_cup_on_counter_is_not():
    at_mouth = Detection("cup", 0.7, (480.0, 185.0, 530.0, 235.0))
    seated = (Detection("person", 0.9, STAFF_BOX), seated_pose())
    obs = observe_window(frame([seated], [at_mouth]), WINDOW, TH, BadgeProfile())
    assert obs.eating and obs.persons[0].evidence["food_at_mouth"]["label"] == "cup"
    on_counter = Detection("cup", 0.7, (700.0, 520.0, 740.0, 560.0))
    obs = observe_window(frame([seated], [on_counter]), WINDOW, TH, BadgeProfile())
    assert not obs.eating


def test_eating_cues_below_their_score_cut_are_not_eating():
    seated = (Detection("person", 0.9, STAFF_BOX), seated_pose())
    cup = Detection("cup", 0.7, (480.0, 185.0, 530.0, 235.0))
    strict = TH.model_copy(update={"eating_cue_score": 0.8})
    obs = observe_window(frame([seated], [cup]), WINDOW, strict, BadgeProfile())
    assert not obs.eating and len(obs.objects) == 1          # still seen, not at the mouth for eating
    sipping = (Detection("person", 0.9, STAFF_BOX), seated_pose(wrist=((500, 205), (440, 450))))
    wrist_on = TH.model_copy(update={"wrist_at_mouth": 0.3})
    assert observe_window(frame([sipping]), WINDOW, wrist_on, BadgeProfile()).persons[0].evidence["wrist_at_mouth"]
    stricter = wrist_on.model_copy(update={"eating_cue_score": 0.95})   # the keypoints score 0.9
    assert not observe_window(frame([sipping]), WINDOW, stricter, BadgeProfile()).eating


def test_a_wrist_at_the_mouth_alone_is_not_eating_by_default():
    """The wrist cue is off by default (``wrist_at_mouth`` 0): on the dev set it made no right eating call
    and four wrong ones, a hand at the chin and phones at the ear."""
    sipping = (Detection("person", 0.9, STAFF_BOX), seated_pose(wrist=((500, 205), (440, 450))))
    obs = observe_window(frame([sipping]), WINDOW, TH, BadgeProfile())
    assert not obs.eating and "wrist_at_mouth" not in obs.persons[0].evidence


@pytest.mark.parametrize("eye_dy, ear_dy, face, expected", [
    (-90, -85, True, False),     # upright: eyes and ears level
    (-60, -95, True, False),     # pitched down, ears well above the eyes: reading looks the same
    (-5, -20, True, True),       # eyes sunk to the shoulder line (head on the counter)
    (0, 0, False, True),         # face hidden, nothing above the shoulders
])
def test_head_down(eye_dy, ear_dy, face, expected):
    pose = seated_pose(eye_dy=eye_dy, ear_dy=ear_dy, face=face)
    box = (380.0, 240.0 if not face else 120.0, 620.0, 470.0)
    down, why = head_down(pose, box, 160.0, TH)
    assert down is expected, why


def test_a_pitched_head_is_head_down_only_where_the_hall_asks():
    pose = seated_pose(eye_dy=-60, ear_dy=-95)
    box = (380.0, 120.0, 620.0, 470.0)
    assert head_down(pose, box, 160.0, TH) == (False, {"reason": "head pitched down (ears above eyes)",
                                                        "pitch": 0.219})
    down, why = head_down(pose, box, 160.0, TH.model_copy(update={"pitch_is_head_down": True}))
    assert down and why["reason"] == "head pitched down (ears above eyes)"


def test_badge_unknown_without_shoulders_and_when_chest_too_small():
    pose = seated_pose()
    pose.keypoints[KP["left_shoulder"], 2] = 0.05
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), pose)]), WINDOW, TH, BadgeProfile(),
                         image=np.zeros((H, W, 3), np.uint8))
    assert obs.persons[0].badge is None and obs.badge_missing is None
    tiny = seated_pose(sw=12.0)
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), tiny)]), WINDOW, TH, BadgeProfile(),
                         image=np.zeros((H, W, 3), np.uint8))
    assert obs.persons[0].badge is None and "too small" in obs.persons[0].evidence["badge"]["reason"]


def test_badge_by_colour_on_the_chest():
    image = np.full((H, W, 3), (90, 60, 40), np.uint8)       # dark blue jacket everywhere
    pose = seated_pose()
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), pose)]), WINDOW, TH, BadgeProfile(), image=image)
    assert obs.persons[0].badge is False and obs.badge_missing is True
    image[290:330, 530:560] = 255                             # a white card on the left chest
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), pose)]), WINDOW, TH, BadgeProfile(), image=image)
    assert obs.persons[0].badge is True and obs.badge_missing is False
    white_shirt = np.full((H, W, 3), 250, np.uint8)
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), pose)]), WINDOW, TH, BadgeProfile(),
                         image=white_shirt)
    assert obs.persons[0].badge is None                       # cannot tell a white card on a white shirt


def test_badge_class_from_a_custom_model():
    badge = Detection("badge", 0.8, (520.0, 280.0, 560.0, 330.0))
    obs = observe_window(frame([(Detection("person", 0.9, STAFF_BOX), seated_pose())], [badge]), WINDOW, TH,
                         BadgeProfile(), image=np.zeros((H, W, 3), np.uint8))
    assert obs.persons[0].badge is True


L_SHAPE = np.array([[0, 0], [400, 0], [400, 100], [100, 100], [100, 400], [0, 400]], np.float32)   # concave
SQUARE = np.array([[100, 100], [300, 100], [300, 300], [100, 300]], np.float32)


@pytest.mark.parametrize("box, poly, share", [
    ((120.0, 120.0, 280.0, 280.0), SQUARE, 1.0),          # inside
    ((400.0, 400.0, 500.0, 500.0), SQUARE, 0.0),          # outside
    ((200.0, 100.0, 400.0, 300.0), SQUARE, 0.5),          # half over the right edge
    ((0.0, 0.0, 400.0, 400.0), L_SHAPE, 63 / 144),        # the L: 3 rows and 3 columns of the 12 x 12 grid
    ((150.0, 150.0, 350.0, 350.0), L_SHAPE, 0.0),         # in the L's notch
    ((50.0, 50.0, 50.0, 90.0), SQUARE, 0.0),              # an empty box
])
def test_box_overlap_is_the_grid_share_inside_the_zone(box, poly, share):
    """The share of a box inside a zone, on a 12 x 12 grid: the same as the even-odd rule on each grid point."""
    from vision.perception.geometry import box_overlap, points_in_polygon
    assert box_overlap(box, poly) == pytest.approx(share)
    x1, y1, x2, y2 = box
    if x2 > x1 and y2 > y1:
        steps = np.arange(12) + 0.5
        gx, gy = np.meshgrid(x1 + steps * (x2 - x1) / 12, y1 + steps * (y2 - y1) / 12)
        assert box_overlap(box, poly) == float(points_in_polygon(np.stack([gx.ravel(), gy.ravel()], 1), poly).mean())
