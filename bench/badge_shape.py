"""Badge judge variants on cached chest crops: shape, edges and contrast of the white blob.

    python bench/badge_shape.py collect --out /work/data/badge2/cache-nametags.pkl --sources nametags  # slow
    (likewise cache-princeid.pkl --sources princeid, cache-sanity.pkl --sources sanity, in parallel)
    python bench/badge_shape.py score --cache /work/data/badge2/cache.pkl [--json out.json]   # reads cache*.pkl

``collect`` runs every image once through the product's path (``vision.analysis.photo.analyze_image``,
no hall config, as ``analyze`` and ``eval`` run it) and keeps, per staff member with a chest region
(``vision.perception.badge.chest_region`` on the pose the Analyzer read), the chest rectangle, a crop of
the image around it (the chest grown by half its size on each side, for the contrast with the surround),
the shipped judge's verdict and reason. For the dev set's name-tag crops it also reads the pose on the
staff box turned by 0/90/180/270 degrees (as ``bench/badge_turned_pose.py``) and keeps the chest of the
turn whose torso scores best, for staff whose upright pose gives no chest.

Sources:
- ``nametags``: /work/data/devset-all records with a ``badge_visible`` label (/work/data/doze/badge.json,
  104 crops of overhead fisheye office CCTV; measure-only). Image verdict as ``eval`` has it: all judged
  staff wear a badge; None when none is judged.
- ``princeid``: rogueloop/princeID ``lbscekId&WithoutId`` (CC BY 4.0), the 129 ``badge_worn`` rows of
  models/heads-data.csv (images under /work/data/heads/images), the person whose detected box matches
  the row's box (IoU >= 0.5).
- sanity sources without badge labels (``action-*``, ``webcam-held`` of /work/data/devset-all): how often
  each variant says "badge found" on any staff member.

Variants (docs/models.md "Badge, session 5"): the shipped colour judge (``shipped_judge``, checked against
the verdicts the product recorded), ``judge_shape`` (colour mask without opening, compact blobs with a V
contrast to a ring around them) and ``judge_tophat`` (whiteness top-hat: compact and brighter than its
surround, touching at most one side of the chest). ``score`` re-judges every cached chest with each
variant and prints, per source, TP/FN/TN/FP, coverage and balanced accuracy, plus the paired change
against the shipped judge (records that flip right/wrong, an exact two-sided sign test on them).
A measurement: it never fails on the data and trains nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.config import BadgeProfile, Thresholds  # noqa: E402
from vision.perception.badge import BadgeVerdict, chest_region, colour_mask  # noqa: E402

DEVSET = Path("/work/data/devset-all")
BADGE_LABELS = Path("/work/data/doze/badge.json")
HEADS_CSV = ROOT / "models" / "heads-data.csv"
HEADS_IMAGES = Path("/work/data/heads/images/rogueloop+princeID")
SANITY = ("action-awake-desk", "action-drinking", "action-asleep-seated", "action-asleep-lying", "webcam-held")
TURNS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
TORSO = [5, 6, 11, 12]


def chest_read(image: np.ndarray, pose, th: Thresholds) -> dict:
    """The chest rectangle and a crop around it (half the chest's size of margin on each side)."""
    chest, why = chest_region(pose, th) if pose is not None else (None, "no pose")
    if chest is None:
        return {"chest": None, "why": why}
    h, w = image.shape[:2]
    x1, y1, x2, y2 = chest
    ix1, iy1, ix2, iy2 = max(0, int(x1)), max(0, int(y1)), min(w, int(x2)), min(h, int(y2))
    if ix2 - ix1 < 6 or iy2 - iy1 < 6:
        return {"chest": None, "why": "chest outside the frame"}
    mx, my = (ix2 - ix1) // 2, (iy2 - iy1) // 2
    ox1, oy1, ox2, oy2 = max(0, ix1 - mx), max(0, iy1 - my), min(w, ix2 + mx), min(h, iy2 + my)
    return {"chest": (ix1 - ox1, iy1 - oy1, ix2 - ox1, iy2 - oy1), "crop": image[oy1:oy2, ox1:ox2].copy(),
            "why": "ok", "origin": (ox1, oy1)}


def staff_reads(result, th: Thresholds) -> list[dict]:
    from vision.observe.observations import distinct
    persons, _ = distinct(result.observations)
    out = []
    for p in persons:
        if not p.staff:
            continue
        read = chest_read(result.image, p.pose, th)
        read["box"] = tuple(float(v) for v in p.box)
        ev = p.evidence.get("badge") or {}
        read["shipped"] = (p.badge, ev.get("reason"))
        out.append(read)
    return out


def turned_read(image: np.ndarray, box, analyzer, th: Thresholds) -> dict | None:
    """The chest of the staff box turned so that its torso keypoints score best (None: no turn gives one)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    crop = image[max(0, y1):min(h, y2), max(0, x1):min(w, x2)]
    if crop.size == 0:
        return None
    best = None
    for deg, code in TURNS.items():
        img = crop if code is None else cv2.rotate(crop, code)
        ch, cw = img.shape[:2]
        pose = analyzer.pose.estimate(img, (0, 0, cw, ch))
        torso = float(np.mean(pose.keypoints[TORSO, 2])) if pose is not None else 0.0
        if best is None or torso > best[0]:
            best = (torso, deg, img, pose)
    assert best is not None
    read = chest_read(best[2], best[3], th)
    read["turn"] = best[1]
    return read if read["chest"] is not None else None


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def collect(out: Path, sources: list[str]) -> None:
    from vision.analysis.photo import analyze_image
    from vision.evaluation.labels import load_records
    from vision.perception.load import load_analyzer
    analyzer = load_analyzer(None, None)
    th = Thresholds()
    cache: dict[str, list[dict]] = {k: [] for k in sources}
    tags = [] if "nametags" not in sources else \
        [r for r in load_records(BADGE_LABELS) if r.labels.get("badge_visible") is not None]
    for i, rec in enumerate(tags, 1):
        result = analyze_image(DEVSET / rec.file, analyzer, None, None, rec.desk_region)
        reads = staff_reads(result, th)
        turned = None
        if reads and reads[0]["chest"] is None:
            turned = turned_read(result.image, reads[0]["box"], analyzer, th)
        cache["nametags"].append({"file": rec.file, "label": bool(rec.labels["badge_visible"]),
                                  "staff": reads, "turned": turned})
        print(f"\rnametags {i}/{len(tags)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with open(HEADS_CSV) as f:
        rows = [r for r in csv.DictReader(f) if r["behaviour"] == "badge_worn" and "princeid" in sources]
    results: dict[str, object] = {}
    for i, row in enumerate(rows, 1):
        path = HEADS_IMAGES / row["path"]
        if row["path"] not in results:
            results.clear()
            results[row["path"]] = analyze_image(path, analyzer)
        result = results[row["path"]]
        box = [float(v) for v in row["box"].split()]
        from vision.observe.observations import distinct
        persons, _ = distinct(result.observations)  # type: ignore[attr-defined]
        match = max(persons, key=lambda p: iou(p.box, box), default=None)
        rec: dict = {"file": row["path"], "group": row["group"], "label": row["label"] == "1", "sha256": row["sha256"]}
        if match is None or iou(match.box, box) < 0.5:
            rec["read"] = {"chest": None, "why": "person not found again"}
        else:
            rec["read"] = chest_read(result.image, match.pose, th)  # type: ignore[attr-defined]
            ev = match.evidence.get("badge") or {}
            rec["read"]["shipped"] = (match.badge, ev.get("reason"))
            rec["read"]["staff"] = match.staff
        cache["princeid"].append(rec)
        print(f"\rprinceid {i}/{len(rows)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    sanity = [r for r in load_records(DEVSET / "labels.json") if r.source in SANITY and "sanity" in sources]
    for i, rec in enumerate(sanity, 1):
        result = analyze_image(DEVSET / rec.file, analyzer, None, None, rec.desk_region)
        cache["sanity"].append({"file": rec.file, "source": rec.source, "staff": staff_reads(result, th)})
        print(f"\rsanity {i}/{len(sanity)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        pickle.dump(cache, f)
    print(f"wrote {out}")


# --- judges on a cached read -------------------------------------------------------------------

def judge_read(read: dict, profile: BadgeProfile, judge, **kw) -> bool | None:
    if read is None or read.get("chest") is None:
        return None
    x1, y1, x2, y2 = read["chest"]
    return judge(read["crop"], (x1, y1, x2, y2), profile, **kw).badge


def shipped_judge(crop: np.ndarray, chest, profile: BadgeProfile):
    """The shipped colour judge of ``vision.perception.badge.judge_badge`` on a cached chest (its lines after
    the chest is cut; ``score`` checks it gives the verdict ``collect`` recorded from the product)."""
    ix1, iy1, ix2, iy2 = chest
    mask = colour_mask(crop[iy1:iy2, ix1:ix2], profile)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    covered = float(mask.mean() / 255.0)
    if covered > 0.6:
        return BadgeVerdict(None, "the shirt has the badge's colour")
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    region = float((ix2 - ix1) * (iy2 - iy1))
    for k in range(1, n):
        bx, by, bw, bh, area = stats[k]
        share = area / region
        if profile.min_area <= share <= profile.max_area and 0.35 <= bw / max(bh, 1) <= 2.8 \
                and area / max(bw * bh, 1) >= 0.55:
            return BadgeVerdict(True, "badge-coloured card on the chest")
    return BadgeVerdict(False, "no badge on the chest")


def judge_shape(crop: np.ndarray, chest, profile: BadgeProfile, *, small_area: float = 0.006,
                min_contrast: float = 40.0, shirt_unknown: bool = False, min_px: int = 4, max_edges: int = 1,
                min_fill: float = 0.5, aspect: tuple[float, float] = (0.3, 3.3)):
    """Tried first, not shipped: the profile's colour mask without the opening, blobs from ``small_area``
    of the chest that are compact, touch at most ``max_edges`` sides and have a median V ``min_contrast``
    above a ring around them; a blob of ``min_area`` touching two sides is a shirt."""
    ix1, iy1, ix2, iy2 = chest
    rw, rh = ix2 - ix1, iy2 - iy1
    region = float(rw * rh)
    mask = colour_mask(crop[iy1:iy2, ix1:ix2], profile)
    covered = float(mask.mean() / 255.0)
    if covered > 0.6:
        return BadgeVerdict(None, "the shirt has the badge's colour")
    value = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)[:, :, 2]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    best, shirt = None, False
    for k in range(1, n):
        bx, by, bw, bh, area = (int(v) for v in stats[k])
        share = area / region
        if area < min_px or share < small_area:
            continue
        edges = int(bx <= 0) + int(by <= 0) + int(bx + bw >= rw) + int(by + bh >= rh)
        if edges >= 2 and share >= profile.min_area:
            shirt = True
            continue
        if share > profile.max_area or edges > max_edges or area / max(bw * bh, 1) < min_fill \
                or not aspect[0] <= bw / max(bh, 1) <= aspect[1]:
            continue
        blob = np.zeros(crop.shape[:2], np.uint8)
        blob[iy1:iy2, ix1:ix2][labels == k] = 255
        reach = max(3, int(round(0.5 * max(bw, bh))) | 1)
        near = cv2.dilate(blob, np.ones((3, 3), np.uint8))
        ring = (cv2.dilate(blob, np.ones((reach + 2, reach + 2), np.uint8)) > 0) & (near == 0)
        if ring.any() and float(np.median(value[blob > 0])) - float(np.median(value[ring])) >= min_contrast:
            best = share if best is None else max(best, share)
    if best is not None:
        return BadgeVerdict(True, "card")
    if shirt:
        return BadgeVerdict(None if shirt_unknown else False, "white runs off the chest: a shirt, not a card")
    return BadgeVerdict(False, "no badge on the chest")


def judge_tophat(crop: np.ndarray, chest, profile: BadgeProfile, *, lift: float = 40.0, floor: float = 100.0,
                 small_area: float = 0.004, max_edges: int = 1, min_fill: float = 0.45, extend_down: float = 0.0,
                 max_sat: int = 80, shirt_unknown: bool = False, shirt_old: bool = False, min_px: int = 4):
    """A white card by local contrast: whiteness (the darkest of B, G, R: high only where all three are)
    minus its grey opening with a kernel of a third of the chest (a white top-hat: a compact bright blob
    stays, a white shirt running across the chest is removed), at least ``lift`` above its surround and
    ``floor`` bright, low saturation; 3x3 closing joins a tag cut by its text. The region can reach
    ``extend_down`` of its height lower, where a lanyard card hangs."""
    x1, y1, x2, y2 = chest
    y2 = min(crop.shape[0], int(round(y2 + extend_down * (y2 - y1))))
    region = crop[y1:y2, x1:x2]
    rh, rw = region.shape[:2]
    white = region.min(axis=2)
    sat = cv2.cvtColor(region, cv2.COLOR_BGR2HSV)[:, :, 1]
    k = max(5, int(round(min(rw, rh) / 3)) | 1)
    top = cv2.morphologyEx(white, cv2.MORPH_TOPHAT, np.ones((k, k), np.uint8))
    mask = ((top >= lift) & (white >= floor) & (sat <= max_sat)).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    plain = ((white >= floor) & (sat <= max_sat)).mean()
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    area_all = float(rw * rh)
    best = None
    for i in range(1, n):
        bx, by, bw, bh, a = (int(v) for v in stats[i])
        share = a / area_all
        if a < min_px or share < small_area or share > profile.max_area:
            continue
        edges = int(bx <= 0) + int(by <= 0) + int(bx + bw >= rw) + int(by + bh >= rh)
        fill = a / max(bw * bh, 1)
        if edges > max_edges or fill < min_fill or not 0.3 <= bw / max(bh, 1) <= 3.3:
            continue
        if best is None or share > best:
            best = share
    if best is not None:
        return BadgeVerdict(True, "white card", area=best)
    if shirt_old:
        old = cv2.morphologyEx(colour_mask(crop[chest[1]:chest[3], x1:x2], profile), cv2.MORPH_OPEN,
                               np.ones((3, 3), np.uint8))
        if old.mean() / 255.0 > 0.6:
            return BadgeVerdict(None, "the shirt has the badge's colour")
        return BadgeVerdict(False, "no badge on the chest")
    if plain > 0.6:
        return BadgeVerdict(None if shirt_unknown else False, "white runs off the chest: a shirt, not a card")
    return BadgeVerdict(False, "no badge on the chest")


def image_verdict(staff: list[dict], fn) -> bool | None:
    said = [fn(r) for r in staff]
    judged = [s for s in said if s is not None]
    return None if not judged else all(judged)


def tally(pairs: list[tuple[bool, bool | None]]) -> dict:
    t = dict.fromkeys(("TP", "FN", "TN", "FP", "unjudged"), 0)
    for label, said in pairs:
        if said is None:
            t["unjudged"] += 1
        else:
            t[("TP" if said else "FN") if label else ("FP" if said else "TN")] += 1
    rec = t["TP"] / (t["TP"] + t["FN"]) if t["TP"] + t["FN"] else None
    spec = t["TN"] / (t["TN"] + t["FP"]) if t["TN"] + t["FP"] else None
    judged = len(pairs) - t["unjudged"]
    return {**t, "judged": judged, "coverage": judged / len(pairs) if pairs else None,
            "ba": None if rec is None or spec is None else (rec + spec) / 2}


def sign_test(better: int, worse: int) -> float:
    n = better + worse
    if n == 0:
        return 1.0
    k = min(better, worse)
    p = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * p)


def paired(labels: list[bool], old: list[bool | None], new: list[bool | None]) -> dict:
    """Per record: right = judged and correct. Flips right<->not right between the two judges."""
    better = worse = 0
    for lab, a, b in zip(labels, old, new):
        ra, rb = a is not None and a == lab, b is not None and b == lab
        better += rb and not ra
        worse += ra and not rb
    return {"better": better, "worse": worse, "p": sign_test(better, worse)}


def variants() -> dict[str, dict]:
    v: dict[str, dict] = {"shipped": {}}
    for small in (0.003, 0.006, 0.01):
        for contrast in (25, 40, 60):
            for shirt in ("no", "unknown"):
                v[f"shape small={small} contrast={contrast} shirt={shirt}"] = {
                    "small_area": small, "min_contrast": contrast, "shirt_unknown": shirt == "unknown"}
    for lift in (25, 40, 60):
        for floor in (80, 120):
            for ext in (0.0, 0.4):
                for sh in ("no", "unknown", "old"):
                    v[f"tophat lift={lift} floor={floor} down={ext} shirt={sh}"] = {
                        "tophat": True, "lift": lift, "floor": floor, "extend_down": ext,
                        "shirt_unknown": sh == "unknown", "shirt_old": sh == "old"}
    for lift in (25, 60):
        for fill in (0.45, 0.6, 0.75):
            for px in (4, 12, 24):
                v[f"strict lift={lift} fill={fill} px={px}"] = {
                    "tophat": True, "lift": lift, "floor": 120, "min_fill": fill, "min_px": px, "shirt_old": True}
    return v


def score(cache_path: Path, json_out: Path | None) -> None:
    cache: dict = {}
    for part in sorted(cache_path.parent.glob(cache_path.stem + "*.pkl")):
        with open(part, "rb") as f:
            cache.update(pickle.load(f))
    profile = BadgeProfile()
    out: dict = {}
    reads = [s for r in cache["nametags"] + cache.get("sanity", []) for s in r["staff"]]
    reads += [r["read"] for r in cache["princeid"]]
    same = sum(judge_read(r, profile, shipped_judge) == r["shipped"][0] for r in reads if "shipped" in r)
    print(f"check: the offline shipped judge gives the product's recorded verdict on {same} of "
          f"{sum('shipped' in r for r in reads)} cached staff reads")

    def fn_for(params: dict):
        if not params:
            return lambda r: judge_read(r, profile, shipped_judge)
        if params.get("tophat"):
            kw = {k: v for k, v in params.items() if k != "tophat"}
            return lambda r: judge_read(r, profile, judge_tophat, **kw)
        return lambda r: judge_read(r, profile, judge_shape, **params)

    for name, params in variants().items():
        fn = fn_for(params)
        row: dict = {}
        tags = cache["nametags"]
        labels = [r["label"] for r in tags]
        up = [image_verdict(r["staff"], fn) for r in tags]
        turned = [u if u is not None or r["turned"] is None else fn(r["turned"]) for u, r in zip(up, tags)]
        row["nametags"] = tally(list(zip(labels, up)))
        row["nametags+turned"] = tally(list(zip(labels, turned)))
        pi = cache["princeid"]
        plabels = [r["label"] for r in pi]
        pv = [fn(r["read"]) for r in pi]
        row["princeid"] = tally(list(zip(plabels, pv)))
        by_group: dict[str, list] = {}
        for r, s in zip(pi, pv):
            by_group.setdefault(r["group"], []).append((r["label"], s))
        row["princeid_groups"] = {g: tally(p) for g, p in sorted(by_group.items())}
        san: dict[str, list[int]] = {}
        found_by_image = []
        for r in cache.get("sanity", []):
            said = [fn(s) for s in r["staff"]]
            found_by_image.append(any(s is True for s in said))
            c = san.setdefault(r["source"], [0, 0, 0])
            c[0] += 1
            c[1] += any(s is True for s in said)
            c[2] += any(s is not None for s in said)
        row["sanity"] = {k: {"images": a, "badge_found": b, "judged": j} for k, (a, b, j) in san.items()}
        row["_raw"] = {"nametags": up, "nametags+turned": turned, "princeid": pv, "sanity": found_by_image}
        out[name] = row
    base = out["shipped"]["_raw"]
    labels = {"nametags": [r["label"] for r in cache["nametags"]], "princeid": [r["label"] for r in cache["princeid"]]}
    labels["nametags+turned"] = labels["nametags"]
    for row in out.values():
        row["paired"] = {k: paired(labels[k], base["princeid" if k == "princeid" else "nametags"], row["_raw"][k])
                         for k in ("nametags", "nametags+turned", "princeid")}
    f2 = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    for src in ("princeid", "nametags", "nametags+turned"):
        print(f"\n== {src}")
        for name, row in out.items():
            t, p = row[src], row["paired"][src]
            print(f"{name:45s} TP {t['TP']:3d} FN {t['FN']:3d} TN {t['TN']:3d} FP {t['FP']:3d} "
                  f"judged {t['judged']:3d} cov {f2(t['coverage'])} BA {f2(t['ba'])}  "
                  f"vs shipped +{p['better']} -{p['worse']} p={p['p']:.3f}")
    print("\n== sanity (no badge can be seen; images with any staff 'badge found' / judged; "
          "all: found, and against shipped +newly found -no longer found)")
    for name, row in out.items():
        new = sum(b and not a for a, b in zip(base["sanity"], row["_raw"]["sanity"]))
        gone = sum(a and not b for a, b in zip(base["sanity"], row["_raw"]["sanity"]))
        print(f"{name:45s} " + ", ".join(f"{k} {v['badge_found']}/{v['judged']} of {v['images']}"
                                           for k, v in row["sanity"].items())
              + f"; all {sum(row['_raw']['sanity'])} (+{new} -{gone})")
    if json_out:
        for row in out.values():
            row.pop("_raw")
        json_out.write_text(json.dumps(out, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--out", type=Path, default=Path("/work/data/badge2/cache.pkl"))
    c.add_argument("--sources", nargs="+", default=["nametags", "princeid", "sanity"],
                   choices=["nametags", "princeid", "sanity"], help="run them as parallel processes if you like; "
                   "score reads every <cache stem>*.pkl next to --cache")
    s = sub.add_parser("score")
    s.add_argument("--cache", type=Path, default=Path("/work/data/badge2/cache.pkl"))
    s.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.cmd == "collect":
        collect(args.out, args.sources)
    else:
        score(args.cache, args.json)


if __name__ == "__main__":
    main()
