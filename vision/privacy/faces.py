"""Every face in a frame, for blurring: BlazeFace over the whole frame and over overlapping tiles.

The perception stage looks for a staff member's face in his head region; evidence that leaves the
system needs every face, whoever's and wherever. BlazeFace (short range) sees faces that fill
roughly a tenth to a half of its 128 px input, so one look at a whole 1280 x 720 frame finds only
the big faces; the frame is therefore also cut into square tiles of a half and a quarter of its
short side (overlapping by a third), each looked at on its own. Boxes found more than once are
merged. For privacy a miss costs more than a false alarm: the score cut is lower than perception's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.models.blazeface import BlazeFaceDetector
from vision.perception.detections import Box
from vision.perception.geometry import box_iou

Region = tuple[int, int, int, int]

MIN_SCORE = 0.5              # as perception's face stage; blurred boxes are grown (blur.MARGIN) instead
TILE_FRACTIONS = (0.5, 0.25)  # tile sides as shares of the frame's short side
MIN_TILE_PX = 96              # smaller tiles would only upscale noise into the model's input


def tiles(width: int, height: int, fractions: tuple[float, ...] = TILE_FRACTIONS,
          min_px: int = MIN_TILE_PX) -> list[Region]:
    """The whole frame, then square tiles of each fraction of the short side, overlapping by a third."""
    out: list[Region] = [(0, 0, width, height)]
    short = min(width, height)
    for fraction in fractions:
        side = int(round(short * fraction))
        if side < min_px or side >= short:
            continue
        step = max(1, int(side * 2 / 3))
        xs = list(range(0, max(1, width - side) + 1, step))
        ys = list(range(0, max(1, height - side) + 1, step))
        if xs[-1] + side < width:
            xs.append(width - side)
        if ys[-1] + side < height:
            ys.append(height - side)
        out += [(x, y, x + side, y + side) for y in ys for x in xs]
    return out


@dataclass(frozen=True)
class FoundFace:
    box: Box          # frame pixels
    score: float


def merge_faces(faces: list[FoundFace], iou: float = 0.3) -> list[FoundFace]:
    """One box per face: where boxes overlap (the same face seen in two tiles, or a small box inside a
    bigger one) the best-scored is kept."""
    kept: list[FoundFace] = []
    for f in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(box_iou(f.box, k.box) <= iou and _inside(f.box, k.box) <= 0.6 for k in kept):
            kept.append(f)
    return kept


def _inside(a: Box, b: Box) -> float:
    """Share of the smaller box that lies inside the other."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


class FaceFinder:
    """Faces anywhere in a frame (BGR), from one BlazeFace session."""

    def __init__(self, detector: BlazeFaceDetector, min_score: float = MIN_SCORE,
                 fractions: tuple[float, ...] = TILE_FRACTIONS):
        self.detector = detector
        self.min_score = min_score
        self.fractions = fractions

    def find(self, image: np.ndarray) -> list[FoundFace]:
        h, w = image.shape[:2]
        found: list[FoundFace] = []
        for x1, y1, x2, y2 in tiles(w, h, self.fractions):
            for f in self.detector.detect(image[y1:y2, x1:x2], min_score=self.min_score, origin=(x1, y1)):
                side = max(f.box[2] - f.box[0], f.box[3] - f.box[1])
                if side >= 0.9 * max(x2 - x1, y2 - y1):   # a "face" filling its whole tile is texture
                    continue
                found.append(FoundFace(f.box, f.score))
        return merge_faces(found)


def load_face_finder(choice=None, base_dir=None) -> FaceFinder:
    """The FaceFinder on the config's face model (``models.face``; blazeface-short by default)."""
    from pathlib import Path

    from vision.config import ModelChoice
    from vision.models.adapters import build
    from vision.models.manifest import DEFAULT_MANIFEST, get_model

    choice = choice or ModelChoice()
    manifest = Path(choice.manifest)
    if not manifest.is_absolute():
        candidate = Path(base_dir or ".") / manifest
        manifest = candidate if candidate.is_file() else DEFAULT_MANIFEST
    return FaceFinder(build(get_model(choice.face or "blazeface-short", manifest, task="face"), 1))
