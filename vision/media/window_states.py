"""The windows' states on a frame: each window's staff zone outlined in its state's colour (the one
palette, media/palette.STATES), with the window's name and its state in the hall's language.

Names such as 1号窗口 need a CJK font: the label is drawn with Pillow and the first font found in
``FONTS`` (Debian: fonts-wqy-microhei or fonts-noto-cjk); without one, the window's id and the
English state are drawn with OpenCV's own font, so a label is never a row of question marks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from vision.config import Window
from vision.media.palette import STATES, WHITE
from vision.perception.geometry import to_pixels

FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)

# the status the store keeps -> (zh-CN, en), as the board says it (dashboard/i18n state_*)
STATE_WORDS: dict[str, tuple[str, str]] = {
    "staffed": ("在岗", "occupied"), "unattended": ("离岗", "vacant"), "late": ("未按时到岗", "vacant (late)"),
    "paused": ("暂停服务", "paused"), "closed": ("非服务时间", "closed"), "offline": ("摄像头离线", "offline"),
    "unknown": ("暂无数据", "no data"),
}


@lru_cache(maxsize=8)
def _font(size: int):
    try:
        from PIL import ImageFont
    except ImportError:   # Pillow missing: OpenCV's ASCII font below
        return None
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return None


def _chip(img: np.ndarray, text: str, fallback: str, org: tuple[int, int], color, size: int) -> None:
    """A filled label in ``color`` with white text whose top-left corner is ``org``, in place."""
    font = _font(size)
    x, y = max(0, int(org[0])), max(0, int(org[1]))
    if font is None:
        scale = size / 22
        (tw, th), base = cv2.getTextSize(fallback, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(img, (x, y), (x + tw + 6, y + th + base + 4), color, -1)
        cv2.putText(img, fallback, (x + 3, y + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, WHITE, 1, cv2.LINE_AA)
        return
    from PIL import Image, ImageDraw
    left, top, right, bottom = font.getbbox(text)
    w, h = right - left + 8, bottom - top + 6
    h_img, w_img = img.shape[:2]
    x, y = min(x, max(0, w_img - w)), min(y, max(0, h_img - h))
    patch = np.empty((h, w, 3), np.uint8)
    patch[:] = color
    pil = Image.fromarray(patch[:, :, ::-1])
    ImageDraw.Draw(pil).text((4 - left, 3 - top), text, font=font, fill=WHITE)
    region = img[y:y + h, x:x + w]
    region[:] = np.asarray(pil)[: region.shape[0], : region.shape[1], ::-1]


def draw_window_states(image: np.ndarray, windows: Sequence[Window], states: Mapping[str, str],
                       language: str = "zh-CN") -> np.ndarray:
    """``image`` (BGR, in place and returned) with each window's staff zone outlined in the colour of its
    state (``states``: window id -> the store's status; a window missing from it is 'unknown')."""
    h, w = image.shape[:2]
    scale = max(0.8, min(w, h) / 600)
    lw = max(2, round(3 * scale))
    for win in windows:
        status = states.get(win.id) or "unknown"
        status = status if status in STATES else "unknown"
        color = STATES[status]
        poly = to_pixels(win.staff_zone, w, h)
        cv2.polylines(image, [poly.astype(np.int32).reshape(-1, 1, 2)], True, color, lw, cv2.LINE_AA)
        zh, en = STATE_WORDS[status]
        name = win.name or win.id
        text = f"{name} · {zh if language != 'en' else en}"
        x0, y0 = poly.min(axis=0)
        _chip(image, text, f"{win.id} {en}", (x0 + lw, y0 + lw), color, round(18 * scale))
    return image
