"""Head down / dozing: score threshold variants on labelled photos without running the models again.

Step 1 (once, slow): every record with a ``head_down_sleeping`` label goes through ``analyze_image`` (the
path of ``hallmonitor eval``), and its FrameDetections (boxes, poses, faces with their eye readings) are
cached. Step 2 (seconds): the window's head-down verdict is judged again from the cache with each set of
thresholds (``observe_camera``, pure), and each variant is scored against the first (P/R/F1 pooled, per
source and on the two halves given by ``--choose``, exact McNemar on the flipped verdicts).

    python bench/head_down_cues.py /work/data/devset-all --labels /work/data/devset-all/labels.json \\
        --cache /work/data/doze2/evidence.pkl --variant before:head_down_unsure_score=0.3 --variant after:

A variant is ``name:key=value,key=value`` over ``Thresholds`` (empty: the defaults).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from math import comb
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.config import Thresholds, single_window_config  # noqa: E402
from vision.observe.frame import observe_camera  # noqa: E402

CHOOSE = "action-asleep-lying,action-awake-desk"


def cache_evidence(folder: Path, labels: Path, cache: Path) -> list[dict]:
    from vision.analysis.photo import analyze_image
    from vision.evaluation.labels import load_records
    from vision.perception.load import load_analyzer

    records = [r for r in load_records(labels) if r.labels.get("head_down_sleeping") is not None]
    analyzer = load_analyzer()
    rows, t0 = [], time.time()
    for n, rec in enumerate(records, 1):
        res = analyze_image(folder / rec.file, analyzer, None, None, rec.desk_region)
        rows.append({"file": rec.file, "source": rec.source or "", "label": bool(rec.labels["head_down_sleeping"]),
                     "desk_region": rec.desk_region, "frame": res.frame})
        if n % 25 == 0 or n == len(records):
            print(f"analysed {n}/{len(records)} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(rows))
    return rows


def verdict(row: dict, th: Thresholds) -> bool:
    frame = row["frame"]
    config = single_window_config(frame.width, frame.height, row["desk_region"])
    if th != Thresholds():
        config = config.model_copy(update={"defaults": config.defaults.model_copy(update={"thresholds": th})})
    return any(obs.head_down for obs in observe_camera(frame, config, "image", None))


def counts(pred: list[bool], truth: list[bool]) -> dict:
    tp = sum(p and t for p, t in zip(pred, truth))
    fp = sum(p and not t for p, t in zip(pred, truth))
    fn = sum(t and not p for p, t in zip(pred, truth))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"n": len(truth), "tp": tp, "fp": fp, "fn": fn, "precision": round(prec, 3), "recall": round(rec, 3),
            "f1": round(2 * prec * rec / (prec + rec), 3) if prec + rec else 0.0}


def mcnemar(base: list[bool], new: list[bool], truth: list[bool]) -> dict:
    """Exact two-sided McNemar test on the verdicts whose correctness changed."""
    worse = sum((b == t) and (n != t) for b, n, t in zip(base, new, truth))
    better = sum((b != t) and (n == t) for b, n, t in zip(base, new, truth))
    k, m = min(worse, better), worse + better
    p = 1.0 if m == 0 else min(1.0, 2 * sum(comb(m, i) for i in range(k + 1)) / 2 ** m)
    return {"better": better, "worse": worse, "p": round(p, 4)}


def parse_variant(text: str) -> tuple[str, Thresholds]:
    name, _, rest = text.partition(":")
    update: dict = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        update[key.strip()] = json.loads(value)
    return name or "defaults", Thresholds(**update)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="evidence cache (written on the first run)")
    ap.add_argument("--variant", action="append", default=[], help="name:key=value,... (the first is the base)")
    ap.add_argument("--choose", default=CHOOSE, help="sources the variants were chosen on (the rest confirm)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    rows = pickle.loads(args.cache.read_bytes()) if args.cache.is_file() else \
        cache_evidence(args.folder, args.labels, args.cache)
    variants = [parse_variant(v) for v in args.variant or ["before:head_down_unsure_score=0.3", "after:"]]
    choose = set(args.choose.split(","))
    truth = [r["label"] for r in rows]
    preds = {name: [verdict(r, th) for r in rows] for name, th in variants}
    groups = {"pooled": lambda r: True, "choose": lambda r: r["source"] in choose,
              "confirm": lambda r: r["source"] not in choose}
    for s in sorted({r["source"] for r in rows}):
        groups[s] = lambda r, s=s: r["source"] == s
    base = variants[0][0]
    out: dict = {}
    print("| rows | variant | n | TP | FP | FN | P | R | F1 | better / worse than " + base + " | McNemar p |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for group, keep in groups.items():
        idx = [i for i, r in enumerate(rows) if keep(r)]
        t = [truth[i] for i in idx]
        for name, _ in variants:
            p = [preds[name][i] for i in idx]
            c = counts(p, t)
            mc = mcnemar([preds[base][i] for i in idx], p, t)
            out.setdefault(group, {})[name] = {**c, **mc}
            print(f"| {group} | {name} | {c['n']} | {c['tp']} | {c['fp']} | {c['fn']} | {c['precision']:.2f} | "
                  f"{c['recall']:.2f} | {c['f1']:.3f} | {mc['better']} / {mc['worse']} | {mc['p']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
