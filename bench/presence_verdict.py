"""Score variants of the whole "staff present" verdict offline, on every labelled image (not only those
called empty, as bench/presence_cue.py does): who the detector finds, which weak boxes the pose, a face or
person pixels confirm, and checks on the persons found (e.g. ``vision.perception.presence_check``).

Pass 1 (slow, once, --cache): every labelled image through the product's presence path (analyze, with the
presence models only), keeping the verdict and the persons it counted, every person box the detector scores
>= 0.05, the pose on the best boxes, BlazeFace's faces and the selfie mask. Pass 2 (instant): the product's
decision is replayed from those signals (it must agree with pass 1's verdict on every image) and each
variant is scored per source, tuned on some sources and checked on the others, with McNemar's exact test
on the flipped verdicts.

    python bench/presence_verdict.py /work/data/devset-all --labels /work/data/devset-all/labels.json \\
        --cache /work/data/presence3/verdict-cache.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.presence_cue import _rate, mcnemar  # noqa: E402

POSE_BOXES = 4        # the pose on at most this many person boxes per image (best first, score >= 0.1)


def cache_signals(folder: Path, records: list[dict], cache: Path) -> None:
    from tqdm import tqdm

    from vision.analysis.photo import analyze_image
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer

    analyzer = load_analyzer(ModelChoice(heads=[], mouth=None, landmarks=None, eyes=None, crop_pass=False, threads=1,
                                         counter_zoom_every_s=0))
    rows, masks = [], []
    for rec in tqdm(records, desc="pass 1", unit="img", file=sys.stderr):
        res = analyze_image(folder / rec["file"], analyzer, None, None, rec.get("desk_region"))
        data = res.to_json()
        win = data["windows"][0]
        image = res.image
        h, w = image.shape[:2]
        dets = sorted((d for d in analyzer.presence.detect(image, min_score=0.05) if d.label == "person"),
                      key=lambda d: d.score, reverse=True)
        poses = []
        for d in [d for d in dets if d.score >= 0.1][:POSE_BOXES]:
            pose = analyzer.pose.estimate(image, d.box)
            poses.append(None if pose is None else np.round(pose.keypoints, 2).tolist())
        faces = [[round(float(f.score), 4), *[round(float(v), 1) for v in f.box]]
                 for f in analyzer.face.detector.detect(image, min_score=0.3)]
        masks.append((analyzer.pixels.segmenter.person_mask(image) * 255).astype(np.uint8))
        rows.append({"file": rec["file"], "wh": [w, h], "staff_present": win["staff_present"],
                     "seen_by": win.get("staff_seen_by"),
                     "persons": [[p["score"], *p["box"], p.get("confirmed_by")] for p in data["persons"]],
                     "dets": [[round(d.score, 4), *[round(float(v), 1) for v in d.box]] for d in dets],
                     "poses": poses, "faces": faces})
    np.savez_compressed(cache, rows=np.array([json.dumps(r) for r in rows]), masks=np.stack(masks))


def load(cache: Path) -> list[dict]:
    z = np.load(cache)
    out = []
    for r, m in zip(z["rows"].tolist(), z["masks"]):
        row = json.loads(r)
        row["mask"] = m.astype(np.float32) / 255.0
        out.append(row)
    return out


def replay(row: dict, check=None, cue=None, person_score: float = 0.35, confirm_score: float = 0.15,
           max_confirm: int = 2, doubt=None) -> tuple[bool, list[tuple]]:
    """The product's presence decision from the cached signals (``Analyzer.analyze`` with no focus).
    ``doubt(row, person) -> bool``: a detector person it returns False for is dropped before the face and
    pixel fallbacks run; ``check(row, person, why) -> bool`` is applied to every person counted at the end.
    Returns (staffed, [(detection, why)])."""
    from vision.perception.detections import Detection, Pose
    from vision.perception.geometry import inside_share
    from vision.perception.pipeline import head_and_shoulders
    from vision.perception.presence_cue import PixelCue, read_boxes

    cue = cue or PixelCue()
    w, h = row["wh"]
    dets = [Detection("person", s, (x1, y1, x2, y2)) for s, x1, y1, x2, y2 in row["dets"]]
    posed = {tuple(d.box): p for d, p in zip([d for d in dets if d.score >= 0.1][:POSE_BOXES], row["poses"])}
    persons = [(d, "detector") for d in dets if d.score >= person_score]
    weak = [d for d in dets if confirm_score <= d.score < person_score
            and not any(inside_share(d.box, p.box) > 0.5 for p, _ in persons)]
    for d in weak[:max_confirm]:
        kp = posed.get(tuple(d.box))
        pose = None if kp is None else Pose(np.asarray(kp, dtype=np.float32), d.score)
        if head_and_shoulders(pose, d.box):
            persons.append((d, "head and shoulders in the pose"))
    if doubt is not None:
        persons = [(d, why) for d, why in persons if why != "detector" or doubt(row, d)]
    if not persons:
        for s, x1, y1, x2, y2 in row["faces"]:
            fw, fh = x2 - x1, y2 - y1
            if s < 0.75 or min(fw, fh) < 24:
                continue
            box = (max(0.0, x1 - fw), max(0.0, y1 - 0.4 * fh), min(float(w), x2 + fw), min(float(h), y2 + 2.5 * fh))
            persons.append((Detection("person", s, box), "a face"))
            if len(persons) >= max_confirm:
                break
    if not persons:
        under = [d for d in dets if d.score < person_score and d.score >= cue.min_score]
        kept: list = []
        for r in read_boxes(row["mask"], (0, 0, w, h), under, cue):
            if r.person and not any(inside_share(r.detection.box, k.box) > 0.5 for k in kept):
                kept.append(r.detection)
        persons += [(d, "person pixels") for d in kept[:max_confirm]]
    if check is not None:
        persons = [(d, why) for d, why in persons if check(row, d, why)]
    return bool(persons), persons


def pose_check(row: dict):
    """``replay``'s ``doubt`` for the product's rule (``presence_check``): a person the cuts call doubtful
    counts when the cached pose on its box shows a head and shoulders. The view is the one window."""
    from vision.perception.detections import Pose
    from vision.perception.pipeline import head_and_shoulders

    posed = {tuple(b[1:]): p for b, p in zip([x for x in row["dets"] if x[0] >= 0.1][:POSE_BOXES], row["poses"])}

    def confirmed(d) -> bool:
        kp = posed.get(tuple(d.box), "missing")
        if kp == "missing":         # not posed in pass 1 (outside the best POSE_BOXES): believed
            return True
        return head_and_shoulders(None if kp is None else Pose(np.asarray(kp, dtype=np.float32), d.score), d.box)
    return confirmed


def verdicts(rows: list[dict], doubt=None) -> dict[str, bool]:
    """Each image's staff present under the cuts ``doubt`` (a ``presence_check.Doubt``; None: main's rule)."""
    from vision.perception.presence_check import doubtful_in

    out = {}
    for r in rows:
        if doubt is None:
            out[r["file"]] = replay(r)[0]
            continue
        w, h = r["wh"]
        zone = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        is_doubtful, confirmed = doubtful_in([(zone, 0.5, doubt)]), pose_check(r)
        out[r["file"]] = replay(r, doubt=lambda row, d, f=is_doubtful, c=confirmed: not f(d) or c(d))[0]
    return out


def counts(rows: list[dict], got: dict[str, bool], group) -> tuple[int, int, int, int]:
    tp = fn = fp = tn = 0
    for r in rows:
        if group(r["source"]):
            label, v = r["label"], got[r["file"]]
            tp, fn, fp, tn = tp + (label and v), fn + (label and not v), fp + (v and not label), tn + (not (v or label))
    return tp, fn, fp, tn


def ba(c) -> float:
    tp, fn, fp, tn = c
    return ((tp / (tp + fn) if tp + fn else 1.0) + (tn / (tn + fp) if tn + fp else 1.0)) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="pass 1's output (made when missing)")
    ap.add_argument("--held", default="staff-id-desks,staff-id-nametags,staff-id-frames",
                    help="one side of the split (comma-separated sources); the cuts are chosen on each side and "
                         "checked on the other")
    args = ap.parse_args()
    from vision.perception.presence_check import Doubt

    records = [r for r in json.loads(args.labels.read_text()) if r["labels"].get("staff_present") is not None]
    if not args.cache.exists():
        cache_signals(args.folder, records, args.cache)
    rows = load(args.cache)
    by_file = {r["file"]: r for r in records}
    for r in rows:
        r["label"], r["source"] = by_file[r["file"]]["labels"]["staff_present"], by_file[r["file"]].get("source", "")
    main_says = verdicts(rows)
    wrong = [r["file"] for r in rows if main_says[r["file"]] != r["staff_present"]]
    print(f"{len(rows)} images; the replay disagrees with pass 1's product verdict on {len(wrong)} {wrong[:5]}")

    held = set(args.held.split(","))
    sides = {"A": lambda s: s in held, "B": lambda s: s not in held}
    grid = [Doubt(s, a) for s in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65) for a in (0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2)]
    scored = [verdicts(rows, d) for d in grid]
    print(f"\nA = {sorted(held)}, B = the other sources; main: A BA {ba(counts(rows, main_says, sides['A'])):.4f}, "
          f"B BA {ba(counts(rows, main_says, sides['B'])):.4f}")
    print("| chosen on | sure_score | max_zone_share | BA there | BA on the other side (TP, FN, FP, TN) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for tune, check in (("A", "B"), ("B", "A")):
        ranked = sorted(range(len(grid)), key=lambda i: (-round(ba(counts(rows, scored[i], sides[tune])), 4),
                                                          grid[i].sure_score, grid[i].max_zone_share))
        for i in ranked[:3]:
            c = counts(rows, scored[i], sides[check])
            print(f"| {tune} | {grid[i].sure_score} | {grid[i].max_zone_share} | "
                  f"{ba(counts(rows, scored[i], sides[tune])):.4f} | {ba(c):.4f} {c} |")

    shipped = Doubt()
    got = verdicts(rows, shipped)
    print(f"\nthe shipped cuts {shipped}: per source, TPR / TNR main -> with the check")
    for src in sorted({r["source"] for r in rows}):
        b, a = counts(rows, main_says, lambda s, src=src: s == src), counts(rows, got, lambda s, src=src: s == src)
        print(f"  {src:22s} TPR {_rate(b[0], b[1])} -> {_rate(a[0], a[1])}   "
              f"TNR {_rate(b[3], b[2])} -> {_rate(a[3], a[2])}")
    fixed = [r["file"] for r in rows if got[r["file"]] == r["label"] != main_says[r["file"]]]
    broken = [r["file"] for r in rows if main_says[r["file"]] == r["label"] != got[r["file"]]]
    b, a = counts(rows, main_says, lambda s: True), counts(rows, got, lambda s: True)
    print(f"  pooled {b} BA {ba(b):.4f} -> {a} BA {ba(a):.4f}; {len(fixed)} fixed, {len(broken)} broken, "
          f"McNemar exact p = {mcnemar(len(fixed), len(broken)):.2g}")
    print("  broken:", broken)


if __name__ == "__main__":
    main()
