"""The bundled models on real photos: would fail if detection, decoding or pose were fake."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vision.analysis.photo import analyze_image
from vision.perception.detections import KP


def iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match(found: list[dict], truth: list[tuple], min_iou: float) -> list[dict]:
    """For each true box, the found box that overlaps it best; fails if any has too little overlap."""
    out = []
    for t in truth:
        best = max(found, key=lambda p: iou(p["box"], t))
        assert iou(best["box"], t) >= min_iou, f"nothing found at {t}; found {[p['box'] for p in found]}"
        out.append(best)
    return out


# People in the photos, boxes drawn by hand on the originals (x1, y1, x2, y2).
BUS_PEOPLE = [(50, 398, 245, 905), (222, 406, 345, 860), (668, 395, 810, 880)]
ZIDANE_PEOPLE = [(747, 41, 1141, 712)]


def test_bus_persons_and_keypoints(analyzer, media):
    res = analyze_image(media / "ultralytics" / "bus.jpg", analyzer).to_json()
    assert res["image"] == {"path": str(media / "ultralytics" / "bus.jpg"), "width": 810, "height": 1080}
    assert 3 <= len(res["persons"]) <= 5
    labels = {o["label"] for o in res["objects"]}
    assert "bus" in labels
    for person, truth in zip(match(res["persons"], BUS_PEOPLE, 0.6), BUS_PEOPLE):
        kp = np.array(person["keypoints"])
        assert kp.shape == (17, 3)
        x1, y1, x2, y2 = truth
        h = y2 - y1
        nose = kp[KP["nose"]]
        assert nose[2] > 0.2 and x1 <= nose[0] <= x2 and y1 <= nose[1] <= y1 + 0.2 * h, "nose not on this person's head"
        for name in ("left_shoulder", "right_shoulder"):
            x, y, s = kp[KP[name]]
            assert s > 0.3 and x1 - 10 <= x <= x2 + 10 and y1 + 0.1 * h <= y <= y1 + 0.35 * h
        for name in ("left_ankle", "right_ankle"):
            x, y, s = kp[KP[name]]
            assert y >= y1 + 0.75 * h, f"{name} not at this person's feet"
    assert res["timing_ms"]["detect"] > 0 and res["timing_ms"]["pose"] > 0


def test_zidane_two_people(analyzer, media):
    res = analyze_image(media / "ultralytics" / "zidane.jpg", analyzer).to_json()
    assert len([p for p in res["persons"] if p["score"] >= 0.5]) == 2
    right = match(res["persons"], ZIDANE_PEOPLE, 0.6)[0]
    nose = right["keypoints"][KP["nose"]]
    # Ancelotti's face is at about (990, 200)
    assert abs(nose[0] - 990) < 60 and abs(nose[1] - 200) < 60


def test_astronaut_and_coffee(analyzer, skimage_data):
    res = analyze_image(skimage_data / "astronaut.png", analyzer).to_json()
    assert len(res["persons"]) == 1 and res["persons"][0]["score"] > 0.5
    assert iou(res["persons"][0]["box"], (0, 0, 380, 512)) > 0.6
    nose = res["persons"][0]["keypoints"][KP["nose"]]
    assert 140 < nose[0] < 240 and 60 < nose[1] < 160 and nose[2] > 0.3  # her face

    res = analyze_image(skimage_data / "coffee.png", analyzer).to_json()
    assert res["persons"] == []
    cups = [o for o in res["objects"] if o["label"] == "cup"]
    assert cups and iou(cups[0]["box"], (90, 20, 520, 380)) > 0.4


def test_counter_box_marks_objects_on_counter(analyzer, skimage_data, tmp_path):
    # coffee.png: a cup on a saucer on a table; the table is the counter
    res = analyze_image(skimage_data / "coffee.png", analyzer, counter_px=(0, 0, 600, 400)).to_json()
    cup = [o for o in res["objects"] if o["label"] == "cup"][0]
    assert cup["on_counter"] is True
    res = analyze_image(skimage_data / "coffee.png", analyzer, counter_px=(0, 380, 600, 400)).to_json()
    cup = [o for o in res["objects"] if o["label"] == "cup"][0]
    assert cup["on_counter"] is False
    json.dumps(res)  # serialisable


def test_opencv_sample_messi(analyzer, media):
    res = analyze_image(media / "opencv" / "messi5.jpg", analyzer).to_json()
    best = max(res["persons"], key=lambda p: p["score"])
    assert best["score"] > 0.6
    assert iou(best["box"], (60, 65, 460, 335)) > 0.6
    assert any(o["label"] == "sports ball" for o in res["objects"])


def test_the_detector_takes_a_picture_at_its_own_aspect(analyzer, media):
    """The bundled NanoDet has a free input size (models/free_input_size.py): a tall crop of bus.jpg's man
    runs at 256 x 416 (its own aspect, the scale the square input gives its height, 38 % fewer pixels) and
    the man is found where the square input finds him. A file of static size refuses other sizes clearly."""
    import cv2

    from vision.errors import ModelError
    from vision.models.adapters import build
    from vision.models.manifest import DEFAULT_MANIFEST, get_model
    image = cv2.imread(str(media / "ultralytics" / "bus.jpg"))
    detector = analyzer.detector
    assert detector.free_size
    x1, y1, x2, y2 = 0, 330, 380, 960                          # around the man on the left
    size = detector.fit_size(x2 - x1, y2 - y1)
    assert size == (256, 416)
    crop = image[y1:y2, x1:x2]
    square = [d for d in detector.detect(crop, 0.3, origin=(x1, y1)) if d.label == "person"]
    fitted = [d for d in detector.detect(crop, 0.3, origin=(x1, y1), size=size) if d.label == "person"]
    man = BUS_PEOPLE[0]
    assert max(iou(d.box, man) for d in square) >= 0.7
    assert max(iou(d.box, man) for d in fitted) >= 0.7
    static = build(get_model("nanodet-int8", DEFAULT_MANIFEST, task="detect"), 1)
    assert not static.free_size and static.fit_size(380, 630) == (416, 416)
    with pytest.raises(ModelError, match="takes only 416 x 416"):
        static.detect(crop, 0.3, size=size)
