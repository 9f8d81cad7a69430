"""The presence pass on the int8 detector, the heavy looks (crop pass, counter zoom) on the float one
(models.presence_detector: auto, an option, docs/performance.md sections 12 and 13), on real photos; the weak
persons the pose confirms come from the float one (int8's scores under the person bar are not float's)."""

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
    return load_analyzer(ModelChoice(presence_detector="auto"))     # the mix (not the default: docs/performance.md §13)


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


class CountingDetector:
    """The real float NanoDet, counting its passes."""

    def __init__(self, detector):
        self.detector, self.calls = detector, 0
        self.spec, self.timing = detector.spec, detector.timing

    def detect(self, image, **kw):
        self.calls += 1
        return self.detector.detect(image, **kw)


def test_the_weak_persons_the_pose_confirms_are_the_float_detectors(media):
    """basketball1.png: int8 scores a body-wide box between the two players 0.23 (float: under 0.1), and the
    pose on it finds the right player's head and shoulders. Under auto a weak box the pose confirms counts only as
    the float detector's box at the same place: float has none there, so only the man on the left is confirmed
    (in float's box, as with float alone); the box is held as not backed, and the next look with the verdicts
    held needs no float pass."""
    from vision.perception.geometry import box_iou
    from vision.perception.load import load_analyzer
    mixed = load_analyzer(ModelChoice(presence_detector="auto", face=None, heads=[]), crop_pass=False)
    image = cv2.imread(str(media / "opencv" / "basketball1.png"))
    straddling = [d for d in mixed.presence.detect(image, min_score=0.15)
                  if d.label == "person" and d.score < 0.35 and d.width > 300]
    assert straddling                                                   # int8's weak body-wide box is there
    floated = load_analyzer(ModelChoice(presence_detector=None, face=None, heads=[]))
    alone = floated.analyze(image, person_min_score=0.35, confirm_min_score=0.15)
    mixed.detector = counting = CountingDetector(mixed.detector)
    first = mixed.analyze(image, person_min_score=0.35, confirm_min_score=0.15)
    assert counting.calls == 1                          # one float look for the weak persons the pose confirms
    confirmed = [p.box for p, why in zip(first.persons, first.confirmed) if why]
    assert confirmed == [p.box for p, why in zip(alone.persons, alone.confirmed) if why] and len(confirmed) == 1
    assert not any(box_iou(b, straddling[0].box) >= 0.5 for b in confirmed)
    assert any(box_iou(b, straddling[0].box) >= 0.5 and pose is None and not ok for b, pose, ok in first.weak_checked)
    second = mixed.analyze(image, person_min_score=0.35, confirm_min_score=0.15, confirm_held=first.weak_checked)
    assert counting.calls == 1                                          # every weak box held: no float pass
    assert [why for why in second.confirmed if why] == [why for why in first.confirmed if why]
