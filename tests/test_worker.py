"""One camera's worker loop without a camera: a scripted reader and a scripted analyser feed the real
watch, rules, store and snapshot writer (the RTSP end to end is tests/test_live_pipeline.py, slow)."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import cv2

from tests.test_clips import wait_until
from vision.config import parse_config
from vision.events import parse_iso
from vision.media.clips import ClipCutter
from vision.media.frames import Frame
from vision.perception.detections import Detection, FrameDetections
from vision.perception.pipeline import AnalyzerPool
from vision.runtime.worker import CameraWorker
from vision.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / ".cache" / "media" / "opencv" / "messi5.jpg"


def hall(folder: Path):
    text = f"""
models: {{manifest: {ROOT / 'models' / 'models.yaml'}}}
storage: {{database: {folder / 'hall.db'}, media_dir: {folder / 'media'}}}
schedule:
  hours: {{mon-sun: ["00:00-24:00"]}}
defaults:
  rules:
    unattended: {{dwell_s: 2, grace_s: 1, cooldown_s: 5, update_every_s: 60}}
    late_opening: {{enabled: false}}
cameras:
  - id: cam
    url: rtsp://127.0.0.1:9/never-opened
    analysis_fps: 2
    clip: {{pre_s: 1, post_s: 1}}
    windows:
      - id: w1
        staff_zone: [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
        counter:    [[0.5, 0.0], [1.0, 0.0], [1.0, 0.2], [0.5, 0.2]]
"""
    return parse_config(text, str(folder / "cameras.yaml"), base_dir=folder)


class ScriptedReader:
    """What the worker loop uses of a CameraReader (start, stop, get_frame, connected), over a list of frames."""

    def __init__(self, frames: list[Frame]):
        self.frames: queue.Queue[Frame] = queue.Queue()
        for f in frames:
            self.frames.put(f)
        self.connected = True

    def start(self):
        return self

    def stop(self, timeout_s: float | None = None) -> None:
        pass

    def get_frame(self, timeout: float | None = None) -> Frame | None:
        try:
            return self.frames.get(timeout=min(timeout or 0.05, 0.05))
        except queue.Empty:
            return None


class ScriptedAnalyser:
    """A person in the staff zone on every picture but ``empty`` (the window after the staff left)."""

    def __init__(self, empty):
        self.empty, self.calls = empty, 0

    def analyze(self, image, **_options) -> FrameDetections:
        self.calls += 1
        h, w = image.shape[:2]
        persons = [Detection("person", 0.9, (0.1 * w, 0.2 * h, 0.4 * w, 0.9 * h))] if image is not self.empty else []
        return FrameDetections(width=w, height=h, persons=persons, poses=[None] * len(persons),
                               faces=[None] * len(persons), head_scores=[None] * len(persons),
                               confirmed=[None] * len(persons))


def test_staff_leaving_gives_an_unattended_event_with_a_snapshot_and_an_api_pause_ends_it(tmp_path):
    config = hall(tmp_path)
    image = cv2.imread(str(PHOTO))
    t0 = time.time() - 30
    empty = image.copy()
    empty[:, : image.shape[1] // 2] = 40                                             # the staff zone, vacated
    frames = [Frame("cam", t0 + i * 0.5, i, image if i < 8 else empty, i % 4 == 0)   # 12 s at 2 fps: staffed
              for i in range(24)]                                                     # for 4 s, then empty for 8 s
    store = Store(config.path(config.storage.database))
    analyser = ScriptedAnalyser(empty)
    worker = CameraWorker(config, config.camera("cam"), AnalyzerPool([analyser]), store, ClipCutter())
    worker.reader = ScriptedReader(frames)
    worker.start()
    try:
        assert wait_until(lambda: worker.steps == len(frames), 10), worker.last_error
        assert wait_until(lambda: store.list_events()[0], 5)
        # then the dashboard pauses the window: the worker's next poll of the store applies it
        store.add_pause("w1", "api", "counter closed for a meeting", time.time(), time.time() + 600)
        assert wait_until(lambda: any(e["type"] == "window_paused" for e in store.list_events()[0]), 5)
    finally:
        worker.stop()
    events = {e["type"]: e for e in store.list_events()[0]}
    assert set(events) == {"unattended", "window_paused"}, events
    unattended = events["unattended"]
    assert abs(parse_iso(unattended["started_at"]) - (t0 + 8 * 0.5)) < 0.6      # the first empty frame, not the wall clock
    assert (config.path(config.storage.media_dir) / unattended["snapshot"]).is_file()
    assert events["window_paused"]["details"]["source"] == "api"
    # the models looked on the first frame, when the staff left (presence: the picture changed) and 5 s
    # after the first look (the staff stages are due and the staff zone changed since), never on the
    # unchanged frames between (vision.runtime.schedule: nothing new on a still window before its keep-alive)
    assert analyser.calls == 3
    assert unattended["phase"] == "ended" and unattended["details"]["end_reason"] == "paused"   # a pause excuses absence
