#!/usr/bin/env python3
"""Build the public dev set of `hallmonitor eval` from fetched repository snapshots.

Reads each source's bare git directory (fetched with the `fetch` tool into /work/.mirror/<owner>+<name>/)
at a pinned commit, maps the source's own label files onto the eval label schema, and writes

    OUT/images/<source>/<file>     the images (originals, or crops written as PNG)
    OUT/labels.json                one record per image: file, source, labels, desk_region
    MANIFEST (CSV)                 per image: file, source, repo, commit, path, crop, sha256 of the written file,
                                   sha256 of the source blob, licence, labels, desk_region

Nothing here is random: every pick is by a sha256 order of the source path, so a rebuild gives the same set.

    python scripts/devset/build_devset.py --mirror /work/.mirror --out /work/data/devset \
        --manifest data/devset-manifest.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

LABEL_KEYS = ("staff_present", "phone_on_desk", "phone_in_hand", "phone_at_ear", "badge_visible",
              "eating_or_drinking", "head_down_sleeping")


@dataclass
class Item:
    file: str                       # relative to OUT/
    source: str
    repo: str
    commit: str
    path: str                       # in the repository
    licence: str
    labels: dict
    desk_region: list | None = None
    crop: list | None = None        # [x1, y1, x2, y2] of the source image, when the image is a crop
    data: bytes = b""               # the bytes written


@dataclass
class Repo:
    name: str                       # owner/name
    commit: str
    git_dir: Path
    _tree: list[str] = field(default_factory=list)
    _known: set[str] = field(default_factory=set)

    def files(self) -> list[str]:
        if not self._tree:
            out = subprocess.run(["git", f"--git-dir={self.git_dir}", "ls-tree", "-r", "--name-only", self.commit],
                                 capture_output=True, text=True, check=True).stdout
            self._tree = out.splitlines()
            self._known = set(self._tree)
        return self._tree

    def has(self, path: str) -> bool:
        self.files()
        return path in self._known

    def read(self, path: str) -> bytes:
        return subprocess.run(["git", f"--git-dir={self.git_dir}", "show", f"{self.commit}:{path}"],
                              capture_output=True, check=True).stdout

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8", errors="replace")


def open_repo(mirror: Path, name: str, commit: str) -> Repo:
    base = mirror / name.replace("/", "+")
    for cand in (base / "repo" / ".git", base / "repo", base):
        if (cand / "objects").is_dir() or (cand / "HEAD").is_file():
            ok = subprocess.run(["git", f"--git-dir={cand}", "cat-file", "-e", f"{commit}^{{commit}}"],
                                capture_output=True)
            if ok.returncode == 0:
                return Repo(name, commit, cand)
            sys.exit(f"{name}: commit {commit} is not in {cand}; fetch the repository again (fetch github:{name})")
    sys.exit(f"{name}: no snapshot under {base}; bring it with the fetch tool (github:{name})")


def by_hash(paths) -> list[str]:
    """A fixed, well-mixed order: sha256 of the path."""
    return sorted(paths, key=lambda p: hashlib.sha256(p.encode()).hexdigest())


def labels(**given) -> dict:
    out = {k: None for k in LABEL_KEYS}
    out.update(given)
    return out


def decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not an image")
    return img


def png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def yolo_boxes(text: str, w: int, h: int) -> list[tuple[int, list[float]]]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5:
            c, x, y, bw, bh = int(parts[0]), *map(float, parts[1:5])
            out.append((c, [(x - bw / 2) * w, (y - bh / 2) * h, (x + bw / 2) * w, (y + bh / 2) * h]))
    return out


def area(b) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def inter(a, b) -> float:
    return area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])


# ---------------------------------------------------------------- chai991014/Staff_Identification
STAFF_ID = ("chai991014/Staff_Identification", "0582735ebbea88dd2734960a470f44decaebb587",
            "none stated (measure only)")
# Desk seats in the fixed 960x720 fisheye view, set by hand from frame_0000: the crop cut for the seat and
# the desk surface beside it (frame pixels). Chosen away from the cluttered pantry on the left, where the
# source's person boxes are incomplete.
SEATS = {
    "right-upper": ((620, 110, 840, 310), (620, 190, 700, 300)),
    "right-middle": ((560, 260, 780, 440), (590, 260, 700, 300)),
    "right-lower": ((540, 440, 760, 640), (570, 520, 640, 600)),
    "right-bottom": ((640, 520, 860, 720), (640, 560, 700, 640)),
    "top-middle": ((400, 0, 640, 150), (400, 0, 640, 40)),
    "top-left": ((280, 0, 460, 150), (300, 0, 460, 40)),
    "centre-chairs": ((380, 120, 560, 300), (380, 190, 500, 300)),
    "bottom-centre": ((200, 520, 420, 720), (220, 600, 400, 700)),
    "centre-aisle": ((380, 480, 560, 660), (380, 560, 470, 660)),
}


def staff_id_sources(repo: Repo, per_class: int) -> list[Item]:
    items: list[Item] = []
    frames = sorted(p for p in repo.files() if p.startswith("training/raw_data_labeled/images/") and p.endswith(".jpg"))
    # (a) whole frames: an office with people at desks -> staff present
    for p in frames[::10]:
        data = repo.read(p)
        items.append(Item(f"images/staff-id-frames/{Path(p).name}", "staff-id-frames", repo.name, repo.commit, p,
                          STAFF_ID[2], labels(staff_present=True), data=data))
    # (b) single-desk crops, with and without a seated person (from the source's person boxes)
    pos, neg = [], []
    for p in frames:
        lab = p.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
        if not repo.has(lab):
            continue
        boxes = [b for c, b in yolo_boxes(repo.text(lab), 960, 720) if c == 0]
        if not boxes:
            # an empty label file is a frame nobody labelled, not an empty office: frame_0186 is a corrupt
            # (blocky) frame of the full room, and its seats were taken as empty desks (docs/devset.md)
            continue
        for seat, (crop, _desk) in SEATS.items():
            inside = [inter(b, crop) / area(b) for b in boxes if area(b) > 0]
            best = max(inside, default=0.0)
            touched = max((inter(b, crop) / area(crop) for b in boxes), default=0.0)
            if best >= 0.6:
                pos.append((p, seat))
            elif best <= 0.1 and touched <= 0.02:
                neg.append((p, seat))
    cache: dict[str, np.ndarray] = {}

    def take(pairs, present: bool):
        picked = by_hash([f"{p}#{s}" for p, s in pairs])[:per_class]
        for key in sorted(picked):
            p, seat = key.split("#")
            if p not in cache:
                cache[p] = decode(repo.read(p))
            crop, desk = SEATS[seat]
            x1, y1, x2, y2 = crop
            img = cache[p][y1:y2, x1:x2]
            region = [desk[0] - x1, desk[1] - y1, desk[2] - x1, desk[3] - y1]
            items.append(Item(f"images/staff-id-desks/{Path(p).stem}-{seat}.png", "staff-id-desks", repo.name,
                              repo.commit, p, STAFF_ID[2], labels(staff_present=present, phone_on_desk=False),
                              desk_region=region,
                              crop=list(crop), data=png(img)))
    take(pos, True)
    take(neg, False)
    # (c) person crops with and without a name tag (the source's name-tag boxes; 'example_*' are not CCTV)
    tag_labels = [p for p in repo.files() if p.startswith("training/raw_data_nametag_labeled/labels/")
                  and p.endswith(".txt") and not Path(p).name.startswith("example")]
    images = {Path(p).stem: p for p in repo.files() if p.startswith("training/raw_data_nametag_labeled/images/")}
    with_tag, without = [], []
    for lab in tag_labels:
        stem = Path(lab).stem
        if stem in images:
            (with_tag if repo.text(lab).strip() else without).append(images[stem])
    for group, visible in ((with_tag, True), (without, False)):
        for p in sorted(by_hash(group)[:per_class]):
            items.append(Item(f"images/staff-id-nametags/{Path(p).name}", "staff-id-nametags", repo.name,
                              repo.commit, p, STAFF_ID[2], labels(staff_present=True, badge_visible=visible),
                              data=repo.read(p)))
    return items


# ---------------------------------------------------------------- MattHazard/State-Farm-Distracted-Driver-Detection
STATE_FARM = ("MattHazard/State-Farm-Distracted-Driver-Detection", "b9f85cac612de27ab04775d9d6a4bd02904fdeef",
              "Kaggle State Farm competition data, non-commercial (measure only)")
# c0 safe driving, c1/c3 texting, c2/c4 talking on the phone, c6 drinking (the competition's class list)
STATE_FARM_CLASSES = {
    "safe": (["c0"], dict(phone_in_hand=False, phone_at_ear=False, eating_or_drinking=False)),
    "texting": (["c1", "c3"], dict(phone_in_hand=True, phone_at_ear=False, eating_or_drinking=False)),
    "phone-call": (["c2", "c4"], dict(phone_at_ear=True, eating_or_drinking=False)),
    "drinking": (["c6"], dict(phone_in_hand=False, phone_at_ear=False, eating_or_drinking=True)),
}


def state_farm_source(repo: Repo, per_class: int) -> list[Item]:
    items = []
    for _name, (folders, given) in STATE_FARM_CLASSES.items():
        paths = [p for p in repo.files() if p.split("/")[:2] in (["train", f] for f in folders) and p.endswith(".jpg")]
        for p in sorted(by_hash(paths)[:per_class]):
            items.append(Item(f"images/statefarm-driver/{p.split('/')[1]}-{Path(p).name}", "statefarm-driver",
                              repo.name, repo.commit, p, STATE_FARM[2],
                              labels(staff_present=True, head_down_sleeping=False, **given), data=repo.read(p)))
    return items


# ---------------------------------------------------------------- bcarothers19/find_phone_task
FIND_PHONE = ("bcarothers19/find_phone_task", "218f192aebef14167d7bcaa5c425fb667b6ec51c",
              "none stated (measure only)")


def find_phone_source(repo: Repo, per_class: int) -> list[Item]:
    """Phones lying on a floor: the floor is the desk. Each photo as it is (phone on the desk, the whole
    photo its desk region); and, from other photos, the largest strip beside the phone that keeps well
    clear of it (no phone on that desk)."""
    centres = {}
    for line in repo.text("find_phone/labels.txt").splitlines():
        parts = line.split()
        if len(parts) == 3:
            centres[parts[0]] = (float(parts[1]), float(parts[2]))
    names = by_hash(sorted(centres))
    positives, negatives = names[:per_class], names[per_class:]
    items = []
    for n in sorted(positives):
        p = f"find_phone/{n}"
        data = repo.read(p)
        h, w = decode(data).shape[:2]
        items.append(Item(f"images/find-phone-floor/{n}", "find-phone-floor", repo.name, repo.commit, p,
                          FIND_PHONE[2], labels(staff_present=False, phone_on_desk=True),
                          desk_region=[0, 0, w, h], data=data))
    made = 0
    for n in negatives:
        if made >= per_class:
            break
        p = f"find_phone/{n}"
        img = decode(repo.read(p))
        h, w = img.shape[:2]
        cx, cy = centres[n][0] * w, centres[n][1] * h
        margin = 0.12 * max(w, h)                      # a phone here is about 40 px of 490: keep 60 px clear
        strips = [(0, 0, int(cx - margin), h), (int(cx + margin), 0, w, h),
                  (0, 0, w, int(cy - margin)), (0, int(cy + margin), w, h)]
        strips = [s for s in strips if s[2] - s[0] >= 160 and s[3] - s[1] >= 160]
        if not strips:
            continue
        x1, y1, x2, y2 = max(strips, key=area)
        crop = img[y1:y2, x1:x2]
        made += 1
        items.append(Item(f"images/find-phone-floor/{Path(n).stem}-clear.png", "find-phone-floor", repo.name,
                          repo.commit, p, FIND_PHONE[2], labels(staff_present=False, phone_on_desk=False),
                          desk_region=[0, 0, x2 - x1, y2 - y1], crop=[x1, y1, x2, y2], data=png(crop)))
    return items


# ---------------------------------------------------------------- Beastojenisto/Drowsiness-Detection
DROWSY = ("Beastojenisto/Drowsiness-Detection", "d9e8ce2423799b22d0e5e806738c4a3e78915638",
          "CC BY 4.0 (Roboflow export, augmented-startups/drowsiness-detection-cntmz v2)")


def drowsy_source(repo: Repo, per_class: int) -> list[Item]:
    """The valid and test splits only (the train split holds 3 augmented copies of each photo)."""
    root = "Driver-drowsiness-detection-1"
    groups: dict[int, list[str]] = {0: [], 1: []}          # data.yaml: 0 awake, 1 drowsy
    for split in ("valid", "test"):
        for p in repo.files():
            if p.startswith(f"{root}/{split}/images/") and p.endswith(".jpg"):
                lab = p.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
                classes = {int(line.split()[0]) for line in repo.text(lab).splitlines() if line.split()} \
                    if repo.has(lab) else set()
                if len(classes) == 1:
                    groups[classes.pop()].append(p)
    items = []
    for cls, paths in groups.items():
        for p in sorted(by_hash(paths)[:per_class]):
            items.append(Item(f"images/drowsiness-driver/{Path(p).name}", "drowsiness-driver", repo.name, repo.commit,
                              p, DROWSY[2], labels(staff_present=True, head_down_sleeping=(cls == 1)),
                              data=repo.read(p)))
    return items


# ---------------------------------------------------------------- OfirDuek/Zoom-Behavior-Insight
ZOOM = ("OfirDuek/Zoom-Behavior-Insight", "71a6384f00a0338833795f2da022e3c3a86d6a39", "none stated (measure only)")


def zoom_source(repo: Repo, per_class: int) -> list[Item]:
    """Webcam-style photos of one person (mostly at a desk), with the object in their hand labelled
    (data/real/real_labels.csv: ObjectInHand Phone, Pen, Other, Cap, Unknown or empty = nothing)."""
    images = {Path(p).stem: p for p in repo.files() if p.startswith("data/real/images/")}
    rows = list(csv.DictReader(repo.text("data/real/real_labels.csv").lstrip("\ufeff").splitlines()))
    items = []
    for row in rows:
        stem, held = row["filename"].strip(), (row.get("ObjectInHand") or "").strip()
        if stem not in images or held == "Unknown":
            continue
        phone = held == "Phone"
        given = dict(phone_in_hand=True) if phone else dict(phone_in_hand=False, phone_at_ear=False)
        p = images[stem]
        items.append(Item(f"images/zoom-webcam/{Path(p).name}", "zoom-webcam", repo.name, repo.commit, p,
                          ZOOM[2], labels(staff_present=True, **given), data=repo.read(p)))
    return items


# ---------------------------------------------------------------- aitkherimed1228/Yolov10_project
HELD = ("aitkherimed1228/Yolov10_project", "9b895c03691c7cd70d7005fbf48403476f22458f",
        "CC BY 4.0 (Roboflow export, detection-hfuet/detection-necem v2)")
HELD_CLASSES = {0: "airpods", 1: "phone", 2: "wallet"}       # detection-2/data.yaml


def held_objects_source(repo: Repo, per_class: int) -> list[Item]:
    """One person at a webcam holding up an object: a phone (phone in hand), or earbuds or a wallet (no
    phone: the held-object false alarm). The train split holds each frame twice (Roboflow crops): the
    first copy by path is kept. Every frame, not capped: 58 phones, 147 others."""
    frames: dict[str, str] = {}
    for p in sorted(repo.files()):
        if p.startswith("detection-2/") and "/images/" in p and p.endswith(".jpg"):
            frames.setdefault(Path(p).name.split("_png.rf.")[0], p)
    items = []
    for stem, p in sorted(frames.items()):
        lab = p.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
        classes = {int(line.split()[0]) for line in repo.text(lab).splitlines() if line.split()} \
            if repo.has(lab) else set()
        if len(classes) != 1:
            continue
        held = HELD_CLASSES[classes.pop()]
        given = dict(phone_in_hand=True) if held == "phone" else dict(phone_in_hand=False, phone_at_ear=False)
        items.append(Item(f"images/webcam-held/{stem}-{held}.jpg", "webcam-held", repo.name, repo.commit, p,
                          HELD[2], labels(staff_present=True, **given), data=repo.read(p)))
    return items


# ---------------------------------------------------------------- guminyu94/CSCE-Project
ACTIONS = ("guminyu94/CSCE-Project", "88ea96de6d9292cef94ad3a1aa0f920d5acadbfa",
           "Stanford 40 Actions photos (research use only) and web photos of sleepers, no licence stated "
           "(measure only)")
ACTIONS_ROOT = "Action_data_set"
ACTIONS_AWAKE = ("using_a_computer", "reading", "writing_on_a_book")     # awake at a desk or a table
# The sleepers seated (head on the arms at a table, slumped back in a chair or a seat), picked by hand from
# the contact sheet of every distinct photo of the class; the rest lie in a bed, on a sofa or on the floor.
ACTIONS_SEATED = frozenset({
    "test/sleeping/1.jpg", "test/sleeping/24.jpg", "test/sleeping/26.jpg", "test/sleeping/27.jpg",
    "test/sleeping/29.jpg", "test/sleeping/40.jpg", "train/sleeping/0.jpg", "train/sleeping/70.jpg",
    "train/sleeping/90.jpg", "train/sleeping/93.jpg"})


def mean_hash(img: np.ndarray) -> int:
    """A 64-bit average hash of the picture: the same photo saved at another size gets (nearly) the same."""
    small = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (8, 8), interpolation=cv2.INTER_AREA)
    bits = (small > small.mean()).flatten()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def distinct_photos(repo: Repo, action: str) -> list[str]:
    """The paths of one class's photos, each photo once: the split folders share files, and some photos are
    there twice at different sizes (average hashes within 4 bits). Taken in path order, so the first path wins."""
    kept: list[tuple[str, int]] = []
    seen_blobs: set[bytes] = set()
    for p in sorted(q for q in repo.files() if q.split("/")[:1] == [ACTIONS_ROOT] and q.split("/")[2:3] == [action]
                    and q.lower().endswith((".jpg", ".jpeg", ".png"))):
        data = repo.read(p)
        digest = hashlib.sha256(data).digest()
        if digest in seen_blobs:
            continue
        seen_blobs.add(digest)
        try:
            h = mean_hash(decode(data))
        except ValueError:
            continue
        if any(bin(h ^ g).count("1") <= 4 for _, g in kept):
            continue
        kept.append((p, h))
    return [p for p, _ in kept]


def actions_sources(repo: Repo, per_class: int) -> list[Item]:
    """Stock-style photos of one or a few people: drinking (eating_or_drinking) against people awake at a
    computer, reading or writing at a table (not drinking, not dozing); and people asleep, seated (head on
    the arms, slumped back) or lying, against the same awake people."""
    items: list[Item] = []

    def add(p: str, source: str, given: dict) -> None:
        rel = p[len(ACTIONS_ROOT) + 1:]
        name = rel.replace("/", "-")
        items.append(Item(f"images/{source}/{name}", source, repo.name, repo.commit, p, ACTIONS[2],
                          labels(staff_present=True, **given), data=repo.read(p)))

    for p in sorted(by_hash(distinct_photos(repo, "drinking"))[:per_class]):
        add(p, "action-drinking", dict(eating_or_drinking=True, head_down_sleeping=False))
    share = per_class // len(ACTIONS_AWAKE)
    for action in ACTIONS_AWAKE:
        for p in sorted(by_hash(distinct_photos(repo, action))[:share]):
            add(p, "action-awake-desk", dict(eating_or_drinking=False, head_down_sleeping=False))
    sleepers = distinct_photos(repo, "sleeping")
    for p in sorted(p for p in sleepers if p[len(ACTIONS_ROOT) + 1:] in ACTIONS_SEATED):
        add(p, "action-asleep-seated", dict(head_down_sleeping=True))
    lying = [p for p in sleepers if p[len(ACTIONS_ROOT) + 1:] not in ACTIONS_SEATED]
    for p in sorted(by_hash(lying)[:per_class]):
        add(p, "action-asleep-lying", dict(head_down_sleeping=True))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path("/work/data/devset"))
    ap.add_argument("--manifest", type=Path, default=Path("data/devset-manifest.csv"))
    ap.add_argument("--per-class", type=int, default=60, help="cap per class per source")
    args = ap.parse_args()

    builders = [(STAFF_ID, staff_id_sources), (STATE_FARM, state_farm_source), (FIND_PHONE, find_phone_source),
                (DROWSY, drowsy_source), (ZOOM, zoom_source),
                (HELD, held_objects_source), (ACTIONS, actions_sources)]
    items: list[Item] = []
    for (name, commit, _), build in builders:
        repo = open_repo(args.mirror, name, commit)
        got = build(repo, args.per_class)
        print(f"{name}: {len(got)} images", file=sys.stderr)
        items += got
    files = [i.file for i in items]
    assert len(files) == len(set(files)), "two images with the same name"
    args.out.mkdir(parents=True, exist_ok=True)
    records, rows = [], []
    for it in items:
        target = args.out / it.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(it.data)
        rec = {"file": it.file, "source": it.source, "labels": it.labels}
        if it.desk_region is not None:
            rec["desk_region"] = [int(v) for v in it.desk_region]
        records.append(rec)
        rows.append({"file": it.file, "source": it.source, "repo": it.repo, "commit": it.commit, "path": it.path,
                     "crop": "" if it.crop is None else " ".join(str(int(v)) for v in it.crop),
                     "sha256": hashlib.sha256(it.data).hexdigest(), "licence": it.licence,
                     **{k: "" if it.labels[k] is None else str(it.labels[k]).lower() for k in LABEL_KEYS},
                     "desk_region": "" if it.desk_region is None else " ".join(str(int(v)) for v in it.desk_region)})
    (args.out / "labels.json").write_text(json.dumps(records, indent=1) + "\n")
    args.manifest.parent.mkdir(parents=True, exist_ok=True)
    with args.manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    counts: dict[str, int] = {}
    for it in items:
        counts[it.source] = counts.get(it.source, 0) + 1
    print(f"{len(items)} images -> {args.out} ({', '.join(f'{k} {v}' for k, v in counts.items())}); "
          f"manifest {args.manifest}", file=sys.stderr)


if __name__ == "__main__":
    main()
