"""The drill's machinery, shared by tests/test_node_drill.py and bench/takeover_bench.py: a small real
camera stream, a real webhook receiver, a hall config, node processes (`python -m hallmonitor run
--node NAME`) and what the database and each node's own API say about who watches what.

The database comes from tests/node_fixtures.py (a SQLite file now; the PostgreSQL URL goes there).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tests.node_fixtures import database_setting
from tests.rtsp_fixtures import STREAMS, vtest_path
from tests.vtest_cameras import vtest_cameras
from vision.media.footage import prepare_stream_file
from vision.store.database import Store
from vision.store.leases import CAMERA, DUTY, snapshot
from vision.webhooks.signing import new_secret

ROOT = Path(__file__).resolve().parent.parent


def small_stream() -> Path:
    """vtest.avi as a small, cheap camera stream: 480x270, 10 fps, a keyframe every second (cached)."""
    return prepare_stream_file(vtest_path(), STREAMS / "vtest_480x270_10fps_g1_24s.h264", width=480, height=270,
                               fps=10, gop_s=1.0, min_s=24, max_s=24)


class Receiver:
    """A real webhook receiver: keeps every request's webhook-id and body."""

    def __init__(self):
        self.got: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.got.append((self.headers["webhook-id"], json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        with self.lock:
            return [i for i, _ in self.got]

    def messages(self) -> list[tuple[str, dict]]:
        with self.lock:
            return list(self.got)


def hall_yaml(folder: Path, urls: dict[str, str], hook: str, store: str | None = None) -> str:
    """The drill's cameras.yaml; ``store``: a ``store.url`` (a PostgreSQL database) instead of the SQLite file."""
    cams = vtest_cameras(urls, stall_s=4, pre_s=1, post_s=1)
    return f"""
models:
  manifest: {ROOT / 'models' / 'models.yaml'}
  sessions: 1
  threads: 1
  pose: null
  heads: []
  face: null
  crop_pass: false
  counter_zoom_every_s: 0
storage: {{database: {database_setting(folder)}, media_dir: {folder / 'media'}}}
{f'store: {{url: "{store}"}}' if store else ''}
dashboard: {{port: 0, secret_key_file: {folder / 'secret_key'}}}
schedule:
  hours: {{mon-sun: ["00:00-24:00"]}}
defaults:
  rules:
    unattended: {{dwell_s: 2, grace_s: 2, cooldown_s: 3, update_every_s: 3}}
    extra_person: {{dwell_s: 2, grace_s: 2, cooldown_s: 3, update_every_s: 3}}
    late_opening: {{enabled: false}}
webhooks:
  - id: drill
    url: {hook}
    secrets: [{new_secret()}]
    allow_private: true
cameras:{cams}"""


class NodeProcess:
    """One `hallmonitor run --node NAME`, its stderr in ``folder/node-NAME.log`` (appended on a restart)."""

    def __init__(self, name: str, config: Path, folder: Path):
        self.name = name
        self.log = folder / f"node-{name}.log"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hallmonitor", "run", "--config", str(config), "--node", name],
            stdout=subprocess.DEVNULL, stderr=self.log.open("a"), cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def url(self) -> str | None:
        found = re.findall(r"hallmonitor: dashboard (http://\S+)", self.log.read_text(errors="replace"))
        return found[-1] if found else None

    def cameras_here(self, token: str) -> set[str]:
        """The cameras whose worker runs in this process, as its own API says."""
        r = requests.get(f"{self.url()}/api/cameras", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        r.raise_for_status()
        return {c["id"] for c in r.json()["cameras"] if c["status"] is not None and c["status"]["worker_alive"]}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def wait_for(what: str, check, timeout: float, nodes=()) -> float:
    t0 = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - t0
        except (requests.RequestException, OSError):
            pass
        dead = [n.name for n in nodes if n.proc.poll() is not None]
        assert not dead, f"node {dead} exited: " + "".join(n.log.read_text()[-2000:] for n in nodes if n.name in dead)
        assert time.monotonic() - t0 < timeout, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.3)


def holders(store: Store, now: float) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(camera -> node, duty -> node, live nodes) from the lease rows at ``now``."""
    nodes, rows = snapshot(store)
    cams = {r.name[len(CAMERA):]: r.node for r in rows.values() if r.name.startswith(CAMERA) and r.held(now)}
    duties = {r.name[len(DUTY):]: r.node for r in rows.values() if r.name.startswith(DUTY) and r.held(now)}
    return cams, duties, {n.name for n in nodes if n.live(now)}


def watched_once(store: Store, nodes: list[NodeProcess], cameras, token: str, not_by: str | None = None) -> bool:
    """Every camera has a live lease on one of ``nodes`` (not ``not_by``), and its worker runs in that
    node's process and in no other (each node's own /api/cameras), and the webhook dispatcher runs on one."""
    cams, duties, live = holders(store, time.time())
    if sorted(cams) != sorted(cameras) or not_by in cams.values() or duties.get("webhooks") not in live:
        return False
    return all(n.cameras_here(token) == {c for c, h in cams.items() if h == n.name} for n in nodes)
