"""`hallmonitor models add`: register an Ultralytics YOLO model (.pt or .onnx) in the model manifest.

A ``.pt`` checkpoint is first exported to ONNX by ultralytics itself (opset 17, no NMS, static
input size), in a subprocess run by a Python that has ultralytics: this interpreter if it has
it, else ``$HALLMONITOR_YOLO_PYTHON``, else ``.cache/yolo-venv/bin/python`` (made by
``scripts/yolo-venv.sh``). torch and ultralytics are never imported here, so the runtime needs
only numpy, opencv and onnxruntime.

The ONNX file (given or exported) is then read with onnxruntime: ultralytics writes its class
``names``, ``task``, ``imgsz`` and ``kpt_shape`` into the file's metadata, and the output must have
the YOLO v8/11 head's shape ``[1, 4 + classes (+ 17*3 keypoints), anchors]``. The file is copied
next to the manifest and its entry (sha256, size, input spec, labels, source) is written into the
manifest with ruamel's round trip, so the comments already there survive.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from vision.errors import ModelError
from vision.models.manifest import DEFAULT_MANIFEST, ModelSpec, file_sha256
from vision.models.manifest_writer import NAME_RE, _atomic_write, _flow, _flow_map, _load_manifest_doc, write_entry

ROOT = Path(__file__).resolve().parents[2]
YOLO_VENV_PYTHON = ROOT / ".cache" / "yolo-venv" / "bin" / "python"
OPSET = 17
STRIDES = (8, 16, 32)
EXPORT_TIMEOUT_S = 1800

# Run by the ultralytics Python: export one checkpoint, print one JSON line with what it wrote.
_EXPORT_SCRIPT = r"""
import json, os, shutil, sys
from pathlib import Path

pt, imgsz, opset = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
cfg.mkdir(parents=True, exist_ok=True)
if not (cfg / "Arial.ttf").exists():   # else ultralytics tries to download Arial.ttf
    candidates = []
    try:
        import matplotlib
        candidates.append(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    except Exception:
        pass
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    for font in candidates:
        if font.is_file():
            shutil.copyfile(font, cfg / "Arial.ttf")
            break

import ultralytics
from ultralytics import YOLO

try:
    import onnxslim  # noqa: F401
    simplify = True
except ImportError:
    simplify = False
model = YOLO(pt)
out = model.export(format="onnx", imgsz=imgsz, opset=opset, simplify=simplify, dynamic=False,
                   nms=False, half=False, device="cpu")
print("HALLMONITOR_EXPORT " + json.dumps({"onnx": str(out), "version": ultralytics.__version__,
                                          "task": model.task}))
"""


def yolo_python() -> str:
    """A Python interpreter that has ultralytics, or a ModelError saying how to get one."""
    if importlib.util.find_spec("ultralytics") is not None:
        return sys.executable
    env = os.environ.get("HALLMONITOR_YOLO_PYTHON")
    if env:
        if not Path(env).is_file():
            raise ModelError(f"HALLMONITOR_YOLO_PYTHON={env} does not exist; point it at a Python that has "
                             f"ultralytics, or unset it")
        return env
    if YOLO_VENV_PYTHON.is_file():
        return str(YOLO_VENV_PYTHON)
    raise ModelError(
        "exporting a .pt checkpoint to ONNX needs ultralytics, which this Python does not have. "
        "Either `pip install 'hallmonitor[yolo]'`, or run `bash scripts/yolo-venv.sh` (a separate venv "
        "in .cache/yolo-venv, found automatically), or set HALLMONITOR_YOLO_PYTHON to a Python with "
        "ultralytics. Or export it yourself (`yolo export model=X.pt format=onnx opset=17`) and add the .onnx.")


def export_onnx(pt: Path, out_dir: Path, imgsz: int = 640,
                progress: Callable[[str], object] = print) -> tuple[Path, str]:
    """Export ``pt`` to ONNX in ``out_dir`` with ultralytics, offline; returns (onnx path, ultralytics version)."""
    python = yolo_python()
    work = out_dir / "export"
    work.mkdir(parents=True, exist_ok=True)
    src = work / pt.name   # ultralytics writes the .onnx beside the .pt: keep the user's folder untouched
    shutil.copyfile(pt, src)
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0", YOLO_VERBOSE="1",
               YOLO_CONFIG_DIR=str(out_dir / "yolo-config"), MPLCONFIGDIR=str(out_dir / "mpl-config"))
    progress(f"exporting {pt.name} to ONNX (imgsz {imgsz}, opset {OPSET}) with ultralytics in {python}")
    try:
        proc = subprocess.run([python, "-c", _EXPORT_SCRIPT, str(src), str(imgsz), str(OPSET)], cwd=work, env=env,
                              capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelError(f"exporting {pt} took more than {EXPORT_TIMEOUT_S} s; stopped") from None
    except OSError as exc:
        raise ModelError(f"cannot run {python} to export {pt}: {exc}") from None
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("HALLMONITOR_EXPORT "):
            result = json.loads(line.split(" ", 1)[1])
    if proc.returncode != 0 or result is None or not Path(result["onnx"]).is_file():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise ModelError(f"ultralytics could not export {pt} to ONNX (exit {proc.returncode}). "
                         f"Is it an Ultralytics YOLO checkpoint?\n{tail}")
    return Path(result["onnx"]), f"ultralytics {result['version']}"


def _literal(meta: dict[str, str], key: str):
    raw = meta.get(key)
    if raw is None:
        return None
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def inspect_onnx(path: Path, task: str | None = None) -> dict:
    """What an Ultralytics YOLO ONNX export is: task, input name and size, labels, keypoint shape.

    Raises ModelError when the file is not a YOLO v8/11 detect or pose export without NMS.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{path}: onnxruntime cannot load it as an ONNX model: {exc}") from None
    meta = dict(session.get_modelmeta().custom_metadata_map)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    out_shape = list(outputs[0].shape) if outputs else []
    not_yolo = (f"{path.name} is not an Ultralytics YOLO detect/pose export: its output "
                f"{outputs[0].name if outputs else '?'!r} has shape {out_shape}, where a YOLO v8/11 export "
                f"without NMS has [1, 4 + classes (+ keypoints), anchors]")
    if len(inputs) != 1 or len(outputs) < 1 or len(out_shape) != 3:
        raise ModelError(not_yolo)
    in_shape = list(inputs[0].shape)
    if len(in_shape) != 4 or in_shape[1] not in (3, "3"):
        raise ModelError(f"{path.name}: input {inputs[0].name!r} has shape {in_shape}; a YOLO export takes "
                         f"[1, 3, height, width]")

    if str(meta.get("end2end", "False")) == "True" or (isinstance(out_shape[2], int) and out_shape[2] == 6):
        raise ModelError(f"{path.name} was exported with NMS or an end-to-end head (output {out_shape}); "
                         f"export it without NMS (`nms=False`) or add the .pt and let hallmonitor export it")
    names = _literal(meta, "names")
    if not isinstance(names, dict) or not names:
        raise ModelError(f"{not_yolo}; nor does it carry ultralytics' `names` metadata. Add the .pt checkpoint "
                         f"instead, and hallmonitor will export it")
    try:
        labels = [str(names[i]) for i in range(len(names))]
    except KeyError:
        raise ModelError(f"{path.name}: class names metadata {names} is not numbered 0..{len(names) - 1}") from None
    meta_task = meta.get("task")
    kpt_shape = _literal(meta, "kpt_shape")
    if meta_task not in ("detect", "pose"):
        raise ModelError(f"{path.name} is a YOLO {meta_task} model; hallmonitor runs detect and pose models")
    if task and task != meta_task:
        raise ModelError(f"{path.name} is a YOLO {meta_task} model, not {task}")
    extra = 0
    if meta_task == "pose":
        if list(kpt_shape or []) != [17, 3]:
            raise ModelError(f"{path.name}: pose model with keypoint shape {kpt_shape}; hallmonitor's pose rules "
                             f"read the 17 COCO keypoints with visibility (kpt_shape [17, 3])")
        extra = 51

    imgsz = _literal(meta, "imgsz")
    h, w = in_shape[2], in_shape[3]
    if not (isinstance(h, int) and isinstance(w, int)):   # dynamic export: the size it was made for
        if not (isinstance(imgsz, list) and len(imgsz) == 2):
            raise ModelError(f"{path.name}: dynamic input {in_shape} and no imgsz metadata; export it with a "
                             f"fixed imgsz")
        h, w = int(imgsz[0]), int(imgsz[1])
    channels, anchors = out_shape[1], out_shape[2]
    if isinstance(channels, int) and channels != 4 + len(labels) + extra:
        raise ModelError(f"{not_yolo}; with {len(labels)} classes{' and 17x3 keypoints' if extra else ''} "
                         f"it should have {4 + len(labels) + extra} rows")
    expected = sum((h // s) * (w // s) for s in STRIDES)
    if isinstance(anchors, int) and anchors != expected:
        raise ModelError(f"{not_yolo}; at {w}x{h} it should have {expected} anchors (strides 8, 16, 32)")
    return {"task": meta_task, "labels": labels, "input_name": inputs[0].name, "width": w, "height": h,
            "output_name": outputs[0].name, "kpt_shape": kpt_shape, "version": meta.get("version"),
            "meta_license": meta.get("license")}


def add_model(path: Path, name: str | None = None, manifest: Path = DEFAULT_MANIFEST, imgsz: int = 640,
              task: str | None = None, progress: Callable[[str], object] = print, *,
              license: str = "unknown", replace: bool = False) -> ModelSpec:
    """Register a YOLO ``.pt`` (exported to ONNX first) or ``.onnx`` file as model ``name`` in ``manifest``.

    The ONNX lands next to the manifest as ``NAME.onnx``. Returns the new entry, checked like any
    other (sha256). An existing model of that name is replaced only with ``replace=True``.
    """
    path, manifest = Path(path), Path(manifest)
    if not path.is_file():
        raise ModelError(f"model file {path} not found")
    suffix = path.suffix.lower()
    if suffix not in (".pt", ".onnx"):
        raise ModelError(f"{path.name}: unknown model file type {path.suffix or '(none)'!r}; `models add` takes an "
                         f"Ultralytics YOLO checkpoint (.pt) or its ONNX export (.onnx)")
    if task is not None and task not in ("detect", "pose"):
        raise ModelError(f"task {task!r} is not detect or pose")
    name = name or re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.") or "yolo"
    if not NAME_RE.match(name):
        raise ModelError(f"model name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    yaml, doc, text = _load_manifest_doc(manifest)
    target = manifest.parent / f"{name}.onnx"
    if not replace:
        if name in doc["models"]:
            raise ModelError(f"{manifest} already has a model named {name!r}; pick another name "
                             f"(--name) or pass --replace to overwrite it")
        if target.exists() and target.resolve() != path.resolve():
            raise ModelError(f"{target} already exists (not in the manifest); pick another name (--name) "
                             f"or pass --replace to overwrite it")
    if imgsz % 32 or imgsz < 32:
        raise ModelError(f"imgsz {imgsz}: must be a multiple of 32")

    with tempfile.TemporaryDirectory(prefix="hallmonitor-add-") as tmp:
        if suffix == ".pt":
            onnx_path, exported_by = export_onnx(path, Path(tmp), imgsz, progress)
        else:
            onnx_path, exported_by = path, None
        info = inspect_onnx(onnx_path, task)
        exported_by = exported_by or (f"ultralytics {info['version']}" if info["version"] else "unknown")
        manifest.parent.mkdir(parents=True, exist_ok=True)
        if onnx_path.resolve() != target.resolve():
            _atomic_write(target, lambda tmp_file: shutil.copyfile(onnx_path, tmp_file))
    progress(f"{name}: {info['task']} model, {len(info['labels'])} classes "
             f"({', '.join(info['labels'][:6])}{', ...' if len(info['labels']) > 6 else ''}), "
             f"input {info['width']}x{info['height']} -> {target}")

    entry = CommentedMap()
    entry["file"] = target.name
    entry["sha256"] = file_sha256(target)
    entry["size_bytes"] = target.stat().st_size
    entry["family"] = "yolo"
    entry["task"] = info["task"]
    entry["source"] = _flow_map({"file": path.name, "sha256": file_sha256(path), "exported_by": exported_by})
    entry["license"] = license
    if info["meta_license"]:
        entry.yaml_add_eol_comment(f"ultralytics' export metadata says: {info['meta_license']}", "license")
    entry["input"] = CommentedMap([
        ("name", info["input_name"]), ("size", _flow([info["width"], info["height"]])), ("layout", "NCHW"),
        ("dtype", "float32"), ("color", "RGB"), ("resize", "letterbox"),
        ("mean", _flow([0, 0, 0])), ("std", _flow([255, 255, 255])),   # preprocess: (x - mean) / std = x / 255
    ])
    decode = {"output": info["output_name"]}
    if info["task"] == "pose":
        decode["kpt_shape"] = _flow(list(info["kpt_shape"]))
    entry["decode"] = _flow_map(decode)
    entry["labels"] = _flow(info["labels"])

    return write_entry(manifest, name, entry)


