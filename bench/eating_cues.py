#!/usr/bin/env python3
"""Eating cues from one cached run: what each photo's people show at the mouth, for variants scored in seconds.

``--collect``: each photo goes once through ``analyze_image`` as ``hallmonitor eval`` runs it (the shipped
verdict and the cue that made it), and for each person the face stage looks at (the first
``Analyzer.max_face_persons``) more evidence is kept:

- the backbone's features (1280 floats) of squares around the head: the shipped mouth squares around
  the face (``face``), the same around the pose's head (``pose``, faces not found), and squares with no
  96 px floor (``small``: on an 80x60 frame the shipped square is the whole frame);
- the face stage on the photo upscaled when it is small (``--upscale-below`` px on its longer side):
  a face found there, and its mouth squares;
- the detector on the head square (four head widths) at its own input size, every box down to 0.1;
- the pose's keypoints, the face box and the frame's objects, to re-judge the pose's older cues.

Scoring (``--cache`` alone) prints the shipped baseline per source and the variants of ``VARIANTS``, on
the two halves of the images (a hash of the file name), with McNemar's exact p on the flipped verdicts.

    nice -n 19 python bench/eating_cues.py --collect --labels /work/data/eat7/labels-cues.json \\
        --cache /work/data/eat7/cues.pkl
    python bench/eating_cues.py --cache /work/data/eat7/cues.pkl
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vision.evaluation.labels import load_records  # noqa: E402
from vision.evaluation.scores import expected_verdicts, got_verdicts  # noqa: E402

SQUARE_SPANS = (2.0, 3.0, 4.0)


def _squares(head, w: int, h: int, min_px: int) -> list[tuple[float, tuple[int, int, int, int]]]:
    from vision.perception.mouth import face_square

    out = []
    for span in SQUARE_SPANS:
        r = face_square(head, w, h, span=span, min_px=min_px)
        if r is not None:
            out.append((span, r))
    return out


def _cue_of(person_json: dict) -> str | None:
    ev = person_json.get("evidence") or {}
    for key in ("eating_at_face", "food_at_mouth", "wrist_at_mouth", "eating_from"):
        if key in ev:
            return key
    return None


def collect(args) -> None:
    from tqdm import tqdm

    from vision.analysis.photo import analyze_image
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer
    from vision.perception.mouth import SPANS, face_square, head_box

    analyzer = load_analyzer(ModelChoice())
    backbone = analyzer.mouth.backbone
    rows = []
    for rec in tqdm(load_records(args.labels), unit="img", file=sys.stderr):
        result = analyze_image(args.data / rec.file, analyzer, None, None, rec.desk_region)
        data = result.to_json()
        frame, image = result.frame, result.image
        h, w = image.shape[:2]
        scale = 1
        if max(w, h) < args.upscale_below:
            scale = int(np.ceil(args.upscale_below / max(w, h)))
        big = cv2.resize(image, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC) if scale > 1 else image
        people = []
        picked = list(range(min(len(frame.persons), analyzer.max_face_persons)))
        up_faces = [None] * len(picked)
        if scale > 1 and picked:
            up_faces = analyzer.face.read_all(
                big, [tuple(v * scale for v in frame.persons[i].box) for i in picked],
                [_scaled_pose(frame.poses[i], scale) for i in picked])
        for i in picked:
            person, pose, face = frame.persons[i], frame.poses[i], frame.faces[i] if frame.faces else None
            head = head_box(person.box, pose, face)
            crops: list[tuple[str, float, tuple[int, int, int, int]]] = []
            if face is not None:
                crops += [("face", s, r) for s in SPANS if (r := face_square(face.box, w, h, span=s)) is not None]
            else:
                crops += [("pose", s, r) for s in SPANS if (r := face_square(head, w, h, span=s)) is not None]
            crops += [("small", s, r) for s, r in _squares(head, w, h, min_px=16)]
            up = up_faces[picked.index(i)]
            up_box = None
            if up is not None:
                up_box = tuple(float(v) / scale for v in up.box)
                crops += [("up", s, r) for s, r in _squares(up_box, w, h, min_px=16)]
            feats = backbone.features([image[r[1]:r[3], r[0]:r[2]] for _, _, r in crops]).astype(np.float16)
            sq = face_square(head, w, h, span=4.0, min_px=32)
            near = []
            if sq is not None:
                near = [d.to_json() for d in analyzer._detect(analyzer.detector, image, sq, 0.1)
                        if d.label != analyzer.person_label]
            people.append({
                "index": i, "box": tuple(person.box), "score": person.score,
                "pose": None if pose is None else pose.keypoints.astype(np.float32),
                "face": None if face is None else (tuple(face.box), face.score),
                "mouth": None if face is None else (face.evidence or {}).get("mouth"),
                "head": head, "up_face": None if up is None else (up_box, up.score),
                "crops": [(k, s, r) for k, s, r in crops], "features": feats,
                "near": near, "head_square": sq,
            })
        persons_json = data["persons"]
        rows.append({
            "file": rec.file, "source": rec.source, "size": (w, h),
            "want": expected_verdicts(rec.labels)["eating_or_drinking"],
            "got": got_verdicts(data["windows"])["eating_or_drinking"],
            "cues": [c for c in (_cue_of(p) for p in persons_json) if c],
            "persons_json": persons_json,
            "objects": [d.to_json() for d in frame.objects],
            "people": people,
        })
        if len(rows) % 50 == 0:
            args.cache.write_bytes(pickle.dumps(rows))
    args.cache.write_bytes(pickle.dumps(rows))


def _scaled_pose(pose, scale: int):
    if pose is None:
        return None
    from dataclasses import replace

    kp = pose.keypoints.copy()
    kp[:, :2] *= scale
    return replace(pose, keypoints=kp)


# ---------------------------------------------------------------- scoring


def imagenet_probs(features: np.ndarray) -> np.ndarray:
    from vision.models.manifest import DEFAULT_MANIFEST, get_model

    spec = get_model("lite0-mouth-objects", DEFAULT_MANIFEST, task="classify")
    d = np.load(Path(spec.file), allow_pickle=False)
    logits = features.astype(np.float32) @ d["weight"].astype(np.float32).T + d["bias"].astype(np.float32)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def mouth_classes() -> np.ndarray:
    from vision.models.manifest import DEFAULT_MANIFEST, get_model

    spec = get_model("lite0-mouth-objects", DEFAULT_MANIFEST, task="classify")
    return np.load(Path(spec.file), allow_pickle=False)["classes"].astype(np.int64)


def attach_probs(rows) -> None:
    """Each person's crops get ``p`` (the mouth-class sum) and ``top`` (the likeliest ImageNet class)."""
    feats = [p["features"] for r in rows for p in r["people"] if len(p["features"])]
    if not feats:
        return
    probs = imagenet_probs(np.concatenate(feats))
    cls = mouth_classes()
    k = 0
    for r in rows:
        for p in r["people"]:
            n = len(p["features"])
            pr = probs[k:k + n]
            k += n
            p["p"] = pr[:, cls].sum(axis=1) if n else np.zeros(0)
            p["top"] = pr.argmax(axis=1) if n else np.zeros(0, dtype=int)


def half(file: str) -> int:
    import hashlib

    return hashlib.sha256(file.encode()).digest()[0] % 2


def mcnemar(b: int, c: int) -> float:
    from math import comb

    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


def table(rows, say, label: str) -> None:
    """One line per half: eating-labelled TP/FP/FN/TN and F1, new alarms on unlabelled sources, flips."""
    out = [label]
    for hf in (0, 1):
        tp = fp = fn = tn = other = good = bad = 0
        for r in rows:
            if half(r["file"]) != hf:
                continue
            s = say(r)
            if r["want"] is None:
                other += s
                if s and not r["got"]:
                    bad += 1
                if r["got"] and not s:
                    good += 1
                continue
            tp += s and r["want"]
            fp += s and not r["want"]
            fn += (not s) and r["want"]
            tn += (not s) and not r["want"]
            if s != bool(r["got"]):
                if s == r["want"]:
                    good += 1
                else:
                    bad += 1
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        out.append(f"h{hf} {tp}/{fp}/{fn}/{tn} F1 {f1:.3f} other-alarms {other} flips +{good}/-{bad} "
                   f"p {mcnemar(good, bad):.3f}")
    print(" | ".join(out))


def per_source(rows, say) -> None:
    per: dict[str, list[int]] = {}
    for r in rows:
        s = say(r)
        c = per.setdefault(r["source"], [0, 0, 0, 0])
        if r["want"] is None:
            c[1] += s
            c[3] += not s
        else:
            c[(0 if s else 2) + (0 if r["want"] else 1)] += 1
    for s, c in sorted(per.items()):
        print(f"  {s}: TP/FP/FN/TN {'/'.join(map(str, c))}")


def kind_p(person: dict, kinds: tuple[str, ...], spans: tuple[float, ...] = SQUARE_SPANS) -> float:
    """The best mouth-class probability of the person's squares of these kinds and spans."""
    return max((float(p) for (k, s, _), p in zip(person["crops"], person["p"]) if k in kinds and s in spans),
               default=0.0)


def reading(kinds: tuple[str, ...], cut: float, spans: tuple[float, ...] = SQUARE_SPANS, faceless: bool = False):
    """Eating = the shipped verdict OR a person's squares of ``kinds`` reading ``cut`` or more."""
    def say(r) -> bool:
        return bool(r["got"]) or any(kind_p(p, kinds, spans) >= cut for p in r["people"]
                                     if not faceless or p["face"] is None)
    return say


def replay_frame(r):
    """The cached frame rebuilt as the detector, pose and face stage left it (the first
    ``max_face_persons`` persons, every object, each face with its mouth reading)."""
    from vision.perception.detections import Detection, Face, FrameDetections, Pose

    w, h = r["size"]
    ppl = r["people"]
    faces = [None if p["face"] is None else Face(p["face"][0], p["face"][1],
                                                  evidence={} if p["mouth"] is None else {"mouth": p["mouth"]})
             for p in ppl]
    return FrameDetections(width=w, height=h, objects=[Detection(o["label"], o["score"], tuple(o["box"]))
                                                       for o in r["objects"]],
                           persons=[Detection("person", p["score"], tuple(p["box"])) for p in ppl],
                           poses=[None if p["pose"] is None else Pose(p["pose"]) for p in ppl],
                           faces=faces, confirmed=["cached"] * len(ppl))


def replayed(**overrides):
    """Eating as the product's own ``frame_facts`` + ``observe_window`` judge the cached frame with these
    thresholds (this worktree's code)."""
    from vision.config import Thresholds, single_window_config
    from vision.observe.frame import observe_window
    from vision.observe.person_facts import frame_facts

    th = Thresholds(**overrides)

    def say(r) -> bool:
        if "frame" not in r:
            r["frame"] = replay_frame(r)
        w, h = r["size"]
        cfg = single_window_config(w, h, None)
        win = cfg.cameras[0].windows[0]
        facts = frame_facts(r["frame"], th, cfg.badge, None)
        return bool(observe_window(r["frame"], win, th, cfg.badge, None, cfg.base_dir, facts).eating)
    return say


def head_square_drink(cut: float, reach: float = 1.0, share: float | None = 0.35):
    """Eating = the shipped rules (replayed) OR the detector on the head square found a cup, bottle or wine
    glass scoring ``cut`` or more within ``reach`` head widths of the mouth, at most ``share`` of the person
    (None: any size)."""
    from vision.perception.eating import mouth_point

    base = replayed()

    def say(r) -> bool:
        if base(r):
            return True
        for p in r["people"]:
            hb = p["head"]
            hw = max(1.0, hb[2] - hb[0])
            mx, my = mouth_point(hb)
            longer = max(p["box"][2] - p["box"][0], p["box"][3] - p["box"][1])
            for d in p["near"]:
                if d["label"] not in ("cup", "bottle", "wine glass") or d["score"] < cut:
                    continue
                x1, y1, x2, y2 = d["box"]
                if share is not None and max(x2 - x1, y2 - y1) > share * longer:
                    continue
                if np.hypot(max(x1 - mx, 0, mx - x2), max(y1 - my, 0, my - y2)) / hw <= reach:
                    return True
        return False
    return say


def variants():
    yield "replay, no size limit (= shipped?)", replayed(mouth_food_max_share=100.0)
    for share in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
        yield f"replay, mouth_food_max_share {share}", replayed(mouth_food_max_share=share)
    for cut in (0.25, 0.3, 0.35, 0.4):
        yield f"replay, mouth_object {cut}", replayed(mouth_object=cut)
        yield f"head-square drink >= {cut}", head_square_drink(cut)
        yield f"head-square drink >= {cut}, any size", head_square_drink(cut, share=None)
    for wrist in (0.0, 0.15, 0.2, 0.25):
        yield f"replay, wrist_at_mouth {wrist}", replayed(wrist_at_mouth=wrist)
        yield f"replay, wrist_at_mouth {wrist} + share 0.35", replayed(wrist_at_mouth=wrist, mouth_food_max_share=0.35)

    for cut in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        yield f"pose-head squares (no face) >= {cut}", reading(("pose",), cut)
    for cut in (0.3, 0.4, 0.5, 0.6, 0.7):
        yield f"squares with no 96 px floor, spans 2-4 >= {cut}", reading(("small",), cut)
        yield f"squares with no 96 px floor, spans 2+4 >= {cut}", reading(("small",), cut, (2.0, 4.0))
        yield f"upscaled face squares >= {cut}", reading(("up",), cut)
        yield f"no floor + pose >= {cut}", reading(("small", "pose"), cut, (2.0, 4.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--data", type=Path, default=Path("/work/data/devset-s6"))
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--upscale-below", type=int, default=320)
    ap.add_argument("--sources", action="store_true", help="per-source counts of every variant")
    args = ap.parse_args()
    if args.collect:
        collect(args)
        return
    rows = pickle.loads(args.cache.read_bytes())
    attach_probs(rows)
    print(len(rows), "images")
    base = lambda r: bool(r["got"])   # noqa: E731
    table(rows, base, "shipped")
    per_source(rows, base)
    for name, say in variants():
        table(rows, say, name)
        if args.sources:
            per_source(rows, say)


if __name__ == "__main__":
    main()
