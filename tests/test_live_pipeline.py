"""The live pipeline end to end: a real RTSP server, the real models, rules, store, snapshots and clips."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from tests.rtsp_fixtures import camera_stream, own_rtsp_server, rtsp_server  # noqa: F401
from tests.test_clips import assert_playable_clip, wait_until
from tests.vtest_cameras import vtest_cameras
from vision.config import parse_config
from vision.media.footage import RtspServerProcess, free_port
from vision.runtime.supervisor import Supervisor
from vision.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "event.schema.json").read_text())

pytestmark = pytest.mark.slow


def hall_yaml(folder: Path, cameras: dict[str, str], stall_s: float = 4.0) -> str:
    """A hall whose window `<cam>-w` watches a stretch of path people often leave empty (vtest.avi)."""
    cams = vtest_cameras(cameras, stall_s)
    return f"""
models: {{manifest: {ROOT / 'models' / 'models.yaml'}}}
storage: {{database: {folder / 'hall.db'}, media_dir: {folder / 'media'}}}
dashboard: {{port: 0, secret_key_file: {folder / 'secret_key'}}}
schedule:
  hours: {{mon-sun: ["00:00-24:00"]}}
defaults:
  rules:
    unattended: {{dwell_s: 3, grace_s: 2.5, cooldown_s: 5, update_every_s: 2}}
    extra_person: {{dwell_s: 3, grace_s: 2.5, cooldown_s: 5, update_every_s: 2}}
    late_opening: {{enabled: false}}
cameras:{cams}"""


def events(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY started_at")]


def started_count(db: Path, event_id: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM event_log WHERE event_id = ? AND phase = 'started'",
                            (event_id,)).fetchone()[0]


def test_events_with_snapshot_and_clip_from_a_live_camera(rtsp_server, tmp_path, analyzer):
    config = parse_config(hall_yaml(tmp_path, {"cam1": rtsp_server.urls["cam1"]}))
    sup = Supervisor(config, analyzer=analyzer).start()
    try:
        named_missing: list[str] = []

        def clip_ready():
            events = sup.store.list_events(types=["unattended", "extra_person"])[0]
            # an event names its clip only once the file is there (checked at every look)
            named_missing.extend(e["clip"] for e in events
                                 if e["clip"] and not (tmp_path / "media" / e["clip"]).is_file())
            done = [e for e in events
                    if e["clip"] and (tmp_path / "media" / e["clip"]).is_file()
                    and (tmp_path / "media" / e["clip"]).with_suffix("").with_suffix(".boxes.json").is_file()]
            return done
        assert wait_until(clip_ready, 90), sup.status()
        status = sup.status()[0]
        event = clip_ready()[0]
        timeline = [t["phase"] for t in sup.store.timeline(event["id"])]
    finally:
        sup.stop()
    assert status["connected"] and status["frames_analysed"] >= 3
    assert named_missing == []
    assert timeline[0] == "started"
    assert event["camera_id"] == "cam1" and event["window_id"] in ("cam1-w", "cam1-busy")
    jsonschema.validate({k: v for k, v in event.items() if k in SCHEMA["properties"]}, SCHEMA)
    media = tmp_path / "media"
    snapshot = media / event["snapshot"]
    assert snapshot.read_bytes()[:2] == b"\xff\xd8"
    assert_playable_clip(media / event["clip"], 2.0, 2 + 3 + 2.5)   # pre + post, give or take a GOP
    overlay = json.loads((media / event["clip"]).with_suffix("").with_suffix(".boxes.json").read_text())
    assert overlay["width"] == 1280 and overlay["frames"]
    assert any(f["boxes"] for f in overlay["frames"])
    assert all(0 <= f["t"] <= 8 for f in overlay["frames"])


def test_camera_killed_then_restarted_gives_offline_and_online(own_rtsp_server, tmp_path, analyzer):
    config = parse_config(hall_yaml(tmp_path, {"cam": own_rtsp_server.urls["cam"]}, stall_s=3))
    sup = Supervisor(config, analyzer=analyzer).start()
    try:
        assert wait_until(lambda: sup.status()[0]["frames_analysed"] >= 2, 30), sup.status()
        own_rtsp_server.kill()
        offline = lambda: sup.store.list_events(types=["camera_offline"])[0]  # noqa: E731
        assert wait_until(offline, 20)
        assert offline()[0]["phase"] == "started" and offline()[0]["severity"] == "high"
        time.sleep(2)
        own_rtsp_server.start()
        assert wait_until(lambda: offline()[0]["phase"] == "ended", 40), offline()
        before = sup.status()[0]["frames_analysed"]
        assert wait_until(lambda: sup.status()[0]["frames_analysed"] >= before + 2, 30), sup.status()
        assert sup.status()[0]["connected"]
        timeline = [t["phase"] for t in sup.store.timeline(offline()[0]["id"])]
        assert timeline == ["started", "ended"]
        outbox = [m["type"] for m in sup.store.outbox_after(0, 500) if m["event_id"] == offline()[0]["id"]]
        assert outbox == ["camera.offline", "camera.online"]
    finally:
        sup.stop()


def test_unreachable_camera_does_not_hold_up_the_others(rtsp_server, tmp_path, analyzer):
    dead = f"rtsp://127.0.0.1:{free_port()}/nothing"
    config = parse_config(hall_yaml(tmp_path, {"good": rtsp_server.urls["cam2"], "dead": dead}))
    sup = Supervisor(config, analyzer=analyzer).start()
    try:
        offline = lambda: sup.store.list_events(types=["camera_offline"], camera_id="dead")[0]  # noqa: E731
        assert wait_until(offline, 20)
        assert "nothing" in offline()[0]["details"]["url"]
        good = lambda: next(s for s in sup.status() if s["camera_id"] == "good")  # noqa: E731
        assert wait_until(lambda: good()["frames_analysed"] >= 4, 40), sup.status()
        assert wait_until(lambda: sup.store.list_events(camera_id="good")[0], 40)
        assert not next(s for s in sup.status() if s["camera_id"] == "dead")["connected"]
    finally:
        sup.stop()


def test_a_camera_whose_config_breaks_at_run_time_stops_alone_with_one_message(rtsp_server, tmp_path, analyzer,
                                                                               caplog):
    """A pause-sign photo readable at load but broken afterwards (replaced on disk): the camera that
    uses it stops with one clear message and is not restarted; the other camera keeps analysing."""
    import cv2
    import numpy as np
    sign = tmp_path / "sign.png"
    cv2.imwrite(str(sign), np.full((40, 80, 3), 200, np.uint8))
    text = hall_yaml(tmp_path, {"good": rtsp_server.urls["cam1"], "bad": rtsp_server.urls["cam2"]})
    text = text.replace("      - id: bad-w\n", f"      - id: bad-w\n        pause_sign: {{template: {sign}}}\n")
    config = parse_config(text)
    sign.write_text("no longer a picture")                       # broken after the config was checked
    sup = Supervisor(config, analyzer=analyzer).start()
    try:
        by = lambda cid: next(s for s in sup.status() if s["camera_id"] == cid)  # noqa: E731
        assert wait_until(lambda: by("bad")["failed"], 40), sup.status()
        good_before = by("good")["frames_analysed"]
        assert wait_until(lambda: by("good")["frames_analysed"] >= good_before + 3, 40), sup.status()
        time.sleep(2)
        assert sup.restarts.get("bad", 0) == 0 and not by("bad")["worker_alive"]
    finally:
        sup.stop()
    stopped = [r for r in caplog.records if "camera bad: stopped" in r.getMessage()]
    assert len(stopped) == 1 and "cannot be read" in stopped[0].getMessage()
    assert "fix cameras.yaml" in stopped[0].getMessage()


def test_run_with_a_bad_config_says_where(tmp_path):
    bad = tmp_path / "cameras.yaml"
    bad.write_text("cameras:\n  - id: a\n    url: rtsp://x\n    analysis_fps: fast\n    windows: []\n")
    p = subprocess.run([sys.executable, "-m", "hallmonitor.cli", "run", "--config", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert f"{bad}:4: cameras[0].analysis_fps" in p.stderr and f"{bad}:5: cameras[0].windows" in p.stderr


def test_run_on_a_port_in_use_says_so_before_any_camera_starts(tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = tmp_path / "cameras.yaml"
        cfg.write_text(hall_yaml(tmp_path, {"cam": f"rtsp://127.0.0.1:{free_port()}/nothing"})
                       .replace("dashboard: {port: 0,", f"dashboard: {{host: 127.0.0.1, port: {port},"))
        p = subprocess.run([sys.executable, "-m", "hallmonitor.cli", "run", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in p.stderr and "--port" in p.stderr
    with Store(tmp_path / "hall.db") as store:                  # no camera started: nothing recorded
        assert store.list_events()[0] == []


def test_kill_9_mid_event_loses_nothing_and_duplicates_nothing(own_rtsp_server, tmp_path):
    cfg = tmp_path / "cameras.yaml"
    cfg.write_text(hall_yaml(tmp_path, {"cam": own_rtsp_server.urls["cam"]}).replace(
        "update_every_s: 2", "update_every_s: 60"))
    db = tmp_path / "hall.db"
    cmd = [sys.executable, "-m", "hallmonitor.cli", "run", "--config", str(cfg), "--log-json"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        def open_event():
            if not db.exists():
                return None
            try:
                rows = [e for e in events(db) if e["phase"] != "ended" and e["type"] != "camera_offline"]
            except sqlite3.OperationalError:
                return None
            return rows[0] if rows else None
        assert wait_until(open_event, 90), first.stderr.read() if first.poll() is not None else "no event"
        reported = open_event()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    # the event reported as started is on disk, with its outbox row
    assert any(e["id"] == reported["id"] for e in events(db))
    second = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        # the restarted run continues (or ends) the same event instead of starting it again
        assert wait_until(lambda: next(e for e in events(db) if e["id"] == reported["id"])["phase"] == "ended", 90)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(30)
        except subprocess.TimeoutExpired:
            second.kill()
    assert started_count(db, reported["id"]) == 1
    rows = [e for e in events(db) if e["type"] == reported["type"] and e["window_id"] == reported["window_id"]]
    for a, b in zip(rows, rows[1:]):
        assert a["ended_at"] is not None and a["ended_at"] <= b["started_at"], f"overlapping events {a['id']} {b['id']}"
    with sqlite3.connect(db) as conn:
        kinds = [r[0] for r in conn.execute("SELECT type FROM outbox WHERE event_id = ? ORDER BY seq",
                                            (reported["id"],))]
    assert kinds[0] == "event.started" and kinds[-1] == "event.ended" and kinds.count("event.started") == 1


def test_analyze_video_prints_events_in_the_store_schema(camera_stream, tmp_path):
    cfg = tmp_path / "cameras.yaml"
    cfg.write_text(hall_yaml(tmp_path, {"cam": "unused"}))
    p = subprocess.run([sys.executable, "-m", "hallmonitor.cli", "analyze", str(camera_stream), "--config", str(cfg),
                        "--camera", "cam", "--start", "2026-11-23T10:00:00+08:00"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert lines, p.stderr
    for ev in lines:
        jsonschema.validate(ev, SCHEMA)
    by_id: dict[str, list[str]] = {}
    for ev in lines:
        by_id.setdefault(ev["id"], []).append(ev["phase"])
    for phases in by_id.values():
        assert phases[0] == "started" and phases[-1] == "ended"
    assert {ev["type"] for ev in lines} <= {"unattended", "extra_person"}
    assert lines[0]["started_at"].startswith("2026-11-23T02:")          # the clock given by --start (UTC)


class _WorkerCrash(BaseException):
    """Not an Exception: escapes the worker's per-frame handler and ends its thread, as a real bug would."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the injected crash
def test_crashed_worker_is_restarted_and_keeps_analysing(rtsp_server, tmp_path, analyzer):
    config = parse_config(hall_yaml(tmp_path, {"cam1": rtsp_server.urls["cam1"]}))
    sup = Supervisor(config, analyzer=analyzer).start()
    try:
        first = sup.workers["cam1"]
        assert wait_until(lambda: first.steps >= 2, 40), sup.status()

        def crash(*args, **kwargs):
            raise _WorkerCrash("injected")
        first.watch.step = crash
        assert wait_until(lambda: sup.workers["cam1"] is not first, 40), sup.status()
        assert not first.alive and not first.reader.alive
        second = sup.workers["cam1"]
        assert wait_until(lambda: second.steps >= 2, 40), sup.status()
        assert sup.status()[0]["restarts"] == 1 and sup.status()[0]["worker_alive"]
    finally:
        sup.stop()
