"""Phone at the ear: score threshold variants of "phone in use" on cached frames, by group and by hash half.

Reads one or more caches of ``analyze_image`` runs (rows with ``file``, ``source``, ``frame`` and the phone
label in ``phone`` or ``label``): bench/phone_pose.py's Stanford 40 Actions cache (``phoning`` = phone in use;
``smoking``, ``brushing_teeth`` = a hand at the face, no phone; research use only: measured, never trained on)
and a cache of the dev set's phone records (webcam-held, zoom-webcam, statefarm-driver with their labels;
action-drinking, action-awake-desk, drowsiness-driver with none). Each variant is ``name:key=value,...`` over
``Thresholds`` (values in JSON); the product's verdict (``observe_camera``, pure) is recomputed per photo.
Every photo falls in one of two halves by a hash of its file name: choose a variant on ``choose``, confirm on
``confirm``. Exact McNemar on the flipped verdicts against the first variant (the defaults unless given).

    python bench/phone_ear.py --cache /work/data/phonepose/actions-evidence.pkl /work/data/s6/phone-evidence.pkl \\
        --variant base: --variant upright:ear_phone_upright=1.0 --variant low:ear_phone_score=0.2,ear_phone_upright=1.0
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.head_down_cues import counts, mcnemar, parse_variant  # noqa: E402
from vision.config import Thresholds, single_window_config  # noqa: E402
from vision.observe.frame import observe_camera  # noqa: E402

SCORED = ("action-phoning", "action-smoking", "action-brushing_teeth", "action-drinking", "action-awake-desk",
          "webcam-held", "zoom-webcam")
AT_FACE = ("action-smoking", "action-brushing_teeth", "action-drinking")


def half_of(file: str) -> str:
    return "choose" if int(hashlib.sha256(Path(file).name.encode()).hexdigest(), 16) % 2 else "confirm"


def verdict(row: dict, th: Thresholds) -> bool:
    frame = row["frame"]
    config = single_window_config(frame.width, frame.height, row.get("desk_region"))
    if th != Thresholds():
        config = config.model_copy(update={"defaults": config.defaults.model_copy(update={"thresholds": th})})
    return any(obs.phone_in_use for obs in observe_camera(frame, config, "image", None))


def load(caches: list[Path]) -> list[dict]:
    rows = []
    for cache in caches:
        for r in pickle.loads(cache.read_bytes()):
            truth = r["phone"] if "phone" in r else r["label"]
            rows.append({**r, "truth": bool(truth), "half": half_of(r["file"])})
    return rows


def score(rows: list[dict], base: list[bool], pred: list[bool]) -> dict:
    out: dict = {"said": {}}
    for src in sorted({r["source"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["source"] == src]
        out["said"][src] = {h: "+".join(f"{sum(pred[i] for i in idx if rows[i]['half'] == h and rows[i]['truth'] == t)}"
                                        f"/{sum(1 for i in idx if rows[i]['half'] == h and rows[i]['truth'] == t)}"
                                        for t in (True, False) if any(rows[i]['truth'] == t for i in idx))
                            for h in ("choose", "confirm")}
    for h in ("choose", "confirm", "all"):
        idx = [i for i, r in enumerate(rows) if r["source"] in SCORED and (h == "all" or r["half"] == h)]
        t = [rows[i]["truth"] for i in idx]
        out[h] = {**counts([pred[i] for i in idx], t), **mcnemar([base[i] for i in idx], [pred[i] for i in idx], t)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, nargs="+", required=True)
    ap.add_argument("--variant", action="append", default=[], help="name:key=value,... over Thresholds")
    ap.add_argument("--grid", action="store_true", help="sweep ear_phone_score x ear_phone_upright")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = load(args.cache)
    variants = [parse_variant(v) for v in args.variant] or [("defaults", Thresholds())]
    if args.grid:
        variants = [variants[0]] + [(f"s{s}-u{u}", Thresholds(ear_phone_score=s, ear_phone_upright=u))
                                    for s, u in itertools.product([None, 0.2, 0.22], [0.0, 0.8, 0.9, 1.0, 1.1, 1.2])]
    base = [verdict(r, variants[0][1]) for r in rows]
    sources = sorted({r["source"] for r in rows})
    print("said phone in use, per source and half: with a phone found / n + without one said / n")
    print("| variant | " + " | ".join(f"{s} (choose / confirm)" for s in sources)
          + " | choose TP / FP, F1, better / worse, p | confirm TP / FP, F1, better / worse, p | all F1 |")
    print("| --- |" + " ---: |" * (len(sources) + 3))
    out = {}
    for name, th in variants:
        pred = base if th == variants[0][1] else [verdict(r, th) for r in rows]
        res = out[name] = score(rows, base, pred)
        cells = [f"{res['said'][s]['choose']} / {res['said'][s]['confirm']}" for s in sources]
        cells += [f"{res[h]['tp']} / {res[h]['fp']}, {res[h]['f1']:.3f}, {res[h]['better']} / {res[h]['worse']}, "
                  f"{res[h]['p']:.3f}" for h in ("choose", "confirm")]
        print(f"| {name} | " + " | ".join(cells) + f" | {res['all']['f1']:.3f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
