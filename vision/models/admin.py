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
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from vision.errors import ModelError
from vision.models.manifest import DEFAULT_MANIFEST, ModelSpec, file_sha256, load_manifest, verify

ROOT = Path(__file__).resolve().parents[2]
YOLO_VENV_PYTHON = ROOT / ".cache" / "yolo-venv" / "bin" / "python"
OPSET = 17
STRIDES = (8, 16, 32)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
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


def export_onnx(pt: Path, out_dir: Path, imgsz: int = 640, progress: Callable[[str], object] = print) -> tuple[Path, str]:
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


def _flow(items) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _flow_map(items: dict) -> CommentedMap:
    m = CommentedMap(items)
    m.fa.set_flow_style()
    return m


def _yaml() -> YAML:
    yaml = YAML()   # round trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load_manifest_doc(manifest: Path, header: str | None = None):
    """(yaml, round-trip document, text) of the manifest; a new, empty one (``header``) if it does not exist."""
    yaml = _yaml()
    text = (manifest.read_text(encoding="utf-8") if manifest.exists() else header or
            "# hallmonitor model manifest: what each model file is (see `hallmonitor models add`)\nversion: 1\n")
    try:
        doc = yaml.load(text)
    except Exception as exc:  # ruamel's parser and scanner errors have no common public base
        raise ModelError(f"{manifest}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{manifest}: needs a `models:` mapping of name -> model")
    if not doc.get("models"):   # missing, null or {}: a fresh block mapping
        doc["models"] = CommentedMap()
    if not isinstance(doc["models"], dict):
        raise ModelError(f"{manifest}: `models:` must be a mapping of name -> model")
    return yaml, doc, text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _splice(text: str, doc, name: str, entry_text: str, after: str | None = None) -> str | None:
    """The manifest text with model ``name``'s block replaced by (or ``entry_text`` appended as) a new one.

    Every other line stays byte for byte as it was (ruamel's full dump would re-wrap the other
    entries' flow lists). Returns None where the layout is not the plain block mapping this expects.
    """
    models = doc["models"]
    keys = list(models)
    if not keys:
        return None
    try:
        pos = {k: models.lc.key(k) for k in keys}
    except (AttributeError, KeyError, TypeError):
        return None
    col = pos[keys[0]][1]
    if any(c != col for _, c in pos.values()):
        return None
    lines = text.splitlines(keepends=True)

    def block(k: str) -> tuple[int, int]:
        start = pos[k][0]
        i = keys.index(k)
        end = pos[keys[i + 1]][0] if i + 1 < len(keys) else len(lines)
        if i + 1 == len(keys):   # the last entry ends at the first line indented no deeper than its key
            j = start + 1
            while j < end and (not lines[j].strip() or _indent(lines[j]) > col):
                j += 1
            end = j
        while end > start + 1 and (not lines[end - 1].strip()
                                   or (lines[end - 1].lstrip().startswith("#") and _indent(lines[end - 1]) <= col)):
            end -= 1   # blank lines and comments of the next entry (or of the file's end) stay where they are
        return start, end

    new = [" " * col + line + "\n" for line in entry_text.splitlines()]
    if name in models:
        start, end = block(name)
        lines[start:end] = new
    else:
        _, end = block(after if after in models else keys[-1])
        if end and not lines[end - 1].endswith("\n"):
            lines[end - 1] += "\n"
        lines[end:end] = new
    return "".join(lines)


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` a file beside ``path``, then move it into place: no half-written file on failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def entry_from_yaml(text: str, name: str) -> CommentedMap:
    """Model ``name``'s mapping from YAML text holding ``name: {...}`` (its comments and flow lists
    kept), for ``write_entry``: the conversion scripts lay their entries out as text."""
    doc = _yaml().load(textwrap.dedent(text))
    if not isinstance(doc, dict) or not isinstance(doc.get(name), dict):
        raise ModelError(f"model entry {name!r}: the text does not hold a `{name}:` mapping")
    return doc[name]


def write_entry(manifest: Path, name: str, entry: dict, after: str | None = None,
                header: str | None = None) -> ModelSpec:
    """Add model ``name`` to ``manifest`` or replace its entry: the one writer of models.yaml
    (``models add``, the heads, and the conversion scripts under models/ all come through here).

    A new entry goes after model ``after`` when given (e.g. an int8 file after its float source),
    else at the end of ``models:``. A manifest that does not exist yet starts as ``header`` (comment
    lines, ``version: 1``, ``models:``) when given.

    ``entry`` is the model's mapping (file, sha256, size_bytes, family, task, ...; a ruamel
    CommentedMap keeps end-of-line comments and flow lists). Every other line of the file stays
    byte for byte as it was where the layout allows, else ruamel's round trip keeps the comments.
    The file is replaced atomically; the new entry is read back and its file's sha256 checked.
    """
    manifest = Path(manifest)
    if not NAME_RE.match(name):
        raise ModelError(f"model name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    yaml, doc, text = _load_manifest_doc(manifest, header)
    models = doc["models"]
    old_plain = YAML(typ="safe").load(text) or {}
    stream = io.StringIO()
    yaml.dump({name: entry}, stream)
    entry_text = "\n".join(line.rstrip() for line in stream.getvalue().splitlines())
    new_text = _splice(text, doc, name, entry_text, after)
    if new_text is not None:   # check the splice: the new entry as meant, every other model untouched
        try:
            new_plain = YAML(typ="safe").load(new_text) or {}
            want = YAML(typ="safe").load(entry_text)[name]
            others_same = ({k: v for k, v in (new_plain.get("models") or {}).items() if k != name}
                           == {k: v for k, v in (old_plain.get("models") or {}).items() if k != name})
            if new_plain["models"].get(name) != want or not others_same:
                new_text = None
        except Exception:  # a splice that does not parse: fall back to ruamel's full dump
            new_text = None
    if new_text is None:   # ruamel round trip of the whole file: comments survive, flow lists are re-wrapped
        if name in models:
            models[name] = entry
        else:
            keys = list(models)
            models.insert(keys.index(after) + 1 if after in keys else len(keys), name, entry)
        stream = io.StringIO()
        yaml.dump(doc, stream)
        new_text = "\n".join(line.rstrip() for line in stream.getvalue().splitlines()) + "\n"
    _atomic_write(manifest, lambda tmp_file: tmp_file.write_text(new_text, encoding="utf-8"))

    spec = load_manifest(manifest)[name]
    verify(spec)
    return spec


def remove_entry(manifest: Path, name: str) -> bool:
    """Take model ``name`` out of ``manifest`` (every other line stays as it was); False if it was not there."""
    manifest = Path(manifest)
    if not manifest.exists():
        return False
    yaml, doc, text = _load_manifest_doc(manifest)
    models = doc["models"]
    if name not in models:
        return False
    keys = list(models)
    lines = text.splitlines(keepends=True)
    start = models.lc.key(name)[0]
    i = keys.index(name)
    if i + 1 < len(keys):
        end = models.lc.key(keys[i + 1])[0]
    else:
        end, col = start + 1, models.lc.key(name)[1]
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > col):
            end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    new_text = "".join(lines[:start] + lines[end:])
    left = (YAML(typ="safe").load(new_text) or {}).get("models") or {}
    before = YAML(typ="safe").load(text)["models"]
    if left != {k: v for k, v in before.items() if k != name}:
        raise ModelError(f"{manifest}: removing {name!r} would change other entries; edit the file by hand")
    _atomic_write(manifest, lambda tmp_file: tmp_file.write_text(new_text, encoding="utf-8"))
    return True


def write_footer(manifest: Path, mark: str, footer: str) -> None:
    """Replace the comment block that starts with the line ``mark`` (to the end of ``manifest``) by
    ``footer``, or append it: e.g. the licence notice that covers a package's model files."""
    manifest = Path(manifest)
    text = manifest.read_text(encoding="utf-8")
    if any(line.strip() and not line.lstrip().startswith("#") for line in footer.splitlines()):
        raise ModelError(f"{manifest}: a footer must be comment lines only")
    body, sep, _old = text.partition("\n" + mark)
    new_text = (body if sep else text).rstrip("\n") + "\n" + footer.rstrip("\n") + "\n"
    if YAML(typ="safe").load(new_text) != YAML(typ="safe").load(text):
        raise ModelError(f"{manifest}: the footer would change the models; it must come after them")
    _atomic_write(manifest, lambda tmp_file: tmp_file.write_text(new_text, encoding="utf-8"))
