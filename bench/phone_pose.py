"""Phone at the ear from the calling pose alone: score cue variants on cached frames without running the models.

The idea: a phone at the ear is mostly hidden by the hand and the head, so the detector rarely finds one
there; the pose alone may tell a call: a wrist close to an ear, nearer the ear than the mouth (drinking
holds it at the mouth), above the shoulder line, with that arm's elbow lifted toward the shoulder (a head
resting on a hand keeps the elbow low). Measured only; not in the product (docs/models.md, "The calling
pose").

The cache is bench/head_down_cues.py's (one ``analyze_image`` run per photo: FrameDetections with persons,
poses, faces, objects). Per photo, the product's verdict (``observe_camera`` with the default thresholds,
pure) is ORed with the cue on the window's staff members, for each variant. Scored against the dev set's
labels where the photo has phone labels (statefarm-driver: 60 at the ear, 60 texting, 60 drinking, 60 safe),
and counted as false alarms on the other cached sources (no phone label; none shows a phone in use). Exact
McNemar on the flipped verdicts against the product.

    python bench/phone_pose.py --cache /work/data/doze2/bench-evidence.pkl \\
        --labels /work/data/devset-all/labels.json --variant strict:reach=0.5 --variant loose:reach=1.3,kp=0.05

A variant is ``name:key=value,...`` over the cue's parameters (``Cue``); ``--grid`` sweeps a grid instead.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import pickle
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.head_down_cues import counts, mcnemar  # noqa: E402
from vision.config import single_window_config  # noqa: E402
from vision.observe.frame import observe_camera  # noqa: E402
from vision.perception.detections import Pose  # noqa: E402
from vision.perception.geometry import distance  # noqa: E402

STATEFARM = "statefarm-driver"
# Stanford 40 Actions classes in the devset's action repository (research use only: measure, never train):
# "phoning" people on a call (most hold the phone at the ear), "smoking" and "brushing_teeth" a hand at the face
ACTION_CLASSES = {"phoning": True, "smoking": False, "brushing_teeth": False}


def collect_actions(mirror: Path, out: Path, cache: Path, per_class: int) -> list[dict]:
    """Write ``per_class`` distinct photos of each ACTION_CLASSES class (the devset's own picking: distinct by
    hash, then by a hash of the path) under ``out``, run each once through ``analyze_image`` (the path of
    ``hallmonitor eval``) and cache the rows like bench/head_down_cues.py does, labelled phone in use or not."""
    import time

    sys.path.insert(0, str(ROOT / "scripts" / "devset"))
    from build_devset import ACTIONS, ACTIONS_ROOT, by_hash, distinct_photos, open_repo  # type: ignore[import-not-found]

    from vision.analysis.photo import analyze_image
    from vision.perception.load import load_analyzer

    repo = open_repo(mirror, ACTIONS[0], ACTIONS[1])
    analyzer, rows, t0 = load_analyzer(), [], time.time()
    for action, phone in ACTION_CLASSES.items():
        for p in sorted(by_hash(distinct_photos(repo, action))[:per_class]):
            dest = out / f"action-{action}" / p[len(ACTIONS_ROOT) + 1:].replace("/", "-")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(repo.read(p))
            res = analyze_image(dest, analyzer)
            rows.append({"file": str(dest), "source": f"action-{action}", "phone": phone, "desk_region": None,
                         "frame": res.frame, "repo": ACTIONS[0], "commit": ACTIONS[1], "path": p})
            print(f"analysed {len(rows)} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    cache.write_bytes(pickle.dumps(rows))
    return rows


@dataclass(frozen=True)
class Cue:
    reach: float = 0.5          # wrist to the nearest ear, in shoulder widths
    kp: float = 0.3             # minimum keypoint score of wrist, elbow, shoulder, ear, nose
    mouth_ratio: float = 0.7    # wrist-to-ear under this share of wrist-to-mouth
    above: float = 0.0          # wrist above the shoulder line by this many shoulder widths
    elbow_drop: float = 1.0     # elbow at most this many shoulder widths below its shoulder


def calling(pose: Pose | None, sw: float, cue: Cue) -> bool:
    if pose is None or sw <= 0:
        return False
    ears = [p for p in (pose.point("left_ear", cue.kp), pose.point("right_ear", cue.kp)) if p]
    nose = pose.point("nose", cue.kp)
    if not ears or nose is None:
        return False
    mouth = (nose[0], nose[1] + 0.12 * sw)
    for side in ("left", "right"):
        wrist, elbow = pose.point(f"{side}_wrist", cue.kp), pose.point(f"{side}_elbow", cue.kp)
        shoulder = pose.point(f"{side}_shoulder", cue.kp)
        if wrist is None or elbow is None or shoulder is None:
            continue
        d_ear = min(distance(wrist, e) for e in ears)
        if (d_ear <= cue.reach * sw and d_ear < cue.mouth_ratio * distance(wrist, mouth)
                and wrist[1] <= shoulder[1] - cue.above * sw and elbow[1] <= shoulder[1] + cue.elbow_drop * sw):
            return True
    return False


def staff_of(row: dict) -> tuple[bool, list[tuple[Pose | None, float]]]:
    """The product's phone-in-use verdict and the window's staff (pose, shoulder width)."""
    frame = row["frame"]
    config = single_window_config(frame.width, frame.height, row.get("desk_region"))
    obs = observe_camera(frame, config, "image", None)
    staff = [(p.pose, float(p.evidence.get("scale_px", 0))) for o in obs for p in o.persons if p.staff]
    return any(o.phone_in_use for o in obs), staff


def group_of(row: dict, labels: dict) -> str:
    lab = labels[row["file"]]["labels"]
    if row["source"] != STATEFARM:
        return row["source"]
    if lab.get("phone_at_ear"):
        return "statefarm at the ear"
    if lab.get("phone_in_hand"):
        return "statefarm texting"
    return "statefarm drinking" if lab.get("eating_or_drinking") else "statefarm safe"


def parse(text: str) -> tuple[str, Cue]:
    name, _, rest = text.partition(":")
    update = {k.strip(): float(v) for k, _, v in (item.partition("=") for item in filter(None, rest.split(",")))}
    known = {f.name for f in fields(Cue)}
    if set(update) - known:
        raise SystemExit(f"variant {text!r}: unknown key(s) {sorted(set(update) - known)}; known: {sorted(known)}")
    return name or "cue", replace(Cue(), **update)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--actions", type=Path, help="cache of the ACTION_CLASSES photos (written on the first run "
                    "from --mirror into --actions-out)")
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--actions-out", type=Path, default=Path("/work/data/phonepose/images"))
    ap.add_argument("--per-class", type=int, default=60)
    ap.add_argument("--variant", action="append", default=[], help="name:key=value,... over Cue")
    ap.add_argument("--grid", action="store_true", help="sweep reach x kp x elbow_drop x mouth_ratio x above")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--full-frame", type=Path, metavar="DEVSET", help="also run MoveNet on the whole of each "
                    "statefarm photo under DEVSET (40 s)")
    args = ap.parse_args()
    rows = pickle.loads(args.cache.read_bytes())
    labels = {r["file"]: r for r in json.loads(args.labels.read_text())}
    groups = [group_of(r, labels) for r in rows]
    truth = [bool(labels[r["file"]]["labels"].get("phone_at_ear") or labels[r["file"]]["labels"].get("phone_in_hand"))
             for r in rows]
    if args.actions:
        extra = pickle.loads(args.actions.read_bytes()) if args.actions.is_file() else \
            collect_actions(args.mirror, args.actions_out, args.actions, args.per_class)
        for r in extra:   # phoning split in two by a hash of the file name: one half to choose, one to confirm
            half = "choose" if int(hashlib.sha256(Path(r["file"]).name.encode()).hexdigest(), 16) % 2 else "confirm"
            groups.append(f"{r['source']} ({half})" if r["phone"] else r["source"])
            truth.append(bool(r["phone"]))
        rows = rows + extra
    judged = [staff_of(r) for r in rows]
    base = [b for b, _ in judged]
    variants = [parse(v) for v in args.variant] or [("strict", Cue()), ("loose", Cue(reach=1.3, kp=0.05))]
    if args.grid:
        variants = [(f"r{r}-k{k}-e{e}-m{m}-a{a}", Cue(r, k, m, a, e)) for r, k, e, m, a in
                    itertools.product([0.4, 0.5, 0.6, 0.8], [0.1, 0.2, 0.3, 0.4], [0.5, 1, 2], [0.7, 1.0, 1.3, 2.0],
                                      [0, -0.3, -0.6])]
    names = sorted(set(groups))
    staffed = {g: sum(1 for i in range(len(rows)) if groups[i] == g and judged[i][1]) for g in names}
    print("photos with a staff member counted: " + ", ".join(f"{g} {staffed[g]}/{groups.count(g)}" for g in names))
    # scored sets: phone labels (statefarm, phoning) against phone-free action photos; drowsiness-driver and the
    # sleepers are counted only (no phone label)
    choose = {"statefarm at the ear", "statefarm texting", "statefarm drinking", "statefarm safe",
              "action-phoning (choose)", "action-drinking"}
    confirm = {"action-phoning (confirm)", "action-smoking", "action-brushing_teeth", "action-awake-desk"}
    sets = {"statefarm": {g for g in choose if g.startswith("statefarm")}, "choose": choose, "confirm": confirm,
            "pooled": choose | confirm}
    print("| variant | said phone in use: " + " | ".join(f"{g} ({groups.count(g)})" for g in names) + " | "
          + " | ".join(f"{k} TP / FP / FN, F1, better / worse, McNemar p" for k in sets) + " |")
    print("| --- |" + " ---: |" * (len(names) + len(sets)))
    out = {}
    for name, cue in [("product", None), *variants]:
        pred = base if cue is None else [b or any(calling(p, sw, cue) for p, sw in st) for b, st in judged]
        said = {g: sum(1 for i in range(len(rows)) if groups[i] == g and pred[i]) for g in names}
        cells, out[name] = [], {"said": said}
        for k, keep in sets.items():
            idx = [i for i in range(len(rows)) if groups[i] in keep]
            c = counts([pred[i] for i in idx], [truth[i] for i in idx])
            mc = mcnemar([base[i] for i in idx], [pred[i] for i in idx], [truth[i] for i in idx])
            out[name][k] = {**c, **mc}
            cells.append(f"{c['tp']} / {c['fp']} / {c['fn']}, {c['f1']:.3f}, {mc['better']} / {mc['worse']}, "
                         f"{mc['p']:.3f}")
        print(f"| {name} | " + " | ".join(str(said[g]) for g in names) + " | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    if args.full_frame:
        full_frame_check(args.full_frame, labels, variants)


def full_frame_check(folder: Path, labels: dict, variants: list[tuple[str, Cue]]) -> None:
    """MoveNet on the whole of each statefarm photo (no person crop, no person gate): is the calling arm seen
    at all? Per group: the median nearest wrist-to-ear distance in shoulder widths, how often the at-the-ear
    photos' wrist is nearer than this group's (AUC; 0.5 = no signal), and each variant's fires."""
    import cv2
    import numpy as np

    from vision.perception.load import load_analyzer

    pose_model = load_analyzer().pose
    if pose_model is None:
        raise SystemExit("no pose model configured: see models/models.yaml")
    seen: dict[str, list[tuple[float, list[bool]]]] = {}
    for rec in labels.values():
        if rec["source"] != STATEFARM:
            continue
        img = cv2.imread(str(folder / rec["file"]))
        h, w = img.shape[:2]
        pose = pose_model.estimate(img, (0, 0, w, h))
        if pose is None:
            continue
        k = pose.keypoints
        sw = max(distance(tuple(k[5, :2]), tuple(k[6, :2])), 0.2 * w)
        d = min(distance(tuple(k[wr, :2]), tuple(k[e, :2])) for wr in (9, 10) for e in (3, 4)) / sw
        seen.setdefault(group_of({"file": rec["file"], "source": STATEFARM}, labels), []).append(
            (d, [calling(pose, sw, cue) for _, cue in variants]))
    pos = np.array([d for d, _ in seen.get("statefarm at the ear", [])])
    print("| statefarm, MoveNet on the whole frame | n | median wrist-ear (sw) | AUC at-ear nearer | fires: "
          + " / ".join(n for n, _ in variants) + " |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for g, vals in sorted(seen.items()):
        neg = np.array([d for d, _ in vals])
        auc = float(np.mean([(neg > p).mean() + 0.5 * (neg == p).mean() for p in pos])) if len(pos) else float("nan")
        fires = [sum(f[j] for _, f in vals) for j in range(len(variants))]
        print(f"| {g} | {len(vals)} | {np.median(neg):.2f} | {auc:.2f} | " + " / ".join(map(str, fires)) + " |")


if __name__ == "__main__":
    main()
