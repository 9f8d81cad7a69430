"""Fit and evaluate the phone-in-use hand head on the paired squares of models/phone_synth.py.

    python models/phone_synth.py                     # once: features of the squares, models/phone-head-data.csv
    python models/train_phone_head.py [--ship]       # held-out report; --ship writes models/head-phone_in_use.npz

Leave one shooting session out: fit on every other session, cut at the threshold the training
sessions chose (out-of-fold F1), score the held-out one. Reported per held-out session, and split by
what the negatives are (the same square with nothing drawn in, or with a look-alike drawn in), since
a head that only learned "something was drawn here" would separate phones from bare hands and fail
on the look-alikes. These are synthetic pairs: the real test is the dev set (bench/phone_head.py,
``hallmonitor eval``), which is never trained on. ``--ship`` fits on all sessions and registers the
head (family head, crop hands) in models/models.yaml; it is switched on only by
``models: {heads: [head-phone_in_use]}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.perception.heads import fit_head, register_head  # noqa: E402


def auc(y: np.ndarray, p: np.ndarray) -> float:
    pos, neg = p[y], p[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    a, b = pos[:, None], neg[None, :]
    return float(((a > b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size))


def prf(y: np.ndarray, hit: np.ndarray) -> dict:
    tp, fp = int((y & hit).sum()), int((~y & hit).sum())
    pos = int(y.sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / pos if pos else 0.0
    return {"n": int(len(y)), "pos": pos, "p": round(p, 3), "r": round(r, 3),
            "f1": round(2 * p * r / (p + r), 3) if tp else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/data/phone4/synth"))
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "models.yaml")
    ap.add_argument("--C", type=float, default=0.05)
    ap.add_argument("--ship", action="store_true")
    ap.add_argument("--no-held-out", dest="held_out", action="store_false",
                    help="skip the held-out sessions (with --ship: fit and write the head only)")
    ap.add_argument("--report", type=Path, default=ROOT / "models" / "phone-head-report.md")
    args = ap.parse_args()

    files = sorted(args.data.glob("features-*.npz"))
    if not files:
        raise SystemExit(f"{args.data}: no features-*.npz; run models/phone_synth.py first")
    with np.load(files[-1]) as z:
        x, y, groups, variants = z["features"], z["labels"], z["groups"], z["variants"]
    sessions = sorted(set(groups.tolist()))
    lines = ["# Phone-in-use hand head: held-out sessions (synthetic pairs)", "",
             f"Data: `models/phone-head-data.csv` ({len(y)} squares x variants, {int(y.sum())} with a phone drawn in), "
             f"backbone features `{files[-1].name}`, C={args.C}. Command: `python models/train_phone_head.py`.", "",
             "| held-out session | squares | with phone | P | R | F1 | AUC phone vs bare | AUC phone vs look-alike |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    pooled_y, pooled_hit, pooled_p, pooled_v = [], [], [], []
    for s in sessions if args.held_out else []:
        test = groups == s
        if test.sum() < 10 or len(set(groups[~test].tolist())) < 2:
            continue
        head = fit_head(x[~test], y[~test], "phone_in_use", groups=groups[~test], C=args.C, crop="hands")
        p = head.predict(x[test])
        yt, vt = y[test], variants[test]
        m = prf(yt, p >= head.threshold)
        bare = (vt == "original") | yt
        look = (vt != "original") | yt
        lines.append(f"| {s} | {m['n']} | {m['pos']} | {m['p']:.2f} | {m['r']:.2f} | {m['f1']:.2f} | "
                     f"{auc(yt[bare], p[bare]):.2f} | {auc(yt[look], p[look]):.2f} |")
        pooled_y.append(yt)
        pooled_hit.append(p >= head.threshold)
        pooled_p.append(p)
        pooled_v.append(vt)
    m: dict = {}
    if pooled_y:
        yy, hh, pp, vv = (np.concatenate(a) for a in (pooled_y, pooled_hit, pooled_p, pooled_v))
        m = prf(yy, hh)
        bare, look = (vv == "original") | yy, (vv != "original") | yy
        m.update(auc_bare=round(auc(yy[bare], pp[bare]), 3), auc_lookalike=round(auc(yy[look], pp[look]), 3))
        lines.append(f"| **pooled** | {m['n']} | {m['pos']} | {m['p']:.2f} | {m['r']:.2f} | {m['f1']:.2f} | "
                     f"{m['auc_bare']:.2f} | {m['auc_lookalike']:.2f} |")
        print("\n".join(lines))
    if args.ship:
        head = fit_head(x, y, "phone_in_use", name="head-phone_in_use", groups=groups, C=args.C, crop="hands",
                        summary={"data": "models/phone-head-data.csv", "groups": sessions,
                                 "held_out_synthetic": m or "see models/phone-head-report.md",
                                 "trained_by": "models/train_phone_head.py",
                                 "crop": "hands"})
        spec = register_head(head, args.manifest, license="CC-BY-4.0",
                             source={"trained_by": "models/train_phone_head.py", "data": "models/phone-head-data.csv",
                                     "repos": "rogueloop/princeID (photos; phones drawn by models/phone_synth.py)",
                                     "date": dt.date.today().isoformat()},
                             extra={"crop": "hands"})
        lines += ["", f"Shipped `{spec.name}` ({spec.file.name}), threshold {head.threshold:.3f}, "
                  "fitted on every session."]
        print(f"shipped {spec.name} -> {spec.file} (threshold {head.threshold:.3f})")
    if args.held_out:
        args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")
        args.report.with_suffix(".json").write_text(json.dumps({"pooled": m, "C": args.C}, indent=1) + "\n",
                                                    encoding="utf-8")


if __name__ == "__main__":
    main()
