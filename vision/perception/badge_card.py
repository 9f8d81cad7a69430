"""A white card on the chest: a compact patch white in all three channels and clearly brighter than its surround.

The chest region's *whiteness* is the darkest of B, G and R at each pixel (high only where all three are, so
pink or skin is not white). Its white top-hat against a grey opening a third of the chest wide keeps what is
brighter than its surround and smaller than a shirt; pixels at least ``badge_card_lift`` above it, at least
``badge_card_whiteness`` white and of saturation at most ``badge_card_max_saturation`` are card pixels, closed
3x3 so a tag cut by its lettering stays one patch. A patch counts as a card when it is of a card's size
(from ``MIN_SHARE`` of the chest up to the profile's ``max_area``), compact (fills ``MIN_FILL`` of its box,
aspect 0.3-3.3), touches at most one side of the chest, and, the second cue, its median lift over the
surround is at least ``badge_card_min_lift``: a printed card or a name tag stands out sharply, while a shirt
fold, a skin highlight, a print or a strap that passes the first test is mostly faint. A patch on a forearm
or at a wrist the pose sees (``badge_card_arm_margin``) is an arm or a thing held at the chest, not a card.

Chosen on rogueloop/princeID's chest photos (docs/models.md, "Badge, session 6"); the measuring script is
``bench/badge_patch.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_SHARE = 0.004     # a card's smallest share of the chest region
MIN_PX = 4            # and its fewest pixels
MIN_FILL = 0.45       # card pixels over the patch's bounding box
ASPECT = (0.3, 3.3)   # width over height
MAX_EDGES = 1         # sides of the chest region a card may touch (a shirt runs off two or more)


@dataclass
class Card:
    box: tuple[int, int, int, int]   # x1, y1, x2, y2 in the region's pixels
    share: float                     # of the chest region
    lift: float                      # median top-hat (brightness above the surround) over its pixels


def white_cards(region: np.ndarray, *, lift: float, whiteness: float, max_saturation: float,
                max_share: float) -> list[Card]:
    """Every card-shaped white patch standing out of the BGR chest ``region`` (before the second cue)."""
    rh, rw = region.shape[:2]
    white = region.min(axis=2)
    sat = cv2.cvtColor(region, cv2.COLOR_BGR2HSV)[:, :, 1]
    k = max(5, int(round(min(rw, rh) / 3)) | 1)
    top = cv2.morphologyEx(white, cv2.MORPH_TOPHAT, np.ones((k, k), np.uint8))
    mask = ((top >= lift) & (white >= whiteness) & (sat <= max_saturation)).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    area_all = float(rw * rh)
    out = []
    for i in range(1, n):
        bx, by, bw, bh, a = (int(v) for v in stats[i])
        share = a / area_all
        if a < MIN_PX or share < MIN_SHARE or share > max_share:
            continue
        edges = int(bx <= 0) + int(by <= 0) + int(bx + bw >= rw) + int(by + bh >= rh)
        if edges > MAX_EDGES or a / max(bw * bh, 1) < MIN_FILL or not ASPECT[0] <= bw / max(bh, 1) <= ASPECT[1]:
            continue
        out.append(Card((bx, by, bx + bw, by + bh), share, float(np.median(top[labels == i]))))
    return out


def on_arm(card: Card, arms: list[tuple[tuple[float, float], tuple[float, float]]], margin: float) -> bool:
    """The patch (grown by ``margin`` pixels) lies on a forearm (elbow to wrist, in the region's pixels) or holds
    a wrist: a bare arm or a cup held at the chest, not a card worn on it."""
    x1, y1, x2, y2 = (card.box[0] - margin, card.box[1] - margin, card.box[2] + margin, card.box[3] + margin)
    for (ex, ey), (wx, wy) in arms:
        for t in np.linspace(0.0, 1.0, 11):
            px, py = ex + t * (wx - ex), ey + t * (wy - ey)
            if x1 <= px <= x2 and y1 <= py <= y2:
                return True
    return False


def best_card(region: np.ndarray, *, lift: float, whiteness: float, max_saturation: float, max_share: float,
              min_lift: float, arms: list[tuple[tuple[float, float], tuple[float, float]]] | None = None,
              arm_margin: float = 0.0) -> Card | None:
    """The largest patch that passes both cues (and lies on no forearm of ``arms``), or None."""
    cards = [c for c in white_cards(region, lift=lift, whiteness=whiteness, max_saturation=max_saturation,
                                    max_share=max_share)
             if c.lift >= min_lift and not (arms and on_arm(c, arms, arm_margin))]
    return max(cards, key=lambda c: c.share, default=None)
