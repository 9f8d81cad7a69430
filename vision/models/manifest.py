"""The model manifest (models/models.yaml): what each bundled or added model file is.

Models are data. The manifest names each model's file, checksum, family (the
adapter that runs it: nanodet, movenet, yolo), task, input spec and labels.
Loading checks the sha256, so a missing or altered file fails with a message
that names it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from vision.errors import ModelError

# detectors and pose; face, landmarks and eyes (mediapipe-style models); the crop backbone and the
# learned heads on its features; person segmentation (the presence cue)
FAMILIES = ("nanodet", "movenet", "yolo", "blazeface", "facemesh", "iris", "backbone", "head", "classifier", "selfie")
TASKS = ("detect", "pose", "face", "landmarks", "eyes", "features", "classify", "segment")
def _bundled_manifest() -> Path:
    """models/models.yaml of a source checkout, else the copy installed with the package
    (``hallmonitor_models``, package data of a plain ``pip install``)."""
    source = Path(__file__).resolve().parents[2] / "models" / "models.yaml"
    if source.is_file():
        return source
    from importlib import resources
    return Path(str(resources.files("hallmonitor_models") / "models.yaml"))


DEFAULT_MANIFEST = _bundled_manifest()


@dataclass(frozen=True)
class InputSpec:
    name: str
    width: int
    height: int
    layout: str = "NCHW"         # NCHW | NHWC
    dtype: str = "float32"       # float32 | int32 | uint8
    color: str = "RGB"           # RGB | BGR
    resize: str = "stretch"      # stretch | letterbox | pad_square
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: Path
    sha256: str | None
    family: str
    task: str
    input: InputSpec
    labels: tuple[str, ...]
    decode: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    behaviour: str | None = None     # heads: the behaviour they score (the key in head_scores)
    backbone: str | None = None      # heads: the backbone model whose features they read


# a head reads a backbone's feature vector, not an image
FEATURES_INPUT = InputSpec(name="features", width=0, height=0, layout="NC")

_verified: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(spec: ModelSpec) -> None:
    """Fail with a clear message if the model file is missing or not the one in the manifest."""
    path = spec.file
    if not path.is_file():
        raise ModelError(
            f"model {spec.name!r}: file {path} is missing. Restore it from the repository "
            f"(git checkout -- {path.name}) or re-create it with models/convert.py, "
            f"or register another model with `hallmonitor models add`.")
    if not spec.sha256:
        return
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _verified.get(key) or file_sha256(path)
    if digest != spec.sha256:
        raise ModelError(
            f"model {spec.name!r}: file {path} has sha256 {digest[:16]}..., but the manifest "
            f"says {spec.sha256[:16]}... The file was altered or replaced. Restore the original, or, "
            f"if the new file is intended, register it with `hallmonitor models add {path}`.")
    _verified[key] = digest


def _input_spec(name: str, raw: dict) -> InputSpec:
    try:
        w, h = raw["size"]
        return InputSpec(
            name=str(raw["name"]), width=int(w), height=int(h),
            layout=raw.get("layout", "NCHW"), dtype=raw.get("dtype", "float32"),
            color=raw.get("color", "RGB"), resize=raw.get("resize", "stretch"),
            # one value per colour channel (the manifest's three numbers, as written)
            mean=cast(tuple[float, float, float], tuple(float(v) for v in raw.get("mean", (0, 0, 0)))),
            std=cast(tuple[float, float, float], tuple(float(v) for v in raw.get("std", (1, 1, 1)))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"models.yaml: model {name!r}: bad `input` spec ({exc}); it needs name, size [w, h], "
                         f"layout, dtype, color, resize, mean, std") from None


def load_manifest(path: Path | str = DEFAULT_MANIFEST) -> dict[str, ModelSpec]:
    path = Path(path)
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model manifest not found") from None
    except YAMLError as exc:
        raise ModelError(f"{path}: not valid YAML: {exc}") from None
    models = (data or {}).get("models")
    if not isinstance(models, dict) or not models:
        raise ModelError(f"{path}: needs a `models:` mapping of name -> model")
    out: dict[str, ModelSpec] = {}
    for name, raw in models.items():
        if not isinstance(raw, dict):
            raise ModelError(f"{path}: model {name!r} must be a mapping")
        family, task = raw.get("family"), raw.get("task")
        if family not in FAMILIES:
            raise ModelError(f"{path}: model {name!r}: family {family!r} is not one of {', '.join(FAMILIES)}")
        if task not in TASKS:
            raise ModelError(f"{path}: model {name!r}: task {task!r} is not one of {', '.join(TASKS)}")
        if "file" not in raw:
            raise ModelError(f"{path}: model {name!r}: `file` is missing")
        file = Path(raw["file"])
        out[str(name)] = ModelSpec(
            name=str(name), file=file if file.is_absolute() else path.parent / file,
            sha256=raw.get("sha256"), family=family, task=task,
            input=(_input_spec(name, raw["input"]) if raw.get("input") or family not in ("head", "classifier")
                   else FEATURES_INPUT),
            labels=tuple(str(x) for x in raw.get("labels") or ()),
            decode=dict(raw.get("decode") or {}), source=dict(raw.get("source") or {}),
            license=raw.get("license"),
            behaviour=raw.get("behaviour"), backbone=raw.get("backbone"),
        )
        if family == "classifier" and not out[str(name)].backbone:
            raise ModelError(f"{path}: model {name!r}: a classifier on crop features needs `backbone` (the model "
                             f"whose features it reads)")
        if family == "head" and not (out[str(name)].behaviour and out[str(name)].backbone):
            raise ModelError(f"{path}: model {name!r}: a head needs `behaviour` (what it scores) and "
                             f"`backbone` (the model whose features it reads)")
    return out


def get_model(name: str, manifest: Path | str = DEFAULT_MANIFEST, task: str | None = None) -> ModelSpec:
    models = load_manifest(manifest)
    if name not in models:
        raise ModelError(f"no model {name!r} in {manifest} (models: {', '.join(models)}). "
                         f"Add one with `hallmonitor models add PATH`.")
    spec = models[name]
    if task and spec.task != task:
        raise ModelError(f"model {name!r} is a {spec.task} model; a {task} model is needed here")
    verify(spec)
    return spec
