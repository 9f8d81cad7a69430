"""Build the behaviour heads' training data: person crops' boxes and labels from public, licence-clean sets.

    python models/heads_data.py --mirrors /work/.mirror --out /work/data/heads

Reads snapshots of public GitHub repositories (bare git directories, as the ``fetch`` tool brings
them: ``<mirrors>/<owner>+<name>/repo``), copies every image used to ``<out>/images/<owner>+<name>/<path>``
and writes ``models/heads-data.csv``: one row per person crop with the image's source repository,
commit, path, sha256 and licence, the behaviour, the label, the group used for the held-out
split (source video / camera session) and the person's box in image pixels. No image is committed.

Sources (all CC BY 4.0, Roboflow exports; attribution: the Roboflow Universe projects named below):
- rogueloop/princeID ``UsingPhone`` ("Student using phone or not", universe.roboflow.com/
  deep-learning-project-rddrg/student-using-phone-or-not): classroom CCTV, every student a polygon,
  class ``phone_use`` (positive) or ``human`` / ``hand_rising`` / ``daydreaming`` / ``bullying``
  (negative). Groups: the 3 source videos (``sample_1``..``sample_3``) and one stock photo.
  Nearly every phone_use is in sample_3, where nearly everyone holds a phone.
- aitkherimed1228/Yolov10_project ``detection-2`` (universe.roboflow.com/detection-hfuet/detection-necem):
  one person at a webcam holding up a phone (positive), earbuds or a wallet (hard negatives). The
  labels box the object, so the person's box comes from the bundled NanoDet (as at run time).
- rogueloop/princeID ``lbscekId&WithoutId`` ("id_no id", universe.roboflow.com/prince-cgszs/id_no-id):
  phone photos of students, chest boxes labelled ``idcard`` / ``noidcard`` -> badge_worn. Each chest box
  is given to the NanoDet person box that holds it. Groups: shooting sessions (gaps of 3+ minutes in
  the photos' time stamps).

Roboflow exports hold the same source frame several times (``<frame>_jpg.rf.<hash>.jpg``): only the
first copy of each frame is kept, so a frame is never on both sides of a split.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CSV_FIELDS = ("repo", "commit", "path", "sha256", "license", "behaviour", "label", "group", "box", "box_from")
LICENSE = "CC-BY-4.0"


class Mirror:
    def __init__(self, mirrors: Path, repo: str):
        self.repo = repo
        self.git = mirrors / repo.replace("/", "+") / "repo"
        if not self.git.is_dir():
            raise SystemExit(f"{self.git}: no snapshot of {repo}; bring it with the fetch tool (github:{repo})")
        self.commit = self._run("rev-parse", "HEAD").strip()
        self.files = self._run("ls-tree", "-r", "--name-only", "HEAD").splitlines()

    def _run(self, *args) -> str:
        return subprocess.run(["git", "--git-dir", str(self.git), *args], check=True,
                              capture_output=True, text=True).stdout

    def read(self, path: str) -> bytes:
        return subprocess.run(["git", "--git-dir", str(self.git), "show", f"HEAD:{path}"], check=True,
                              capture_output=True).stdout


def frame_of(path: str) -> str:
    """The source frame of a Roboflow export file: ``x_jpg.rf.<hash>.jpg`` -> ``x``."""
    name = path.rsplit("/", 1)[-1]
    return re.sub(r"_(jpg|jpeg|png)\.rf\.[0-9a-f]+\.(jpg|txt)$", "", name)


def first_copies(paths: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for p in sorted(paths):
        f = frame_of(p)
        if f not in seen:
            seen.add(f)
            out.append(p)
    return out


def label_path(image_path: str) -> str:
    return re.sub(r"\.jpg$", ".txt", image_path.replace("/images/", "/labels/"))


def save(mirror: Mirror, path: str, out: Path) -> tuple[Path, str, np.ndarray]:
    data = mirror.read(path)
    target = out / "images" / mirror.repo.replace("/", "+") / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return target, hashlib.sha256(data).hexdigest(), image


def polygon_box(values: list[float], w: int, h: int) -> tuple[float, float, float, float]:
    xs, ys = np.array(values[0::2]) * w, np.array(values[1::2]) * h
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def yolo_box(values: list[float], w: int, h: int) -> tuple[float, float, float, float]:
    if len(values) == 4:
        cx, cy, bw, bh = values
        return (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h
    return polygon_box(values, w, h)


def row(mirror, path, sha, behaviour, label, group, box, box_from) -> dict:
    return {"repo": mirror.repo, "commit": mirror.commit, "path": path, "sha256": sha, "license": LICENSE,
            "behaviour": behaviour, "label": int(bool(label)), "group": group,
            "box": " ".join(f"{v:.1f}" for v in box), "box_from": box_from}


def persons(detector, image) -> list[tuple[float, tuple]]:
    found = detector.detect(image, min_score=0.2)
    return sorted(((d.score, d.box) for d in found if d.label == "person" and d.score >= 0.35), reverse=True)


def using_phone(mirror: Mirror, out: Path) -> list[dict]:
    rows = []
    images = first_copies([p for p in mirror.files if p.startswith("UsingPhone/") and "/images/" in p])
    for path in images:
        labels = mirror.read(label_path(path)).decode().split("\n")
        _, sha, image = save(mirror, path, out)
        h, w = image.shape[:2]
        frame = frame_of(path)
        group = "princeID/" + (re.sub(r"_\d+$", "", frame) if frame.startswith("sample_") else "stock")
        for line in labels:
            parts = line.split()
            if len(parts) < 9:
                continue
            cls, values = int(parts[0]), [float(v) for v in parts[1:9]]
            rows.append(row(mirror, path, sha, "phone_in_use", cls == 4, group, polygon_box(values, w, h), "label"))
    return rows


def webcam_objects(mirror: Mirror, out: Path, detector) -> tuple[list[dict], int]:
    rows, missed = [], 0
    images = first_copies([p for p in mirror.files if p.startswith("detection-2/") and "/images/" in p])
    for path in images:
        classes = {int(line.split()[0]) for line in mirror.read(label_path(path)).decode().split("\n") if line.strip()}
        if not classes:
            continue
        _, sha, image = save(mirror, path, out)
        found = persons(detector, image)
        if not found:
            missed += 1
            continue
        # names: 0 airpods, 1 phone, 2 wallet; the biggest-scoring person is the one holding it up
        rows.append(row(mirror, path, sha, "phone_in_use", 1 in classes, "aitkherimed/webcam", found[0][1], "nanodet"))
    return rows, missed


def sessions(stamps: dict[str, int], gap_min: int = 3) -> dict[str, str]:
    """Group photos by time stamp (minutes of the day): a gap of ``gap_min`` or more starts a new session."""
    out, n, last = {}, 0, None
    for key, t in sorted(stamps.items(), key=lambda kv: kv[1]):
        if last is not None and t - last >= gap_min:
            n += 1
        out[key] = f"princeID-id/session{n + 1}"
        last = t
    return out


def id_cards(mirror: Mirror, out: Path, detector) -> tuple[list[dict], int]:
    rows, missed = [], 0
    images = first_copies([p for p in mirror.files if p.startswith("lbscekId&WithoutId/") and "/images/" in p])
    stamps = {}
    for p in images:
        m = re.search(r"PXL_\d{8}_(\d{2})(\d{2})", p)
        stamps[p] = int(m.group(1)) * 60 + int(m.group(2)) if m else 0
    group_of = sessions(stamps)
    for path in images:
        lines = [ln.split() for ln in mirror.read(label_path(path)).decode().split("\n") if ln.strip()]
        if not lines:
            continue
        _, sha, image = save(mirror, path, out)
        h, w = image.shape[:2]
        people = persons(detector, image)
        for parts in lines:
            chest = yolo_box([float(v) for v in parts[1:]], w, h)
            cx, cy = (chest[0] + chest[2]) / 2, (chest[1] + chest[3]) / 2
            holders = [b for _, b in people if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]]
            if not holders:
                missed += 1
                continue
            box = min(holders, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
            rows.append(row(mirror, path, sha, "badge_worn", int(parts[0]) == 0, group_of[path], box, "nanodet"))
    return rows, missed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path("/work/data/heads"))
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "heads-data.csv")
    args = ap.parse_args()

    from vision.models.adapters import build
    from vision.models.manifest import get_model
    detector = build(get_model("nanodet", task="detect"), threads=1)

    prince = Mirror(args.mirrors, "rogueloop/princeID")
    webcam = Mirror(args.mirrors, "aitkherimed1228/Yolov10_project")
    rows = using_phone(prince, args.out)
    print(f"princeID UsingPhone: {len(rows)} person crops")
    more, missed = webcam_objects(webcam, args.out, detector)
    print(f"aitkherimed webcam: {len(more)} person crops ({missed} frames without a person found)")
    rows += more
    more, missed = id_cards(prince, args.out, detector)
    print(f"princeID id cards: {len(more)} person crops ({missed} chest boxes in no person box)")
    rows += more
    with open(args.manifest, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    counts = Counter((r["behaviour"], r["group"], r["label"]) for r in rows)
    for (b, g, lab), n in sorted(counts.items()):
        print(f"  {b:14s} {g:24s} label {lab}: {n}")
    print(f"wrote {args.manifest} ({len(rows)} rows, {len({(r['repo'], r['path']) for r in rows})} images)")


if __name__ == "__main__":
    main()
