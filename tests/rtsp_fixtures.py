"""Session fixtures: real footage (OpenCV's vtest.avi) served as live RTSP cameras by GStreamer.

Import the fixtures into a test module with
``from tests.rtsp_fixtures import camera_stream, rtsp_server  # noqa: F401``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vision.media.footage import RtspServerProcess, prepare_stream_file

ROOT = Path(__file__).resolve().parent.parent
MEDIA = Path(os.environ.get("HALLMONITOR_MEDIA", ROOT / ".cache" / "media"))
STREAMS = ROOT / ".cache" / "streams"

# What the streams look like: a 720p15 camera with a keyframe every 2 s.
WIDTH, HEIGHT, FPS, GOP_S = 1280, 720, 15, 2.0
STREAM_SECONDS = 24  # the server loops it, so tests longer than this cross the loop point


def vtest_path() -> Path:
    """OpenCV's vtest.avi (real indoor footage of people), fetched if missing."""
    path = MEDIA / "opencv" / "vtest.avi"
    if not path.is_file():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch-media.sh")], check=True, cwd=ROOT)
    return path


@pytest.fixture(scope="session")
def camera_stream() -> Path:
    """vtest.avi as a camera's H.264 stream: 1280x720, 15 fps, 2 s GOP, 24 s (cached in .cache/streams)."""
    dst = STREAMS / f"vtest_{WIDTH}x{HEIGHT}_{FPS}fps_g{GOP_S:g}_{STREAM_SECONDS}s.h264"
    return prepare_stream_file(vtest_path(), dst, width=WIDTH, height=HEIGHT, fps=FPS, gop_s=GOP_S,
                               min_s=STREAM_SECONDS, max_s=STREAM_SECONDS)


@pytest.fixture(scope="session")
def rtsp_server(camera_stream: Path) -> Iterator[RtspServerProcess]:
    """A shared RTSP server with two cameras, ``cam1`` and ``cam2``, serving the same footage."""
    with RtspServerProcess({"cam1": camera_stream, "cam2": camera_stream}) as server:
        yield server


@pytest.fixture()
def own_rtsp_server(camera_stream: Path) -> Iterator[RtspServerProcess]:
    """An RTSP server for one test alone (to kill, freeze or restart), with one camera ``cam``."""
    server = RtspServerProcess({"cam": camera_stream}).start()
    try:
        yield server
    finally:
        server.kill()
