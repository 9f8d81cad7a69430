"""The staff count on the dev set, every box against distinct people (docs/models.md, "Distinct staff, session 7").

Pass 1 (slow, once: run it at nice 19) analyses every labelled image through the product's photo path and
caches its ``FrameDetections``; the observe step is pure, so pass 2 replays the count from the cache in
seconds, with every box counted (before) and with ``vision.observe.distinct_staff`` (after), and prints:

* on the one-person sources (webcam, in-car and stock photos of one person each): the share of images
  whose window says 2 or more staff, per source and per half (a stable hash of the file name: choose the
  cuts on one half, check them on the other);
* on the office CCTV desk crops (``staff-id-desks``), with ``--mirror``: how many people the source's own
  person boxes put wholly in each crop (and partly), and how often the count falls in that range;
* every other image whose count changes, to look at by eye.

    nice -n 19 python bench/distinct_staff.py /work/data/devset-s6 --cache /tmp/staff-frames.pkl \\
        --mirror /work/.mirror
"""

from __future__ import annotations

import argparse
import collections
import pickle
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ONE_PERSON = ("webcam-held", "drowsiness-driver", "statefarm-driver", "zoom-webcam", "action-")


def build_cache(folder: Path, cache: Path) -> list[dict]:
    from vision.analysis.photo import analyze_image
    from vision.evaluation.labels import load_records
    from vision.perception.load import load_analyzer

    analyzer = load_analyzer()
    records = load_records(folder / "labels.json")
    rows, t0 = [], time.time()
    for n, rec in enumerate(records, 1):
        res = analyze_image(folder / rec.file, analyzer, None, None, rec.desk_region)
        rows.append({"file": rec.file, "source": rec.source or "", "desk_region": rec.desk_region, "frame": res.frame})
        if n % 50 == 0:
            print(f"pass 1: {n}/{len(records)} images, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    cache.write_bytes(pickle.dumps(rows))
    return rows


def desk_people(mirror: Path) -> dict[str, tuple[int, int]]:
    """staff-id-desks file -> (people wholly in the crop, people partly in it), from the source's YOLO boxes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts" / "devset"))
    from build_devset import SEATS, STAFF_ID, area, inter, open_repo, yolo_boxes

    repo = open_repo(mirror, STAFF_ID[0], STAFF_ID[1])
    people: dict[str, tuple[int, int]] = {}
    for p in repo.files():
        if not (p.startswith("training/raw_data_labeled/labels/") and p.endswith(".txt")):
            continue
        boxes = [b for c, b in yolo_boxes(repo.text(p), 960, 720) if c == 0 and area(b) > 0]
        for seat, (crop, _desk) in SEATS.items():
            inside = [inter(b, crop) / area(b) for b in boxes]
            people[f"images/staff-id-desks/{Path(p).stem}-{seat}.png"] = (
                sum(s >= 0.6 for s in inside), sum(0.1 < s < 0.6 for s in inside))
    return people


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="the dev set (with labels.json)")
    ap.add_argument("--cache", type=Path, required=True, help="pass 1's cache (built when missing)")
    ap.add_argument("--mirror", type=Path, help="the fetched snapshots (for the office desks' person boxes)")
    args = ap.parse_args()

    from vision.config import single_window_config
    from vision.observe.distinct_staff import SamePerson, staff_count
    from vision.observe.frame import observe_camera

    rows = pickle.loads(args.cache.read_bytes()) if args.cache.exists() else build_cache(args.folder, args.cache)
    people = desk_people(args.mirror) if args.mirror else {}
    cuts = SamePerson()
    one: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    desks = [0, 0, 0, 0]            # crops, in range before, in range after, under the wholly-in count after only
    changed = []
    for r in rows:
        f = r["frame"]
        config = single_window_config(f.width, f.height, r["desk_region"])
        staff = [p for o in observe_camera(f, config, "image", None) for p in o.persons if p.staff]
        before, after = len(staff), staff_count(staff, cuts)
        src = r["source"]
        if src.startswith(ONE_PERSON):
            for key in ((src, "all"), (src, f"half {zlib.crc32(r['file'].encode()) % 2}"),
                        ("pooled", "all"), ("pooled", f"half {zlib.crc32(r['file'].encode()) % 2}")):
                one[key][0] += 1
                one[key][1] += before >= 2
                one[key][2] += after >= 2
            continue
        if r["file"] in people:
            whole, partly = people[r["file"]]
            desks[0] += 1
            desks[1] += whole <= before <= whole + partly
            desks[2] += whole <= after <= whole + partly
            desks[3] += after < whole <= before
        if before != after:
            changed.append(f"{r['file']}: {before} -> {after}")
    print("one-person sources: images whose window says 2 or more staff, every box -> distinct people")
    for (src, part), (n, b, a) in sorted(one.items()):
        print(f"  {src:22s} {part:6s} n {n:4d}   {b:4d} ({b / n:5.1%}) -> {a:4d} ({a / n:5.1%})")
    if desks[0]:
        print(f"office desk crops: {desks[0]}; count within the people wholly..partly in the crop: "
              f"{desks[1]} -> {desks[2]}; under the wholly-in count only after: {desks[3]}")
    print(f"other images whose count changes ({len(changed)}):")
    for line in changed:
        print("  " + line)


if __name__ == "__main__":
    main()
