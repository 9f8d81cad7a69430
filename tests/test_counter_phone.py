"""Phone lying on the counter: a "cell phone" much bigger than a phone beside the counter is not one.

On the overhead office desks of the dev set the counter zoom took 17 of 120 laptops seen from above for
phones lying on the desk (docs/models.md, "Phone on the counter, session 5"); a phone is a small share of
any counter's length. Real photos, real detector: the astronaut's chest patch is such a false "phone"
when her torso is the counter.
"""

from __future__ import annotations

import json

import cv2
import pytest
import skimage.data

from vision.analysis.photo import analyze_image
from vision.config import Thresholds, single_window_config
from vision.observe.frame import observe_window
from vision.perception.classes import PHONE_LABELS
from vision.perception.load import load_analyzer


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer()


def _photo(tmp_path, name: str):
    path = tmp_path / f"{name}.png"
    cv2.imwrite(str(path), cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def astronaut(analyzer, tmp_path_factory):
    """scikit-image's astronaut with the whole photo as the counter: the zoom takes the patch on her chest
    for a "cell phone" (141 x 55 px, score about 0.37)."""
    path = _photo(tmp_path_factory.mktemp("astronaut"), "astronaut")
    return analyze_image(path, analyzer, None, None, (0, 0, 512, 512))


def _window(result, counter, th: Thresholds):
    h, w = result.image.shape[:2]
    config = single_window_config(w, h, counter)
    return observe_window(result.frame, config.cameras[0].windows[0], th, config.badge)


def _patch(result):
    found = [d for d in result.frame.objects if d.label in PHONE_LABELS and d.score >= 0.25 and d.width > 120]
    assert found, "the detector no longer takes the astronaut's chest patch for a phone: pick another photo"
    return found[0]


def test_a_phone_find_too_big_for_the_counter_is_not_a_phone_lying_there(astronaut):
    patch = _patch(astronaut)
    torso = (100, 200, 300, 330)                        # a 200 px counter around the patch only
    assert patch.box[0] >= 100 and patch.box[2] <= 300 and patch.box[1] >= 200 and patch.box[3] <= 330
    before = _window(astronaut, torso, Thresholds(counter_phone_max_share=1.0))
    assert before.phone_on_counter                      # without the limit: a phone on the counter
    now = _window(astronaut, torso, Thresholds())
    assert not now.phone_on_counter
    assert not [o for o in now.objects if o.on_counter and o.detection.label in PHONE_LABELS]
    json.dumps([o.to_json() for o in now.objects])   # plain JSON verdicts (analyze --json, the eval sheet)


def test_the_same_find_on_a_long_counter_still_lies_there(astronaut):
    # 141 px on a 512 px counter is 0.28 of it, under the limit (0.4): what it is, is the detector's
    # business; the size limit does not judge it
    patch = _patch(astronaut)
    window = astronaut.observations[0]
    assert window.phone_on_counter
    assert patch in [o.detection for o in window.objects if o.on_counter]
    json.dumps(astronaut.to_json())          # the verdicts stay plain JSON (analyze --json, the eval sheet)
