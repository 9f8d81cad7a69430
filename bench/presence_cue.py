"""Choose and check the cuts of the person-pixel presence cue (vision/perception/presence_cue.py) on a
labelled dev set, held out by source.

Pass 1 (slow, once): every labelled image through `analyze`'s path with the cue off; where the window is
called empty, the weak person boxes (detector score >= 0.05) and the selfie mask are cached (--cache).
Pass 2 (instant): every cut in a grid is scored offline; the cuts are chosen on the --tune sources and
reported on the others, with McNemar's exact test on the flipped verdicts.

    python bench/presence_cue.py /work/data/devset-all --labels /work/data/devset-all/labels.json \\
        --cache /work/data/presence2/cue-cache.npz --tune-not staff-id-desks,staff-id-nametags,staff-id-frames
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from math import comb
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cache_signals(folder: Path, records: list[dict], cache: Path) -> None:
    from tqdm import tqdm

    from vision.analysis.photo import analyze_image
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer

    analyzer = load_analyzer(ModelChoice(segmenter=None))
    segmenter = load_analyzer(ModelChoice(heads=[], face=None, mouth=None)).pixels.segmenter
    files, masks, boxes, empty = [], [], [], []
    for rec in tqdm(records, desc="pass 1", unit="img", file=sys.stderr):
        res = analyze_image(folder / rec["file"], analyzer, None, None, rec.get("desk_region"))
        called = res.to_json()["windows"][0]["staff_present"]
        empty.append(not called)
        if called:
            continue
        h, w = res.image.shape[:2]
        weak = [d for d in analyzer.presence.detect(res.image, min_score=0.05) if d.label == "person"]
        files.append(rec["file"])
        masks.append((segmenter.person_mask(res.image) * 255).astype(np.uint8))
        boxes.append(json.dumps([[d.score, *d.box, w, h] for d in weak]))
    np.savez_compressed(cache, files=np.array(files), masks=np.stack(masks), boxes=np.array(boxes),
                        all_files=np.array([r["file"] for r in records]), all_empty=np.array(empty))


def mcnemar(b: int, c: int) -> float:
    n = b + c
    return 1.0 if n == 0 else min(1.0, 2 * sum(comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n)


def _rate(hit: int, miss: int) -> str:
    return f"{hit / (hit + miss):.3f}" if hit + miss else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="pass 1's output (made when missing)")
    ap.add_argument("--tune-not", default="staff-id-desks,staff-id-nametags,staff-id-frames",
                    help="sources held out from choosing the cuts (comma-separated); the others tune them")
    args = ap.parse_args()

    from vision.perception.detections import Detection
    from vision.perception.presence_cue import PixelCue, read_boxes

    records = json.loads(args.labels.read_text())
    records = [r for r in records if r["labels"].get("staff_present") is not None]
    if not args.cache.exists():
        cache_signals(args.folder, records, args.cache)
    z = np.load(args.cache)
    by_file = {r["file"]: r for r in records}
    empty = dict(zip(z["all_files"].tolist(), z["all_empty"].tolist()))
    held = set(args.tune_not.split(","))
    cached = []
    for f, m, b in zip(z["files"].tolist(), z["masks"], z["boxes"].tolist()):
        rows = json.loads(b)
        dets = [Detection("person", s, (x1, y1, x2, y2)) for s, x1, y1, x2, y2, _, _ in rows]
        w, h = (rows[0][5], rows[0][6]) if rows else (1, 1)
        cached.append((f, m.astype(np.float32) / 255.0, dets, (0, 0, int(w), int(h))))

    def rescued(cue: PixelCue) -> set[str]:
        return {f for f, m, dets, view in cached if any(r.person for r in read_boxes(m, view, dets, cue))}

    def counts(flipped: set[str], group) -> tuple[int, int, int, int, int, int]:
        tp = fn = fp = tn = gained = false_new = 0
        for f, r in by_file.items():
            if not group(r.get("source", "")):
                continue
            label, got = r["labels"]["staff_present"], not empty[f]
            new = got or f in flipped
            gained += label and new and not got
            false_new += (not label) and new and not got
            tp, fn = tp + (label and new), fn + (label and not new)
            fp, tn = fp + ((not label) and new), tn + ((not label) and not new)
        return tp, fn, fp, tn, gained, false_new

    def ba(c) -> float | None:
        tp, fn, fp, tn = c[:4]
        return None if not (tp + fn and fp + tn) else (tp / (tp + fn) + tn / (tn + fp)) / 2

    tune, check = (lambda s: s not in held), (lambda s: s in held)
    grid = [PixelCue(min_score=s, min_box_share=b, min_view_share=v)
            for s, b, v in itertools.product((0.05, 0.08, 0.1, 0.12, 0.15), (0.0, 0.2, 0.3, 0.4, 0.6),
                                             (0.0, 0.01, 0.02, 0.03))]
    scored = sorted(((ba(counts(rescued(c), tune)) or 0.0, i) for i, c in enumerate(grid)), reverse=True)
    print(f"tuned on the sources other than {sorted(held)}; checked on those")
    print("| min_score | min_box_share | min_view_share | tune BA | tune +TP / +FP | held-out BA "
          "| held-out +TP / +FP |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for _, i in scored[:10]:
        c = grid[i]
        flipped = rescued(c)
        t, k = counts(flipped, tune), counts(flipped, check)
        print(f"| {c.min_score} | {c.min_box_share} | {c.min_view_share} | {ba(t):.3f} | {t[4]} / {t[5]} | "
              f"{ba(k):.3f} | {k[4]} / {k[5]} |")
    chosen = PixelCue()
    flipped = rescued(chosen)
    print(f"\nthe shipped cuts {chosen}: per source (TPR / TNR before -> after)")
    for src in sorted({r.get("source", "") for r in by_file.values()}):
        b, a = counts(set(), lambda s, src=src: s == src), counts(flipped, lambda s, src=src: s == src)
        print(f"  {src:24s} TPR {_rate(b[0], b[1])} -> {_rate(a[0], a[1])}  "
              f"TNR {_rate(b[3], b[2])} -> {_rate(a[3], a[2])}  +TP {a[4]} +FP {a[5]}")
    b, a = counts(set(), lambda s: True), counts(flipped, lambda s: True)
    print(f"  pooled BA {ba(b):.3f} -> {ba(a):.3f}; McNemar (positives) p = {mcnemar(a[4], 0):.2g}, "
          f"(negatives) p = {mcnemar(a[5], 0):.2g}")


if __name__ == "__main__":
    main()
