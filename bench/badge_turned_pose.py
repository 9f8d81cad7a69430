"""Would the badge be judged on more staff if the pose were read on the crop turned upright?

    python bench/badge_turned_pose.py DEVSET_DIR --labels LABELS.json [--json out.json]

For every record with a ``badge_visible`` label: the Analyzer (as ``analyze`` runs it) finds the staff
member; MoveNet then reads the person's crop as it is and turned by 90, 180 and 270 degrees, and the
badge judge (``vision.perception.badge.judge_badge``, the hall's default profile) looks at the chest
of each. "upright" is the crop as it is; "turned" keeps the upright verdict where it judged and otherwise
takes the turn whose torso keypoints (shoulders and hips) score best, if the judge could judge there.
On an overhead fisheye view many staff lie sideways or upside down in the picture, where MoveNet finds
no shoulders. Prints both confusion tables, the coverage and the balanced accuracy. A measurement: it
never fails and trains nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from vision.analysis.photo import analyze_image
from vision.config import BadgeProfile, Thresholds
from vision.evaluation.labels import load_records
from vision.perception.badge import judge_badge
from vision.perception.load import load_analyzer

TURNS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
TORSO = [5, 6, 11, 12]   # COCO shoulders and hips


def _outcome(label: bool, said: bool | None) -> str:
    if said is None:
        return "not judged"
    return ("TP" if said else "FN") if label else ("FP" if said else "TN")


def _summary(t: dict[str, int], labelled: int) -> dict:
    judged = t["TP"] + t["FN"] + t["TN"] + t["FP"]
    recall = t["TP"] / (t["TP"] + t["FN"]) if t["TP"] + t["FN"] else None
    spec = t["TN"] / (t["TN"] + t["FP"]) if t["TN"] + t["FP"] else None
    ba = None if recall is None or spec is None else (recall + spec) / 2
    return {**t, "judged": judged, "coverage": judged / labelled if labelled else None, "balanced_accuracy": ba}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    records = [r for r in load_records(args.labels) if r.labels.get("badge_visible") is not None]
    analyzer = load_analyzer(None, None)
    th, profile = Thresholds(), BadgeProfile()
    tallies = {k: dict.fromkeys(("TP", "FN", "TN", "FP", "not judged"), 0) for k in ("upright", "turned")}
    rows = []
    for i, rec in enumerate(records, 1):
        label = bool(rec.labels["badge_visible"])
        result = analyze_image(args.folder / rec.file, analyzer, None, None, rec.desk_region)
        staff = [p for p in result.to_json()["persons"] if p.get("staff")]
        reads: dict[int, tuple[float, bool | None, str]] = {}
        if staff:
            h, w = result.image.shape[:2]
            x1, y1, x2, y2 = (int(round(v)) for v in staff[0]["box"])
            crop = result.image[max(0, y1):min(h, y2), max(0, x1):min(w, x2)]
            for deg, code in TURNS.items():
                img = crop if code is None else cv2.rotate(crop, code)
                ch, cw = img.shape[:2]
                pose = analyzer.pose.estimate(img, (0, 0, cw, ch))
                torso = float(np.mean(pose.keypoints[TORSO, 2])) if pose is not None else 0.0
                v = judge_badge(img, pose, [], set(), profile, th)
                reads[deg] = (torso, v.badge, v.reason)
        upright = reads.get(0, (0.0, None, "no staff found"))
        turned = upright
        if upright[1] is None and reads:
            best = max(reads.values(), key=lambda r: r[0])
            if best[1] is not None:
                turned = best
        for name, r in (("upright", upright), ("turned", turned)):
            tallies[name][_outcome(label, r[1])] += 1
        seen = {str(d): {"torso": round(r[0], 3), "badge": r[1], "reason": r[2]} for d, r in reads.items()}
        rows.append({"file": rec.file, "label": label, "reads": seen})
        print(f"\r{i}/{len(records)}", end="", flush=True)
    print()
    out = {k: _summary(t, len(records)) for k, t in tallies.items()}
    for k, s in out.items():
        ba = "-" if s["balanced_accuracy"] is None else f"{s['balanced_accuracy']:.2f}"
        print(f"{k}: TP {s['TP']} FN {s['FN']} TN {s['TN']} FP {s['FP']} not judged {s['not judged']}; "
              f"judged {s['judged']} of {len(records)} (coverage {s['coverage']:.2f}), BA {ba}")
    if args.json:
        args.json.write_text(json.dumps({"summary": out, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
