"""Train and evaluate the default behaviour heads on the public crops listed in models/heads-data.csv.

    python models/heads_data.py                      # once: images -> /work/data/heads, the CSV
    python models/train_heads.py [--data /work/data/heads] [--ship]

For each behaviour in the CSV: cut every person crop the way run time does (vision.perception.crops.person_crop),
take its backbone features (onnxruntime; cached in <data>/features-<backbone sha>.npz), then
evaluate by leaving one group out (a source video, webcam or camera session: never a random
frame split): fit a head on every other group, score the held-out one at the threshold the
training groups chose, print P/R/F1 per held-out group and pooled. A behaviour's head is shipped
(``--ship``: saved as models/head-<behaviour>.npz with its entry in models/models.yaml, fitted on
all groups) only if the held-out results beat chance: pooled balanced accuracy >= 0.6 and, on
every held-out group holding both classes, F1 above a constant "always yes". The report goes to
models/heads-report.md and models/heads-report.json (``--report``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.perception.crops import PERSON_PAD, person_crop  # noqa: E402
from vision.perception.heads import fit_head, register_head  # noqa: E402

MIN_GROUP = 10          # held-out groups smaller than this only train
BATCH = 16
SHIP_BALANCED_ACC = 0.6


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def crop_key(r: dict) -> str:
    return hashlib.sha256(f"{r['sha256']}|{r['box']}|pad={PERSON_PAD}".encode()).hexdigest()[:24]


def features_of(rows: list[dict], data: Path, backbone) -> np.ndarray:
    """(N, D) features of the rows' crops, from the cache where it has them."""
    from tqdm import tqdm
    cache_file = data / f"features-{backbone.spec.sha256[:12]}.npz"
    cache: dict[str, np.ndarray] = {}
    if cache_file.is_file():
        with np.load(cache_file) as z:
            cache = dict(zip(z["keys"].tolist(), z["features"]))
    keys = [crop_key(r) for r in rows]
    todo = [i for i, k in enumerate(keys) if k not in cache]
    by_image: dict[Path, list[int]] = defaultdict(list)
    for i in todo:
        by_image[data / "images" / rows[i]["repo"].replace("/", "+") / rows[i]["path"]].append(i)
    pending: list[tuple[int, np.ndarray]] = []

    def flush():
        if pending:
            feats = backbone.features([c for _, c in pending])
            for (i, _), f in zip(pending, feats):
                cache[keys[i]] = f
            pending.clear()

    for path, idx in tqdm(sorted(by_image.items()), desc="crops -> features", unit="img", disable=not todo,
                          mininterval=5):
        blob = path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != rows[idx[0]]["sha256"]:
            raise SystemExit(f"{path}: sha256 differs from models/heads-data.csv; rebuild with models/heads_data.py")
        image = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
        for i in idx:
            pending.append((i, person_crop(image, [float(v) for v in rows[i]["box"].split()])))
            if len(pending) >= BATCH:
                flush()
    flush()
    if todo:
        np.savez(cache_file, keys=np.array(list(cache)), features=np.stack(list(cache.values())))
    return np.stack([cache[k] for k in keys])


def scores(y: np.ndarray, pred: np.ndarray) -> dict:
    tp, fp = int(np.sum(pred & y)), int(np.sum(pred & ~y))
    fn, tn = int(np.sum(~pred & y)), int(np.sum(~pred & ~y))
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    tnr = tn / (tn + fp) if tn + fp else None
    bal = (r + tnr) / 2 if r is not None and tnr is not None else None
    return {"n": int(len(y)), "pos": int(y.sum()), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": p, "recall": r, "f1": f1, "specificity": tnr, "balanced_accuracy": bal}


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if y.all() or not y.any():
        return None
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y, p))


def fmt(v) -> str:
    return "  -  " if v is None else f"{v:.3f}"


def evaluate(behaviour: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict:
    """Leave one group out: per held-out group and pooled over all held-out crops."""
    per, pooled_y, pooled_p, pooled_pred = [], [], [], []
    names, counts = np.unique(groups, return_counts=True)
    for g, n in zip(names, counts):
        test = groups == g
        train = ~test
        if n < MIN_GROUP or len(np.unique(y[train])) < 2 or y[train].sum() < 2 or (~y[train]).sum() < 2:
            continue
        head = fit_head(x[train], y[train], behaviour, groups=groups[train])
        prob = head.predict(x[test])
        pred = prob >= head.threshold
        s = scores(y[test], pred)
        s.update(group=str(g), auc=auc(y[test], prob), threshold=head.threshold,
                 always_yes_f1=(2 * y[test].mean() / (1 + y[test].mean())) if y[test].any() else None)
        per.append(s)
        pooled_y.append(y[test])
        pooled_p.append(prob)
        pooled_pred.append(pred)
    if not per:
        return {"groups": [], "pooled": None, "ship": False, "why": "no group can be held out with both classes left "
                                                                    "to train"}
    yy, pp, pr = np.concatenate(pooled_y), np.concatenate(pooled_p), np.concatenate(pooled_pred)
    pooled = scores(yy, pr)
    pooled["auc"] = auc(yy, pp)
    mixed = [s for s in per if 0 < s["pos"] < s["n"]]
    beats = [s["f1"] is not None and s["always_yes_f1"] is not None and s["f1"] > s["always_yes_f1"] for s in mixed]
    bal = pooled["balanced_accuracy"]
    ship = bal is not None and bal >= SHIP_BALANCED_ACC and bool(mixed) and all(beats)
    why = (f"pooled held-out balanced accuracy {fmt(bal)} (needs >= {SHIP_BALANCED_ACC}); "
           f"{sum(beats)} of {len(mixed)} mixed held-out groups beat 'always yes' on F1")
    return {"groups": per, "pooled": pooled, "ship": ship, "why": why}


def table(behaviour: str, result: dict) -> list[str]:
    lines = [f"### {behaviour}", "",
             "| held-out group | crops | positives | threshold | P | R | F1 | F1 always-yes | specificity | AUC |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in result["groups"]:
        lines.append(f"| {s['group']} | {s['n']} | {s['pos']} | {s['threshold']:.3f} | {fmt(s['precision'])} | "
                     f"{fmt(s['recall'])} | {fmt(s['f1'])} | {fmt(s['always_yes_f1'])} | {fmt(s['specificity'])} | "
                     f"{fmt(s['auc'])} |")
    p = result["pooled"]
    if p:
        lines.append(f"| **pooled** | {p['n']} | {p['pos']} | | {fmt(p['precision'])} | {fmt(p['recall'])} | "
                     f"{fmt(p['f1'])} | | {fmt(p['specificity'])} | {fmt(p['auc'])} |")
    lines += ["", f"Balanced accuracy (pooled): {fmt(p['balanced_accuracy']) if p else '-'}. "
              f"{'SHIPPED' if result['ship'] else 'NOT shipped'}: {result['why']}.", ""]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/data/heads"))
    ap.add_argument("--rows", type=Path, default=ROOT / "models" / "heads-data.csv")
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "models.yaml")
    ap.add_argument("--backbone", default="efficientnet-lite0")
    ap.add_argument("--ship", action="store_true", help="write the heads that beat chance into models/")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report", type=Path, default=ROOT / "models" / "heads-report",
                    help="where the report goes (.md and .json are added)")
    args = ap.parse_args()

    from vision.models.adapters import build
    from vision.models.manifest import get_model
    backbone = build(get_model(args.backbone, args.manifest, task="features"), args.threads)
    rows = read_rows(args.rows)
    x_all = features_of(rows, args.data, backbone)
    report = {"backbone": args.backbone, "rows": len(rows), "date": dt.date.today().isoformat(), "heads": {}}
    md = ["# Behaviour heads: held-out results", "",
          f"Backbone `{args.backbone}` ({backbone.spec.input.width} px), data `models/heads-data.csv` "
          f"({len(rows)} person crops), leave-one-group-out. Command: `python models/train_heads.py`.", ""]
    for behaviour in sorted({r["behaviour"] for r in rows}):
        idx = np.array([i for i, r in enumerate(rows) if r["behaviour"] == behaviour])
        x = x_all[idx]
        y = np.array([rows[i]["label"] == "1" for i in idx])
        groups = np.array([rows[i]["group"] for i in idx])
        result = evaluate(behaviour, x, y, groups)
        print("\n".join(table(behaviour, result)))
        md += table(behaviour, result)
        entry = {"crops": int(len(y)), "positives": int(y.sum()), **result}
        if result["ship"] and args.ship:
            head = fit_head(x, y, behaviour, name=f"head-{behaviour}", backbone=args.backbone, groups=groups,
                            summary={"data": "models/heads-data.csv", "groups": sorted(set(groups.tolist())),
                                     "held_out": result["pooled"], "trained_by": "models/train_heads.py"})
            repos = sorted({rows[i]["repo"] for i in idx})
            spec = register_head(head, args.manifest, license="CC-BY-4.0",
                                 source={"trained_by": "models/train_heads.py", "data": "models/heads-data.csv",
                                         "repos": ", ".join(repos), "date": report["date"]})
            entry["file"] = spec.file.name
            entry["threshold"] = head.threshold
            print(f"shipped {spec.name} -> {spec.file} (threshold {head.threshold:.3f})")
        report["heads"][behaviour] = entry
    args.report.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")
    args.report.with_suffix(".json").write_text(json.dumps(report, indent=1, default=float) + "\n", encoding="utf-8")
    print(f"wrote {args.report.with_suffix('.md')} and {args.report.with_suffix('.json')}")


if __name__ == "__main__":
    main()
