"""Real footage served as a live camera: transcode a video file, run the RTSP server.

``prepare_stream_file`` turns any video (e.g. OpenCV's ``vtest.avi``) into the
raw Annex-B H.264 stream a camera would send (main profile, no B-frames, a fixed
keyframe interval) using Debian's ``ffmpeg``. ``RtspServerProcess`` runs
``vision/media/rtsp_server.py`` under Debian's ``/usr/bin/python3`` (the only Python
that can import the GStreamer bindings) and hands out ``rtsp://`` urls for its
mounts. Demos and tests use both; production cameras need neither.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from vision.errors import HallmonitorError, InputError

log = logging.getLogger(__name__)

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"
EXIT_NO_GSTREAMER = 3  # rtsp_server.py's exit code when the GStreamer bindings cannot be loaded
APT_PACKAGES = (
    "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
)
_MISSING_GST_HINT = (
    "the RTSP test server needs GStreamer's RTSP server and Python bindings for Debian's "
    f"{SYSTEM_PYTHON}; install them with: apt-get install -y --no-install-recommends {APT_PACKAGES}"
)


class FootageError(HallmonitorError):
    """Footage could not be transcoded or the RTSP test server could not be started."""


def _probe_duration(src: Path) -> float:
    """The duration of ``src`` in seconds, read with ``ffprobe``."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(src)],
        capture_output=True, text=True, check=False,
    )
    try:
        return float(out.stdout.strip())
    except ValueError:
        raise InputError(f"{src}: ffprobe cannot read its duration ({out.stderr.strip() or 'no output'}); "
                         "is it a video file?") from None


def prepare_stream_file(src: Path, dst: Path, width: int = 1280, height: int = 720, fps: int = 15,
                        gop_s: float = 2.0, min_s: float = 20.0, max_s: float | None = None,
                        codec: str = "h264") -> Path:
    """Transcode ``src`` into an Annex-B H.264 (or, with ``codec="h265"``, H.265) elementary stream at
    ``dst`` and return ``dst``.

    The stream is what an IP camera sends: H.264 main profile (H.265 main), yuv420p, no B-frames, a keyframe
    every ``gop_s`` seconds, ``width`` x ``height`` at ``fps``. The source is looped until the
    result lasts at least ``min_s`` seconds; ``max_s`` cuts it shorter (tests use 24 s: a quicker
    transcode, and the server's loop point is crossed during a test run). Nothing is done when
    ``dst`` exists and is newer than ``src``: the cache key is the file name, so give different
    settings different names. Writes a temporary file and renames it, so an interrupted run never
    leaves a half file that looks cached.
    """
    if codec not in ("h264", "h265"):
        raise ValueError(f"codec must be h264 or h265, got {codec!r}")
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InputError(f"{src}: footage not found; run `bash scripts/fetch-media.sh` to fetch the demo footage")
    if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
        return dst
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise FootageError("ffmpeg/ffprobe not found; install them with: apt-get install -y ffmpeg")
    loops = max(1, math.ceil(min_s / max(_probe_duration(src), 0.1)))
    gop = max(1, round(fps * gop_s))
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    if codec == "h264":
        encode = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p", "-bf", "0",
                  "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bsf:v", "h264_mp4toannexb",
                  "-f", "h264"]
    else:
        encode = ["-c:v", "libx265", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
                  "-x265-params", f"bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error",
                  "-bsf:v", "hevc_mp4toannexb", "-f", "hevc"]
    cmd = [
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(src),
        *(["-t", f"{max_s:g}"] if max_s else []),
        "-an", "-vf", f"scale={width}:{height},fps={fps}", *encode, str(tmp),
    ]
    log.info("transcoding %s -> %s (%dx%d, %d fps, keyframe every %d frames)", src, dst, width, height, fps, gop)
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise FootageError(f"{src}: ffmpeg could not transcode it: {proc.stderr.strip()[-500:]}")
    os.replace(tmp, dst)
    log.info("transcoded %s in %.1f s (%d bytes)", dst, time.monotonic() - started, dst.stat().st_size)
    return dst


def _pump_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Copy ``stream``'s lines into ``lines`` until EOF, then put None."""
    try:
        for line in stream:
            lines.put(line)
    except (ValueError, OSError):  # the pipe was closed under us
        pass
    finally:
        stream.close()
    lines.put(None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RtspServerProcess:
    """``vision/media/rtsp_server.py`` as a child process serving files as live RTSP cameras.

    ``mounts`` maps a mount name (``cam1``) to an H.264 elementary-stream file. Use it as a context
    manager, or call ``start()``/``stop()``. ``port=0`` picks a free port once; the port is kept across
    ``stop()``/``kill()`` and ``start()``, so a test can kill the "camera" and bring it back at the same url.
    """

    def __init__(self, mounts: dict[str, Path], port: int = 0, host: str = "127.0.0.1",
                 ready_timeout_s: float = 10.0):
        if not mounts:
            raise ValueError("RtspServerProcess needs at least one mount, e.g. {'cam1': Path('cam1.h264')}")
        for name, path in mounts.items():
            if not Path(path).is_file():
                raise InputError(f"mount {name!r}: stream file {path} not found; make it with prepare_stream_file()")
        self.mounts = {name: Path(path) for name, path in mounts.items()}
        self.host = host
        self.port = port or free_port()
        self.ready_timeout_s = ready_timeout_s
        self.urls: dict[str, str] = {name: f"rtsp://{host}:{self.port}/{name}" for name in self.mounts}
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> RtspServerProcess:
        """Start the server and wait until every mount is announced as ready."""
        if self.running:
            return self
        if not Path(SYSTEM_PYTHON).exists():
            raise FootageError(f"{SYSTEM_PYTHON} not found; {_MISSING_GST_HINT}")
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--host", self.host, "--port", str(self.port)]
        for name, path in self.mounts.items():
            cmd += ["--mount", f"{name}={path}"]
        # A clean environment for Debian's Python: a pyenv/venv PYTHONPATH/PYTHONHOME would break it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        # stderr goes to a file, not a pipe: a chatty GStreamer must never block on a full pipe.
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        log.info("RTSP test server pid %d ready on port %d: %s", self._proc.pid, self.port,
                 ", ".join(self.urls.values()))
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        # A thread drains stdout (select() on a buffered pipe misses lines already read ahead).
        threading.Thread(target=_pump_lines, args=(self._proc.stdout, lines), daemon=True,
                         name=f"rtsp-server-{self.port}-stdout").start()
        waiting = set(self.urls.values())
        deadline = time.monotonic() + self.ready_timeout_s
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FootageError(f"RTSP test server on port {self.port} did not announce "
                                   f"{', '.join(sorted(waiting))} within {self.ready_timeout_s:.0f} s; "
                                   f"its log: {self.stderr_text().strip()[-500:] or '(empty)'}")
            try:
                line = lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                line = ""
            if line and line.startswith("ready "):
                waiting.discard(line.split(None, 1)[1].strip())
            elif line is None:  # stdout closed: the server exited before it was ready
                self._proc.wait()
                err = self.stderr_text()
                missing_gi = self._proc.returncode == EXIT_NO_GSTREAMER or "No module named 'gi'" in err
                missing_gi = missing_gi and "apt-get" not in err  # the server's own message already says so
                raise FootageError(f"RTSP test server exited with code {self._proc.returncode}: "
                                   f"{err.strip()[-800:]}\n{_MISSING_GST_HINT if missing_gi else ''}".rstrip())

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the server with SIGTERM (SIGKILL if it does not exit within ``timeout_s``)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("RTSP test server pid %d ignored SIGTERM; killing it", self._proc.pid)
                self._proc.kill()
                self._proc.wait()

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a camera losing power would vanish."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def stderr_text(self) -> str:
        """What the server wrote to stderr so far (its log and any GStreamer warnings)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def __enter__(self) -> RtspServerProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
