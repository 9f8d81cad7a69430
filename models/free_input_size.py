"""Give a convolutional detector's ONNX file a free input height and width (``height``, ``width``).

NanoDet is convolutional: its reshapes flatten the feature maps with -1 and its FPN resizes by scale
factors, so the same weights run on any input whose sides are multiples of its largest stride (32).
tf2onnx writes the TFJS signature's 416 x 416 into the file, and onnxruntime then refuses any other
size. This rewrites only the declared shapes: the input's last two dimensions become ``height`` and
``width``, the outputs' cell count ``cells``. The graph and the weights are unchanged, so at 416 x 416
the outputs are those of the static file up to float rounding (checked here, like the shapes at two
other sizes). The crop pass and the counter zoom then give the detector an input of their crop's own
aspect (vision/models/nanodet.py ``fit_size``) instead of stretching a thin strip to a square.

A build-time tool, run in the tool venv that has ``onnx`` (models/requirements-convert.txt), after
models/convert.py, then put the new sha256 and size into models/models.yaml::

    .cache/yolo-venv/bin/python models/free_input_size.py models/nanodet.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

STRIDE = 32


def free_input_size(path: Path) -> tuple[str, int]:
    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    (inp,) = model.graph.input
    name = inp.name
    dims = inp.type.tensor_type.shape.dim
    if len(dims) != 4:
        sys.exit(f"{path}: input {name} has {len(dims)} dimensions, expected N, C, H, W")
    static = [d.dim_value for d in dims]

    def run(m, shape):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        return sess.run(None, {name: x})

    before = run(model, static) if all(static) else None
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for out in model.graph.output:
        out_dims = out.type.tensor_type.shape.dim
        if len(out_dims) == 3:
            out_dims[1].dim_param = "cells"
    del model.graph.value_info[:]
    onnx.checker.check_model(model, full_check=True)
    if before is not None:
        after = run(model, static)
        worst = max(float(np.abs(a - b).max()) for a, b in zip(before, after))
        if worst > 1e-4:
            sys.exit(f"{path}: outputs at {static[2]} x {static[3]} moved by {worst} with a free input size")
    for h, w in ((6 * STRIDE, 13 * STRIDE), (13 * STRIDE, 10 * STRIDE)):
        cells = sum(-(-h // s) * -(-w // s) for s in (8, 16, 32))
        # NanoDet: a score output and a box output per stride (8, 16, 32), each with a row per cell
        got = sum(o.shape[1] for o in run(model, [1, static[1] or 3, h, w])) // 2
        if got != cells:
            sys.exit(f"{path}: at {h} x {w} the outputs hold {got} cells, expected {cells}")
    onnx.save(model, str(path))
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path, help="the ONNX file to rewrite in place")
    args = ap.parse_args()
    sha, size = free_input_size(args.model)
    print(f"{sha}  {size}  {args.model}  (put sha256 and size_bytes into models/models.yaml)")


if __name__ == "__main__":
    main()
