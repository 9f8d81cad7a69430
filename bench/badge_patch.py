"""Badge session 6: a second cue against prints and logos for the white-card (top-hat) judge, on caches.

    nice -n 19 python bench/badge_patch.py collect --sources nametags princeid sanity   # slow, once
    python bench/badge_patch.py score [--json out.json]                                  # seconds
    python bench/badge_patch.py learned [--json out.json]   # the learned patch check (measured, not shipped)

``collect`` runs every image once through the product's path (``vision.analysis.photo.analyze_image``, no
hall config, as ``analyze`` and ``eval`` run it, with this worktree's code) and keeps, per staff member:
the pose (17 keypoints), the person box, the person's crop (box grown by a quarter, so other chest
placements and a lanyard above the chest can be read again offline), the chest read of
``bench/badge_shape.py`` (chest rectangle and a crop around it) and the product's badge verdict. For the
name tags also the turned-crop chest of ``bench/badge_shape.turned_read``; for princeID the label's chest
box (idcard / noidcard) read from the label file of the ``fetch`` snapshot.

Sources as in ``bench/badge_shape.py``: ``princeid`` (rogueloop/princeID ``lbscekId&WithoutId``, CC BY
4.0, the 129 ``badge_worn`` rows of models/heads-data.csv), ``nametags`` (the dev set's 104 name-tag crops,
measure-only), ``sanity`` (the dev set's 395 ``action-*`` and ``webcam-held`` photos: nobody wears a
visible badge; the figure is the images where some staff member gets "badge found").
"""

from __future__ import annotations

import argparse
import csv
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from vision.config import Thresholds  # noqa: E402

OUT = Path("/work/data/badge3")
MIRROR = Path("/work/.mirror/rogueloop+princeID/repo")


def person_read(image: np.ndarray, p, th: Thresholds) -> dict:
    from badge_shape import chest_read
    read = chest_read(image, p.pose, th)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in p.box)
    gx, gy = 0.25 * (x2 - x1), 0.25 * (y2 - y1)
    ox1, oy1 = max(0, int(x1 - gx)), max(0, int(y1 - gy))
    ox2, oy2 = min(w, int(x2 + gx) + 1), min(h, int(y2 + gy) + 1)
    read["box"] = (x1, y1, x2, y2)
    read["person_crop"] = image[oy1:oy2, ox1:ox2].copy()
    read["person_origin"] = (ox1, oy1)
    read["keypoints"] = None if p.pose is None else np.asarray(p.pose.keypoints, np.float32).copy()
    ev = p.evidence.get("badge") or {}
    read["shipped"] = (p.badge, ev.get("reason"))
    read["staff"] = p.staff
    return read


def label_boxes(path: str, w: int, h: int) -> list[tuple[int, tuple[float, float, float, float]]]:
    """The princeID label file's boxes (class, x1, y1, x2, y2 in pixels); polygons as their bounding box."""
    name = path.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
    text = subprocess.run(["git", "--git-dir", str(MIRROR), "show", f"HEAD:{name}"], capture_output=True,
                          text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        v = line.split()
        if len(v) < 5:
            continue
        cls, nums = int(v[0]), [float(x) for x in v[1:]]
        if len(nums) == 4:
            cx, cy, bw, bh = nums
            out.append((cls, ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)))
        else:
            xs, ys = nums[0::2], nums[1::2]
            out.append((cls, (min(xs) * w, min(ys) * h, max(xs) * w, max(ys) * h)))
    return out


def collect(sources: list[str]) -> None:
    from badge_shape import BADGE_LABELS, DEVSET, HEADS_CSV, HEADS_IMAGES, SANITY, iou, turned_read

    from vision.analysis.photo import analyze_image
    from vision.evaluation.labels import load_records
    from vision.observe.observations import distinct
    from vision.perception.load import load_analyzer
    analyzer = load_analyzer(None, None)
    th = Thresholds()
    OUT.mkdir(parents=True, exist_ok=True)
    for source in sources:
        items: list[dict] = []
        if source == "nametags":
            recs = [r for r in load_records(BADGE_LABELS) if r.labels.get("badge_visible") is not None]
            for i, rec in enumerate(recs, 1):
                result = analyze_image(DEVSET / rec.file, analyzer, None, None, rec.desk_region)
                persons, _ = distinct(result.observations)
                staff = [person_read(result.image, p, th) for p in persons if p.staff]
                turned = None
                if staff and staff[0]["chest"] is None:
                    turned = turned_read(result.image, staff[0]["box"], analyzer, th)
                items.append({"file": rec.file, "label": bool(rec.labels["badge_visible"]), "staff": staff,
                              "turned": turned})
                print(f"\rnametags {i}/{len(recs)}", end="", file=sys.stderr, flush=True)
        elif source == "princeid":
            with open(HEADS_CSV) as f:
                rows = [r for r in csv.DictReader(f) if r["behaviour"] == "badge_worn"]
            for i, row in enumerate(rows, 1):
                result = analyze_image(HEADS_IMAGES / row["path"], analyzer)
                h, w = result.image.shape[:2]
                box = [float(v) for v in row["box"].split()]
                persons, _ = distinct(result.observations)
                match = max(persons, key=lambda p: iou(p.box, box), default=None)
                rec: dict = {"file": row["path"], "group": row["group"], "label": row["label"] == "1",
                             "sha256": row["sha256"], "row_box": tuple(box)}
                inside = [(c, b) for c, b in label_boxes(row["path"], w, h)
                          if box[0] <= (b[0] + b[2]) / 2 <= box[2] and box[1] <= (b[1] + b[3]) / 2 <= box[3]]
                rec["label_boxes"] = inside
                rec["read"] = None if match is None or iou(match.box, box) < 0.5 else \
                    person_read(result.image, match, th)
                items.append(rec)
                print(f"\rprinceid {i}/{len(rows)}", end="", file=sys.stderr, flush=True)
        else:
            recs = [r for r in load_records(DEVSET / "labels.json") if r.source in SANITY]
            for i, rec in enumerate(recs, 1):
                result = analyze_image(DEVSET / rec.file, analyzer, None, None, rec.desk_region)
                persons, _ = distinct(result.observations)
                items.append({"file": rec.file, "source": rec.source,
                              "staff": [person_read(result.image, p, th) for p in persons if p.staff]})
                print(f"\rsanity {i}/{len(recs)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        path = OUT / f"cache-{source}.pkl"
        with open(path, "wb") as f:
            pickle.dump(items, f)
        print(f"wrote {path} ({len(items)} records)", flush=True)


# --- scoring: the product's judge_badge on every cached staff member, with each variant's thresholds -----------

def judge_cached(read: dict | None, th: Thresholds, profile) -> bool | None:
    """``vision.perception.badge.judge_badge`` on the cached chest crop (the pose moved into the crop's frame,
    so the chest region is the one the product cut)."""
    from vision.perception.badge import judge_badge
    from vision.perception.detections import Pose
    if read is None or read.get("chest") is None or read.get("keypoints") is None:
        return None
    kp = read["keypoints"].copy()
    kp[:, 0] -= read["origin"][0]
    kp[:, 1] -= read["origin"][1]
    return judge_badge(read["crop"], Pose(kp), [], set(), profile, th).badge


def variants() -> dict[str, dict]:
    """The judge before this session, session 5's top-hat, the median-lift cue alone (arm cue off), then with
    the arm cue (the shipped default: median lift >= 80, arm margin 0.1 chest widths)."""
    off = {"badge_card_arm_margin": -1.0}
    v: dict[str, dict] = {"shipped (colour)": {"badge_judge": "colour"},
                          "card, no second cue (session 5's top-hat)": {"badge_card_min_lift": 0.0, **off}}
    for lift in (30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 100, 120):
        v[f"card, median lift >= {lift}"] = {"badge_card_min_lift": float(lift), **off}
    for lift in (0, 55, 80):
        for arm in (0.0, 0.1, 0.2):
            v[f"card, lift >= {lift}, arm {arm}"] = {"badge_card_min_lift": float(lift), "badge_card_arm_margin": arm}
    return v


def score(json_out: Path | None) -> None:
    import json

    from badge_shape import paired, tally

    from vision.config import BadgeProfile
    cache = {}
    for s in ("nametags", "princeid", "sanity"):
        with open(OUT / f"cache-{s}.pkl", "rb") as f:
            cache[s] = pickle.load(f)
    profile = BadgeProfile()
    main_th = Thresholds(badge_judge="colour")
    reads = [s for r in cache["nametags"] + cache["sanity"] for s in r["staff"]] + \
        [r["read"] for r in cache["princeid"] if r["read"] is not None]
    same = sum(judge_cached(r, main_th, profile) == r["shipped"][0] for r in reads if r.get("chest") is not None)
    print(f"check: judge_badge with badge_judge=colour gives the verdict main recorded on {same} of "
          f"{sum(r.get('chest') is not None for r in reads)} cached staff chests")

    def image_verdict(staff: list[dict], th: Thresholds) -> bool | None:
        said = [x for x in (judge_cached(s, th, profile) for s in staff) if x is not None]
        return None if not said else all(said)

    out: dict = {}
    raw: dict = {}
    for name, kw in variants().items():
        th = Thresholds(**kw)
        pl = [r["label"] for r in cache["princeid"]]
        pv = [judge_cached(r["read"], th, profile) for r in cache["princeid"]]
        nl = [r["label"] for r in cache["nametags"]]
        nv = [image_verdict(r["staff"], th) for r in cache["nametags"]]
        sv = [any(judge_cached(s, th, profile) is True for s in r["staff"]) for r in cache["sanity"]]
        groups: dict[str, list] = {}
        for r, said in zip(cache["princeid"], pv):
            groups.setdefault(r["group"], []).append((r["label"], said))
        raw[name] = (pv, nv, sv)
        out[name] = {"thresholds": kw, "princeid": tally(list(zip(pl, pv))), "nametags": tally(list(zip(nl, nv))),
                     "princeid_groups": {g: tally(p) for g, p in sorted(groups.items())},
                     "sanity_badge_found": sum(sv), "sanity_images": len(sv),
                     "sanity_judged": sum(any(judge_cached(s, th, profile) is not None for s in r["staff"])
                                          for r in cache["sanity"])}
    base = raw["shipped (colour)"]
    pl = [r["label"] for r in cache["princeid"]]
    nl = [r["label"] for r in cache["nametags"]]
    f2 = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    print(f"{'judge':42s} | princeID TP/FN/TN/FP cov BA (vs shipped) | name tags TP/FN/TN/FP cov BA (vs shipped) "
          f"| sanity: images with 'badge found' (judged)")
    for name, row in out.items():
        pv, nv, sv = raw[name]
        row["paired"] = {"princeid": paired(pl, base[0], pv), "nametags": paired(nl, base[1], nv),
                         "sanity_new": sum(b and not a for a, b in zip(base[2], sv)),
                         "sanity_gone": sum(a and not b for a, b in zip(base[2], sv))}
        t, n, pp, pn = row["princeid"], row["nametags"], row["paired"]["princeid"], row["paired"]["nametags"]
        print(f"{name:42s} | {t['TP']}/{t['FN']}/{t['TN']}/{t['FP']} {f2(t['coverage'])} {f2(t['ba'])} "
              f"(+{pp['better']} -{pp['worse']} p {pp['p']:.3f}) | {n['TP']}/{n['FN']}/{n['TN']}/{n['FP']} "
              f"{f2(n['coverage'])} {f2(n['ba'])} (+{pn['better']} -{pn['worse']} p {pn['p']:.3f}) | "
              f"{row['sanity_badge_found']} ({row['sanity_judged']}) +{row['paired']['sanity_new']} "
              f"-{row['paired']['sanity_gone']}")
    # leave one shooting session out: the median lift chosen on the other sessions (best BA), on the held-out one
    lifts = [kw["badge_card_min_lift"] for n, kw in variants().items() if n.startswith("card, median lift")]
    pooled: list = []
    for g in sorted({r["group"] for r in cache["princeid"]}):
        idx = [i for i, r in enumerate(cache["princeid"]) if r["group"] != g]
        held = [i for i, r in enumerate(cache["princeid"]) if r["group"] == g]
        names = [n for n in variants() if n.startswith("card, median lift")]
        best = max(names, key=lambda n: tally([(pl[i], raw[n][0][i]) for i in idx])["ba"] or 0)
        pooled += [(pl[i], raw[best][0][i]) for i in held]
        print(f"held out {g}: chosen on the others {best!r}: {tally([(pl[i], raw[best][0][i]) for i in held])}")
    t = tally(pooled)
    print(f"leave-one-session-out pooled (lifts {lifts}): TP {t['TP']} FN {t['FN']} TN {t['TN']} FP {t['FP']} "
          f"BA {f2(t['ba'])}")
    out["_leave_one_session_out"] = t
    if json_out:
        json_out.write_text(json.dumps(out, indent=1))


# --- measured, not shipped: judging more staff by reading weaker shoulders ---------------------------------------

def coverage() -> None:
    """The shipped judge with the chest placed from shoulders of a lower keypoint score (and a narrower minimum
    shoulder width), read again from each cached staff member's person crop where the default gave no chest."""
    from badge_shape import chest_read, paired, tally

    from vision.config import BadgeProfile
    from vision.perception.detections import Pose
    profile = BadgeProfile()
    cache = {}
    for src in ("nametags", "sanity"):
        with open(OUT / f"cache-{src}.pkl", "rb") as f:
            cache[src] = pickle.load(f)

    def reread(s: dict, th: Thresholds) -> dict:
        if s.get("chest") is not None or s.get("keypoints") is None:
            return s
        kp = s["keypoints"].copy()
        kp[:, 0] -= s["person_origin"][0]
        kp[:, 1] -= s["person_origin"][1]
        read = chest_read(s["person_crop"], Pose(kp), th)
        read["keypoints"] = kp          # in the person crop's pixels, as read["origin"] is
        return read

    def verdict(s: dict, th: Thresholds) -> bool | None:
        read = reread(s, th)
        if read is s:
            return judge_cached(s, th, profile)
        if read.get("chest") is None:
            return None
        kp = read["keypoints"].copy()
        kp[:, 0] -= read["origin"][0]
        kp[:, 1] -= read["origin"][1]
        from vision.perception.badge import judge_badge
        return judge_badge(read["crop"], Pose(kp), [], set(), profile, th).badge

    def image(staff: list[dict], th: Thresholds) -> bool | None:
        said = [x for x in (verdict(s, th) for s in staff) if x is not None]
        return None if not said else all(said)

    labels = [r["label"] for r in cache["nametags"]]
    base = [image(r["staff"], Thresholds()) for r in cache["nametags"]]
    print("shoulder score, min width | name tags TP/FN/TN/FP coverage BA (vs the default chest) | sanity "
          "images with 'badge found' (judged)")
    for ks in (0.3, 0.25, 0.2, 0.15, 0.1):
        for px in (24.0, 12.0):
            th = Thresholds(keypoint_score=ks, min_shoulder_px=px)
            said = [image(r["staff"], th) for r in cache["nametags"]]
            t, p = tally(list(zip(labels, said))), paired(labels, base, said)
            found = sum(any(verdict(s, th) is True for s in r["staff"]) for r in cache["sanity"])
            judged = sum(any(verdict(s, th) is not None for s in r["staff"]) for r in cache["sanity"])
            print(f"{ks:.2f}, {px:4.0f} px | {t['TP']}/{t['FN']}/{t['TN']}/{t['FP']} {t['coverage']:.2f} "
                  f"{(t['ba'] or 0):.2f} (+{p['better']} -{p['worse']} p {p['p']:.3f}) | {found} ({judged})")


# --- measured, not shipped: a learned check on the candidate patch (backbone features + logistic) --------------

def learned(json_out: Path | None) -> None:
    """Every white-card candidate (``white_cards``, no second cue) as a square patch 2.5x its size around it,
    EfficientNet-Lite0 features (the bundled backbone), a logistic check trained ONLY on princeID (candidates
    inside an ``idcard`` label box = card, candidates of ``noidcard`` staff = not), leave one shooting session
    out; the name tags and the sanity photos are scored by the check fit on all of princeID."""
    import json

    import cv2
    from badge_shape import paired, tally
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from vision.config import BadgeProfile
    from vision.models.adapters import build
    from vision.models.manifest import get_model
    from vision.perception.badge import colour_mask
    from vision.perception.badge_card import white_cards
    th, profile = Thresholds(), BadgeProfile()
    backbone = build(get_model("efficientnet-lite0", task="features"), 1)
    cache = {}
    for src in ("nametags", "princeid", "sanity"):
        with open(OUT / f"cache-{src}.pkl", "rb") as f:
            cache[src] = pickle.load(f)

    def cands(read: dict | None) -> tuple[list, bool] | None:
        if read is None or read.get("chest") is None:
            return None
        if "_cands" not in read:
            x1, y1, x2, y2 = read["chest"]
            region = read["crop"][y1:y2, x1:x2]
            cards = white_cards(region, lift=th.badge_card_lift, whiteness=th.badge_card_whiteness,
                                max_saturation=th.badge_card_max_saturation, max_share=profile.max_area)
            opened = cv2.morphologyEx(colour_mask(region, profile), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
            patches = []
            for c in cards:
                cx, cy = x1 + (c.box[0] + c.box[2]) / 2, y1 + (c.box[1] + c.box[3]) / 2
                half = max(16.0, 2.5 * max(c.box[2] - c.box[0], c.box[3] - c.box[1])) / 2
                hh, ww = read["crop"].shape[:2]
                patches.append(read["crop"][int(max(0, cy - half)):int(min(hh, cy + half)),
                                            int(max(0, cx - half)):int(min(ww, cx + half))])
            feats = backbone.features(patches) if patches else np.zeros((0, backbone.dim), np.float32)
            read["_cands"] = ([(c, feats[i]) for i, c in enumerate(cards)], float(opened.mean()) / 255 > 0.6)
        return read["_cands"]

    train = []
    for r in cache["princeid"]:
        got = cands(r["read"])
        if got is None:
            continue
        ox, oy = r["read"]["origin"]
        x1, y1 = r["read"]["chest"][:2]
        for c, feat in got[0]:
            cx, cy = ox + x1 + (c.box[0] + c.box[2]) / 2, oy + y1 + (c.box[1] + c.box[3]) / 2
            in_card = any(cl == 0 and b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for cl, b in r["label_boxes"])
            if r["label"] and not in_card:
                continue          # a bright patch beside the card of a card wearer: neither
            train.append((r["group"], feat, int(r["label"])))
    groups = sorted({g for g, _, _ in train})
    print(f"{len(train)} princeID candidates ({sum(y for *_, y in train)} on a card) in {len(groups)} sessions")

    def fit(rows: list, c: float):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=2000))
        model.fit(np.array([f for _, f, _ in rows]), np.array([y for *_, y in rows]))
        return model

    base_p = [judge_cached(r["read"], Thresholds(badge_judge="colour"), profile) for r in cache["princeid"]]
    base_n = [None if not [x for x in (judge_cached(s, Thresholds(badge_judge="colour"), profile)
                                       for s in r["staff"]) if x is not None]
              else all(x for x in (judge_cached(s, Thresholds(badge_judge="colour"), profile) for s in r["staff"])
                       if x is not None) for r in cache["nametags"]]
    out: dict = {}
    for c in (0.001, 0.01, 0.1):
        held = {g: fit([t for t in train if t[0] != g], c) for g in groups}
        full = fit(train, c)
        for cut in (0.3, 0.5, 0.7):
            def verdict(read, model, cut=cut):
                got = cands(read)
                if got is None:
                    return None
                cs, shirt = got
                if cs and (model.predict_proba(np.array([f for _, f in cs]))[:, 1] >= cut).any():
                    return True
                return None if shirt else False

            def image(staff, cut=cut, full=full):
                said = [x for x in (verdict(s, full, cut) for s in staff) if x is not None]
                return None if not said else all(said)
            pl = [r["label"] for r in cache["princeid"]]
            pv = [verdict(r["read"], held.get(r["group"], full)) for r in cache["princeid"]]
            nl = [r["label"] for r in cache["nametags"]]
            nv = [image(r["staff"]) for r in cache["nametags"]]
            sv = sum(any(verdict(s, full) is True for s in r["staff"]) for r in cache["sanity"])
            t, n = tally(list(zip(pl, pv))), tally(list(zip(nl, nv)))
            pp, pn = paired(pl, base_p, pv), paired(nl, base_n, nv)
            name = f"backbone check C={c} p>={cut}"
            out[name] = {"princeid_held_out": t, "nametags": n, "sanity_badge_found": sv}
            print(f"{name:30s} | princeID held out {t['TP']}/{t['FN']}/{t['TN']}/{t['FP']} BA {t['ba']:.2f} "
                  f"(+{pp['better']} -{pp['worse']}) | name tags {n['TP']}/{n['FN']}/{n['TN']}/{n['FP']} "
                  f"BA {(n['ba'] or 0):.2f} (+{pn['better']} -{pn['worse']}) | sanity {sv}")
    if json_out:
        json_out.write_text(json.dumps(out, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--sources", nargs="+", default=["nametags", "princeid", "sanity"],
                   choices=["nametags", "princeid", "sanity"])
    sub.add_parser("coverage")
    for name in ("score", "learned"):
        sub.add_parser(name).add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.cmd == "collect":
        collect(args.sources)
    elif args.cmd == "coverage":
        coverage()
    elif args.cmd == "learned":
        learned(args.json)
    else:
        score(args.json)


if __name__ == "__main__":
    main()
