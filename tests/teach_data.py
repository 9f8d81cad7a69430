"""A hall's own labels on real footage, for the training-loop tests.

vtest.avi (OpenCV's sample, 795 frames, 768x576) watched as one camera with one window whose staff
zone is the lawn at the bottom left. Looked at frame by frame (as a manager would), the zone is
empty until frame 520, two people cross it from about frame 535 to 680, and it is empty again from
690. These are the manager's window-state labels; each frame stands for its own event.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 768, 576
ZONE_PX = (150, 330, 460, 576)                 # x1, y1, x2, y2 of the window's staff zone
OCCUPIED = tuple(range(540, 680, 5))           # 28 frames with somebody in the zone
VACANT = tuple(range(0, 520, 20)) + tuple(range(700, 780, 10))   # 34 frames with nobody there

ZONE = [[ZONE_PX[0] / WIDTH, ZONE_PX[1] / HEIGHT], [ZONE_PX[2] / WIDTH, ZONE_PX[1] / HEIGHT],
        [ZONE_PX[2] / WIDTH, 1.0], [ZONE_PX[0] / WIDTH, 1.0]]

HALL_YAML = f"""\
hall: {{name: Lawn hall, language: en}}
storage: {{database: var/hall.db, media_dir: var/media, heads_dir: var/heads}}
dashboard: {{secret_key_file: var/secret_key}}
schedule: {{timezone: Asia/Shanghai}}
cameras:
  - id: cam-v
    name: Lawn
    url: rtsp://127.0.0.1:9/none
    windows:
      - id: w01
        name: Window 1
        staff_zone: {[[round(x, 4), round(y, 4)] for x, y in ZONE]}
        counter: [[0.2, 0.9], [0.6, 0.9], [0.6, 1.0], [0.2, 1.0]]
"""


def zone_polygon() -> list[list[float]]:
    x1, y1, x2, y2 = ZONE_PX
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def vtest_frames(media: Path, indices) -> dict[int, np.ndarray]:
    """The frames of vtest.avi at ``indices`` (read in one pass, no seeking)."""
    wanted = set(indices)
    out: dict[int, np.ndarray] = {}
    cap = cv2.VideoCapture(str(media / "opencv" / "vtest.avi"))
    i = 0
    try:
        while len(out) < len(wanted):
            ok, image = cap.read()
            if not ok:
                break
            if i in wanted:
                out[i] = image
            i += 1
    finally:
        cap.release()
    assert len(out) == len(wanted), f"vtest.avi gave {len(out)} of {len(wanted)} frames"
    return out
