"""Does one batched detector call beat N single calls on this CPU? (issue 12 item 2)

Makes a copy of the bundled NanoDet with a free batch dimension (in /tmp, never shipped), then
times, in one run and interleaved, N separate batch-1 calls against one batch-N call on a
single-threaded onnxruntime session, on real frames (vtest.avi keyframes). Prints medians and
the ratio. Needs the `onnx` package (a tool venv, e.g. .cache/yolo-venv):

    .cache/yolo-venv/bin/python bench/batch_trial.py --batch 4 --repeats 15
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def free_batch(src: Path, dst: Path) -> str:
    import onnx
    model = onnx.load(str(src))
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.save(model, str(dst))
    return model.graph.input[0].name


def frames(n: int) -> list[np.ndarray]:
    import cv2
    cap = cv2.VideoCapture(str(ROOT / ".cache" / "media" / "opencv" / "vtest.avi"))
    out = []
    while len(out) < n:
        ok, img = cap.read()
        if not ok:
            break
        if len(out) == 0 or np.random.rand() < 0.1:
            out.append(cv2.resize(img, (416, 416)))
    blob = [(f.astype(np.float32) - np.array([103.53, 116.28, 123.675], np.float32))
            / np.array([57.375, 57.12, 58.395], np.float32) for f in out]
    return [b.transpose(2, 0, 1)[None] for b in blob]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    import onnxruntime as ort
    dst = Path("/tmp/nanodet-batch.onnx")
    name = free_batch(ROOT / "models" / "nanodet.onnx", dst)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(dst), opts, providers=["CPUExecutionProvider"])
    inputs = frames(args.batch)
    batch = np.concatenate(inputs)
    for _ in range(2):                             # warm-up
        sess.run(None, {name: batch})
        for x in inputs:
            sess.run(None, {name: x})
    single, batched = [], []
    for _ in range(args.repeats):                  # interleaved: the machine's load hits both alike
        t = time.perf_counter()
        for x in inputs:
            sess.run(None, {name: x})
        single.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        sess.run(None, {name: batch})
        batched.append((time.perf_counter() - t) * 1000)
    s, b = statistics.median(single), statistics.median(batched)
    print(f"| {args.batch} frames | {args.batch} calls of batch 1 | one call of batch {args.batch} | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| median ms | {s:.1f} | {b:.1f} | {s / b:.2f}x |")


if __name__ == "__main__":
    main()
