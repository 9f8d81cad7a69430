"""The counter zoom's turned looks: each counter tile is also shown to the detector turned 45 degrees each
way (models.counter_zoom_turns), so a phone lying at a slant is seen the way the detector knows phones.

Real photos, real detector. No photo that ships with the test dependencies shows a real phone; the
astronaut's chest patch is what the zoom takes for one (0.37) on scikit-image's photo, so that patch, turned
with the whole photo, stands in for a phone lying turned: the upright looks lose it, the turned looks find
it again where it now lies. The dev set's floors measure the gain on real phones (docs/models.md,
"Phone on the counter, session 6").
"""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import skimage.data

from vision.config import ModelChoice
from vision.perception.classes import PHONE_LABELS
from vision.perception.detections import Detection
from vision.perception.pipeline import AnalyzerPool
from vision.perception.turned_looks import CounterLook, boxes_back, turned_view
from vision.runtime.heavy_looks import HeavyLook, run_look

PATCH_CENTRE = (206, 263)        # the astronaut's chest patch, which the zoom takes for a phone


@pytest.mark.parametrize("degrees", [0, 45, 90, 180, 270, 315, 30])
@pytest.mark.parametrize("tile", [(40, 60, 340, 260), (100, 100, 400, 400)])
def test_a_mark_seen_in_a_turned_view_is_boxed_where_it_lies_in_the_frame(degrees, tile):
    frame = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)       # 600 x 400
    frame[120:130, 200:214] = (255, 0, 255)                             # a magenta mark, 14 x 10 px
    view, back = turned_view(frame, tile, degrees)
    w, h = tile[2] - tile[0], tile[3] - tile[1]
    assert view.shape[:2] == ((w, h) if degrees in (90, 270) else (h, w) if degrees % 90 == 0 else (max(w, h),) * 2)
    ys, xs = np.nonzero((view[..., 0] > 200) & (view[..., 1] < 60) & (view[..., 2] > 200))
    assert len(xs) >= 80                                                 # the mark is in the view, whole
    seen = Detection("cell phone", 0.9, (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
    (box,) = [d.box for d in boxes_back([seen], back, frame.shape[1], frame.shape[0])]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    assert abs(cx - 207) <= 1.5 and abs(cy - 125) <= 1.5, box
    if degrees % 90 == 0:                                                # a quarter turn is exact
        assert box == pytest.approx((200, 120, 214, 130), abs=0.01)
    else:            # the upright box around the view's upright box around the turned mark: 24 px at 45 degrees
        assert 14 <= box[2] - box[0] <= 26 and 10 <= box[3] - box[1] <= 26


def test_an_empty_tile_is_refused():
    with pytest.raises(ValueError, match="empty"):
        turned_view(np.zeros((50, 50, 3), np.uint8), (10, 10, 10, 40), 45)


@pytest.fixture(scope="module")
def turned_astronaut() -> np.ndarray:
    """scikit-image's astronaut turned 45 degrees clockwise about her chest patch."""
    image = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    turn = cv2.getRotationMatrix2D(PATCH_CENTRE, -45, 1.0)
    return cv2.warpAffine(image, turn, (512, 512), borderMode=cv2.BORDER_REPLICATE)


def _phones_at_the_patch(found: list[Detection], min_score: float) -> list[Detection]:
    return [d for d in found if d.label in PHONE_LABELS and d.score >= min_score
            and abs((d.box[0] + d.box[2]) / 2 - PATCH_CENTRE[0]) < 30
            and abs((d.box[1] + d.box[3]) / 2 - PATCH_CENTRE[1]) < 30]


def test_the_patch_the_zoom_takes_for_a_phone_upright(analyzer):
    image = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    upright = copy.copy(analyzer)
    upright.zoom_turns = ()
    assert _phones_at_the_patch(upright.zoom_counters(image, [(0, 0, 512, 512)]), 0.3)


def test_turned_45_degrees_only_the_turned_looks_find_it(analyzer, turned_astronaut):
    upright = copy.copy(analyzer)
    upright.zoom_turns = ()
    assert not _phones_at_the_patch(upright.zoom_counters(turned_astronaut, [(0, 0, 512, 512)]), 0.2)
    assert analyzer.zoom_turns == (45, 315)                             # the shipped default
    found = _phones_at_the_patch(analyzer.zoom_counters(turned_astronaut, [(0, 0, 512, 512)]), 0.3)
    assert found
    # boxed around the turned patch (about 140 x 55 px turned 45 degrees: about 140 px square), in the frame
    x1, y1, x2, y2 = found[0].box
    assert 120 <= x2 - x1 <= 170 and 120 <= y2 - y1 <= 170


def test_each_turn_is_one_more_pass_per_tile_and_none_turns_them_off(analyzer):
    looks = analyzer.counter_looks(np.zeros((512, 512, 3), np.uint8), (0, 0, 512, 512))
    tiles = sorted({look.tile for look in looks})
    assert len(tiles) == 4
    assert sorted(looks, key=lambda k: (k.tile, k.degrees)) == [CounterLook(t, d) for t in tiles for d in (0, 45, 315)]
    off = copy.copy(analyzer)
    off.zoom_turns = ()
    assert [k.degrees for k in off.counter_looks(np.zeros((512, 512, 3), np.uint8), (0, 0, 512, 512))] == [0] * 4


def test_the_setting_reaches_the_analyzer():
    from vision.perception.load import load_analyzer
    mine = load_analyzer(ModelChoice(counter_zoom_turns=[90], counter_zoom_turned_score=0.5, face=None,
                                     segmenter=None, heads=[]))
    assert mine.zoom_turns == (90,) and mine.zoom_turned_score == 0.5


def test_the_live_watch_finds_what_analyze_finds(analyzer, turned_astronaut):
    """The heavy-look queue (the live watch) makes the same passes and keeps the same finds as the eval."""
    got = []
    look = HeavyLook("cam", 0.0, turned_astronaut, crops=[], faces=[], counters=[("w1", (0, 0, 512, 512))],
                     stages={"counter_zoom": frozenset({"w1"})}, generation=0, deliver=got.append)
    finds = run_look(look, AnalyzerPool([analyzer]))
    live = finds.zoomed["w1"]
    assert _phones_at_the_patch(live, 0.3)
    assert sorted((d.label, d.box) for d in live) == sorted(
        (d.label, d.box) for d in analyzer.zoom_counters(turned_astronaut, [(0, 0, 512, 512)]))
