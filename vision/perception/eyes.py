"""Open or closed eyes, from the eyelid contour of each eye (pure: points in, verdict out).

An eye's openness is the gap between its lids over its width: the mean distance between the five
middle pairs of upper- and lower-lid points, over the corner-to-corner distance. The eyes are judged
only where they can be seen: "unknown" when the face score is low, an eye is too narrow in the frame,
or one eye is much narrower than the other (the head is turned and that eye foreshortened).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.config import Thresholds

# Lid contour order (16 points): 0 corner, 1-7 lower lid, 8 other corner, 9-15 upper lid, both lids
# running from corner 0 to corner 8; lower point i faces upper point i + 8. The middle five pairs:
_PAIRS = ((2, 10), (3, 11), (4, 12), (5, 13), (6, 14))


@dataclass(frozen=True)
class EyeReading:
    side: str            # the subject's "right" or "left" eye
    width_px: float      # corner to corner, frame pixels
    openness: float      # lid gap over width

    def to_json(self) -> dict:
        return {"side": self.side, "width_px": round(float(self.width_px), 1),
                "openness": round(float(self.openness), 3)}


def read_eye(side: str, lids: np.ndarray) -> EyeReading:
    """An eye's width and openness from its 16 lid points (x, y) in frame pixels."""
    lids = np.asarray(lids, dtype=np.float32).reshape(16, 2)
    width = float(np.linalg.norm(lids[8] - lids[0]))
    gap = float(np.mean([np.linalg.norm(lids[u] - lids[lo]) for lo, u in _PAIRS]))
    return EyeReading(side, width, gap / width if width > 0 else 0.0)


@dataclass(frozen=True)
class EyeVerdict:
    state: str                     # "open" | "closed" | "unknown"
    openness: float | None         # mean openness of the eyes judged
    reason: str

    def to_json(self) -> dict:
        return {"state": self.state, "reason": self.reason,
                "openness": None if self.openness is None else round(float(self.openness), 3)}


def judge_eyes(eyes: list[EyeReading], face_score: float | None, th: Thresholds) -> EyeVerdict:
    """Open, closed or unknown, from both eyes' readings (either may be missing)."""
    if face_score is not None and face_score < th.face_score:
        return EyeVerdict("unknown", None, f"face score {face_score:.2f} below {th.face_score}")
    if not eyes:
        return EyeVerdict("unknown", None, "no eyes read")
    widths = [e.width_px for e in eyes]
    if max(widths) < th.eye_min_px:
        return EyeVerdict("unknown", None, f"eyes {max(widths):.0f} px wide, below {th.eye_min_px:.0f} px")
    if len(eyes) == 2 and min(widths) < th.eye_turned_ratio * max(widths):
        return EyeVerdict("unknown", None, f"head turned: one eye {min(widths) / max(widths):.2f} of the other's width")
    seen = [e for e in eyes if e.width_px >= th.eye_min_px]
    openness = float(np.mean([e.openness for e in seen]))
    if openness <= th.eye_closed_below:
        return EyeVerdict("closed", openness, f"lid gap {openness:.2f} of the eye width")
    if openness >= th.eye_open_above:
        return EyeVerdict("open", openness, f"lid gap {openness:.2f} of the eye width")
    return EyeVerdict("unknown", openness, f"lid gap {openness:.2f} between closed ({th.eye_closed_below}) "
                                           f"and open ({th.eye_open_above})")


def readings_from_json(items: list[dict]) -> list[EyeReading]:
    """The readings a Face's evidence carries (``Face.evidence["eyes"]``), back as EyeReadings."""
    return [EyeReading(str(e["side"]), float(e["width_px"]), float(e["openness"])) for e in items or ()]
