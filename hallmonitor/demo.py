"""`hallmonitor demo`: the whole pipeline on real footage, for a newcomer with no cameras.

A real RTSP server (GStreamer, from Debian packages) serves real footage of people
(Debian opencv-doc's vtest.avi) as two cameras; the workers read them over RTSP
with the bundled models, and short dwell times make real events appear within a
minute: windows left unattended, extra people in a staff zone.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from vision.errors import InputError
from vision.models.manifest import DEFAULT_MANIFEST

ROOT = Path(__file__).resolve().parent.parent

DEMO_CONFIG = """\
# Written by `hallmonitor demo`: two cameras on a real RTSP server serving real footage.
# Dwell times are short so that events come within a minute; a hall uses the defaults.
hall:
  name: 演示大厅 (demo hall)
models:
  manifest: {manifest}
dashboard:
  host: 127.0.0.1
  port: {web_port}
  secret_key_file: {folder}/secret_key
storage:
  database: {folder}/hallmonitor.db
  media_dir: {folder}/media
  retention_days: 1
  max_media_gb: 2
schedule:
  timezone: Asia/Shanghai
  hours:
    mon-sun: ["00:00-24:00"]        # the demo hall never closes
defaults:
  rules:
    unattended: {{dwell_s: 6, grace_s: 2, cooldown_s: 20, update_every_s: 15}}
    extra_person: {{dwell_s: 5, grace_s: 2, cooldown_s: 20, update_every_s: 15}}
    phone_on_counter: {{dwell_s: 5, grace_s: 2, cooldown_s: 20}}
    phone_use: {{dwell_s: 5, grace_s: 2, cooldown_s: 20}}
    eating: {{dwell_s: 5, grace_s: 2, cooldown_s: 20}}
    sleeping: {{dwell_s: 10, grace_s: 3, cooldown_s: 20}}
    badge_absent: {{dwell_s: 10, grace_s: 3, cooldown_s: 20}}
    late_opening: {{enabled: false}}
cameras:
  - id: hall-a
    name: 演示摄像头 A
    url: {url_a}
    analysis_fps: 1
    clip: {{pre_s: 5, post_s: 10}}
    windows:
      - id: a1
        name: 1号窗口
        staff: 1
        staff_zone: [[0.50, 0.15], [0.70, 0.15], [0.70, 0.35], [0.50, 0.35]]
        counter:    [[0.50, 0.35], [0.70, 0.35], [0.70, 0.42], [0.50, 0.42]]
        citizen_zone: [[0.50, 0.42], [0.70, 0.42], [0.70, 0.60], [0.50, 0.60]]
      - id: a2
        name: 2号窗口
        staff: 1
        staff_zone: [[0.45, 0.50], [0.75, 0.50], [0.75, 0.70], [0.45, 0.70]]
        counter:    [[0.45, 0.70], [0.75, 0.70], [0.75, 0.78], [0.45, 0.78]]
  - id: hall-b
    name: 演示摄像头 B
    url: {url_b}
    analysis_fps: 1
    clip: {{pre_s: 5, post_s: 10}}
    windows:
      - id: b1
        name: 3号窗口
        staff: 1
        staff_zone: [[0.20, 0.24], [0.46, 0.24], [0.46, 0.56], [0.20, 0.56]]
        counter:    [[0.20, 0.56], [0.46, 0.56], [0.46, 0.64], [0.20, 0.64]]
"""


def footage_path() -> Path:
    default = ROOT / ".cache" / "media"
    if not default.is_dir():                     # installed with pip: the media fetched where it runs
        default = Path.cwd() / ".cache" / "media"
    media = Path(os.environ.get("HALLMONITOR_MEDIA", default))
    src = media / "opencv" / "vtest.avi"
    if not src.is_file():
        raise InputError(f"demo footage {src} is missing: run `bash scripts/fetch-media.sh` "
                         f"(it takes vtest.avi from Debian's opencv-doc package)")
    return src


def prepare(folder: Path, port: int = 0, web_port: int = 8080):
    """Transcode the footage, start the RTSP server, write the demo config; returns (server, config path)."""
    from vision.media.footage import RtspServerProcess, prepare_stream_file

    folder.mkdir(parents=True, exist_ok=True)
    click.echo("demo: preparing the camera streams from real footage (vtest.avi)...", err=True)
    stream = prepare_stream_file(footage_path(), folder / "streams" / "vtest-720p15-gop1.h264",
                                 width=1280, height=720, fps=15, gop_s=1.0)
    server = RtspServerProcess({"hall-a": stream, "hall-b": stream}, port=port).start()
    config_path = folder / "cameras.yaml"
    config_path.write_text(DEMO_CONFIG.format(
        manifest=DEFAULT_MANIFEST, folder=folder, web_port=web_port,
        url_a=server.urls["hall-a"], url_b=server.urls["hall-b"]), encoding="utf-8")
    return server, config_path


def ensure_demo_admin(config) -> str | None:
    """The demo's login: an admin `demo` with a fresh password, made once; returns the password if made now."""
    import secrets

    from dashboard.accounts import Accounts
    from vision.store.database import Store
    with Store(config.store_target()) as store:
        accounts = Accounts(store)
        if accounts.count_users():
            return None
        password = secrets.token_urlsafe(9)
        accounts.add_user("demo", password, "admin")
    (config.path(config.storage.database).parent / "demo-login.txt").write_text(f"demo {password}\n")
    return password
