"""The presence pass on a wide zone rectangle at several stretches, against a tiled look (docs/performance.md
section 17).

The dev set's photos are nearly square, so they say little about a camera's wide zone rectangle (the live
bench's 1280 x 439 on a 720p frame). Here the reference is the detector looking at the same rectangle in
overlapping tiles about as wide as high (each near the square input's own aspect; 4 passes on the bench's
rectangle), the people it finds at score >= --ref-score; each variant's persons at the person bar
(thresholds.person_score, 0.35) are matched one-to-one at IoU >= 0.5:

    python bench/presence_aspect.py                                   # vtest.avi at 720p, 80 frames
    python bench/presence_aspect.py --footage /work/data/office-staff.mp4

Prints per variant: input size, recall of the reference people, persons found that the reference does not have,
and the median wall ms of the pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.watch_cost import frames  # noqa: E402
from vision.perception.geometry import box_iou  # noqa: E402
from vision.perception.pipeline import Analyzer  # noqa: E402

REGION = (0, 86, 1280, 525)         # the bench's two windows' zones on a 720p frame, padded (CameraWatch._region)


def tiles(region, overlap: float = 0.25):
    """Overlapping tiles of ``region`` about as wide as it is high."""
    x1, y1, x2, y2 = region
    h = y2 - y1
    n = max(1, round((x2 - x1 - overlap * h) / ((1 - overlap) * h)))
    step = (x2 - x1 - h) / max(1, n - 1) if n > 1 else 0
    return [(int(x1 + i * step), y1, int(x1 + i * step + h) if n > 1 else x2, y2) for i in range(n)]


def merged_people(detector, image, region, min_score: float) -> list:
    """The people of the tiled look: every tile's persons, one per place (NMS across tiles at IoU 0.5)."""
    found = sorted((d for t in tiles(region) for d in Analyzer._detect(detector, image, t, min_score)
                    if d.label == "person"), key=lambda d: d.score, reverse=True)
    kept: list = []
    for d in found:
        if all(box_iou(d.box, k.box) < 0.5 for k in kept):
            kept.append(d)
    return kept


def matched(found, ref) -> int:
    """One-to-one matches at IoU >= 0.5, best first."""
    pairs = sorted(((box_iou(f.box, r.box), i, j) for i, f in enumerate(found) for j, r in enumerate(ref)),
                   reverse=True)
    used_f, used_r, n = set(), set(), 0
    for iou, i, j in pairs:
        if iou < 0.5:
            break
        if i not in used_f and j not in used_r:
            used_f.add(i)
            used_r.add(j)
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=80, help="frames, one a second")
    ap.add_argument("--footage", type=Path, default=None, help="a video in place of vtest.avi")
    ap.add_argument("--ref-score", type=float, default=0.5, help="score of a reference person")
    ap.add_argument("--person-score", type=float, default=0.35, help="the person bar of each variant")
    args = ap.parse_args()
    from vision.models.adapters import build
    from vision.models.manifest import get_model

    detector = build(get_model("nanodet"), 1)
    images = frames(args.frames, args.footage)
    variants: list[float | None] = [None, 2.0, 1.5, 1.0]
    hits = {v: 0 for v in variants}
    extra = {v: 0 for v in variants}
    ms: dict = {v: [] for v in variants}
    size: dict = {}
    refs = 0
    for image in images:
        ref = merged_people(detector, image, REGION, args.ref_score)
        refs += len(ref)
        for v in variants:
            t = time.perf_counter()
            found = [d for d in Analyzer._detect(detector, image, REGION, args.person_score, stretch=v)
                     if d.label == "person"]
            ms[v].append((time.perf_counter() - t) * 1000)
            size[v] = detector.input_size
            n = matched(found, ref)
            hits[v] += n
            extra[v] += len(found) - n
    print(f"{len(images)} frames, region {REGION}, reference: {len(tiles(REGION))} tiles, {refs} people at "
          f">= {args.ref_score}")
    print("| max stretch | input | pixels of the square | reference people found | recall | persons not in the "
          "reference | wall ms median |")
    print("|---|---|---|---|---|---|---|")
    for v in variants:
        w, h = size[v]
        print(f"| {'square' if v is None else f'{v:g}'} | {w} x {h} | {w * h / 416 / 416:.2f} | {hits[v]} | "
              f"{hits[v] / max(1, refs):.3f} | {extra[v]} | {statistics.median(ms[v]):.1f} |")


if __name__ == "__main__":
    main()
