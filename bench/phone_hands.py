#!/usr/bin/env python3
"""Measure the hand zoom (vision/perception/hand_zoom.py) on labelled photos, variant by variant.

Each photo goes once through the product's own path (``analyze_image`` with the hand zoom off: the
baseline verdict), then the detector looks at the hand squares of every person with a pose (the 3
biggest, as the crop pass) at each ``--sizes`` value; every find at score >= 0.05 is kept with its
label. The scoring then tries each label set and score cut: phone in use = the baseline's verdict OR
a find in a hand square. Photos whose phone verdict is not labelled count how often the zoom fires
(staff at desks, drivers, name-tag crops: no phone expected, though not guaranteed).

    python bench/phone_hands.py --data /work/data/devset-phone --labels /work/data/devset-phone/labels.json \\
        --cache /work/data/phone/hands.pkl             # ~1 s a photo; --rescore reads the cache only
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vision.analysis.photo import analyze_image, read_image
from vision.config import ModelChoice, single_window_config
from vision.evaluation.labels import load_records
from vision.evaluation.scores import expected_verdicts, got_verdicts
from vision.perception.hand_zoom import hand_regions, look_at_hands
from vision.perception.load import load_analyzer

ALL_LABELS = frozenset({"cell phone", "remote", "book", "mouse"})


def collect(args) -> list[dict]:
    from tqdm import tqdm

    analyzer = load_analyzer(ModelChoice())
    off = ModelChoice(hand_zoom_every_s=0)          # the baseline: the product without the hand zoom
    records = load_records(args.labels)
    if args.sources:
        records = [r for r in records if (r.source or "") in args.sources]
    rows = []
    for rec in tqdm(records, unit="img", file=sys.stderr):
        path, desk = args.data / rec.file, rec.desk_region
        if args.far:
            path, desk = farther(path, desk, args.far, args.cache.parent / "far")
        h, w = read_image(path).shape[:2]
        config = single_window_config(w, h, desk).model_copy(update={"models": off})
        result = analyze_image(path, analyzer, config, "image")
        frame = result.frame
        h, w = result.image.shape[:2]
        data = result.to_json()
        row = {"file": rec.file, "source": rec.source or "", "expected": expected_verdicts(rec.labels)["phone_in_use"],
               "baseline": got_verdicts(data["windows"])["phone_in_use"], "finds": {}, "ms": {}, "regions": {},
               "frame": frame, "size": (w, h), "desk": rec.desk_region}
        people = sorted(range(len(frame.persons)), key=lambda i: -frame.persons[i].width * frame.persons[i].height)[:3]
        for size in args.sizes:
            scale, kp = (float(v) for v in size.split(":"))
            regions = [r for i in people for r in hand_regions(frame.poses[i], frame.persons[i].box, i, w, h,
                                                               size=scale, min_score=kp)]
            t = time.process_time()
            finds = look_at_hands(analyzer.detector, result.image, regions, min_score=0.05, labels=ALL_LABELS)
            row["ms"][size] = (time.process_time() - t) * 1000
            row["regions"][size] = [(r.box, r.at_head) for r in regions]
            row["finds"][size] = [(d.label, d.score, d.box) for d in finds]
        rows.append(row)
    return rows


def farther(path: Path, desk, share: float, out: Path):
    """The photo as a camera farther away would see it: shrunk to ``share`` of a 1920x1080 frame's width
    and set in its middle, the rest of the frame the photo's mean colour (a counter camera 2-4 m away
    sees a seated clerk about that size)."""
    import cv2
    import numpy as np
    img = read_image(path)
    h, w = img.shape[:2]
    s = min(share * 1920 / w, 1080 / h)
    small = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    frame = np.empty((1080, 1920, 3), np.uint8)
    frame[:] = img.reshape(-1, 3).mean(0).astype(np.uint8)
    y0, x0 = (1080 - small.shape[0]) // 2, (1920 - small.shape[1]) // 2
    frame[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    target = out / f"{path.parent.name}-{path.stem}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(target), frame)
    if desk:
        desk = [x0 + desk[0] * s, y0 + desk[1] * s, x0 + desk[2] * s, y0 + desk[3] * s]
    return target, desk


def prf(rows, got) -> str:
    tp = sum(1 for r in rows if r["expected"] and got(r))
    fp = sum(1 for r in rows if r["expected"] is False and got(r))
    pos = sum(1 for r in rows if r["expected"])
    p = tp / (tp + fp) if tp + fp else float("nan")
    rc = tp / pos if pos else float("nan")
    f = 2 * p * rc / (p + rc) if tp else 0.0
    return f"{p:.2f} / {rc:.2f} / {f:.2f} ({tp} tp, {fp} fp of {pos} pos)"


def report(rows, sizes) -> None:
    scored = [r for r in rows if r["expected"] is not None]
    sources = sorted({r["source"] for r in scored})
    unlabelled = [r for r in rows if r["expected"] is None]
    print(f"{len(scored)} photos with the phone verdict labelled; {len(unlabelled)} without")
    print("variant | all | " + " | ".join(sources) + " | fires where unlabelled")
    print(f"baseline | {prf(scored, lambda r: r['baseline'])} | "
          + " | ".join(prf([r for r in scored if r["source"] == s], lambda r: r["baseline"]) for s in sources) + " | -")
    for size in sizes:
        for labels in (frozenset({"cell phone"}), frozenset({"cell phone", "remote"})):
            for cut in (0.15, 0.2, 0.25, 0.3, 0.4):
                def hand(r, size=size, labels=labels, cut=cut):
                    return any(lab in labels and s >= cut for lab, s, _ in r["finds"][size])

                def got(r, hand=hand):
                    return bool(r["baseline"]) or hand(r)
                fires = sum(1 for r in unlabelled if hand(r))
                name = f"hands {size} {'+'.join(sorted(labels))} >= {cut}"
                print(f"{name} | {prf(scored, got)} | "
                      + " | ".join(prf([r for r in scored if r["source"] == s], got) for s in sources)
                      + f" | {fires}/{len(unlabelled)}")
        ms = sorted(r["ms"][size] for r in rows)
        nreg = sum(len(r["regions"][size]) for r in rows)
        print(f"hands {size}: median {ms[len(ms) // 2]:.0f} ms CPU a photo, "
              f"{nreg / max(1, len(rows)):.2f} squares a photo")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/work/data/devset-phone"))
    ap.add_argument("--labels", type=Path, default=Path("/work/data/devset-phone/labels.json"))
    ap.add_argument("--sources", nargs="*", default=[], help="only these sources (default: all)")
    ap.add_argument("--sizes", nargs="*", default=["1.2:0.2", "2.0:0.2", "1.2:0.1", "2.0:0.1"],
                    help="hand squares as SIZE:KP: SIZE shoulder widths across, wrists of keypoint score >= KP")
    ap.add_argument("--cache", type=Path, default=Path("/work/data/phone/hands.pkl"))
    ap.add_argument("--far", type=float, default=0.0, help="see each photo as from farther away: shrunk to this "
                    "share of a 1920x1080 frame's width (0: as it is)")
    ap.add_argument("--rescore", action="store_true", help="score the cache again without running the models")
    args = ap.parse_args()
    if args.rescore:
        rows = pickle.loads(args.cache.read_bytes())
    else:
        rows = collect(args)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        args.cache.write_bytes(pickle.dumps(rows))
    report(rows, args.sizes)


if __name__ == "__main__":
    main()
