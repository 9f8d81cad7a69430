"""How long `hallmonitor train` takes on this CPU, and what the held-back numbers are, on real footage.

A throw-away hall on OpenCV's vtest.avi: one window whose staff zone is the lawn at the bottom left,
labelled occupied / vacant frame by frame (the zone is empty until frame 520, people cross it from
535 to 680, empty again from 690; frames in between are left out as doubtful). Frames are spread
over days (``--frames-per-day``), so the held-back labels are whole days. Prints the before/after
table and the time of each stage.

    nice python scripts/teach_bench.py [--every 2] [--frames-per-day 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.teach_data import HALL_YAML, zone_polygon  # noqa: E402
from vision.config import load_config  # noqa: E402
from vision.media.event_frame import encode_jpeg  # noqa: E402
from vision.store.database import Store  # noqa: E402
from vision.training.fit import Trainer, format_table, load_backbone  # noqa: E402
from vision.training.teaching import Teaching  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=2, help="label every n-th frame")
    ap.add_argument("--frames-per-day", type=int, default=100)
    ap.add_argument("--video", type=Path, default=ROOT / ".cache" / "media" / "opencv" / "vtest.avi")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "cameras.yaml").write_text(HALL_YAML, encoding="utf-8")
        config = load_config(folder / "cameras.yaml")
        store = Store(config.path(config.storage.database), synchronous="NORMAL")
        teach = Teaching(store)
        t = time.perf_counter()
        cap = cv2.VideoCapture(str(args.video))
        i = n = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            value = "vacant" if i < 520 or i >= 690 else "occupied" if 535 <= i < 680 else None
            if value and i % args.every == 0:
                taken = 1_764_550_000.0 + (i // args.frames_per_day) * 86400 + i
                f = teach.add_frame(encode_jpeg(image), image.shape[1], image.shape[0], "cam-v", taken,
                                    event_id=f"evt_{i:04d}")
                teach.label(f, "window", zone_polygon(), "window_state", value, "bench", window_id="w01")
                n += 1
            i += 1
        labelled_s = time.perf_counter() - t
        t = time.perf_counter()
        backbone = load_backbone(config, threads=1)
        load_s = time.perf_counter() - t
        stages: dict[str, float] = {}
        last = [time.perf_counter(), "start"]

        def progress(fraction: float, stage: str) -> None:
            now = time.perf_counter()
            kind = stage.split(": ")[-1].split(" ")[0]
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
            last[0], last[1] = now, kind

        t = time.perf_counter()
        result = Trainer(config, store, backbone).run(["window_occupied"], "bench", progress=progress)
        train_s = time.perf_counter() - t
        store.close()
    print(format_table(result.to_json()))
    print(f"\n{n} labels (every {args.every}th frame, {args.frames_per_day} frames a day); "
          f"one onnxruntime thread")
    print(f"{'stage':<12} {'seconds':>8}")
    print(f"{'store':<12} {labelled_s:>8.1f}   (decode, JPEG, label rows)")
    print(f"{'backbone':<12} {load_s:>8.1f}   (load)")
    for k in ("crops", "features", "fitting"):
        print(f"{k:<12} {stages.get(k, 0.0):>8.1f}")
    print(f"{'train total':<12} {train_s:>8.1f}")


if __name__ == "__main__":
    main()
