"""Does ImageNet's "cellular telephone" class, read on the mouth stage's squares around each staff face, tell a
call from a hand at the face? Measure only (docs/models.md, "Phone at the ear, session 6").

For each cached ``analyze_image`` row (bench/phone_ear.py's caches) and each face the mouth stage read, the
squares it read (``Face.evidence["mouth"]["squares"]``) go once more through the crop backbone and the backbone's
own 1000-class ImageNet classifier (the weights of ``models/lite0-mouth-objects.npz``); the probabilities of a
few phone-like classes are written per row to ``--out`` (a pickle), then AUCs per source pair are printed.

    nice -n 19 python bench/phone_face_imagenet.py --cache /work/data/phonepose/actions-evidence.pkl \\
        /work/data/s6/phone-evidence.pkl --images /work/data/devset-all --out /work/data/phone6/face-imagenet.pkl
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.phone_ear import load  # noqa: E402

# ImageNet-1k indices of things held like a phone
CLASSES = {487: "cellular telephone", 528: "dial telephone", 707: "pay-phone", 590: "hand-held computer",
           605: "iPod", 761: "remote control"}


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    p, n = np.array(pos)[:, None], np.array(neg)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, nargs="+", required=True)
    ap.add_argument("--images", type=Path, required=True, help="folder the relative file names are under")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    from vision.perception.load import load_analyzer

    rows = load(args.cache)
    if args.out.is_file():
        probs = pickle.loads(args.out.read_bytes())
    else:
        reader = load_analyzer().mouth
        if reader is None:
            raise SystemExit("no mouth stage configured (models.mouth): see models/models.yaml")
        probs, t0 = {}, time.time()
        for n, r in enumerate(rows, 1):
            f = r["frame"]
            path = Path(r["file"]) if Path(r["file"]).is_absolute() else args.images / r["file"]
            todo = [(i, sq["box"]) for i, face in enumerate(f.faces) if face is not None
                    for sq in ((face.evidence or {}).get("mouth") or {}).get("squares", [])]
            out: dict[int, dict[int, float]] = {}
            if todo:
                img = cv2.imread(str(path))
                logits = reader.backbone.features([img[b[1]:b[3], b[0]:b[2]] for _, b in todo]) @ reader.weight.T \
                    + reader.bias
                logits -= logits.max(axis=1, keepdims=True)
                p = np.exp(logits)
                p /= p.sum(axis=1, keepdims=True)
                for (i, _), row in zip(todo, p):
                    best = out.setdefault(i, {})
                    for c in CLASSES:
                        best[c] = max(best.get(c, 0.0), float(row[c]))
            probs[r["file"]] = out
            if n % 100 == 0:
                print(f"{n}/{len(rows)} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
        args.out.write_bytes(pickle.dumps(probs))
    from vision.config import single_window_config
    from vision.observe.frame import observe_camera

    per: dict[str, dict[bool, list[float]]] = {}
    for r in rows:
        f = r["frame"]
        obs = observe_camera(f, single_window_config(f.width, f.height, r.get("desk_region")), "image", None)
        staff = {p.index for o in obs for p in o.persons if p.staff}
        got = probs.get(r["file"], {})
        v = max([got[i][487] + got[i][528] for i in staff if i in got], default=0.0)
        per.setdefault(r["source"], {True: [], False: []})[r["truth"]].append(v)
    print("| source | n with / without a phone | median p(phone classes) | share >= 0.05 / 0.1 / 0.2 |")
    for s, d in sorted(per.items()):
        for t in (True, False):
            if d[t]:
                a = np.array(d[t])
                print(f"| {s} {'phone' if t else 'none'} | {len(a)} | {np.median(a):.4f} | "
                      + " / ".join(f"{(a >= c).mean():.2f}" for c in (0.05, 0.1, 0.2)) + " |")
    ph = per.get("action-phoning", {}).get(True, [])
    for s in ("action-smoking", "action-brushing_teeth", "action-drinking", "action-awake-desk"):
        print(f"AUC phoning vs {s}: {auc(ph, per.get(s, {}).get(False, [])):.3f}")
    for s in ("webcam-held", "zoom-webcam"):
        print(f"AUC {s} phone vs none: {auc(per.get(s, {}).get(True, []), per.get(s, {}).get(False, [])):.3f}")


if __name__ == "__main__":
    main()
