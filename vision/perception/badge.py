"""Is a work badge visible on a staff member's chest?

Judged in a chest region placed by the pose (between the shoulders, down toward
the hips), against the hall's badge profile: a detector class that is a badge
(``badge`` from a hall's own model, or a card-like object that nobody holds),
or, for a white badge (the default), a compact white patch standing clearly out
of its surround (``vision.perception.badge_card``, ``badge_judge: card``), else a
compact patch of the badge's colour of a card's size. Returns ``None``, not a
guess, when the chest is not visible, too small, or the shirt has the badge's
colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.config import BadgeProfile, Thresholds
from vision.perception.badge_card import best_card
from vision.perception.detections import Detection, Pose
from vision.perception.geometry import box_center


@dataclass
class BadgeVerdict:
    badge: bool | None
    reason: str
    chest: tuple[float, float, float, float] | None = None
    patch: tuple[float, float, float, float] | None = None
    area: float | None = None

    def to_json(self) -> dict:
        r = lambda b: None if b is None else [round(float(v), 1) for v in b]  # noqa: E731
        return {"badge": self.badge, "reason": self.reason, "chest": r(self.chest), "patch": r(self.patch),
                "area": None if self.area is None else round(self.area, 4)}


def chest_region(pose: Pose, th: Thresholds) -> tuple[tuple[float, float, float, float] | None, str]:
    ls = pose.point("left_shoulder", th.keypoint_score)
    rs = pose.point("right_shoulder", th.keypoint_score)
    if ls is None or rs is None:
        return None, "shoulders not visible"
    sw = abs(ls[0] - rs[0])
    if sw < th.min_shoulder_px:
        return None, f"chest too small ({sw:.0f} px between shoulders)"
    top = (ls[1] + rs[1]) / 2 + 0.08 * sw
    lh = pose.point("left_hip", th.keypoint_score)
    rh = pose.point("right_hip", th.keypoint_score)
    bottom = top + 0.9 * sw
    if lh and rh:
        bottom = min(bottom, (lh[1] + rh[1]) / 2)
    x1, x2 = sorted((ls[0], rs[0]))
    inset = 0.08 * sw
    if bottom - top < 0.3 * sw:
        return None, "chest hidden (hips too close to the shoulders)"
    return (x1 + inset, top, x2 - inset, bottom), "ok"


def _hex_to_hsv(color: str) -> np.ndarray:
    bgr = np.array([[[int(color[5:7], 16), int(color[3:5], 16), int(color[1:3], 16)]]], dtype=np.uint8)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)[0, 0].astype(int)


def white_profile(profile: BadgeProfile) -> bool:
    """Every colour of the profile is a white or grey card (saturation at most 60): the card judge applies."""
    return all(_hex_to_hsv(c)[1] <= 60 for c in profile.colors)


def colour_mask(crop: np.ndarray, profile: BadgeProfile) -> np.ndarray:
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    mask = np.zeros(crop.shape[:2], dtype=np.uint8)
    for color in profile.colors:
        h, s, v = _hex_to_hsv(color)
        sat_lo, sat_hi = profile.min_saturation, profile.max_saturation
        if s > 60:  # a coloured card: match its hue
            lo_h, hi_h = h - profile.hue_tolerance, h + profile.hue_tolerance
            ranges = [(lo_h, hi_h)] if 0 <= lo_h and hi_h <= 179 else [(max(0, lo_h % 180), 179), (0, hi_h % 180)]
            sat_lo, sat_hi = max(sat_lo, 60), 255
        else:       # white / grey card: hue does not matter
            ranges = [(0, 179)]
        for a, b in ranges:
            lo = np.array([a, sat_lo, profile.min_value], dtype=np.uint8)
            hi = np.array([b, sat_hi, 255], dtype=np.uint8)
            mask |= cv2.inRange(hsv, lo, hi)  # type: ignore[arg-type]  # cv2's stubs: inRange gives a uint8 mask
    return mask


def forearms(pose: Pose, th: Thresholds, ox: float = 0.0, oy: float = 0.0) -> list:
    """Each forearm (elbow, wrist) the pose sees, moved by (-ox, -oy); a wrist alone counts as a point."""
    out = []
    for side in ("left", "right"):
        e = pose.point(f"{side}_elbow", th.keypoint_score)
        w = pose.point(f"{side}_wrist", th.keypoint_score)
        if w is not None:
            e = e if e is not None else w
            out.append(((e[0] - ox, e[1] - oy), (w[0] - ox, w[1] - oy)))
    return out


def judge_badge(image: np.ndarray | None, pose: Pose | None, objects: list[Detection],
                held: set[int], profile: BadgeProfile, th: Thresholds) -> BadgeVerdict:
    """``held``: indices into ``objects`` of objects at someone's wrist (a held phone is not a badge)."""
    if pose is None:
        return BadgeVerdict(None, "no pose")
    chest, why = chest_region(pose, th)
    if chest is None:
        return BadgeVerdict(None, why)
    x1, y1, x2, y2 = chest
    for i, d in enumerate(objects):
        if d.label in profile.detector_labels and i not in held:
            cx, cy = box_center(d.box)
            if x1 <= cx <= x2 and y1 <= cy <= y2:
                return BadgeVerdict(True, f"{d.label} {d.score:.2f} on the chest", chest, d.box)
    if image is None:
        return BadgeVerdict(None, "no image to look at", chest)
    h, w = image.shape[:2]
    ix1, iy1, ix2, iy2 = max(0, int(x1)), max(0, int(y1)), min(w, int(x2)), min(h, int(y2))
    if ix2 - ix1 < 6 or iy2 - iy1 < 6:
        return BadgeVerdict(None, "chest outside the frame", chest)
    region = image[iy1:iy2, ix1:ix2]
    card_judge = th.badge_judge == "card" and white_profile(profile)
    if card_judge:
        card = best_card(region, lift=th.badge_card_lift, whiteness=th.badge_card_whiteness,
                         max_saturation=th.badge_card_max_saturation, max_share=profile.max_area,
                         min_lift=th.badge_card_min_lift,
                         arms=forearms(pose, th, ix1, iy1) if th.badge_card_arm_margin >= 0 else None,
                         arm_margin=th.badge_card_arm_margin * (x2 - x1))
        if card is not None:
            bx1, by1, bx2, by2 = card.box
            return BadgeVerdict(True, f"white card on the chest (lift {card.lift:.0f})", chest,
                                (ix1 + bx1, iy1 + by1, ix1 + bx2, iy1 + by2), card.share)
    mask = colour_mask(region, profile)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    covered = float(mask.mean() / 255.0)
    if covered > 0.6:
        return BadgeVerdict(None, "the shirt has the badge's colour", chest, area=covered)
    if card_judge:   # no card found, and the shirt is not of the badge's colour
        return BadgeVerdict(False, "no badge on the chest", chest, area=covered)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    region_px = float((ix2 - ix1) * (iy2 - iy1))
    best = None
    for k in range(1, n):
        bx, by, bw, bh, area = stats[k]
        share = area / region_px
        aspect = bw / max(bh, 1)
        fill = area / max(bw * bh, 1)
        if profile.min_area <= share <= profile.max_area and 0.35 <= aspect <= 2.8 and fill >= 0.55:
            if best is None or share > best[1]:
                best = ((ix1 + bx, iy1 + by, ix1 + bx + bw, iy1 + by + bh), share)
    if best is not None:
        return BadgeVerdict(True, "badge-coloured card on the chest", chest, best[0], best[1])
    return BadgeVerdict(False, "no badge on the chest", chest, area=covered)
