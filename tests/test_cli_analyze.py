"""`hallmonitor analyze` as a user runs it: real photos in, JSON and pictures out, clear errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hallmonitor.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_analyze_json_and_annotated_picture(media, tmp_path):
    out = tmp_path / "bus.png"
    p = run("analyze", str(media / "ultralytics" / "bus.jpg"), "--counter", "0,700,810,1080",
            "--json", "--annotate", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert set(data) >= {"image", "persons", "objects", "windows", "timing_ms"}
    person = data["persons"][0]
    assert set(person) >= {"box", "score", "keypoints", "staff", "badge", "phone_in_hand", "phone_at_ear",
                           "eating", "head_down"}
    assert len(person["keypoints"]) == 17 and len(person["keypoints"][0]) == 3
    window = data["windows"][0]
    assert set(window) >= {"id", "staff_present", "phone_on_counter", "phone_in_use", "badge_missing",
                           "eating", "head_down"}
    assert window["staff_present"] is True
    picture = cv2.imread(str(out))
    original = cv2.imread(str(media / "ultralytics" / "bus.jpg"))
    assert picture.shape == original.shape
    assert cv2.absdiff(picture, original).mean() > 2       # something was drawn


def test_analyze_folder_prints_one_line_per_image(media, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(media / "ultralytics" / "zidane.jpg", folder)
    shutil.copy(media / "opencv" / "messi5.jpg", folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    p = run("analyze", str(folder), "--annotate", str(tmp_path / "out"))
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [Path(x["image"]["path"]).name for x in lines] == ["broken.jpg", "messi5.jpg", "zidane.jpg"]
    assert "error" in lines[0] and "persons" in lines[2]
    assert p.returncode == 1 and "1 of 3 images could not be read" in p.stderr
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["messi5.annotated.png", "zidane.annotated.png"]


def test_analyze_with_config_and_camera(media, tmp_path):
    cfg = tmp_path / "hall.yaml"
    cfg.write_text(f"""
models: {{manifest: {ROOT / 'models' / 'models.yaml'}}}
cameras:
  - id: gate
    url: rtsp://127.0.0.1/none
    windows:
      - id: left
        staff_zone: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
        counter: [[0, 0.9], [0.5, 0.9], [0.5, 1]]
      - id: right
        staff_zone: [[0.55, 0], [1, 0], [1, 1], [0.55, 1]]
        counter: [[0.55, 0.9], [1, 0.9], [1, 1]]
""")
    p = run("analyze", str(media / "ultralytics" / "zidane.jpg"), "--config", str(cfg), "--camera", "gate", "--json")
    assert p.returncode == 0, p.stderr
    windows = {w["id"]: w for w in json.loads(p.stdout)["windows"]}
    assert windows["right"]["staff_present"] is True      # Ancelotti stands in the right half
    p = run("analyze", str(media / "ultralytics" / "zidane.jpg"), "--config", str(cfg), "--camera", "nope")
    assert p.returncode == 2 and "no camera 'nope'" in p.stderr and "Traceback" not in p.stderr


def _file(name: str, data: bytes | None):
    def make(folder: Path) -> Path:
        if data is not None:
            (folder / name).write_bytes(data)
        return folder / name
    return make


@pytest.mark.parametrize("make, words", [
    (_file("missing.jpg", None), "no such file"),
    (_file("empty.jpg", b""), "empty"),
    (_file("notes.txt", b"hello"), "not an image"),
    (_file("garbage.png", os.urandom(3000)), "not an image"),
    (lambda d: d, "no images"),
])
def test_bad_input_gives_a_clear_error(tmp_path, make, words):
    p = run("analyze", str(make(tmp_path)))
    assert p.returncode != 0
    assert words in p.stderr and "Traceback" not in p.stderr


def test_truncated_jpeg(media, tmp_path):
    data = (media / "ultralytics" / "bus.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    p = run("analyze", str(cut))
    assert p.returncode != 0 and "truncated" in p.stderr and "Traceback" not in p.stderr


def test_unreadable_file(media, tmp_path):
    if os.geteuid() == 0:
        # root reads any file: use a path whose parent is a file instead
        target = tmp_path / "file.jpg" / "x.jpg"
        (tmp_path / "file.jpg").write_bytes(b"x")
    else:
        target = tmp_path / "secret.jpg"
        shutil.copy(media / "ultralytics" / "bus.jpg", target)
        target.chmod(0)
    p = run("analyze", str(target))
    assert p.returncode != 0 and "Traceback" not in p.stderr and str(target) in p.stderr


def test_bad_counter_and_bad_config(tmp_path, media):
    p = run("analyze", str(media / "ultralytics" / "bus.jpg"), "--counter", "1,2,3")
    assert p.returncode == 2 and "x1,y1,x2,y2" in p.stderr
    bad = tmp_path / "c.yaml"
    bad.write_text("cameras:\n  - id: a\n    url: x\n    windows: []\n")
    p = run("analyze", str(media / "ultralytics" / "bus.jpg"), "--config", str(bad))
    assert p.returncode == 2 and f"{bad}:4: cameras[0].windows" in p.stderr


def test_altered_model_file_is_refused(tmp_path, media):
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models, ignore=shutil.ignore_patterns("*.py", "*.txt"))
    with open(models / "nanodet.onnx", "r+b") as f:
        f.seek(5000)
        f.write(b"\x00\x01\x02\x03")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"models: {{manifest: {models / 'models.yaml'}}}\ncameras:\n  - id: a\n    url: x\n    windows:\n"
                   "      - id: w\n        staff_zone: [[0,0],[1,0],[1,1]]\n        counter: [[0,0],[1,0],[1,1]]\n")
    p = run("analyze", str(media / "ultralytics" / "bus.jpg"), "--config", str(cfg))
    assert p.returncode == 3 and "nanodet.onnx" in p.stderr and "altered" in p.stderr
    (models / "nanodet.onnx").unlink()
    p = run("analyze", str(media / "ultralytics" / "bus.jpg"), "--config", str(cfg))
    assert p.returncode == 3 and "nanodet.onnx is missing" in p.stderr
