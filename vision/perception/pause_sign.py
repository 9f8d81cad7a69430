"""The "暂停服务" / "暂时离开" sign standing on the counter, found by template matching.

The hall photographs its sign once (cropped to the sign) and names the file in
cameras.yaml (``pause_sign.template``). Matching runs on the counter's bounding
rectangle at a few scales, on edges so lighting matters less.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from vision.errors import ConfigError


@lru_cache(maxsize=16)
def load_template(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ConfigError(f"pause sign template {path} cannot be read: give a photo (PNG/JPEG) of the sign")
    return img


def sign_score(image: np.ndarray, counter_rect: tuple[int, int, int, int], template_path: Path) -> float:
    """Best normalised match of the sign template inside the counter rectangle (0..1)."""
    tmpl = load_template(str(template_path))
    x1, y1, x2, y2 = counter_rect
    region = image[y1:y2, x1:x2]
    if region.size == 0:
        return 0.0
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY) if region.ndim == 3 else region
    best = 0.0
    rh, rw = gray.shape[:2]
    th0, tw0 = tmpl.shape[:2]
    # the sign fills from a tenth to all of the counter's height; scales 8 % apart
    for frac in np.geomspace(1.0, 0.1, 30):
        s = frac * rh / th0
        tw, th = int(tw0 * s), int(th0 * s)
        if tw < 12 or th < 12 or tw > rw or th > rh:
            continue
        t = cv2.resize(tmpl, (tw, th), interpolation=cv2.INTER_AREA)
        res = cv2.matchTemplate(gray, t, cv2.TM_CCOEFF_NORMED)
        best = max(best, float(res.max()))
    return best
