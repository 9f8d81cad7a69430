"""The presence pass on the int8 detector, the heavy looks (crop pass, counter zoom) on the float one
(models.presence_detector: auto, docs/performance.md section 12), on real photos. Not the default: with
int8 weak boxes the pose confirms false persons (tests/test_person_confirm.py fails on basketball1.png)."""

from __future__ import annotations

import cv2
import pytest

from vision.analysis.photo import analyze_image
from vision.config import ModelChoice
from vision.perception.pipeline import Analyzer

from .test_models_real_photos import BUS_PEOPLE, ZIDANE_PEOPLE, match


@pytest.fixture(scope="module")
def mixed():
    from vision.perception.load import load_analyzer
    return load_analyzer(ModelChoice(presence_detector="auto"))     # the mix (not the default: docs/performance.md §12)


def _scores(dets, label="person", floor=0.35):
    return sorted(round(d.score, 4) for d in dets if d.label == label and d.score >= floor)


def test_auto_is_int8_presence_and_float_heavy_looks(mixed):
    from vision.perception.load import load_analyzer, presence_detector_name
    assert mixed.presence.spec.name == "nanodet-int8" and mixed.detector.spec.name == "nanodet"
    assert mixed.presence is not mixed.detector
    manifest = ModelChoice().manifest
    # null: one session does every pass; a detector without an int8 twin keeps itself under auto
    assert presence_detector_name(ModelChoice(presence_detector=None), manifest) == "nanodet"
    assert presence_detector_name(ModelChoice(detector="nanodet-int8"), manifest) == "nanodet-int8"
    one = load_analyzer(ModelChoice(face=None, heads=[], pose=None))         # the default: one session
    assert ModelChoice().presence_detector is None and one.presence is one.detector


@pytest.mark.parametrize("photo, truth, count", [("bus.jpg", BUS_PEOPLE, (3, 5)), ("zidane.jpg", ZIDANE_PEOPLE, (1, 3))])
def test_presence_comes_from_the_int8_session_and_still_finds_the_people(mixed, media, photo, truth, count):
    path = media / "ultralytics" / photo
    image = cv2.imread(str(path))
    frame = mixed.analyze(image, person_min_score=0.35, read_faces=False)
    int8_persons, float_persons = mixed.presence.detect(image, min_score=0.2), mixed.detector.detect(image, min_score=0.2)
    assert _scores(frame.persons) == _scores(int8_persons)      # the persons are the int8 session's
    assert _scores(frame.persons) != _scores(float_persons)     # (the two sessions score them differently)
    res = analyze_image(path, mixed).to_json()
    assert count[0] <= len(res["persons"]) <= count[1]
    assert all(p is not None for p in match(res["persons"], truth, 0.6))


def test_the_counter_zoom_and_the_crop_pass_use_the_float_session(mixed, skimage_data):
    coffee = cv2.imread(str(skimage_data / "coffee.png"))
    counter = (0, 0, coffee.shape[1], coffee.shape[0])
    frame = mixed.analyze(coffee, zoom=[counter], read_faces=False)
    by_float = Analyzer(mixed.detector).zoom_counters(coffee, [counter])
    by_int8 = Analyzer(mixed.presence).zoom_counters(coffee, [counter])
    assert "cup" in {d.label for d in frame.zoomed}
    assert _scores(frame.zoomed, "cup", 0) == _scores(by_float, "cup", 0) != _scores(by_int8, "cup", 0)
    box = (150, 50, 450, 300)               # a person's box around the cup: its padded crop is the crop pass's
    finds = mixed.crop_finds(coffee, box)
    assert finds is not None and "cup" in {d.label for d in finds}
    assert _scores(finds, "cup", 0) == _scores(Analyzer(mixed.detector).crop_finds(coffee, box) or [], "cup", 0) \
        != _scores(Analyzer(mixed.presence).crop_finds(coffee, box) or [], "cup", 0)
