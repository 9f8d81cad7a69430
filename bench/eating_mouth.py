#!/usr/bin/env python3
"""Measure the mouth stage on persons with no face found (the head taken from the pose) from one cached run.

The mouth stage (``vision.perception.mouth``) reads only the faces BlazeFace finds; a drinker in profile,
or with the cup or the bottle over the face, has none, and is missed. ``--collect``: each photo goes once
through ``analyze_image`` as ``hallmonitor eval`` runs it (the baseline verdict), then for each person the
face stage looked at (the first ``Analyzer.max_face_persons``) that has no face, the mouth squares around
``mouth.head_box`` (the pose's head points, else the top of the box) are read too. Scoring: eating = the
baseline OR such a reading at or above the cut.

    nice -n 19 python bench/eating_mouth.py --collect --labels /work/data/counter/eat-labels.json \\
        --cache /work/data/counter/eat.pkl
    python bench/eating_mouth.py --cache /work/data/counter/eat.pkl
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vision.evaluation.labels import load_records  # noqa: E402
from vision.evaluation.scores import expected_verdicts, got_verdicts  # noqa: E402


def collect(args) -> None:
    from tqdm import tqdm

    from vision.analysis.photo import analyze_image
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer
    from vision.perception.mouth import SPANS, face_square, head_box

    analyzer = load_analyzer(ModelChoice())
    rows = []
    for rec in tqdm(load_records(args.labels), unit="img", file=sys.stderr):
        result = analyze_image(args.data / rec.file, analyzer, None, None, rec.desk_region)
        data = result.to_json()
        frame, image = result.frame, result.image
        h, w = image.shape[:2]
        people = []
        for i in range(min(len(frame.persons), analyzer.max_face_persons)):
            if frame.faces[i] is not None:
                continue
            head = head_box(frame.persons[i].box, frame.poses[i], None)
            from_pose = frame.poses[i] is not None and head[1] != frame.persons[i].box[1]
            rects = [r for r in (face_square(head, w, h, span=s) for s in SPANS) if r is not None]
            probs = analyzer.mouth.probabilities([image[r[1]:r[3], r[0]:r[2]] for r in rects]) if rects else []
            people.append({"index": i, "head": head, "from_pose": from_pose,
                           "p": max((p for p, _, _ in probs), default=0.0),
                           "top": [t for _, t, _ in probs]})
        rows.append({"file": rec.file, "source": rec.source,
                     "want": expected_verdicts(rec.labels)["eating_or_drinking"],
                     "got": got_verdicts(data["windows"])["eating_or_drinking"], "people": people, "size": (w, h)})
    args.cache.write_bytes(pickle.dumps(rows))


def score(rows, cut: float | None, pose_only: bool = True) -> dict[str, list[int]]:
    per: dict[str, list[int]] = {}
    for r in rows:
        say = bool(r["got"]) or (cut is not None and any(
            p["p"] >= cut and (p["from_pose"] or not pose_only) for p in r["people"]))
        c = per.setdefault(r["source"], [0, 0, 0, 0])
        c[(0 if say else 2) + (0 if r["want"] else 1)] += 1
    return per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--data", type=Path, default=Path("/work/data/devset-all"))
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--cuts", type=float, nargs="*", default=[0.3, 0.4, 0.5, 0.6, 0.7])
    args = ap.parse_args()
    if args.collect:
        collect(args)
        return
    rows = pickle.loads(args.cache.read_bytes())
    print("cut | pose head only | source TP/FP/FN/TN ...")
    for cut in [None] + list(args.cuts):
        for pose_only in (True, False):
            per = score(rows, cut, pose_only)
            tp, fp, fn = (sum(c[k] for c in per.values()) for k in (0, 1, 2))
            f1 = 2 * tp / max(1, 2 * tp + fp + fn)
            print(cut, pose_only, " ".join(f"{s}:{'/'.join(map(str, c))}" for s, c in sorted(per.items())),
                  f"F1 {f1:.3f}")
            if cut is None:
                break


if __name__ == "__main__":
    main()
