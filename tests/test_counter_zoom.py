"""Counter zoom: tiles of the detector's input size over the counter find small things lying
there that the squeezed full frame misses, and nothing on an empty floor."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from vision.config import parse_config
from vision.perception.load import load_analyzer
from vision.perception.zoom import counter_tiles
from vision.runtime.watch import CameraWatch

MEDIA = Path(__file__).resolve().parent.parent / ".cache" / "media"


@pytest.mark.parametrize("rect, tile, max_tiles, frame, expect_n, expect_min_side", [
    ((100, 100, 200, 150), 416, 4, (1920, 1080), 1, 416),     # small counter: one native-size tile
    ((0, 700, 1920, 1080), 416, 4, (1920, 1080), 4, 380),     # wide counter: a row of tiles
    ((0, 0, 2400, 2400), 416, 4, (2400, 2400), 4, 1200),       # huge: tiles grow, never more than 4
    ((0, 0, 300, 200), 416, 4, (300, 200), 1, 200),            # frame smaller than a tile
])
def test_counter_tiles_cover_the_counter(rect, tile, max_tiles, frame, expect_n, expect_min_side):
    tiles = counter_tiles(rect, tile, max_tiles, frame_size=frame)
    assert len(tiles) == expect_n
    for x1, y1, x2, y2 in tiles:
        assert 0 <= x1 < x2 <= frame[0] and 0 <= y1 < y2 <= frame[1]
        assert min(x2 - x1, y2 - y1) >= expect_min_side
    # every pixel of the counter is in some tile
    xs = np.linspace(rect[0], rect[2] - 1, 25)
    ys = np.linspace(rect[1], rect[3] - 1, 25)
    for x in xs:
        for y in ys:
            assert any(t[0] <= x <= t[2] and t[1] <= y <= t[3] for t in tiles), (x, y)


@pytest.mark.parametrize("rect, frame, expect", [
    ((64, 396, 640, 468), (1280, 720), [(64, 360, 375, 504), (329, 360, 640, 504)]),   # the bench's counter
    ((100, 100, 200, 150), (1920, 1080), [(0, 73, 416, 177)]),      # small: native width, a quarter of it high
    ((0, 700, 1920, 1080), (1920, 1080), None),                    # a deep counter: its own height
])
def test_strips_along_the_counter_for_a_detector_of_free_input_size(rect, frame, expect):
    """With ``square=False`` a tile keeps its long side and is cut to the counter with as much again
    around it (at least a quarter of the long side): the same scale, fewer pixels; the counter is covered."""
    tiles = counter_tiles(rect, 416, 4, frame_size=frame, square=False)
    squares = counter_tiles(rect, 416, 4, frame_size=frame)
    assert len(tiles) == len(squares)
    for (x1, y1, x2, y2), (sx1, sy1, sx2, sy2) in zip(tiles, squares):
        assert x2 - x1 == sx2 - sx1 and y2 - y1 <= sy2 - sy1
        assert y2 - y1 >= min(sy2 - sy1, (x2 - x1) / 4) - 1
    if expect is not None:
        assert tiles == expect
    xs = np.linspace(rect[0], rect[2] - 1, 25)
    ys = np.linspace(rect[1], rect[3] - 1, 25)
    assert all(any(t[0] <= x <= t[2] and t[1] <= y <= t[3] for t in tiles) for x in xs for y in ys)


def _cups_on_a_long_counter() -> np.ndarray:
    """scikit-image's real coffee photo four times along the bottom of a tall, wide frame:
    each cup is small once the detector squeezes 2400 px into 416."""
    cup = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)
    strip = np.concatenate([cup] * 4, axis=1)
    frame = np.zeros((strip.shape[0] * 3, strip.shape[1], 3), np.uint8)
    frame[-strip.shape[0]:] = strip
    return frame


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer()


@pytest.mark.parametrize("fit_looks", [True, False])
def test_zoom_finds_cups_the_full_frame_misses(analyzer, fit_looks):
    """On strips at the tile's own aspect (the bundled detector's free input size) as on square tiles."""
    analyzer.fit_looks = fit_looks
    frame = _cups_on_a_long_counter()
    h, w = frame.shape[:2]
    plain = analyzer.analyze(frame)
    zoomed = analyzer.analyze(frame, zoom=[(0, h - 400, w, h)])
    assert not [d for d in plain.objects if d.label == "cup" and d.score >= 0.3]
    cups = [d for d in zoomed.objects if d.label == "cup" and d.score >= 0.3]
    assert len(cups) >= 3
    assert all(d.box[1] >= h - 420 for d in cups)           # on the counter, not elsewhere
    assert {d.box for d in zoomed.zoomed} >= {d.box for d in cups}
    assert "counter_zoom" in zoomed.timing_ms
    analyzer.fit_looks = True


def test_zoom_on_an_empty_floor_finds_no_phone(analyzer):
    cap = cv2.VideoCapture(str(MEDIA / "opencv" / "vtest.avi"))
    try:
        for index in (0, 80, 160, 240, 320):
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            assert ok
            h, w = frame.shape[:2]
            found = analyzer.zoom_counters(frame, [(0, h // 2, w, h)])
            assert not [d for d in found if d.label == "cell phone" and d.score >= 0.25], index
    finally:
        cap.release()


CONFIG = """
cameras:
  - id: cam
    url: rtsp://127.0.0.1:1/x
    detect_on: frame
    windows:
      - id: w1
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.66], [1, 0.66], [1, 1], [0, 1]]
models:
  counter_zoom_every_s: 5
"""


def test_a_look_at_the_counter_holds_until_the_next(analyzer):
    watch = CameraWatch(parse_config(CONFIG), "cam", analyzer)
    frame = _cups_on_a_long_counter()
    first = watch.step(frame, 100.0)
    assert "counter_zoom" in first.timing_ms and first.frame.zoomed
    between = watch.step(frame, 101.0)                 # not due: no zoom pass, its finding holds
    assert "counter_zoom" not in between.timing_ms
    assert {d.box for d in between.frame.zoomed} == {d.box for d in first.frame.zoomed}
    assert [d for d in between.frame.objects if d.label == "cup"]
    still = watch.step(frame, 105.0)      # due, but nothing moved at the window: the last look holds
    assert "counter_zoom" not in still.timing_ms and {d.box for d in still.frame.zoomed} == {d.box for d in first.frame.zoomed}
    behind = frame.copy()
    behind[:300, :800] = 255                                         # someone moved in the staff zone
    assert "counter_zoom" not in watch.step(behind, 106.0).timing_ms  # the counter itself did not change
    changed = behind.copy()
    changed[800:1000, 1800:] = 255                                   # something moved on the counter
    assert "counter_zoom" in watch.step(changed, 107.0).timing_ms    # due again
    assert "counter_zoom" not in watch.step(changed, 110.0).timing_ms
    assert "counter_zoom" not in watch.step(changed, 117.0).timing_ms  # due, still: holds
    # still, but the keep-alive (3 periods) ran out: a look on this frame or, when the staff's crop
    # pass takes this frame's turn, on the next
    assert any("counter_zoom" in watch.step(changed, t).timing_ms for t in (137.0, 138.0))
