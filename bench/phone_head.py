#!/usr/bin/env python3
"""Measure a phone-in-use head on labelled photos without running the whole product once per variant.

``--collect``: each photo goes once through the product's own path (``analyze_image``, as
``hallmonitor eval`` calls it: the record's desk region is the counter, default models), which gives
the baseline verdict; then the backbone's features of every hand square (``hand_zoom.hand_regions``
at wrist keypoint scores >= 0.2 and >= 0.1) and of every person crop of the 3 biggest persons with a
pose are cached. Scoring then needs no model but the head: phone in use = the baseline's verdict OR
the head's best probability over the person's squares at or above the cut.

    python bench/phone_head.py --collect --data /work/data/devset-all \\
        --labels /work/data/phone4/labels-sub.json --cache /work/data/phone4/bench.npz
    python bench/phone_head.py --cache /work/data/phone4/bench.npz --head models/head-phone_in_use.npz

The cached verdicts are the baseline of the run they came from: compare heads on one cache only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vision.evaluation.labels import load_records  # noqa: E402
from vision.evaluation.scores import expected_verdicts, got_verdicts  # noqa: E402

KP_SCORES = (0.2, 0.1)


def collect(args) -> None:
    from tqdm import tqdm

    from vision.analysis.photo import analyze_image
    from vision.config import ModelChoice
    from vision.models.adapters import build
    from vision.models.manifest import get_model
    from vision.perception.crops import person_crop
    from vision.perception.hand_zoom import hand_regions
    from vision.perception.load import load_analyzer

    analyzer = load_analyzer(ModelChoice())
    backbone = build(get_model("efficientnet-lite0", task="features"))
    rows, feats = [], []
    for rec in tqdm(load_records(args.labels), unit="img", file=sys.stderr):
        result = analyze_image(args.data / rec.file, analyzer, None, None, rec.desk_region)
        frame, image = result.frame, result.image
        h, w = image.shape[:2]
        people = sorted((i for i in range(len(frame.persons)) if frame.poses[i] is not None),
                        key=lambda i: -frame.persons[i].width * frame.persons[i].height)[:3]
        crops, kinds = [], []
        for i in people:
            crops.append(person_crop(image, frame.persons[i].box))
            kinds.append(("person", i, 0.0, False))
            for kp in KP_SCORES:
                for r in hand_regions(frame.poses[i], frame.persons[i].box, i, w, h, min_score=kp):
                    x1, y1, x2, y2 = r.box
                    crops.append(image[y1:y2, x1:x2])
                    kinds.append(("hand", i, kp, r.at_head))
        f = backbone.features(crops)
        start = sum(len(x) for x in feats)
        feats.append(f)
        rows.append({"file": rec.file, "source": rec.source or "",
                     "expected": expected_verdicts(rec.labels).get("phone_in_use"),
                     "baseline": got_verdicts(result.to_json()["windows"]).get("phone_in_use"),
                     "crops": [{"kind": k, "person": i, "kp": kp, "at_head": ah, "row": start + j}
                               for j, (k, i, kp, ah) in enumerate(kinds)]})
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.cache, features=np.concatenate(feats) if feats else np.zeros((0, backbone.dim)),
                        rows=np.array(json.dumps(rows)))


def load_cache(path: Path) -> tuple[list[dict], np.ndarray]:
    with np.load(path) as z:
        return json.loads(str(z["rows"])), z["features"]


def person_scores(row: dict, probs: np.ndarray, kind: str, kp: float) -> list[float]:
    """Each person's best probability over their crops of ``kind`` (hand squares at ``kp``)."""
    best: dict[int, float] = {}
    for c in row["crops"]:
        if c["kind"] == kind and (kind == "person" or c["kp"] == kp):
            best[c["person"]] = max(best.get(c["person"], 0.0), float(probs[c["row"]]))
    return list(best.values())


def prf(rows: list[dict], got) -> dict:
    tp = sum(1 for r in rows if r["expected"] and got(r))
    fp = sum(1 for r in rows if r["expected"] is False and got(r))
    pos = sum(1 for r in rows if r["expected"])
    p = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / pos if pos else 0.0
    return {"tp": tp, "fp": fp, "pos": pos, "p": p, "r": rc, "f1": 2 * p * rc / (p + rc) if tp else 0.0}


def fmt(m: dict) -> str:
    return f"{m['p']:.2f} / {m['r']:.2f} / {m['f1']:.2f} ({m['tp']} tp, {m['fp']} fp of {m['pos']})"


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def report(rows: list[dict], features: np.ndarray, head, kind: str, cuts) -> None:
    probs = head.predict(features) if len(features) else np.zeros(0)
    scored = [r for r in rows if r["expected"] is not None]
    sources = sorted({r["source"] for r in scored})
    print("variant | all | " + " | ".join(sources))
    print("baseline | " + fmt(prf(scored, lambda r: r["baseline"])) + " | "
          + " | ".join(fmt(prf([r for r in scored if r["source"] == s], lambda r: r["baseline"])) for s in sources))
    for kp in (KP_SCORES if kind == "hand" else (0.0,)):
        best = {r["file"]: max(person_scores(r, probs, kind, kp), default=0.0) for r in scored}
        aucs = {s: auc([best[r["file"]] for r in scored if r["source"] == s and r["expected"]],
                       [best[r["file"]] for r in scored if r["source"] == s and r["expected"] is False])
                for s in sources}
        print(f"{kind} kp>={kp}: AUC of the best score per photo: "
              + ", ".join(f"{s} {a:.2f}" for s, a in aucs.items()))
        for cut in cuts:
            def got(r, cut=cut, best=best):
                return bool(r["baseline"]) or best[r["file"]] >= cut
            print(f"+ head {kind} kp>={kp} p>={cut} | " + fmt(prf(scored, got)) + " | "
                  + " | ".join(fmt(prf([r for r in scored if r["source"] == s], got)) for s in sources))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/work/data/devset-all"))
    ap.add_argument("--labels", type=Path, default=Path("/work/data/phone4/labels-sub.json"))
    ap.add_argument("--cache", type=Path, default=Path("/work/data/phone4/bench.npz"))
    ap.add_argument("--collect", action="store_true", help="run the models and write the cache")
    ap.add_argument("--head", type=Path, help="a head's .npz to score (default: only the baseline)")
    ap.add_argument("--cuts", type=float, nargs="*", default=[0.5, 0.6, 0.7, 0.8, 0.9])
    args = ap.parse_args()
    if args.collect:
        collect(args)
    rows, features = load_cache(args.cache)
    if args.head is None:
        scored = [r for r in rows if r["expected"] is not None]
        print("baseline | " + fmt(prf(scored, lambda r: r["baseline"])))
        return
    from vision.perception.heads import read_head
    head = read_head(args.head)
    report(rows, features, head, "hand" if head.crop == "hands" else "person", args.cuts)


if __name__ == "__main__":
    main()
