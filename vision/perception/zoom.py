"""Counter zoom: the counter cut into tiles the detector sees at its own input size.

A phone lying flat on a counter is a few dozen pixels in a 1080p frame and a handful once the
frame is squeezed into the detector's 416 px input. Cutting the counter's bounding rectangle into
tiles of about the detector's input size (never more than ``max_tiles``) lets it look at the
counter at full resolution, or enlarged when the counter is small. A detector with a free input size
sees strips along the counter at the same scale instead (fewer pixels). Pure: rectangles in, out.
"""

from __future__ import annotations

import math

Rect = tuple[int, int, int, int]


def counter_tiles(rect: Rect, tile_px: int, max_tiles: int = 4, overlap: float = 0.15,
                  frame_size: tuple[int, int] | None = None, square: bool = True) -> list[Rect]:
    """Tiles (x1, y1, x2, y2) covering ``rect``, each about ``tile_px`` wide and high, overlapping
    by ``overlap`` so that a phone on a seam is whole in one tile.

    A counter smaller than one tile gets one tile of ``tile_px`` centred on it where the frame
    allows (the detector then sees it at its native scale, not stretched from a sliver); a larger
    one gets a grid of at most ``max_tiles`` tiles, which grow past ``tile_px`` when needed.
    ``square`` False (a detector that takes its input at the tile's own aspect, so a strip is not
    stretched): a tile keeps its long side, and its short side is the counter's with as much again
    around it (a phone lying at the edge, some context), at least a quarter of the long side.
    """
    x1, y1, x2, y2 = rect
    w, h = max(1, x2 - x1), max(1, y2 - y1)
    fw, fh = frame_size if frame_size else (x2, y2)
    if w <= tile_px and h <= tile_px:
        one: tuple[float, float] = (max(w, min(tile_px, fw)), max(h, min(tile_px, fh)))
        if not square:
            one = _strip(w, h, *one)
        return [_fit((x1 + x2) / 2, (y1 + y2) / 2, *one, fw, fh)]
    step = tile_px * (1 - overlap)
    nx, ny = max(1, math.ceil((w - tile_px) / step) + 1), max(1, math.ceil((h - tile_px) / step) + 1)
    while nx * ny > max_tiles:        # too many tiles: shed a row or a column of the longer side
        if nx >= ny and nx > 1:
            nx -= 1
        elif ny > 1:
            ny -= 1
    tw = w if nx == 1 else w / (nx - (nx - 1) * overlap)
    th = h if ny == 1 else h / (ny - (ny - 1) * overlap)
    # square-ish tiles: a tile much wider than high is stretched by the detector's square input
    side = max(tw, th)
    tiles = []
    for j in range(ny):
        for i in range(nx):
            cx = x1 + tw / 2 + i * tw * (1 - overlap)
            cy = y1 + th / 2 + j * th * (1 - overlap)
            size: tuple[float, float] = (max(tw, min(side, fw)), max(th, min(side, fh)))
            if not square:
                size = _strip(tw, th, *size)
            tiles.append(_fit(cx, cy, *size, fw, fh))
    return tiles


def _strip(w: float, h: float, tile_w: float, tile_h: float) -> tuple[float, float]:
    """A square-ish ``tile_w`` x ``tile_h`` tile around a ``w`` x ``h`` piece of counter, cut down to a strip:
    the long side stays, the short one is twice the counter's (at least a quarter of the long side)."""
    if tile_w >= tile_h:
        return tile_w, min(tile_h, max(2 * h, tile_w / 4))
    return min(tile_w, max(2 * w, tile_h / 4)), tile_h


def _fit(cx: float, cy: float, w: float, h: float, fw: int, fh: int) -> Rect:
    """A w x h rectangle centred on (cx, cy), shifted (not cut) to stay inside the frame."""
    w, h = min(w, fw), min(h, fh)
    x1 = min(max(0.0, cx - w / 2), fw - w)
    y1 = min(max(0.0, cy - h / 2), fh - h)
    return int(round(x1)), int(round(y1)), int(round(x1 + w)), int(round(y1 + h))
