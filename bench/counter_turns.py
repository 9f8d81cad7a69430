#!/usr/bin/env python3
"""Measure turned and flipped looks at the counter's tiles (phone lying on the counter) from one cached run.

COCO's phones are mostly upright in a hand; a phone lying on a counter lies any way round, and on the dev
set's floors the zoom misses mostly the phones lying across (landscape). This script asks whether looking
at each counter tile again turned (90, 180, 270 degrees, or 45 degrees off) or mirrored finds them.

``--collect``: each photo goes once through the Analyzer as ``analyze_image`` calls it, without the counter
zoom (``bench/counter_phone.py`` does the same), and the detector looks at each of the product's counter
tiles (``Analyzer.counter_looks``) once per pass in ``PASSES``, keeping every raw detection down to
``RAW_SCORE`` (all classes), mapped back to the frame. Rows are written as they are done; a second
``--collect`` goes on where the first stopped.

Scoring (no ``--collect``): a variant is a set of passes and a rule for joining them; every verdict is the
product's own ``observe_window`` (the size limit on). The photos are split in two halves (``half``): the
floors by photo number (a photo and its ``N-clear`` twin together), the desk crops by frame number; a
variant is chosen on the even half and confirmed on the odd one, and McNemar's exact test counts the
verdicts that flip against main.

    nice -n 19 python bench/counter_turns.py --collect --labels /work/data/s5/labels-counter.json \\
        --cache /work/data/counter2/turns.pkl
    python bench/counter_turns.py --cache /work/data/counter2/turns.pkl
    python bench/counter_turns.py --cache /work/data/counter2/turns.pkl --cost      # the shipped turns' time
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import pickle
import re
import sys
import time
from math import comb
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vision.evaluation.labels import load_records  # noqa: E402
from vision.perception.detections import Detection  # noqa: E402
from vision.perception.turned_looks import boxes_back  # noqa: E402
from vision.perception.turned_looks import turned_view as product_turned_view  # noqa: E402

RAW_SCORE = 0.05
# a pass: (degrees turned clockwise, mirrored left-right first)
PASSES = ((0, False), (90, False), (180, False), (270, False), (0, True), (90, True), (45, False), (315, False),
          (30, False), (330, False), (60, False), (300, False), (15, False), (345, False))


def turned_view(image: np.ndarray, tile, degrees: int, mirror: bool):
    """The tile of ``image`` as the pass shows it to the detector, and the 2x3 affine map from that view's pixels
    back to frame pixels: the product's ``turned_looks.turned_view``, on the frame mirrored left-right first for a
    mirrored pass (the same pixels as mirroring the tile: PASSES mirror only with quarter turns)."""
    if not mirror:
        return product_turned_view(image, tile, degrees)
    width = image.shape[1]
    x1, y1, x2, y2 = tile
    view, back = product_turned_view(np.ascontiguousarray(image[:, ::-1]), (width - x2, y1, width - x1, y2), degrees)
    unflip = np.array([[-1, 0, width], [0, 1, 0], [0, 0, 1]], np.float64)
    return view, (unflip @ np.vstack([back, (0, 0, 1)]))[:2]


def counter_of(rec, w: int, h: int) -> tuple[int, int, int, int]:
    if rec.desk_region is not None:
        x1, y1, x2, y2 = rec.desk_region
        return int(max(0, x1)), int(max(0, y1)), int(min(w, x2)), int(min(h, y2))
    return 0, h // 2, w, h


def collect(args) -> None:
    from tqdm import tqdm

    from vision.analysis.photo import read_image
    from vision.config import ModelChoice, Thresholds
    from vision.perception.load import load_analyzer

    analyzer = load_analyzer(ModelChoice())
    analyzer.mouth = None
    th = Thresholds()
    wanted = [p for p in PASSES if args.passes is None or (p[0] in args.passes and not p[1])]
    rows = pickle.loads(args.cache.read_bytes()) if args.cache.exists() else []
    by_file = {r["file"]: r for r in rows}
    # new photos, and photos cached before a pass was added to PASSES
    todo = [r for r in load_records(args.labels) if r.file not in by_file
            or any((t, *p) not in by_file[r.file]["looks"] for t in by_file[r.file]["tiles"] for p in wanted)]
    for n, rec in enumerate(tqdm(todo, unit="img", file=sys.stderr)):
        image = read_image(args.data / rec.file)
        h, w = image.shape[:2]
        row = by_file.get(rec.file)
        if row is None:
            counter = counter_of(rec, w, h)
            frame = analyzer.analyze(image, person_min_score=th.person_score, zoom=None,
                                     confirm_min_score=th.person_confirm_score)
            row = {"file": rec.file, "source": rec.source, "labels": rec.labels, "counter": counter,
                   "size": (w, h), "frame": dataclasses.replace(frame, faces=[None] * len(frame.persons)),
                   "tiles": [k.tile for k in analyzer.counter_looks(image, counter) if not k.turned],
                   "looks": {}, "ms": {}}
            rows.append(row)
            by_file[rec.file] = row
        for tile in row["tiles"]:
            for degrees, mirror in wanted:
                if (tile, degrees, mirror) in row["looks"]:
                    continue
                view, back = turned_view(image, tile, degrees, mirror)
                t0 = time.perf_counter()
                found = analyzer._detect(analyzer.detector, view, (0, 0, view.shape[1], view.shape[0]), RAW_SCORE,
                                         fit=analyzer.fit_looks)     # as the product's zoom_tile / zoom_look
                row["ms"][(tile, degrees, mirror)] = (time.perf_counter() - t0) * 1000
                row["looks"][(tile, degrees, mirror)] = boxes_back(found, back, w, h)
        if n % 20 == 19:
            args.cache.write_bytes(pickle.dumps(rows))
    args.cache.write_bytes(pickle.dumps(rows))
    print(f"{len(rows)} photos cached in {args.cache}", file=sys.stderr)


def half(row) -> str:
    """'even' or 'odd': the floors by photo number (``12.jpg`` and ``12-clear.png`` together), the desk
    crops by frame number."""
    name = Path(row["file"]).name
    m = re.match(r"(?:frame_)?(\d+)", name)
    return "even" if m and int(m.group(1)) % 2 == 0 else "odd"


def zoom_finds(row, passes, cut: float = 0.25, votes: int = 1, vote_cut: float | None = None,
               labels=("cell phone",), turn_cut: float | None = None) -> list[Detection]:
    """What the zoom keeps for the window: hall objects of the upright pass (as main), and phones from the
    ``passes``: a phone at ``cut`` or more in any pass; with ``votes`` > 1 a phone at ``vote_cut`` or more
    also counts where at least ``votes`` passes see one at the same place (overlapping boxes); ``turn_cut``:
    the cut of the turned and mirrored passes (default ``cut``)."""
    from vision.perception.classes import HALL_OBJECTS
    out = []
    for tile in row["tiles"]:
        out += [d for d in row["looks"][(tile, 0, False)] if d.label in HALL_OBJECTS and d.label not in labels
                and d.score >= 0.2]
        phones = [(p, d) for p in passes for d in row["looks"][(tile, *p)] if d.label in labels]
        strong = [d for p, d in phones
                  if d.score >= (cut if p == (0, False) or turn_cut is None else turn_cut)]
        out += [Detection("cell phone", d.score, d.box) for d in strong]
        if votes > 1 and vote_cut is not None:
            weak = [(p, d) for p, d in phones if vote_cut <= d.score < cut]
            for p, d in weak:
                seen_by = {p} | {q for q, e in phones if q != p and e.score >= vote_cut and _iou(d.box, e.box) >= 0.3}
                if len(seen_by) >= votes:
                    out.append(Detection("cell phone", cut, d.box))   # counted as a phone at the cut
    return out


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def verdict(row, **variant) -> bool:
    from vision.config import Thresholds, single_window_config
    from vision.observe.frame import observe_window
    from vision.perception.classes import PHONE_LABELS
    from vision.perception.pipeline import merge_detections

    th = Thresholds()
    frame = row["frame"]
    zoomed = zoom_finds(row, **variant)
    base = [d for d in frame.objects if d.label not in PHONE_LABELS or d.score >= th.phone_score]
    f2 = dataclasses.replace(frame, objects=merge_detections(base + zoomed), zoomed=zoomed)
    w, h = row["size"]
    config = single_window_config(w, h, row["counter"])
    return observe_window(f2, config.cameras[0].windows[0], th, config.badge).phone_on_counter


def truth(row) -> bool:
    return bool(row["labels"].get("phone_on_desk"))


def cells(rows, got: dict) -> dict[str, tuple[int, int]]:
    """Per source and half: (phones found of those there, false alarms)."""
    out: dict[str, list[int]] = {}
    for r in rows:
        key = {"find-phone-floor": "phone", "staff-id-desks": "desks"}.get(r["source"], r["source"]) + f"-{half(r)}"
        c = out.setdefault(key, [0, 0])
        c[0] += truth(r) and got[r["file"]]
        c[1] += (not truth(r)) and got[r["file"]]
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def f1(rows, got: dict) -> tuple[float, int, int, int]:
    tp = sum(truth(r) and got[r["file"]] for r in rows)
    fp = sum((not truth(r)) and got[r["file"]] for r in rows)
    fn = sum(truth(r) and not got[r["file"]] for r in rows)
    return (2 * tp / (2 * tp + fp + fn) if tp else 0.0), tp, fp, fn


def mcnemar(rows, base: dict, got: dict) -> tuple[int, int, float]:
    """Verdicts made right and made wrong against ``base``, and the exact two-sided p."""
    fixed = sum(got[r["file"]] == truth(r) != base[r["file"]] for r in rows)
    broken = sum(base[r["file"]] == truth(r) != got[r["file"]] for r in rows)
    n, k = fixed + broken, min(fixed, broken)
    p = min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
    return fixed, broken, p


def variants():
    up = (0, False)
    quarter = [(d, False) for d in (90, 180, 270)]
    yield "main: upright, phone >= 0.25", dict(passes=[up])
    for p in PASSES[1:]:
        yield f"+ {p[0]} deg{' mirrored' if p[1] else ''}", dict(passes=[up, p])
    for a, b in itertools.combinations(PASSES[1:], 2):
        yield f"+ {a[0]}{'m' if a[1] else ''} + {b[0]}{'m' if b[1] else ''}", dict(passes=[up, a, b])
    yield "+ 90 + 180 + 270", dict(passes=[up, *quarter])
    yield "+ 90 + 270 + 45 + 315", dict(passes=[up, (90, False), (270, False), (45, False), (315, False)])
    yield f"all {len(PASSES)} passes", dict(passes=list(PASSES))
    for cut in (0.3, 0.35):
        yield f"+ 90 + 270, phone >= {cut}", dict(passes=[up, (90, False), (270, False)], cut=cut)
        yield f"+ 90, phone >= {cut}", dict(passes=[up, (90, False)], cut=cut)
    for vc in (0.1, 0.15, 0.2):
        for ps, name in (([up, (90, False)], "+ 90"), ([up, (90, False), (270, False)], "+ 90 + 270"),
                         ([up, *quarter], "+ 90 + 180 + 270")):
            for v in (2, 3):
                if v <= len(ps):
                    yield f"{name}, or {v} passes agree >= {vc}", dict(passes=ps, votes=v, vote_cut=vc)
    for tc in (0.25, 0.3, 0.35, 0.4):
        for ps in ([(315, False)], [(45, False)], [(45, False), (315, False)], [(90, False), (270, False)],
                   [(45, False), (315, False), (90, False)], [(45, False), (315, False), (90, False), (270, False)],
                   [(45, False), (315, False), (0, True)]):
            yield f"+ {' + '.join(str(a) + ('m' if m else '') for a, m in ps)}, turned >= {tc}", \
                dict(passes=[up, *ps], turn_cut=tc)
    for tc in (0.25, 0.3, 0.35):
        for ps in ([(30, False), (330, False)], [(60, False), (300, False)], [(15, False), (345, False)],
                   [(30, False), (330, False), (60, False), (300, False)],
                   [(45, False), (315, False), (15, False), (345, False)]):
            yield f"angles {' + '.join(str(a) for a, _ in ps)}, turned >= {tc}", dict(passes=[up, *ps], turn_cut=tc)
    yield "+ 90 + 270, remote too", dict(passes=[up, (90, False), (270, False)], labels=("cell phone", "remote"))


def score(args) -> None:
    rows = pickle.loads(args.cache.read_bytes())
    print(f"{len(rows)} photos; halves: " + ", ".join(f"{k} {v}" for k, v in sorted(
        {h: sum(half(r) == h for r in rows) for h in ("even", "odd")}.items())))
    base = {r["file"]: verdict(r, passes=[(0, False)]) for r in rows}
    even = [r for r in rows if half(r) == "even"]
    odd = [r for r in rows if half(r) == "odd"]
    print("| variant | floor-even TP/FP | floor-odd TP/FP | desks-even FP | desks-odd FP | F1 even | F1 odd | F1 all "
          "| fixed/broken (all) | p |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, v in variants():
        if args.only and not re.search(args.only, name):
            continue
        got = {r["file"]: verdict(r, **v) for r in rows}
        c = cells(rows, got)
        fixed, broken, p = mcnemar(rows, base, got)
        fe, fo, fa = f1(even, got)[0], f1(odd, got)[0], f1(rows, got)
        print(f"| {name} | {'/'.join(map(str, c.get('phone-even', (0, 0))))} | "
              f"{'/'.join(map(str, c.get('phone-odd', (0, 0))))} | {c.get('desks-even', (0, 0))[1]} | "
              f"{c.get('desks-odd', (0, 0))[1]} | {fe:.2f} | {fo:.2f} | {fa[0]:.2f} ({fa[1]}/{fa[2]}/{fa[3]}) | "
              f"{fixed}/{broken} | {p:.2g} |")
        others = sorted({r["source"] for r in rows} - {"find-phone-floor", "staff-id-desks"})
        if others:
            print("|   false alarms elsewhere: " + ", ".join(
                f"{src} {sum(got[r['file']] and not truth(r) for r in rows if r['source'] == src)}"
                f"/{sum(r['source'] == src for r in rows)}" for src in others) + " |")
    ms = [v for r in rows for v in r["ms"].values()]
    tiles = [len(r["tiles"]) for r in rows]
    print(f"detector pass: median {np.median(ms):.0f} ms; tiles per counter: floors "
          f"{np.median([n for r, n in zip(rows, tiles) if r['source'] == 'find-phone-floor']):.0f}, desks "
          f"{np.median([n for r, n in zip(rows, tiles) if r['source'] != 'find-phone-floor']):.0f}")


def cost(args) -> None:
    """The counter zoom's time on a few cached photos (floors and desks): upright only against the shipped
    turns, each photo ``--repeat`` times, alternating, one session on one thread."""
    import copy

    from vision.analysis.photo import read_image
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer

    rows = pickle.loads(args.cache.read_bytes())
    turned = load_analyzer(ModelChoice(threads=1))
    upright = copy.copy(turned)
    upright.zoom_turns = ()
    for source in sorted({r["source"] for r in rows}):
        picked = [r for r in rows if r["source"] == source][:: max(1, len(rows) // 40)][:8]
        times: dict[str, list[float]] = {"upright": [], "turned": []}
        passes = {}
        for r in picked:
            image = read_image(args.data / r["file"])
            for name, a in (("upright", upright), ("turned", turned)) * args.repeat:
                t0 = time.perf_counter()
                a.zoom_counters(image, [r["counter"]])
                times[name].append((time.perf_counter() - t0) * 1000)
                passes[name] = len(a.counter_looks(image, r["counter"]))
        up, tu = np.median(times["upright"]), np.median(times["turned"])
        print(f"{source}: {len(picked)} photos x {args.repeat}: upright {up:.0f} ms ({passes['upright']} passes), "
              f"turns {turned.zoom_turns} {tu:.0f} ms ({passes['turned']} passes), x{tu / up:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--data", type=Path, default=Path("/work/data/devset-all"))
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--only", help="score only the variants whose name matches this regex")
    ap.add_argument("--passes", type=lambda s: {int(v) for v in s.split(",")},
                    help="with --collect: only the passes turned by these degrees (not mirrored ones), e.g. 0,45,315")
    ap.add_argument("--cost", action="store_true", help="time the product's zoom, upright only and turned")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.collect:
        if args.labels is None:
            ap.error("--collect needs --labels")
        collect(args)
    elif args.cost:
        cost(args)
    else:
        score(args)


if __name__ == "__main__":
    main()
