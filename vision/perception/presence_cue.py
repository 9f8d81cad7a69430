"""Person pixels: a second presence signal for the windows where the detector found nobody.

NanoDet misses people it sees badly (a sleeper with the face on the arms, a close-up cut by the frame,
head and shoulders only, a small or blurred view): it still gives them a weak person box, under the
person bar, that neither the pose nor a face confirms. A person-segmentation model (MediaPipe's selfie
segmentation, 256 px, a few ms) then says whether that weak box is made of person pixels. A weak box
counts as a person when

- the detector scores it at least ``min_score``,
- at least ``min_box_share`` of its cells are person pixels (probability >= ``pixel_p``), and
- those person pixels cover at least ``min_view_share`` of the view the segmenter read (the frame, or the
  windows' zones).

Neither signal alone is enough (measured on the dev set, docs/models.md "Person pixels"): the segmenter
alone calls bare concrete floors persons (the selfie model assumes a person is there), and weak boxes
alone are everywhere in an empty office. The Analyzer runs it only when nobody is in its focus, so it
costs nothing on a staffed frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.perception.detections import Detection

PERSON_PIXELS = "person pixels"     # the reason a person counts (``FrameDetections.confirmed``)


@dataclass(frozen=True)
class PixelCue:
    """The cuts of the person-pixel signal (chosen on the dev set's held-out split, docs/models.md)."""

    min_score: float = 0.10        # the weak box's detector score
    min_box_share: float = 0.20    # share of the box's cells that are person pixels
    min_view_share: float = 0.02   # the box's person pixels over the whole view read
    pixel_p: float = 0.5           # a cell is a person pixel from this probability


@dataclass(frozen=True)
class PixelReading:
    """What the mask says about one weak box."""

    detection: Detection
    box_share: float
    view_share: float
    person: bool


def read_boxes(mask: np.ndarray, view: tuple[int, int, int, int], boxes: list[Detection],
               cue: PixelCue = PixelCue()) -> list[PixelReading]:
    """Each box's person-pixel shares on ``mask`` (the segmenter's grid stretched over ``view``, x1, y1,
    x2, y2 in frame pixels). Pure: no model is run here."""
    vx1, vy1, vx2, vy2 = view
    rows, cols = mask.shape
    sx, sy = cols / max(1, vx2 - vx1), rows / max(1, vy2 - vy1)
    person = mask >= cue.pixel_p
    out = []
    for d in boxes:
        x1, y1, x2, y2 = d.box
        c1 = int(np.clip(np.floor((x1 - vx1) * sx), 0, cols - 1))
        r1 = int(np.clip(np.floor((y1 - vy1) * sy), 0, rows - 1))
        c2 = int(np.clip(np.ceil((x2 - vx1) * sx), c1 + 1, cols))
        r2 = int(np.clip(np.ceil((y2 - vy1) * sy), r1 + 1, rows))
        cells = person[r1:r2, c1:c2]
        hits = int(cells.sum())
        box_share, view_share = hits / cells.size, hits / person.size
        out.append(PixelReading(d, round(box_share, 4), round(view_share, 4),
                                d.score >= cue.min_score and box_share >= cue.min_box_share
                                and view_share >= cue.min_view_share))
    return out


class PersonPixels:
    """The segmenter and its cuts: which weak person boxes are made of person pixels."""

    def __init__(self, segmenter, cue: PixelCue = PixelCue()):
        self.segmenter = segmenter
        self.cue = cue

    def read(self, image: np.ndarray, view: tuple[int, int, int, int] | None,
             weak: list[Detection]) -> list[PixelReading]:
        """The segmenter on ``view`` (None: the whole image), then each weak box's reading; no model run
        when no box reaches ``cue.min_score``."""
        weak = [d for d in weak if d.score >= self.cue.min_score]
        if not weak:
            return []
        h, w = image.shape[:2]
        x1, y1, x2, y2 = view if view is not None else (0, 0, w, h)
        mask = self.segmenter.person_mask(image[y1:y2, x1:x2])
        return read_boxes(mask, (x1, y1, x2, y2), weak, self.cue)
