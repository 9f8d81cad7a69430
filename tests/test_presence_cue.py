"""Person pixels, the second presence signal: where the detector found nobody, a weak person box made of
person pixels (the selfie segmentation model) is a person; weak boxes on an empty street are not.

Real photos from scikit-image: astronaut.png shrunk to 64 px (NanoDet scores her under the person bar,
the pose and the face stage cannot confirm her), motorcycle_left.png (a street with no one, where
NanoDet still gives weak person boxes), coffee.png (a background); ultralytics zidane.jpg (staffed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from vision.analysis.photo import analyze_image
from vision.config import ModelChoice
from vision.perception.detections import Detection
from vision.perception.load import load_analyzer
from vision.perception.presence_cue import PERSON_PIXELS, PixelCue, read_boxes

MEDIA = Path(__file__).resolve().parent.parent / ".cache" / "media"


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer()


@pytest.fixture(scope="module")
def without_pixels():
    return load_analyzer(ModelChoice(segmenter=None))


def _tiny_astronaut() -> np.ndarray:
    return cv2.resize(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR), (64, 64))   # cv2.resize: bilinear


def _street() -> np.ndarray:
    return cv2.cvtColor(skimage.data.stereo_motorcycle()[0], cv2.COLOR_RGB2BGR)


def test_a_person_the_detector_scores_low_counts_by_her_person_pixels(analyzer, without_pixels):
    image = _tiny_astronaut()
    plain = without_pixels.analyze(image, person_min_score=0.35, confirm_min_score=0.15)
    assert plain.persons == []                                         # the detector alone: nobody
    frame = analyzer.analyze(image, person_min_score=0.35, confirm_min_score=0.15)
    assert frame.persons and all(why == PERSON_PIXELS for why in frame.confirmed)
    assert all(0.1 <= p.score < 0.35 for p in frame.persons)
    assert "segment" in frame.timing_ms
    # her box is mostly person pixels
    mask = analyzer.pixels.segmenter.person_mask(image)
    [reading] = read_boxes(mask, (0, 0, 64, 64), frame.persons[:1])
    assert reading.person and reading.box_share >= 0.5


def test_the_window_says_it_is_staffed_by_person_pixels(analyzer, tmp_path):
    path = tmp_path / "astronaut-64.png"
    cv2.imwrite(str(path), _tiny_astronaut())
    window = analyze_image(path, analyzer).to_json()["windows"][0]
    assert window["staff_present"] and window["staff_seen_by"] == [PERSON_PIXELS]
    staffed = analyze_image(MEDIA / "ultralytics" / "zidane.jpg", analyzer)
    assert staffed.to_json()["windows"][0]["staff_seen_by"] == ["detector"]
    assert "segment" not in staffed.timing_ms                           # somebody found: the cue does not run


def test_weak_boxes_on_an_empty_street_are_not_persons(analyzer):
    image = _street()
    weak = [d for d in analyzer.presence.detect(image, min_score=0.1) if d.label == "person"]
    assert weak                                                        # the detector does give weak boxes here
    readings = analyzer.pixels.read(image, None, weak)
    assert readings and not any(r.person for r in readings)
    assert max(r.box_share for r in readings) < PixelCue().min_box_share
    frame = analyzer.analyze(image, person_min_score=0.35, confirm_min_score=0.15)
    assert frame.persons == []


def test_in_a_zone_of_a_larger_frame(analyzer):
    """The live path reads the windows' zones (``region``) and keeps persons in focus: the tiny astronaut
    pasted on coffee.png is found in frame pixels; a focus that excludes her finds nobody."""
    frame = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)
    frame[200:264, 300:364] = _tiny_astronaut()
    region = (300, 200, 364, 264)
    found = analyzer.analyze(frame, person_min_score=0.35, confirm_min_score=0.15, region=region,
                             focus=lambda d: d.box[0] >= 290)
    assert found.persons and all(why == PERSON_PIXELS for why in found.confirmed)
    x1, y1, x2, y2 = found.persons[0].box
    assert 290 <= x1 < x2 <= 370 and 190 <= y1 < y2 <= 270
    nobody = analyzer.analyze(frame, person_min_score=0.35, confirm_min_score=0.15, region=region,
                              focus=lambda d: d.box[0] < 100)
    assert nobody.persons == []


def test_the_cuts_on_a_real_mask():
    """``read_boxes`` on the segmenter's mask of the tiny astronaut: a box on her passes, a box in the
    corner of the sky does not, and a box the detector scores under ``min_score`` does not either."""
    spec_choice = load_analyzer(ModelChoice(heads=[], face=None, mouth=None))
    mask = spec_choice.pixels.segmenter.person_mask(_tiny_astronaut())
    on_her = Detection("person", 0.2, (16.0, 8.0, 48.0, 64.0))
    corner = Detection("person", 0.2, (0.0, 0.0, 8.0, 8.0))
    too_weak = Detection("person", 0.05, (16.0, 8.0, 48.0, 64.0))
    her, sky, weak = read_boxes(mask, (0, 0, 64, 64), [on_her, corner, too_weak])
    assert her.person and her.box_share > 0.4 and her.view_share > 0.1
    assert not sky.person and sky.box_share < 0.2
    assert not weak.person and weak.box_share == her.box_share


def test_null_switches_it_off(without_pixels):
    assert without_pixels.pixels is None


def test_bench_prints_its_cost():
    from hallmonitor.photo_bench import format_stage_table, stage_bench
    result = stage_bench([MEDIA / "ultralytics" / "bus.jpg"], repeats=1)
    assert len(result["segment_when_run"]) == 1 and result["segment_when_run"][0] > 0
    assert "person pixels (`segment`, only on a view where nobody is found)" in format_stage_table(result)
