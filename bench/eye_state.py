"""Eye state on real public photos: how well the face -> landmarks -> iris path tells open from closed.

    python bench/eye_state.py [--data /work/data/face-eyes] [--json out.json] [--limit N]

Reads three public sets, extracted (not committed) under --data:
  sleep/   samganguly/student-sleep-detection (MIT) data/{train,valid}/{open,closed}/*.jpg: eye crops.
           The iris stage only: a first pass on the whole crop finds the eye's corners, a second pass
           reads the eye from the crop the pipeline would cut at those corners. Also at 24/16/12/8 px
           eye width (the photo scaled down first), and with the eye read mirrored (the crops do not say
           which eye they show).
  aps360/  sehyunlee217/aps360_project (eyes: public domain) dataset/eve_v5/{train,valid,test}: face
           photos with eye boxes labelled closed / opened. The whole path: BlazeFace on the photo,
           face mesh, iris on each eye, vision.perception.eyes' verdict.
  drowsy/  Beastojenisto/Drowsiness-Detection (CC BY 4.0) Driver-drowsiness-detection-1: one driver,
           faces labelled awake / drowsy. The whole Analyzer (person, pose, face stage); "drowsy" mixes
           closed eyes with yawns and head pose, so it measures something close to, not the same as,
           eye state.

Prints, per set: photos, share with a face found, share with both eyes read, AUC of the openness (closed
vs open), and the verdicts with the default thresholds (config.Thresholds): accuracy of the judged ones
and the share left unknown. The threshold sweep on the sleep set's train split shows where the defaults
come from. A benchmark: it never fails.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from vision.config import ModelChoice, Thresholds  # noqa: E402
from vision.perception.eyes import EyeReading, judge_eyes, read_eye  # noqa: E402
from vision.perception.load import load_analyzer  # noqa: E402

# where each set was fetched from (the public repository's commit) and under which licence
SOURCES = {
    "sleep": ("samganguly/student-sleep-detection", "cca3a2d678038630f1e66e0e600d9805166b3407", "MIT", "data/"),
    "aps360": ("sehyunlee217/aps360_project", "0d099c51fe70cf7c47571858e6dcc2dd0964bc35", "public domain (Roboflow "
                                                                                          "export)",
               "dataset/eve_v5/"),
    "drowsy": ("Beastojenisto/Drowsiness-Detection", "d9e8ce2423799b22d0e5e806738c4a3e78915638", "CC BY 4.0",
               "Driver-drowsiness-detection-1/"),
}


def write_data_manifest(path: Path, root: Path, out: dict) -> None:
    """One CSV row per photo used: set, repository, commit, path in the repository, sha256, licence, label."""
    import csv
    import hashlib

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["set", "repository", "commit", "path", "sha256", "license", "label", "split"])
        for name, (repo, commit, lic, _prefix) in SOURCES.items():
            for r in (out.get(name) or {}).get("rows", []):
                rel = r["file"].split("/", 1)[1]            # drop the local set folder
                digest = hashlib.sha256((root / r["file"]).read_bytes()).hexdigest()
                w.writerow([name, repo, commit, rel, digest, lic, r["truth"], r.get("split", "")])


def auc(closed: list[float], opened: list[float]) -> float:
    """P(openness of a closed eye < openness of an open one), ties counted half (Mann-Whitney)."""
    if not closed or not opened:
        return float("nan")
    c, o = np.asarray(closed)[:, None], np.asarray(opened)[None, :]
    return float(((c < o).sum() + 0.5 * (c == o).sum()) / (c.size * o.size))


def verdict_counts(items: list[tuple[str, str]]) -> dict:
    """items: (truth "open"/"closed", verdict "open"/"closed"/"unknown")."""
    judged = [(t, v) for t, v in items if v != "unknown"]
    right = sum(t == v for t, v in judged)
    per = {}
    for label in ("open", "closed"):
        mine = [(t, v) for t, v in items if t == label]
        per[label] = {"n": len(mine), "right": sum(v == label for _, v in mine),
                      "wrong": sum(v not in (label, "unknown") for _, v in mine),
                      "unknown": sum(v == "unknown" for _, v in mine)}
    return {"judged": len(judged), "accuracy": right / len(judged) if judged else float("nan"),
            "unknown_share": 1 - len(judged) / len(items) if items else float("nan"), "per_label": per}


def progress(name: str, i: int, n: int, t0: float) -> None:
    if i % 100 == 0 or i == n:
        print(f"  {name}: {i}/{n} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Eye crops (iris stage)


def read_eye_crop(iris, img: np.ndarray, mirror: bool, eye_px: float | None = None) -> EyeReading | None:
    """Two passes of the iris model on an eye photo; ``eye_px``: scale the photo so that the eye is
    that wide first."""
    h, w = img.shape[:2]
    side = max(h, w)
    c = np.array([w / 2, h / 2], np.float32)
    half = np.array([side / (2 * iris.crop_scale), 0], np.float32)
    first = iris.eye(img, c - half, c + half, "right", mirror=mirror)
    a, b = first.lids[0], first.lids[8]
    width = float(np.linalg.norm(b - a))
    if width < 2:
        return None
    if eye_px is not None:
        k = eye_px / width
        if k < 1:
            img = cv2.resize(img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
            a, b = a * k, b * k
    second = iris.eye(img, a, b, "right", mirror=mirror)
    return read_eye("right", second.lids)


def sleep_set(root: Path, iris, limit: int | None):
    rows = []
    files = []
    for split in ("train", "valid"):
        for label in ("open", "closed"):
            fs = sorted(glob.glob(str(root / "sleep" / "data" / split / label / "*.jpg")))
            files += [(split, label, f) for f in fs[:limit]]
    t0 = time.time()
    for i, (split, label, f) in enumerate(files, 1):
        img = cv2.imread(f)
        row = {"split": split, "truth": label, "file": os.path.relpath(f, root)}
        for mirror in (False, True):
            for px in (None, 24, 16, 12, 8):
                r = read_eye_crop(iris, img, mirror, px)
                row[f"{'m' if mirror else 'u'}{px or 'native'}"] = None if r is None else (r.openness, r.width_px)
        rows.append(row)
        progress("sleep", i, len(files), t0)
    return rows


def sweep(rows: list[dict], key: str) -> tuple[float, float]:
    """The single cut on openness with the best balanced accuracy (closed <= cut < open)."""
    vals = [(r[key][0], r["truth"]) for r in rows if r[key] is not None]
    best = (0.0, 0.0)
    for cut in np.arange(0.02, 0.40, 0.005):
        tpr = np.mean([v <= cut for v, t in vals if t == "closed"])
        tnr = np.mean([v > cut for v, t in vals if t == "open"])
        if (tpr + tnr) / 2 > best[1]:
            best = (float(cut), float((tpr + tnr) / 2))
    return best


def eye_crop_verdict(r, th: Thresholds) -> str:
    if r is None:
        return "unknown"
    openness, width = r
    return judge_eyes([EyeReading("right", width, openness)], None, th).state


# ---------------------------------------------------------------------------------------------------------------
# Face photos (whole path)


def face_verdict(face) -> tuple[str, float | None, bool, str]:
    if face is None:
        return "unknown", None, False, "no face found"
    eyes = face.evidence.get("eyes") or []
    openness = float(np.mean([e["openness"] for e in eyes])) if len(eyes) == 2 else None
    return face.eyes, openness, True, face.evidence.get("eyes_reason", "")


def aps360_set(root: Path, analyzer, limit: int | None):
    reader = analyzer.face
    rows = []
    files = []
    for split in ("train", "valid", "test"):
        files += sorted(glob.glob(str(root / "aps360" / "dataset" / "eve_v5" / split / "images" / "*.jpg")))[:limit]
    t0 = time.time()
    for i, f in enumerate(files, 1):
        lab = f.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
        classes = ({ln.split()[0] for ln in open(lab).read().splitlines() if ln.strip()}
                   if os.path.exists(lab) else set())
        progress("aps360", i, len(files), t0)
        if len(classes) != 1:
            continue                       # no eye box, or one eye open and one closed
        truth = "closed" if classes == {"0"} else "open"
        img = cv2.imread(f)
        h, w = img.shape[:2]
        face = reader.read(img, (0.0, 0.0, float(w), float(h)))
        state, openness, found, why = face_verdict(face)
        rows.append({"truth": truth, "file": os.path.relpath(f, root),
                     "source": os.path.basename(f).split("_jpg.rf.")[0],
                     "found": found, "state": state, "openness": openness, "reason": why})
    return rows


def drowsy_set(root: Path, analyzer, limit: int | None):
    rows = []
    files = []
    for split in ("train", "valid", "test"):
        pattern = root / "drowsy" / "Driver-drowsiness-detection-1" / split / "images" / "*.jpg"
        files += sorted(glob.glob(str(pattern)))[:limit]
    t0 = time.time()
    for i, f in enumerate(files, 1):
        progress("drowsy", i, len(files), t0)
        lab = f.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
        lines = [ln.split() for ln in open(lab).read().splitlines() if ln.strip()] if os.path.exists(lab) else []
        if len(lines) != 1:
            continue
        cls, cx, cy, bw, bh = lines[0][0], *map(float, lines[0][1:5])
        img = cv2.imread(f)
        h, w = img.shape[:2]
        truth_box = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
        frame = analyzer.analyze(img, person_min_score=0.35)
        face = None
        for fc in frame.faces:
            if fc is not None and truth_box[0] <= (fc.box[0] + fc.box[2]) / 2 <= truth_box[2] \
                    and truth_box[1] <= (fc.box[1] + fc.box[3]) / 2 <= truth_box[3]:
                face = fc
                break
        state, openness, found, why = face_verdict(face)
        rows.append({"truth": "awake" if cls == "0" else "drowsy", "file": os.path.relpath(f, root),
                     "persons": len(frame.persons), "found": found, "state": state, "openness": openness,
                     "reason": why})
    return rows


def face_summary(rows: list[dict], closed_label: str, open_label: str) -> dict:
    n = len(rows)
    found = [r for r in rows if r["found"]]
    read = [r for r in found if r["openness"] is not None]
    items = [("closed" if r["truth"] == closed_label else "open", r["state"]) for r in rows]
    why: dict[str, int] = {}
    for r in rows:
        if r["state"] == "unknown":
            key = r["reason"].split(":")[0].split(" ")[0] if r["reason"] else "?"
            key = {"no": r["reason"], "eyes": "eyes too small", "lid": "lid gap between the thresholds",
                   "head": "head turned", "face": "low face score"}.get(key, r["reason"])
            why[key] = why.get(key, 0) + 1
    return {"photos": n, "sources": len({r.get("source", r["file"]) for r in rows}), "unknown_because": why,
            "face_found": len(found) / n if n else float("nan"),
            "eyes_read": len(read) / n if n else float("nan"),
            "auc": auc([r["openness"] for r in read if r["truth"] == closed_label],
                       [r["openness"] for r in read if r["truth"] == open_label]),
            "verdicts": verdict_counts(items)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/data/face-eyes", type=Path)
    ap.add_argument("--json", type=Path, help="write every row and the summary here")
    ap.add_argument("--limit", type=int, help="at most this many photos per folder (a quick run)")
    ap.add_argument("--sets", nargs="+", default=["sleep", "aps360", "drowsy"])
    ap.add_argument("--data-manifest", type=Path, help="write the photos used (repository, commit, path, sha256, "
                    "licence, label) as CSV here")
    args = ap.parse_args()
    th = Thresholds()
    analyzer = load_analyzer(ModelChoice(threads=1), crop_pass=False)
    iris = analyzer.face.iris
    out: dict = {"thresholds": {k: getattr(th, k) for k in ("face_score", "eye_min_px", "eye_turned_ratio",
                                                           "eye_closed_below", "eye_open_above")}}
    if "sleep" in args.sets:
        rows = sleep_set(args.data, iris, args.limit)
        train = [r for r in rows if r["split"] == "train"]
        cut, bal = sweep(train, "unative")
        print(f"\nsleep (eye crops, iris stage): {len(rows)} crops; best single cut on the train split "
              f"({len(train)}): openness <= {cut:.3f} closed, balanced accuracy {bal:.3f}")
        print(f"{'eye width':>10} {'mirrored':>8} {'AUC all':>8} {'AUC valid':>9} {'acc valid':>9} {'unknown':>8}")
        summary = {"crops": len(rows), "train_cut": cut, "train_balanced_accuracy": bal, "by_width": {}}
        for px in ("native", 24, 16, 12, 8):
            for m in ("u", "m"):
                key = f"{m}{px}"
                ok = [r for r in rows if r[key] is not None]
                valid = [r for r in ok if r["split"] == "valid"]
                a_all = auc([r[key][0] for r in ok if r["truth"] == "closed"],
                            [r[key][0] for r in ok if r["truth"] == "open"])
                a_val = auc([r[key][0] for r in valid if r["truth"] == "closed"],
                            [r[key][0] for r in valid if r["truth"] == "open"])
                v = verdict_counts([(r["truth"], eye_crop_verdict(r[key], th)) for r in rows if r["split"] == "valid"])
                summary["by_width"][key] = {"auc_all": a_all, "auc_valid": a_val, "valid_verdicts": v}
                print(f"{str(px):>10} {'yes' if m == 'm' else 'no':>8} {a_all:8.3f} {a_val:9.3f} {v['accuracy']:9.3f} "
                      f"{v['unknown_share']:8.2f}")
        out["sleep"] = {"summary": summary, "rows": rows}
    for name, fn, labels in (("aps360", aps360_set, ("closed", "open")), ("drowsy", drowsy_set, ("drowsy", "awake"))):
        if name not in args.sets:
            continue
        rows = fn(args.data, analyzer, args.limit)
        s = face_summary(rows, *labels)
        v = s["verdicts"]
        print(f"\n{name} (whole path): {s['photos']} photos from {s['sources']} sources; face found "
              f"{s['face_found']:.3f}, "
              f"both eyes read {s['eyes_read']:.3f}; AUC ({labels[0]} vs {labels[1]}) {s['auc']:.3f}")
        for label, c in v["per_label"].items():
            shown = labels[0] if label == "closed" else labels[1]
            print(f"  {shown:>7}: {c['n']:4d} photos -> {c['right']:4d} right, {c['wrong']:4d} wrong, "
                  f"{c['unknown']:4d} unknown")
        print(f"  accuracy of the judged: {v['accuracy']:.3f}; unknown {v['unknown_share']:.2f}: "
              + ", ".join(f"{k} {n}" for k, n in sorted(s["unknown_because"].items(), key=lambda kv: -kv[1])))
        out[name] = {"summary": s, "rows": rows}
    if args.data_manifest:
        write_data_manifest(args.data_manifest, args.data, out)
        print(f"wrote {args.data_manifest}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
