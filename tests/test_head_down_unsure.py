"""Head down where MoveNet is unsure of the shoulders: a head lying sideways (on the arms, on the desk).

Real photos: a person's crop turned by 90 degrees lies in the picture as a sleeper's head and shoulders lie
on a desk, and MoveNet scores the shoulders under ``keypoint_score`` there. The unsure shoulder line
(``head_down_unsure_score``) then says head down; upright people whose shoulders are unsure stay head up.
Measured on the dev set in docs/models.md ("Dozing, session 5").
"""

from __future__ import annotations

import cv2
import pytest

from vision.analysis.photo import analyze_image
from vision.config import BadgeProfile, Thresholds, single_window_config
from vision.observe.person_facts import frame_facts

UNSURE = "eyes at the shoulder line, shoulders unsure"


def crop_to(tmp_path, photo, box, turn):
    img = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    x1, y1, x2, y2 = box
    crop = img[y1:y2, x1:x2]
    if turn is not None:
        crop = cv2.rotate(crop, turn)
    path = tmp_path / f"{photo.stem}-{x1}-{y1}-{turn}.png"
    cv2.imwrite(str(path), crop)
    return path


def reasons(result, th: Thresholds):
    facts = frame_facts(result.frame, th, BadgeProfile(), None)
    return [(p.evidence["head"]["reason"], p.head_down) for p in facts.persons]


@pytest.mark.parametrize("where, box", [
    ("ultralytics/zidane.jpg", (716, 43, 1152, 720)),     # Ancelotti, turned on his side
    ("skimage/camera.png", (3, 68, 318, 512)),             # the cameraman, turned on his side
])
def test_a_head_lying_sideways_is_head_down(analyzer, media, skimage_data, tmp_path, where, box):
    folder, name = where.split("/")
    photo = (skimage_data if folder == "skimage" else media / folder) / name
    result = analyze_image(crop_to(tmp_path, photo, box, cv2.ROTATE_90_CLOCKWISE), analyzer)
    got = reasons(result, Thresholds())
    assert (UNSURE, True) in got, got
    person = next(p for p in result.to_json()["persons"] if p["evidence"]["head"]["reason"] == UNSURE)
    assert person["head_down"] and result.to_json()["windows"][0]["head_down"]
    ev = person["evidence"]["head"]
    assert ev["eye_y"] >= ev["shoulder_y"] - Thresholds().head_down_drop * person["evidence"]["scale_px"]
    assert 0.10 <= min(ev["shoulder_scores"]) < 0.30            # one shoulder at least is unsure, none missing
    # switched off (the shoulders must reach keypoint_score again): the same pose is not head down
    off = reasons(result, Thresholds(head_down_unsure_score=0.3))
    assert (UNSURE, True) not in off and not any(down for _, down in off), off


@pytest.mark.parametrize("where, box", [
    ("ultralytics/zidane.jpg", (716, 43, 1152, 720)),     # upright, eyes open
    ("ultralytics/bus.jpg", (688, 402, 810, 877)),        # standing, shoulders unsure, head above them
    ("ultralytics/bus.jpg", (1, 568, 76, 867)),           # cut by the frame's edge, shoulders unsure
])
def test_upright_people_with_unsure_shoulders_stay_head_up(analyzer, media, tmp_path, where, box):
    folder, name = where.split("/")
    path = crop_to(tmp_path, media / folder / name, box, None)
    # the head is judged here, not presence: on the tight crop of the man cut by bus.jpg's right edge the detector
    # finds only a 0.37 box on his head (3 % of the crop) whose pose shows no head and shoulders, which the
    # doubtful-person check drops (tests/test_presence_check.py); it is switched off for this test
    config = single_window_config(box[2] - box[0], box[3] - box[1], None)
    config = config.model_copy(update={"defaults": config.defaults.model_copy(
        update={"thresholds": Thresholds(person_sure_score=Thresholds().person_score)})})
    result = analyze_image(path, analyzer, config)
    got = reasons(result, Thresholds())
    assert got and not any(down for _, down in got), got
