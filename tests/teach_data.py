"""A hall's own labels on real footage, for the training-loop tests.

vtest.avi (OpenCV's sample, 795 frames, 768x576) watched as one camera with one window whose staff
zone is the lawn at the bottom left. Looked at frame by frame (as a manager would), the zone is
empty until frame 520, two people cross it from about frame 535 to 680, and it is empty again from
690. These are the manager's window-state labels; each frame stands for its own event.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 768, 576
ZONE_PX = (150, 330, 460, 576)                 # x1, y1, x2, y2 of the window's staff zone
OCCUPIED = tuple(range(540, 680, 5))           # 28 frames with somebody in the zone
VACANT = tuple(range(0, 520, 20)) + tuple(range(700, 780, 10))   # 34 frames with nobody there

ZONE = [[ZONE_PX[0] / WIDTH, ZONE_PX[1] / HEIGHT], [ZONE_PX[2] / WIDTH, ZONE_PX[1] / HEIGHT],
        [ZONE_PX[2] / WIDTH, 1.0], [ZONE_PX[0] / WIDTH, 1.0]]

HALL_YAML = f"""\
hall: {{name: Lawn hall, language: en}}
storage: {{database: var/hall.db, media_dir: var/media, heads_dir: var/heads}}
dashboard: {{secret_key_file: var/secret_key}}
schedule: {{timezone: Asia/Shanghai}}
cameras:
  - id: cam-v
    name: Lawn
    url: rtsp://127.0.0.1:9/none
    windows:
      - id: w01
        name: Window 1
        staff_zone: {[[round(x, 4), round(y, 4)] for x, y in ZONE]}
        counter: [[0.2, 0.9], [0.6, 0.9], [0.6, 1.0], [0.2, 1.0]]
"""


def zone_polygon() -> list[list[float]]:
    x1, y1, x2, y2 = ZONE_PX
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def vtest_frames(media: Path, indices) -> dict[int, np.ndarray]:
    """The frames of vtest.avi at ``indices`` (read in one pass, no seeking)."""
    wanted = set(indices)
    out: dict[int, np.ndarray] = {}
    cap = cv2.VideoCapture(str(media / "opencv" / "vtest.avi"))
    i = 0
    try:
        while len(out) < len(wanted):
            ok, image = cap.read()
            if not ok:
                break
            if i in wanted:
                out[i] = image
            i += 1
    finally:
        cap.release()
    assert len(out) == len(wanted), f"vtest.avi gave {len(out)} of {len(wanted)} frames"
    return out


class TeachHall:
    """A hall on vtest.avi: config, store, dashboard app with an admin, a manager and a viewer."""

    def __init__(self, folder: Path):
        import time as _time

        from dashboard import create_app
        from vision.config import load_config
        from vision.store.database import Store

        from .test_dashboard import CHEAP_HASH

        self.folder = folder
        self.config_path = folder / "cameras.yaml"
        self.config_path.write_text(HALL_YAML, encoding="utf-8")
        self.config = load_config(self.config_path)
        self.store = Store(self.config.path(self.config.storage.database), synchronous="NORMAL")
        self.media = self.config.path(self.config.storage.media_dir)
        self.app = create_app(self.config, store=self.store, config_path=self.config_path, testing=True,
                              secret_key=b"t" * 32)
        with self.store.write() as conn:
            for role in ("admin", "manager", "viewer"):
                conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                             (role, CHEAP_HASH, role, _time.time()))

    def client(self, role: str | None = None):
        from .test_dashboard import login
        client = self.app.test_client()
        client.csrf = login(client, role) if role else None
        return client

    def real_event(self, analyzer, image: np.ndarray, ts: float, type_: str = "phone_use"):
        """An event recorded by the worker's own code (CameraWorker._emit): the models run on the frame,
        the snapshot is drawn, the clean frame and its persons are kept beside it, the row is stored."""
        from vision.events import Event, new_event_id
        from vision.media.clips import ClipCutter
        from vision.perception.pipeline import AnalyzerPool
        from vision.runtime.worker import CameraWorker

        cam = self.config.cameras[0]
        worker = CameraWorker(self.config, cam, AnalyzerPool([analyzer]), self.store, ClipCutter())
        step = worker.watch.step(image, ts)
        ev = Event(id=new_event_id(ts), type=type_, camera_id=cam.id, window_id=cam.windows[0].id, phase="started",
                   severity="medium", started_at=ts, updated_at=ts)
        worker._emit([ev], image, step)
        return self.store.get_event(ev.id), step

    def bulk_labels(self, frames: dict[int, np.ndarray], t0: float) -> None:
        """The manager's window-state labels on many other frames (each its own event)."""
        from vision.media.event_frame import encode_jpeg
        from vision.training.teaching import Teaching

        teach = Teaching(self.store)
        for i, image in sorted(frames.items()):
            f = teach.add_frame(encode_jpeg(image), WIDTH, HEIGHT, "cam-v", t0 + i / 10, event_id=f"evt_v{i:03d}")
            teach.label(f, "window", zone_polygon(), "window_state", "occupied" if i in OCCUPIED else "vacant",
                        "manager", window_id="w01")
