"""The int8 NanoDet (models/nanodet-int8.onnx, made by models/quantize.py) on the same real photos as the
float model: the facts of tests/test_models_real_photos.py (persons where they are, the cup in coffee.png)
must hold for it too, loaded through the normal manifest path."""

from __future__ import annotations

import pytest

from vision.analysis.photo import analyze_image
from vision.config import ModelChoice
from vision.models.manifest import get_model
from vision.perception.detections import KP

from .test_models_real_photos import BUS_PEOPLE, ZIDANE_PEOPLE, iou, match


@pytest.fixture(scope="module")
def int8_analyzer():
    from vision.perception.load import load_analyzer
    return load_analyzer(ModelChoice(detector="nanodet-int8"))


def test_manifest_entry_matches_float_nanodet():
    q, f = get_model("nanodet-int8", task="detect"), get_model("nanodet", task="detect")  # checks the sha256
    assert q.family == f.family == "nanodet"
    assert (q.input, q.decode, q.labels, q.source) == (f.input, f.decode, f.labels, f.source)
    assert q.file.stat().st_size < f.file.stat().st_size / 3  # int8 weights


def test_int8_bus_persons(int8_analyzer, media):
    res = analyze_image(media / "ultralytics" / "bus.jpg", int8_analyzer).to_json()
    assert 3 <= len(res["persons"]) <= 5
    assert "bus" in {o["label"] for o in res["objects"]}
    for person, truth in zip(match(res["persons"], BUS_PEOPLE, 0.6), BUS_PEOPLE):
        x1, y1, x2, y2 = truth
        nose = person["keypoints"][KP["nose"]]
        assert nose[2] > 0.2 and x1 <= nose[0] <= x2 and y1 <= nose[1] <= y1 + 0.2 * (y2 - y1)


def test_int8_zidane_two_people(int8_analyzer, media):
    res = analyze_image(media / "ultralytics" / "zidane.jpg", int8_analyzer).to_json()
    assert len([p for p in res["persons"] if p["score"] >= 0.5]) == 2
    right = match(res["persons"], ZIDANE_PEOPLE, 0.6)[0]
    nose = right["keypoints"][KP["nose"]]
    assert abs(nose[0] - 990) < 60 and abs(nose[1] - 200) < 60


def test_int8_astronaut_and_coffee(int8_analyzer, skimage_data):
    res = analyze_image(skimage_data / "astronaut.png", int8_analyzer).to_json()
    assert len(res["persons"]) == 1 and res["persons"][0]["score"] > 0.5
    assert iou(res["persons"][0]["box"], (0, 0, 380, 512)) > 0.6
    nose = res["persons"][0]["keypoints"][KP["nose"]]
    assert 140 < nose[0] < 240 and 60 < nose[1] < 160 and nose[2] > 0.3

    res = analyze_image(skimage_data / "coffee.png", int8_analyzer).to_json()
    assert res["persons"] == []
    cups = [o for o in res["objects"] if o["label"] == "cup"]
    assert cups and iou(cups[0]["box"], (90, 20, 520, 380)) > 0.4


def test_int8_persons_agree_with_float(int8_analyzer, analyzer, media, skimage_data):
    """Detector alone: every person the float model finds at >= 0.3 is found by int8 (same place, IoU >= 0.5,
    score within 0.1)."""
    import cv2

    for path in (media / "ultralytics" / "bus.jpg", media / "ultralytics" / "zidane.jpg",
                 skimage_data / "astronaut.png"):
        img = cv2.imread(str(path))
        ref = [d for d in analyzer.detector.detect(img, min_score=0.3) if d.label == "person"]
        got = [d for d in int8_analyzer.detector.detect(img, min_score=0.25) if d.label == "person"]
        assert ref, path
        for r in ref:
            best = max(got, key=lambda d: iou(d.box, r.box))
            assert iou(best.box, r.box) >= 0.5, f"{path.name}: float person {r.box} not found by int8"
            assert abs(best.score - r.score) < 0.1, f"{path.name}: score {best.score:.2f} vs float {r.score:.2f}"
