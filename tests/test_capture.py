"""CameraReader against real RTSP cameras (GStreamer serving real footage) and broken inputs."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.rtsp_fixtures import FPS, HEIGHT, WIDTH, camera_stream, own_rtsp_server, rtsp_server  # noqa: F401
from vision.media.capture import CameraReader, mask_url
from vision.media.frames import Frame, FrameQueue

pytestmark = pytest.mark.slow


class Recorder:
    """Collects a reader's callbacks, thread-safely, for assertions."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.events: list[tuple[str, float, str]] = []
        self._lock = threading.Lock()

    def on_frame(self, frame: Frame) -> None:
        with self._lock:
            self.frames.append(frame)

    def on_offline(self, camera_id: str, ts: float, reason: str) -> None:
        with self._lock:
            self.events.append(("offline", ts, reason))

    def on_online(self, camera_id: str, ts: float) -> None:
        with self._lock:
            self.events.append(("online", ts, ""))

    def kinds(self) -> list[str]:
        with self._lock:
            return [kind for kind, _, _ in self.events]

    def frames_after(self, t: float) -> list[Frame]:
        with self._lock:
            return [f for f in self.frames if f.ts > t]

    def reader(self, camera_id: str, url: str, **kwargs) -> CameraReader:
        return CameraReader(camera_id, url, on_frame=self.on_frame, on_offline=self.on_offline,
                            on_online=self.on_online, **kwargs)


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return condition()


@pytest.fixture()
def thread_errors() -> list[threading.ExceptHookArgs]:
    """Every exception that escapes any thread during the test."""
    errors: list[threading.ExceptHookArgs] = []
    previous = threading.excepthook
    threading.excepthook = errors.append
    yield errors
    threading.excepthook = previous


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed when the socket is: nothing listens there


@pytest.mark.parametrize("url, masked", [
    ("rtsp://admin:s3cr:et@10.0.0.5:554/stream1", "rtsp://admin:***@10.0.0.5:554/stream1"),
    ("rtsp://10.0.0.5/stream1", "rtsp://10.0.0.5/stream1"),
    ("rtsp://h/cam1?user=admin&password=S3cret", "rtsp://h/cam1?user=admin&password=***"),
    ("rtsp://admin:pa/ss@10.0.0.5/Streaming/101", "rtsp://admin:***@10.0.0.5/Streaming/101"),
    ("rtsp://admin:p@ss@10.0.0.5:554/s", "rtsp://admin:***@10.0.0.5:554/s"),
    ("rtsp://admin:a/b@c@host/x?token=zz&x=1", "rtsp://admin:***@host/x?token=***&x=1"),
    ("rtsp://h/x?channel=1&PWD=s3&subtype=0", "rtsp://h/x?channel=1&PWD=***&subtype=0"),
    ("could not open rtsp://u:pw@h/x: timed out", "could not open rtsp://u:***@h/x: timed out"),
    ("videos/counter.mp4", "videos/counter.mp4"),
])
def test_mask_url_hides_every_password(url, masked):
    assert mask_url(url) == masked


def test_frame_queue_drops_the_oldest_and_counts():
    queue = FrameQueue(2)
    frames = [Frame("cam", float(i), i, np.zeros((1, 1, 3), np.uint8), False) for i in range(5)]
    for frame in frames:
        queue.put(frame)
    assert queue.drops == 3
    assert [queue.get(0).index, queue.get(0).index] == [3, 4]
    assert queue.get(0.01) is None


def test_an_h265_camera_with_a_2s_gop_at_25fps_is_read_from_each_keyframe_to_the_frame_due_1s_after(
        thread_errors):
    """Hikvision / Dahua defaults: H.265, 25 fps, a keyframe every 50 frames. At 1 analysis/s the reader
    delivers the keyframe and the frame 1 s after it, and decodes nothing past that (about half the GOP)."""
    from tests.rtsp_fixtures import STREAMS, vtest_path
    from vision.media.footage import RtspServerProcess, prepare_stream_file
    stream = prepare_stream_file(vtest_path(), STREAMS / "vtest_640x360_25fps_g2_12s.h265", width=640, height=360,
                                 fps=25, gop_s=2.0, min_s=12, max_s=12, codec="h265")
    rec = Recorder()
    with RtspServerProcess({"cam": stream}) as server:
        reader = rec.reader("cam", server.urls["cam"], analysis_fps=1.0).start()
        try:
            time.sleep(9.0)
            s = reader.stats()
        finally:
            reader.stop()
    assert s.connected and s.mode == "sampled" and s.keyframe_interval_s == pytest.approx(2.0, abs=0.01)
    assert reader.codec_info.codec == "hevc" and reader.codec_info.width == 640
    # the first GOP is decoded whole (its length is not known yet), then 26 of each 50 frames
    assert s.decoded <= s.packets * 0.75, s
    steady = [f for f in rec.frames if f.index >= 3]
    assert len(steady) >= 4
    gaps = np.diff([f.ts for f in steady])
    assert np.all(np.abs(gaps - 1.0) < 0.3), gaps                       # still one analysis a second
    assert sum(f.keyframe for f in steady) >= len(steady) // 2 - 1        # every other one is a keyframe
    for frame in rec.frames:
        assert frame.image.shape == (360, 640, 3) and frame.image.std() > 20
    assert not thread_errors


def test_reader_decodes_keyframes_only_when_the_gop_allows_and_every_frame_when_the_gop_is_too_long(
        rtsp_server, thread_errors):
    slow = Recorder()
    fast = Recorder()
    # 0.5 fps with a 2 s GOP: keyframes only. 2 fps with a 2 s GOP: decode from each keyframe up to the
    # last frame due before the next one (1.5 s of each 2 s), deliver one per 0.5 s.
    keyframes = slow.reader("cam1", rtsp_server.urls["cam1"], analysis_fps=0.5).start()
    sampled = fast.reader("cam2", rtsp_server.urls["cam2"], analysis_fps=2.0).start()
    try:
        time.sleep(7.0)
        k, s = keyframes.stats(), sampled.stats()
    finally:
        keyframes.stop()
        sampled.stop()

    assert k.connected and s.connected and k.reconnects == 0 and s.reconnects == 0
    assert slow.kinds() == ["online"] and fast.kinds() == ["online"]
    assert k.mode == "keyframes" and k.keyframe_interval_s == pytest.approx(2.0, abs=0.01)
    assert s.mode == "sampled"
    # 15 fps for ~7 s: ~100 packets. Keyframe mode decodes the first GOP (to learn the interval)
    # and then one keyframe per 2 s; sampled mode decodes the first GOP, then 1.5 s of each 2 s GOP.
    assert 80 <= k.packets <= 130, k
    assert k.decoded <= 2 * FPS + 5 < k.packets * 0.45, k
    assert s.packets * 0.6 <= s.decoded <= s.packets * 0.9, s
    steady = [f for f in slow.frames if f.index >= 2]
    assert len(steady) >= 2 and all(f.keyframe for f in steady)
    gaps = np.diff([f.ts for f in steady])
    assert np.all(np.abs(gaps - 2.0) < 0.3), gaps  # one frame per keyframe, paced like a live camera
    assert 10 <= len(fast.frames) <= 16, len(fast.frames)  # ~2 per second for ~6.5 s
    assert s.fps == pytest.approx(2.0, abs=0.5)
    for frame in slow.frames + fast.frames:
        assert frame.image.shape == (HEIGHT, WIDTH, 3) and frame.image.dtype == np.uint8
        assert frame.image.std() > 20, "blank frame"  # real footage: people in a hall
    assert [f.index for f in slow.frames] == list(range(len(slow.frames)))
    assert len(keyframes.ring) > 0 and keyframes.codec_info.width == WIDTH
    assert not thread_errors


def test_unreachable_camera_goes_offline_once_and_keeps_retrying_while_another_reads(rtsp_server, thread_errors):
    bad, good = Recorder(), Recorder()
    url = f"rtsp://admin:hun/ter@2@127.0.0.1:{closed_port()}/cam?user=admin&password=S3cret"
    dead = bad.reader("gone", url, open_timeout_s=1.0, backoff_initial_s=0.2, backoff_max_s=0.4).start()
    live = good.reader("cam1", rtsp_server.urls["cam1"], analysis_fps=2.0).start()
    try:
        assert wait_until(lambda: len(good.frames) >= 6, 8.0), good.frames
        dead_stats = dead.stats()
        assert dead.alive and not dead.connected
    finally:
        dead.stop()
        live.stop()
    assert bad.kinds() == ["offline"]  # fired once, not on every retry
    reason = bad.events[0][2]
    for secret in ("hun/ter", "ter@2", "S3cret"):
        assert secret not in reason and secret not in dead.safe_url
    assert dead.safe_url.startswith("rtsp://admin:***@127.0.0.1:") and dead.safe_url.endswith("password=***")
    assert dead_stats.frames_analysed == 0 and dead_stats.packets == 0
    assert good.kinds() == ["online"]
    assert not thread_errors


def test_killed_camera_goes_offline_then_online_again_when_restarted_on_the_same_port(own_rtsp_server, thread_errors):
    server = own_rtsp_server
    rec = Recorder()
    reader = rec.reader("cam", server.urls["cam"], analysis_fps=2.0, stall_s=4.0, backoff_max_s=1.0).start()
    try:
        assert wait_until(lambda: len(rec.frames) >= 2, 5.0)
        killed_at = time.time()
        server.kill()
        assert wait_until(lambda: "offline" in rec.kinds(), reader.stall_s + 1.0), rec.events
        offline_at = rec.events[-1][1]
        assert offline_at - killed_at <= reader.stall_s
        assert not reader.connected

        time.sleep(1.0)
        restarted_at = time.time()
        server.start()
        assert wait_until(lambda: rec.kinds()[-1:] == ["online"], 5.0), rec.events
        assert wait_until(lambda: len(rec.frames_after(restarted_at)) >= 2, 5.0)
        stats = reader.stats()
    finally:
        reader.stop()
    assert rec.kinds() == ["online", "offline", "online"]
    assert stats.connected and stats.reconnects >= 1
    assert not thread_errors


def test_frozen_camera_trips_the_stall_watchdog_and_recovers(own_rtsp_server, thread_errors):
    server = own_rtsp_server
    rec = Recorder()
    reader = rec.reader("cam", server.urls["cam"], analysis_fps=2.0, stall_s=2.0, open_timeout_s=1.5,
                        backoff_max_s=0.5).start()
    try:
        assert wait_until(lambda: len(rec.frames) >= 2, 5.0)
        frozen_at = time.time()
        os.kill(server.pid, signal.SIGSTOP)  # TCP stays open, no more data: a hung camera
        try:
            assert wait_until(lambda: "offline" in rec.kinds(), 2 * reader.stall_s + 2.0), rec.events
            assert rec.events[-1][1] - frozen_at >= 0.5
            assert reader.alive
        finally:
            os.kill(server.pid, signal.SIGCONT)
        thawed_at = time.time()
        assert wait_until(lambda: len(rec.frames_after(thawed_at)) >= 2, 8.0), rec.events
    finally:
        reader.stop()
    assert rec.kinds()[:2] == ["online", "offline"] and rec.kinds()[-1] == "online"
    assert not thread_errors


def test_corrupt_inputs_do_not_kill_the_reader(tmp_path: Path, camera_stream: Path, thread_errors):
    rng = np.random.default_rng(7)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    # ~8 s of real footage with 300 kB of noise spliced in ~2 s from the start: damaged packets,
    # then good ones again, then a packet cut in half at the end of the file.
    data = camera_stream.read_bytes()[:1_200_000]
    spliced = tmp_path / "spliced.h264"
    spliced.write_bytes(data[:300_000] + rng.integers(0, 256, 300_000, dtype=np.uint8).tobytes() + data[300_000:])
    # A truncated MP4: the header promises more than the file holds.
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 24 + b"\x00\x10\x00\x00moov" + b"\x01" * 100)

    paths = {"garbage": garbage, "spliced": spliced, "spliced_keyframes": spliced, "truncated": truncated}
    recs = {name: Recorder() for name in paths}
    # 4 fps decodes every packet; 0.5 fps (2 s GOP) feeds the decoder keyframes only.
    readers = {name: recs[name].reader(name, str(path), analysis_fps=0.5 if "keyframes" in name else 4.0,
                                       backoff_initial_s=0.2, backoff_max_s=0.5).start()
               for name, path in paths.items()}
    try:
        # 4 fps for 5 s takes the reader past the noise.
        assert wait_until(lambda: len(recs["spliced"].frames) >= 20, 10.0), readers["spliced"].stats()
        time.sleep(0.5)
        assert all(r.alive for r in readers.values())
        stats = {name: r.stats() for name, r in readers.items()}
    finally:
        for r in readers.values():
            r.stop()
    assert recs["garbage"].kinds() == ["offline"] and recs["truncated"].kinds() == ["offline"]
    assert stats["garbage"].frames_analysed == 0 and stats["truncated"].frames_analysed == 0
    assert stats["spliced"].frames_analysed >= 20 and stats["spliced"].connected
    assert stats["spliced_keyframes"].mode == "keyframes" and stats["spliced_keyframes"].frames_analysed >= 2
    for frame in recs["spliced"].frames:
        assert frame.image.shape == (HEIGHT, WIDTH, 3)
    assert not thread_errors
