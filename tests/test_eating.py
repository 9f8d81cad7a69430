"""Eating or drinking judged at the face: the mouth stage on real photos, and the pure verdict.

Real photos from scikit-image: coffee.png (an espresso cup, no person) and astronaut.png (a face,
nothing at the mouth). The mouth stage is the backbone's own ImageNet classifier on the square around
the face (vision.perception.mouth); the verdict is vision.perception.eating.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_face_eyes import ASTRONAUT_FACE
from vision.analysis.photo import analyze_image
from vision.config import Thresholds
from vision.errors import ModelError
from vision.models.adapters import build
from vision.models.manifest import get_model
from vision.perception.detections import Detection, Face, Pose
from vision.perception.eating import food_at_mouth, held_sized, judge_at_face, mouth_point
from vision.perception.load import load_analyzer
from vision.perception.mouth import MouthReader, face_square, head_box

TH = Thresholds()


@pytest.fixture(scope="module")
def mouth():
    backbone = build(get_model("efficientnet-lite0", task="features"), 1)
    return MouthReader(get_model("lite0-mouth-objects", task="classify"), backbone)


def test_the_mouth_model_is_the_backbone_s_own_imagenet_layer():
    spec = get_model("lite0-mouth-objects", task="classify")      # sha256 of the committed file checked here
    assert (spec.family, spec.behaviour, spec.backbone, spec.license) == (
        "classifier", "object_at_mouth", "efficientnet-lite0", "Apache-2.0")
    assert spec.source["sha256"] == get_model("efficientnet-lite0", task="features").source["sha256"]


def test_a_real_cup_is_a_mouth_held_thing(mouth, skimage_data):
    coffee = cv2.imread(str(skimage_data / "coffee.png"))
    (p, top, p_top), = mouth.probabilities([coffee])
    assert p >= 0.5 and top in {"espresso", "cup", "coffee mug"}, (p, top)


def test_a_face_with_nothing_at_its_mouth_is_not(mouth, skimage_data):
    astronaut = cv2.imread(str(skimage_data / "astronaut.png"))
    x1, y1, x2, y2 = face_square(ASTRONAUT_FACE, 512, 512)
    (p, _, _), = mouth.probabilities([astronaut[y1:y2, x1:x2]])
    assert p < TH.mouth_object / 10


def test_the_analyzer_reads_the_mouth_with_the_face(skimage_data):
    result = analyze_image(skimage_data / "astronaut.png", load_analyzer())
    person = next(p for p in result.observations[0].persons if p.face is not None)
    reading = person.face.evidence["mouth"]
    assert reading["p"] < TH.mouth_object and not person.eating
    x1, y1, x2, y2 = reading["square"]
    fx1, fy1, fx2, fy2 = person.face.box
    assert x1 <= fx1 and x2 >= fx2 and y1 <= fy1 and y2 >= fy2          # the square holds the whole face
    sides = sorted(q["box"][2] - q["box"][0] for q in reading["squares"])
    face_w = max(fx2 - fx1, fy2 - fy1)
    assert len(sides) == 2 and abs(sides[0] - 2 * face_w) <= 2 and abs(sides[1] - 4 * face_w) <= 2
    assert reading["p"] == max(q["p"] for q in reading["squares"])
    assert "mouth" in result.timing_ms


def test_no_mouth_stage_without_a_face_stage(skimage_data):
    from vision.config import ModelChoice
    analyzer = load_analyzer(ModelChoice(face=None))
    assert analyzer.mouth is None
    result = analyze_image(skimage_data / "astronaut.png", analyzer)
    assert "mouth" not in result.timing_ms


def test_a_mouth_model_for_another_backbone_is_refused(mouth):
    spec = get_model("lite0-mouth-objects", task="classify")

    class Other:
        name, dim = "other-backbone", 1280

    with pytest.raises(ModelError, match="other-backbone"):
        MouthReader(spec, Other())


# ---------------------------------------------------------------- pure geometry and verdict

FACE = (100.0, 100.0, 160.0, 170.0)          # 60 px wide; the mouth at (130, 152.5)


@pytest.mark.parametrize("label, box, score, eating", [
    ("cup", (120, 150, 150, 190), 0.5, True),          # over the mouth
    ("bottle", (155, 150, 175, 200), 0.4, True),        # beside the chin, 25 px = 0.42 face widths
    ("cup", (200, 150, 230, 190), 0.5, False),          # 70 px away: 1.2 face widths
    ("cup", (120, 150, 150, 190), 0.2, False),          # too weak a detection
    ("cell phone", (120, 150, 150, 190), 0.9, False),   # not food or drink
    ("pizza", (0, 100, 400, 400), 0.9, False),          # a box far larger than the face: on the table
])
def test_food_at_mouth(label, box, score, eating):
    verdict = food_at_mouth(FACE, [Detection(label, score, box)], reach=TH.food_at_face, min_score=TH.object_score)
    assert verdict.eating is eating, verdict.evidence


PERSON = (40.0, 60.0, 240.0, 460.0)          # 400 px tall: a drink held up is at most 0.35 of it (140 px)


@pytest.mark.parametrize("box, held", [
    ((120, 150, 150, 190), True),       # a cup, 40 px: 0.1 of the person
    ((110, 120, 170, 255), True),       # a bottle, 135 px
    ((60, 100, 220, 400), False),       # 300 px: the person's own body taken for a "bottle"
    ((0, 0, 640, 480), False),
])
def test_a_drink_at_the_mouth_is_small_beside_the_person(box, held):
    det = Detection("bottle", 0.5, box)
    assert held_sized(det, PERSON, TH.mouth_food_max_share) is held
    assert held_sized(det, None, TH.mouth_food_max_share)             # no person box: any size
    verdict = food_at_mouth(FACE, [det], reach=TH.food_at_face, min_score=TH.object_score, max_size=100,
                            person=PERSON, max_share=TH.mouth_food_max_share)
    assert verdict.eating is held, verdict.evidence


def test_mouth_point_is_low_on_the_face():
    assert mouth_point(FACE) == (130.0, 152.5)


@pytest.mark.parametrize("mouth_p, objects, eating, reason", [
    (0.62, [], True, "a mouth-held thing around the face"),
    (0.05, [Detection("cup", 0.5, (120, 150, 150, 190))], True, "food or drink at the mouth"),
    (0.05, [], False, "no food or drink at the mouth"),
    (None, [], False, "no food or drink at the mouth"),
])
def test_judge_at_face(mouth_p, objects, eating, reason):
    evidence = {} if mouth_p is None else {"mouth": {"p": mouth_p, "top": "cup"}}
    verdict = judge_at_face(Face(FACE, 0.9, evidence=evidence), objects, TH)
    assert (verdict.eating, verdict.evidence["reason"]) == (eating, reason)


def test_face_square_reaches_the_hands_and_stays_in_the_frame():
    x1, y1, x2, y2 = face_square(FACE, 640, 480)
    assert x2 - x1 == y2 - y1 == 210                     # 3 x the face's longer side (70)
    assert y1 == 65 and (x1 + x2) / 2 == 130             # half a face above, centred on it
    assert face_square((600, 400, 640, 480), 640, 480)[2:] == (640, 480)    # shifted, not cut, at the corner
    assert face_square((0, 0, 4, 4), 10, 10) is None      # a frame too small to look at


def test_head_box_falls_back_to_the_pose_then_the_box():
    box = (0.0, 0.0, 200.0, 400.0)
    assert head_box(box, None, Face(FACE, 0.9)) == FACE
    kp = np.zeros((17, 3), np.float32)
    kp[1] = (90, 60, 0.9)
    kp[2] = (110, 60, 0.9)
    hb = head_box(box, Pose(kp), None)
    assert (hb[0] + hb[2]) / 2 == 100 and hb[2] - hb[0] == 50          # a quarter of the box at least
    assert head_box(box, None, None) == (50.0, 0.0, 150.0, 100.0)


@pytest.fixture(scope="module")
def astronaut(skimage_data):
    """The astronaut photo as the models see it: her person box, pose and face."""
    return analyze_image(skimage_data / "astronaut.png", load_analyzer())


def _eating_with(result, thing: Detection, **overrides) -> bool:
    """The analysed photo with ``thing`` added to what the detector found: does the window say eating?"""
    from dataclasses import replace

    from vision.config import single_window_config
    from vision.observe.frame import observe_camera

    frame = replace(result.frame, objects=[*result.frame.objects, thing])
    h, w = result.image.shape[:2]
    config = single_window_config(w, h, None)
    if overrides:
        config = config.model_copy(update={"defaults": config.defaults.model_copy(
            update={"thresholds": config.defaults.thresholds.model_copy(update=overrides)})})
    [obs] = observe_camera(frame, config, "image", result.image)
    return obs.eating


def test_on_a_real_photo_a_cup_at_the_mouth_is_eating_and_a_person_sized_bottle_is_not(astronaut):
    """The astronaut's person box is 494 px tall and her mouth about (225, 150): a cup there (60 px) is
    a drink held up; a 340 px "bottle" over her mouth and chest is the kind of box the detector puts on
    a person's own body in a small frame (the dev set's in-car frames, docs/models.md "Eating, session 7")."""
    [person] = astronaut.frame.persons
    assert max(person.width, person.height) > 480
    assert not _eating_with(astronaut, Detection("cup", 0.5, (400, 400, 450, 460)))     # far from the mouth
    assert _eating_with(astronaut, Detection("cup", 0.5, (200, 140, 250, 200)))
    body = Detection("bottle", 0.35, (150, 60, 330, 400))
    assert not _eating_with(astronaut, body)
    assert _eating_with(astronaut, body, mouth_food_max_share=1.0)        # without the limit: eating


HALL = """
cameras:
  - id: cam
    url: rtsp://127.0.0.1:1/x
    detect_on: frame
    windows:
      - id: w1
        staff_zone: [[0, 0], [1, 0], [1, 1], [0, 1]]
        counter: [[0, 0.97], [1, 0.97], [1, 1], [0, 1]]
models:
  face_every_s: 5
  counter_zoom_every_s: 0
"""


def test_live_the_mouth_is_read_with_the_face_and_held_between_reads(skimage_data):
    """Eating's dwell is 20 s: the mouth stage runs with the face stage (every face_every_s) and its
    reading stays with the face the person keeps until the next read."""
    from vision.config import parse_config
    from vision.runtime.watch import CameraWatch

    image = cv2.imread(str(skimage_data / "astronaut.png"))
    watch = CameraWatch(parse_config(HALL), "cam", load_analyzer())
    first = watch.step(image, 100.0)
    assert "mouth" in first.timing_ms
    [face] = [f for f in first.frame.faces if f is not None]
    reading = face.evidence["mouth"]
    between = watch.step(image, 102.0)
    assert "mouth" not in between.timing_ms and "face" not in between.timing_ms
    [held] = [f for f in between.frame.faces if f is not None]
    assert held.evidence["mouth"] == reading
    assert not between.observations[0].eating
    assert "mouth" not in watch.step(image, 105.0).timing_ms     # due, but nothing moved: the reading holds
    changed = image.copy()
    changed[400:, :120] = 255                                    # something moved at the window
    assert "mouth" in watch.step(changed, 106.0).timing_ms      # due again
