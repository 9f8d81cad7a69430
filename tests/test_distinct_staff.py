"""The staff count counts distinct people: a second box on one person (a box on the same head, a headless
box mostly inside the person, a hand held up beside the face, person-pixel boxes on one blob) counts once,
and keeps its place among the persons; two people count two. Real photos from scikit-image and .cache/media,
then scripted boxes for each rule and the extra_person timeline."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest

from vision.analysis.photo import analyze_image
from vision.config import BadgeProfile, Rules, Schedule, Thresholds, Window
from vision.observe.distinct_staff import A_PART, PIXELS_ONCE, SAME_HEAD
from vision.observe.frame import observe_window
from vision.perception.detections import KP, Detection, Face, FrameDetections, Pose
from vision.perception.load import load_analyzer
from vision.perception.presence_cue import PERSON_PIXELS
from vision.rules import WindowRules

MEDIA = Path(__file__).resolve().parent.parent / ".cache" / "media"


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer()


def _photo(tmp_path: Path, image: np.ndarray, name: str) -> Path:
    path = tmp_path / name
    assert cv2.imwrite(str(path), np.ascontiguousarray(image))
    return path


def test_a_one_person_close_up_counts_one(analyzer, tmp_path):
    """scikit-image's astronaut, mirrored: the detector gives her a second box on the flag beside her
    shoulder (no head of its own, nearly all inside her box). She counts once; the box stays a person."""
    import skimage.data
    image = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)[:, ::-1]
    res = analyze_image(_photo(tmp_path, image, "astronaut-mirrored.png"), analyzer)
    [obs] = res.observations
    staff = [p for p in obs.persons if p.staff]
    assert len(staff) == 2 and obs.staff_count == 1
    [part] = [p for p in staff if "same_person_as" in p.evidence]
    assert part.evidence["same_person_as"]["why"] == A_PART and part.face is None
    [her] = [p for p in staff if p is not part]
    assert part.evidence["same_person_as"]["person"] == her.index and her.face is not None
    assert obs.to_json()["staff_count"] == 1


def test_two_people_side_by_side_count_two(analyzer):
    """zidane.jpg: two men, one box reaching across both; each has his own face. basketball1.png: two
    players, one found only by his pose."""
    for name, people in (("ultralytics/zidane.jpg", 2), ("opencv/basketball1.png", 2)):
        [obs] = analyze_image(MEDIA / name, analyzer).observations
        assert obs.staff_count == people == len([p for p in obs.persons if p.staff]), name


def test_a_person_partly_hidden_at_the_edge_still_counts(analyzer, tmp_path):
    """A crop of bus.jpg: the man in front and, at the left edge behind him, a person seen as a sliver
    (no head in view). The sliver is small beside him, so it is not his hand: two people."""
    image = cv2.imread(str(MEDIA / "ultralytics" / "bus.jpg"))[380:900, 30:250]
    [obs] = analyze_image(_photo(tmp_path, image, "bus-left.png"), analyzer).observations
    assert obs.staff_count == 2


# ---------------------------------------------------------------- scripted boxes, one rule each

W, H = 640, 480
WINDOW = Window(id="w1", staff_zone=[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)],
                counter=[(0.0, 0.9), (1.0, 0.9), (1.0, 1.0), (0.0, 1.0)])


def pose_with_head(x: float, y: float, score: float = 0.8) -> Pose:
    kp = np.zeros((17, 3), np.float32)
    for name, dx, dy in (("nose", 0, 10), ("left_eye", 12, 0), ("right_eye", -12, 0),
                         ("left_ear", 28, 5), ("right_ear", -28, 5)):
        kp[KP[name]] = (x + dx, y + dy, score)
    kp[KP["left_shoulder"]] = (x + 70, y + 90, score)
    kp[KP["right_shoulder"]] = (x - 70, y + 90, score)
    return Pose(kp, score)


def headless_pose() -> Pose:
    return Pose(np.zeros((17, 3), np.float32), 0.1)


def observe(persons, th: Thresholds | None = None):
    """persons: (box, score, pose, face box or None, confirmed_by or None)."""
    frame = FrameDetections(W, H, persons=[Detection("person", s, b) for b, s, _, _, _ in persons],
                            poses=[p for _, _, p, _, _ in persons],
                            faces=[Face(f, 0.9) if f else None for _, _, _, f, _ in persons],
                            confirmed=[c for *_, c in persons])
    return observe_window(frame, WINDOW, th or Thresholds(), BadgeProfile())


PERSON = ((200.0, 100.0, 440.0, 480.0), 0.8, pose_with_head(320, 170), (290.0, 140.0, 350.0, 200.0), None)


def test_a_weak_box_confirmed_on_the_counted_head_is_the_same_person():
    weak = ((250.0, 120.0, 400.0, 300.0), 0.2, pose_with_head(322, 172), None, "head and shoulders in the pose")
    obs = observe([PERSON, weak])
    assert obs.staff_count == 1 and len(obs.persons) == 2
    assert obs.persons[1].evidence["same_person_as"]["why"] == SAME_HEAD


def test_two_heads_side_by_side_are_two_people_though_their_boxes_overlap():
    other = ((380.0, 90.0, 620.0, 480.0), 0.7, pose_with_head(500, 160), None, None)
    obs = observe([PERSON, other])
    assert obs.staff_count == 2 and not any("same_person_as" in p.evidence for p in obs.persons)


@pytest.mark.parametrize("box, count", [
    ((30.0, 150.0, 300.0, 480.0), 1),      # a hand held up to the lens beside her face: big, 37 % inside her box
    ((150.0, 250.0, 230.0, 480.0), 2),     # a sliver at her side (a person behind her): 38 % inside, small
    ((220.0, 300.0, 330.0, 470.0), 1),     # an arm wholly inside her box, no head of its own
])
def test_a_headless_box_is_a_part_of_the_person_when_inside_her_or_big_beside_her_face(box, count):
    obs = observe([PERSON, (box, 0.7, headless_pose(), None, None)])
    assert obs.staff_count == count and len([p for p in obs.persons if p.staff]) == 2


def test_person_pixel_boxes_count_once_unless_their_heads_differ():
    a = ((100.0, 100.0, 330.0, 480.0), 0.3, headless_pose(), None, PERSON_PIXELS)
    b = ((300.0, 80.0, 560.0, 480.0), 0.2, headless_pose(), None, PERSON_PIXELS)
    obs = observe([a, b])
    assert obs.staff_count == 1 and obs.persons[1].evidence["same_person_as"]["why"] == PIXELS_ONCE
    two = observe([(a[0], 0.3, pose_with_head(200, 170), None, PERSON_PIXELS),
                   (b[0], 0.2, pose_with_head(450, 160), None, PERSON_PIXELS)])
    assert two.staff_count == 2


def test_the_switch_counts_every_box():
    weak = ((250.0, 120.0, 400.0, 300.0), 0.2, pose_with_head(322, 172), None, "head and shoulders in the pose")
    assert observe([PERSON, weak], Thresholds(distinct_staff=False)).staff_count == 2


def test_no_extra_person_alert_for_one_person_with_a_hand_at_the_lens():
    """The timeline: 130 s of one person with her hand held up beside her face never raises extra_person
    (it needs 120 s); a second person beside her does."""
    hand = ((30.0, 150.0, 300.0, 480.0), 0.75, headless_pose(), None, None)
    other = ((380.0, 90.0, 620.0, 480.0), 0.7, pose_with_head(500, 160), None, None)
    t0 = datetime(2026, 11, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()   # a Monday, in service hours

    def started(persons) -> bool:
        wr = WindowRules("cam1", "w1", Rules(), Schedule(), staff=1)
        events = []
        for i in range(131):
            events += wr.update(observe(persons), t0 + i)
        return any(e.type == "extra_person" and e.phase == "started" for e in events)

    assert not started([PERSON, hand])
    assert started([PERSON, other])
