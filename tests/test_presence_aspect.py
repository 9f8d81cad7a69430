"""The presence pass at its rectangle's own aspect (models.presence_max_stretch, docs/performance.md section 17):
a wide zone runs at fewer pixels than the square and still finds the people, on real footage and photos."""

from __future__ import annotations

import copy

import cv2
import pytest

from tests.test_models_real_photos import BUS_PEOPLE, iou

# the live bench's two windows on vtest.avi at 720p: the bounding rectangle of their zones, padded
# (CameraWatch._region), and the three people walking in it on the clip's first frame, boxed by hand
WALKWAY_REGION = (0, 86, 1280, 525)
WALKERS = [(422, 274, 470, 384), (834, 196, 882, 291), (1066, 299, 1141, 402)]


@pytest.fixture(scope="module")
def walkway(media):
    cap = cv2.VideoCapture(str(media / "opencv" / "vtest.avi"))
    ok, image = cap.read()
    cap.release()
    assert ok
    return cv2.resize(image, (1280, 720))


def stretched(analyzer, stretch: float | None):
    """The shared Analyzer with another presence_stretch (the same sessions), and no crop pass: the detector's
    last input is the presence pass's."""
    out = copy.copy(analyzer)
    out.presence_stretch = stretch
    out.crop_pass = False
    return out


def persons_at(analyzer, image, region=None) -> list:
    return analyzer.analyze(image, region=region).persons


@pytest.mark.parametrize("stretch,size", [(1.0, (416, 160)), (2.0, (416, 288)), (None, (416, 416))])
def test_a_wide_zone_runs_at_its_own_aspect_and_finds_the_walkers(analyzer, walkway, stretch, size):
    """The 1280 x 439 rectangle of the bench's zones: at its own aspect 416 x 160 (38 % of the square's pixels),
    at most twice stretched 416 x 288; each walker is found where he walks."""
    a = stretched(analyzer, stretch)
    found = persons_at(a, walkway, WALKWAY_REGION)
    assert a.presence.input_size == size
    if stretch is None:
        return                 # the square: today's input (it misses the man on the left, at 0.79 at 416 x 160)
    for walker in WALKERS:
        assert max(iou(p.box, walker) for p in found) >= 0.6, f"nobody at {walker}: {[p.box for p in found]}"


def test_a_wide_strip_of_bus_jpg_finds_its_three_people(analyzer, media):
    image = cv2.imread(str(media / "ultralytics" / "bus.jpg"))
    region = (0, 380, 810, 920)                          # 810 x 540: the three people from the knees up
    a = stretched(analyzer, 1.0)
    found = persons_at(a, image, region)
    assert a.presence.input_size == (416, 288)
    for x1, y1, x2, y2 in BUS_PEOPLE:
        inside = (x1, max(y1, region[1]), x2, min(y2, region[3]))
        assert max(iou(p.box, inside) for p in found) >= 0.6, f"nobody at {inside}: {[p.box for p in found]}"


def test_a_photo_runs_at_its_own_aspect_within_the_stretch(analyzer, media):
    """A photo (no zones: the frame pass): bus.jpg, 810 x 1080, at its own aspect runs at 320 x 416 and finds the
    man on the left at the bar; stretched at most 1.5 times, a 3:4 photo is within the stretch and keeps the
    square (the detector was trained on photos stretched to it), where it finds all three."""
    image = cv2.imread(str(media / "ultralytics" / "bus.jpg"))
    a = stretched(analyzer, 1.0)
    found = persons_at(a, image)
    assert a.presence.input_size == (320, 416)
    assert max(iou(p.box, BUS_PEOPLE[0]) for p in found) >= 0.7
    a = stretched(analyzer, 1.5)
    found = persons_at(a, image)
    assert a.presence.input_size == (416, 416)
    for person in BUS_PEOPLE:
        assert max(iou(p.box, person) for p in found) >= 0.6


def test_a_static_detector_keeps_its_square(analyzer, walkway):
    """nanodet-int8 is a static file: with a stretch set, the presence pass still runs it at 416 x 416."""
    from vision.models.adapters import build
    from vision.models.manifest import DEFAULT_MANIFEST, get_model
    a = stretched(analyzer, 1.0)
    a.presence = build(get_model("nanodet-int8", DEFAULT_MANIFEST, task="detect"), 1)
    found = persons_at(a, walkway, WALKWAY_REGION)
    assert a.presence.input_size == (416, 416)
    assert found


def test_the_setting_loads_and_refuses_a_shrink(tmp_path):
    from pydantic import ValidationError

    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer
    with pytest.raises(ValidationError, match="presence_max_stretch"):
        ModelChoice(presence_max_stretch=0.5)
    a = load_analyzer(ModelChoice(presence_max_stretch=1.5, pose=None, heads=[], face=None, segmenter=None))
    assert a.presence_stretch == 1.5
    assert a.presence.fit_size(1280, 439, a.presence_stretch) == (416, 224)


def test_the_shipped_presence_pass_runs_the_walkway_at_416_by_224(analyzer, walkway):
    """The default (models.presence_max_stretch 1.5, also in the shipped cameras.yaml): the bench's zones at
    416 x 224, 54 % of the square's pixels."""
    from pathlib import Path

    from vision.config import load_config
    shipped = load_config(Path(__file__).resolve().parents[1] / "cameras.yaml")
    assert shipped.models.presence_max_stretch == analyzer.presence_stretch == 1.5
    a = stretched(analyzer, analyzer.presence_stretch)
    persons_at(a, walkway, WALKWAY_REGION)
    assert a.presence.input_size == (416, 224)
