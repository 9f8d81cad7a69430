"""Draw what was judged: zones, boxes, skeletons, and each verdict, on a copy of the frame."""

from __future__ import annotations

import cv2
import numpy as np

from vision.config import Window
from vision.media.labels import say
from vision.media.palette import AMBER, BLUE, GREEN, GREY, RED, WHITE, ZONES
from vision.observe.observations import WindowObservation, distinct
from vision.perception.detections import SKELETON, Face
from vision.perception.geometry import to_pixels

# the short tag of why a weak person was kept (``FrameDetections.confirmed``)
CONFIRMED_TAGS = {"head and shoulders in the pose": "pose", "a face": "face", "person pixels": "pixels"}


def _label(img: np.ndarray, text: str, org: tuple[int, int], color, scale: float) -> None:
    if not text.isascii():    # Chinese words need a CJK font (Pillow), as the live view's labels
        from vision.media.window_states import _chip
        _chip(img, text, text.encode("ascii", "replace").decode(), (int(org[0]), int(org[1])), color,
              max(12, round(30 * scale)))
        return
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = int(org[0]), int(max(th + 2, org[1]))
    cv2.rectangle(img, (x, y - th - 3), (x + tw + 4, y + base - 1), color, -1)
    cv2.putText(img, text, (x + 2, y - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, WHITE, 1, cv2.LINE_AA)


def _poly(img: np.ndarray, poly: np.ndarray, color, name: str, scale: float, fill: float = 0.12) -> None:
    pts = poly.astype(np.int32).reshape(-1, 1, 2)
    overlay = img.copy()
    cv2.fillPoly(overlay, [pts], color)
    cv2.addWeighted(overlay, fill, img, 1 - fill, 0, dst=img)
    cv2.polylines(img, [pts], True, color, max(1, int(2 * scale)), cv2.LINE_AA)
    _label(img, name, tuple(poly.min(axis=0).astype(int)), color, 0.45 * scale)


def draw_face(img: np.ndarray, face: Face, eyes: str | None, scale: float = 1.0) -> None:
    """The face box, each eye's lid contour, and the eye state ("open", "closed", None: unknown), in place."""
    color = {"open": GREEN, "closed": RED}.get(eyes or "", GREY)
    lw = max(1, int(round(scale)))
    x1, y1, x2, y2 = (int(v) for v in face.box)
    cv2.rectangle(img, (x1, y1), (x2, y2), color, lw)
    for lids in (face.evidence.get("lids") or {}).values():
        pts = np.asarray(lids, np.float32)
        # lid order: corner, lower lid, other corner, upper lid (both from the first corner)
        ring = np.concatenate([pts[0:9], pts[9:16][::-1]]).round().astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [ring], True, color, 1, cv2.LINE_AA)
    text = {"open": "eyes open", "closed": "EYES CLOSED"}.get(eyes or "", "eyes ?")
    if face.eye_openness is not None:
        text += f" {face.eye_openness:.2f}"
    _label(img, text, (x1, y2 + int(14 * scale)), color, 0.4 * scale)


def draw_window(image: np.ndarray, window: Window, language: str = "en") -> np.ndarray:
    """A copy of ``image`` with one window's zones drawn (for event snapshots), named in ``language``."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.8, min(w, h) / 600)
    sep = " " if language == "en" else " · "
    _poly(out, to_pixels(window.staff_zone, w, h), ZONES["staff_zone"],
          f"{window.name or window.id}{sep}{say('staff zone', language)}", scale)
    _poly(out, to_pixels(window.counter, w, h), ZONES["counter"], say("counter", language), scale)
    if window.citizen_zone:
        _poly(out, to_pixels(window.citizen_zone, w, h), ZONES["citizen_zone"], say("citizen zone", language), scale)
    return out


def annotate(image: np.ndarray, windows: list[Window], observations: list[WindowObservation],
             kp_score: float = 0.3, staff_zones: bool = True) -> np.ndarray:
    """A copy of ``image`` with zones, persons, objects and verdicts drawn; ``staff_zones=False`` leaves
    the staff zones to the caller (the live view outlines them in their window's state colour)."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.8, min(w, h) / 600)
    lw = max(1, int(round(2 * scale)))
    for win in windows:
        if staff_zones:
            _poly(out, to_pixels(win.staff_zone, w, h), ZONES["staff_zone"], f"{win.id} staff zone", scale)
        _poly(out, to_pixels(win.counter, w, h), ZONES["counter"], f"{win.id} counter", scale)
        if win.citizen_zone:
            _poly(out, to_pixels(win.citizen_zone, w, h), ZONES["citizen_zone"], f"{win.id} citizen zone", scale)
    persons, objects = distinct(observations)
    for p in persons:
        color = GREEN if p.staff else GREY
        x1, y1, x2, y2 = (int(v) for v in p.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, lw)
        tags = ["staff" if p.staff else "person", f"{p.score:.2f}"]
        if p.evidence.get("confirmed_by"):        # a weak person kept: by its pose, a face or person pixels
            tags.append("by " + CONFIRMED_TAGS.get(p.evidence["confirmed_by"], p.evidence["confirmed_by"]))
        if p.phone_in_hand:
            tags.append("PHONE")
        if p.phone_at_ear:
            tags.append("CALL")
        if p.eating:
            tags.append("EATING")
        if p.head_down:
            tags.append("HEAD DOWN")
        if p.eyes == "closed":
            tags.append("EYES CLOSED")
        if p.staff:
            tags.append({True: "badge", False: "NO BADGE", None: "badge ?"}[p.badge])
        alert = any(t.isupper() for t in tags)
        _label(out, " ".join(tags), (x1, y1 - 2), RED if alert else color, 0.5 * scale)
        badge = p.evidence.get("badge") or {}
        if badge.get("chest"):
            cx1, cy1, cx2, cy2 = (int(v) for v in badge["chest"])
            cv2.rectangle(out, (cx1, cy1), (cx2, cy2), AMBER, 1)
        if badge.get("patch"):
            bx1, by1, bx2, by2 = (int(v) for v in badge["patch"])
            cv2.rectangle(out, (bx1, by1), (bx2, by2), GREEN, lw)
        if p.face is not None:
            draw_face(out, p.face, p.eyes, scale)
        if p.pose is not None:
            kps = p.pose.keypoints
            for a, b in SKELETON:
                if kps[a, 2] >= kp_score and kps[b, 2] >= kp_score:
                    cv2.line(out, tuple(kps[a, :2].astype(int)), tuple(kps[b, :2].astype(int)), AMBER, lw, cv2.LINE_AA)
            for x, y, s in kps:
                if s >= kp_score:
                    cv2.circle(out, (int(x), int(y)), lw + 1, RED, -1, cv2.LINE_AA)
    for o in objects:
        d = o.detection
        color = RED if (o.on_counter or o.held or o.at_face) else BLUE
        x1, y1, x2, y2 = (int(v) for v in d.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, lw)
        flags = [f for f, on in (("on counter", o.on_counter), ("held", o.held), ("at face", o.at_face)) if on]
        _label(out, f"{d.label} {d.score:.2f} {' '.join(flags)}".strip(), (x1, y2 + int(14 * scale)), color,
               0.45 * scale)
    y = int(22 * scale)
    for obs in observations:
        verdicts = [f"{obs.window_id}: staff {obs.staff_count}"]
        for name, on in (("phone on counter", obs.phone_on_counter), ("phone in use", obs.phone_in_use),
                         ("eating", obs.eating), ("head down", obs.head_down),
                         ("badge missing", obs.badge_missing is True), ("citizen waiting", obs.citizen_waiting)):
            if on:
                verdicts.append(name)
        worry = len(verdicts) > 1 or not obs.staff_count
        _label(out, " | ".join(verdicts), (int(6 * scale), y), RED if worry else GREEN, 0.55 * scale)
        y += int(24 * scale)
    return out
