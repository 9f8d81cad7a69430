"""Trial: does a window's own state head keep presence true on overhead CCTV, where the detector is weak?

Data (measure only, never for shipped weights: no licence stated): github chai991014/Staff_Identification
at commit 0582735ebbea88dd2734960a470f44decaebb587, ``training/dataset/images/{train,val}/frame_*.jpg``
(192 frames of one overhead fisheye office camera, 960x720) with their person boxes
(``labels/*/frame_*.txt``, YOLO format).
Bring the repository with the ``fetch`` tool; the script reads it from the mirror.

Seats stand for windows: cells of a 120 px grid whose occupancy changes over the clip (a cell is
occupied when a labelled person's centre lies in it, vacant when no labelled box touches it, else
left out). Frames are cut into blocks of ``--block`` consecutive frames, each block its own "day",
so the held-back labels are whole blocks (neighbouring frames look alike). For each seat the hall's
loop fits ``hall-window_occupied-<seat>`` and the held-back frames are judged three ways: the
product's detector alone (a staff person in the zone), the state head alone, detector OR head.

    nice python scripts/teach_overhead_trial.py --repo /work/.mirror/chai991014+Staff_Identification/repo
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.config import load_config  # noqa: E402
from vision.media.event_frame import encode_jpeg  # noqa: E402
from vision.perception.load import load_analyzer  # noqa: E402
from vision.runtime.watch import CameraWatch  # noqa: E402
from vision.store.database import Store  # noqa: E402
from vision.training.fit import Trainer, format_table, load_backbone, scores, split_labels  # noqa: E402
from vision.training.teaching import Teaching  # noqa: E402
from vision.training.versions import HeadSwitch  # noqa: E402

COMMIT = "0582735ebbea88dd2734960a470f44decaebb587"
CELL = 120


def git_show(repo: Path, path: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={repo}", "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout


def load(repo: Path) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    """(name, image, boxes x1y1x2y2 px, sha256) per frame, in frame order."""
    names = subprocess.run(["git", f"--git-dir={repo}", "ls-tree", "-r", "--name-only", "HEAD",
                            "training/dataset/images/"], check=True, capture_output=True, text=True).stdout.split()
    out = []
    for path in sorted(names, key=lambda p: Path(p).name):
        data = git_show(repo, path)
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        h, w = image.shape[:2]
        rows = git_show(repo, path.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt").decode().split("\n")
        boxes = []
        for r in rows:
            parts = r.split()
            if len(parts) == 5:
                cx, cy, bw, bh = (float(v) for v in parts[1:])
                boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
        out.append((path, image, np.array(boxes).reshape(-1, 4), hashlib.sha256(data).hexdigest()))
    return out


def cell_state(boxes: np.ndarray, x: int, y: int) -> str | None:
    if not len(boxes):
        return "vacant"
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    if np.any((cx >= x) & (cx < x + CELL) & (cy >= y) & (cy < y + CELL)):
        return "occupied"
    touch = (boxes[:, 2] > x) & (boxes[:, 0] < x + CELL) & (boxes[:, 3] > y) & (boxes[:, 1] < y + CELL)
    return None if np.any(touch) else "vacant"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, required=True, help="bare git dir of chai991014/Staff_Identification")
    ap.add_argument("--block", type=int, default=16, help="consecutive frames per held-back unit")
    ap.add_argument("--seats", type=int, default=6)
    ap.add_argument("--manifest", type=Path, help="write path, sha256, licence of every frame used (CSV)")
    args = ap.parse_args()
    frames = load(args.repo)
    h, w = frames[0][1].shape[:2]
    seats = []
    for y in range(0, h - CELL + 1, CELL):
        for x in range(0, w - CELL + 1, CELL):
            states = [cell_state(b, x, y) for _, _, b, _ in frames]
            occ, vac = states.count("occupied"), states.count("vacant")
            if min(occ, vac) >= 20:
                seats.append((min(occ, vac), x, y, states))
    seats = sorted(seats, reverse=True)[: args.seats]
    print(f"{len(frames)} frames {w}x{h}; seats whose occupancy changes: "
          + ", ".join(f"s{x}_{y} ({st.count('occupied')} occ / {st.count('vacant')} vac)" for _, x, y, st in seats))
    if args.manifest:
        with open(args.manifest, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["repository", "commit", "path", "sha256", "licence", "use"])
            for path, _, _, sha in frames:
                out.writerow(["chai991014/Staff_Identification", COMMIT, path, sha, "none stated", "measure only"])

    windows = "\n".join(
        f"      - id: s{x}_{y}\n        staff_zone: [[{x / w:.4f}, {y / h:.4f}], [{(x + CELL) / w:.4f}, {y / h:.4f}], "
        f"[{(x + CELL) / w:.4f}, {(y + CELL) / h:.4f}], [{x / w:.4f}, {(y + CELL) / h:.4f}]]\n"
        f"        counter: [[{x / w:.4f}, {(y + CELL) / h:.4f}], [{(x + CELL) / w:.4f}, {(y + CELL) / h:.4f}], "
        f"[{(x + CELL) / w:.4f}, {min(1, (y + CELL + 10) / h):.4f}], [{x / w:.4f}, {min(1, (y + CELL + 10) / h):.4f}]]"
        for _, x, y, _ in seats)
    yaml = (f"hall: {{name: Overhead trial}}\nstorage: {{database: var/hall.db, media_dir: var/media, "
            f"heads_dir: var/heads}}\ncameras:\n  - id: cam-o\n    url: rtsp://127.0.0.1:9/none\n    "
            f"detect_on: frame\n    windows:\n{windows}\n")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "cameras.yaml").write_text(yaml, encoding="utf-8")
        config = load_config(Path(tmp) / "cameras.yaml")
        store = Store(config.path(config.storage.database), synchronous="NORMAL")
        teach = Teaching(store)
        for k, (_path, image, _, _) in enumerate(frames):
            f = teach.add_frame(encode_jpeg(image), w, h, "cam-o", 1_764_550_000.0 + (k // args.block) * 86400 + k,
                                event_id=f"f{k:03d}")
            for _, x, y, states in seats:
                if states[k]:
                    teach.label(f, "window", [[x, y], [x + CELL, y], [x + CELL, y + CELL], [x, y + CELL]],
                                "window_state", states[k], "trial", window_id=f"s{x}_{y}")
        backbone = load_backbone(config, threads=1)
        t = time.perf_counter()
        result = Trainer(config, store, backbone).run(["window_occupied"], "trial", activate=True)
        train_s = time.perf_counter() - t
        print(format_table(result.to_json()))
        print(f"training: {train_s:.1f} s for {len(result.rows)} seats")

        analyzer = load_analyzer(config.models, config.base_dir)
        switch = HeadSwitch(config, store, [analyzer])
        switch.sync()
        watch = CameraWatch(config, "cam-o", analyzer)
        watch.zone_heads = switch
        held: dict[str, set[str]] = {}
        truth: dict[tuple[str, str], bool] = {}
        for row in result.rows:
            labels = Teaching(store).labels("window_state")
            mine = [x for x in labels if x.window_id == row["window_id"]]
            split = split_labels(mine)
            for x in split.held_back:
                held.setdefault(x.event_id, set()).add(row["window_id"])
                truth[(x.event_id, row["window_id"])] = x.value == "occupied"
        got: dict[str, list[tuple[bool, bool, bool]]] = {}
        for k, (_, image, _, _) in enumerate(frames):
            wanted = held.get(f"f{k:03d}")
            if not wanted:
                continue
            watch.zone_heads = None
            alone = {o.window_id: o.staff_present for o in watch.step(image, 1.0 + k).observations}
            watch.zone_heads = switch
            for o in watch.step(image, 1.0 + k).observations:
                if o.window_id in wanted:
                    got.setdefault(o.window_id, []).append((truth[(f"f{k:03d}", o.window_id)], alone[o.window_id],
                                                            bool(o.zone_state["window_occupied"]["seen"])))
        print(f"\n{'seat':<12} {'held':>5}   {'detector P/R/F1':<17} {'head P/R/F1':<17} {'det OR head P/R/F1':<18}")
        totals = [[], [], [], []]
        for seat, rows in sorted(got.items()):
            t_, d, hd = ([r[i] for r in rows] for i in range(3))
            either = [a or b for a, b in zip(d, hd)]
            fmt = lambda s: f"{s['precision']:.2f}/{s['recall']:.2f}/{s['f1']:.2f}"  # noqa: E731
            print(f"{seat:<12} {len(rows):>5}   {fmt(scores(t_, d)):<17} {fmt(scores(t_, hd)):<17} "
                  f"{fmt(scores(t_, either)):<18}")
            for acc, v in zip(totals, (t_, d, hd, either)):
                acc.extend(v)
        t_, d, hd, either = totals

        def bal(pred) -> float:
            pos = [p for p, x in zip(pred, t_) if x]
            neg = [not p for p, x in zip(pred, t_) if not x]
            return (sum(pos) / max(len(pos), 1) + sum(neg) / max(len(neg), 1)) / 2

        print(f"{'all seats':<12} {len(t_):>5}   balanced accuracy: detector {bal(d):.3f}, head {bal(hd):.3f}, "
              f"detector OR head {bal(either):.3f}")
        store.close()


if __name__ == "__main__":
    main()
