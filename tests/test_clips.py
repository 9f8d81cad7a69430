"""Event clips remuxed from a live RTSP camera's packet ring, snapshots, overlays and retention."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.rtsp_fixtures import (  # noqa: F401
    FPS,
    GOP_S,
    HEIGHT,
    WIDTH,
    camera_stream,
    own_rtsp_server,
    rtsp_server,
    vtest_path,
)
from vision.media.capture import CameraReader
from vision.media.clips import ClipCutter, overlay_path, prune_media, write_clip, write_overlay, write_snapshot
from vision.media.ring import CodecInfo, PacketRecord, PacketRing

PRE_S, POST_S = 2.0, 3.0


def ffprobe(path: Path, *args: str) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types, in file order, read from the box headers."""
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def assert_playable_clip(path: Path, min_s: float, max_s: float) -> dict:
    """ffprobe/ffmpeg agree the file is a clean H.264 MP4 of the expected length, starting on a keyframe."""
    info = ffprobe(path, "-show_entries", "stream=codec_name,width,height,nb_frames:format=duration")
    stream = info["streams"][0]
    assert stream["codec_name"] == "h264" and (stream["width"], stream["height"]) == (WIDTH, HEIGHT)
    assert min_s <= float(info["format"]["duration"]) <= max_s, info
    first = ffprobe(path, "-select_streams", "v", "-show_entries", "frame=key_frame,pict_type",
                    "-read_intervals", "%+#1")["frames"][0]
    assert first["key_frame"] == 1 and first["pict_type"] == "I", first
    boxes = top_level_boxes(path)
    assert "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"), boxes
    decode = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, text=True)
    assert decode.returncode == 0 and decode.stderr.strip() == "", decode.stderr
    return stream


def wait_until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)
    return condition()


def real_packets(stream_file: Path, wall0: float, session: int = 0, limit: int | None = None) -> list[PacketRecord]:
    """The packets of a real H.264 file as a reader would store them, arriving at 15 fps from ``wall0``."""
    tb = Fraction(1, 90000)
    step = int(1 / (FPS * tb))
    info = CodecInfo(codec="h264", width=WIDTH, height=HEIGHT, time_base=tb, fps=FPS)
    records = []
    with av.open(str(stream_file)) as container:
        for i, packet in enumerate(container.demux(container.streams.video[0])):
            if packet.size == 0 or (limit is not None and i >= limit):
                break
            records.append(PacketRecord(data=bytes(packet), pts=i * step, dts=i * step, duration=step,
                                        is_keyframe=packet.is_keyframe, wall=wall0 + i / FPS, codec=info,
                                        session=session))
    return records


@pytest.mark.slow
def test_clip_cut_from_a_live_rtsp_ring(rtsp_server, tmp_path: Path):
    reader = CameraReader("cam1", rtsp_server.urls["cam1"], analysis_fps=1.0,
                          ring=PacketRing(keep_s=PRE_S + POST_S + 5)).start()
    cutter = ClipCutter(poll_s=0.1).start()
    try:
        assert wait_until(lambda: reader.connected and len(reader.ring) > (PRE_S + 1.5) * FPS, 8.0)
        event_at = time.time()
        job = cutter.submit("evt_live", reader.ring, event_at, tmp_path / "evt_live.mp4", pre_s=PRE_S,
                            post_s=POST_S, is_live=lambda: reader.connected)
        clip = job.wait(POST_S + 5.0)
        finished_at = time.time()
        packets_during_cut = reader.stats().packets
    finally:
        cutter.stop()
        reader.stop()
    assert job.error is None and clip is not None
    # It waited for the post-roll, and not much longer.
    assert POST_S <= finished_at - event_at <= POST_S + 1.5
    assert clip.first_is_keyframe and clip.path.stat().st_size == clip.size_bytes > 100_000
    # Starts on the keyframe at or before the pre-roll: at most one GOP more than asked.
    assert PRE_S + POST_S - 0.5 <= clip.duration_s <= PRE_S + POST_S + GOP_S + 0.5, clip
    assert clip.start_wall <= event_at - PRE_S + 0.1
    stream = assert_playable_clip(clip.path, PRE_S + POST_S - 0.5, PRE_S + POST_S + GOP_S + 0.5)
    assert int(stream["nb_frames"]) == clip.packets
    assert packets_during_cut > 0


@pytest.mark.slow
def test_clip_is_cut_with_what_there_is_when_the_camera_goes_away(own_rtsp_server, tmp_path: Path):
    reader = CameraReader("cam", own_rtsp_server.urls["cam"], analysis_fps=1.0, backoff_initial_s=5.0).start()
    cutter = ClipCutter(poll_s=0.1).start()
    try:
        assert wait_until(lambda: reader.connected and len(reader.ring) > 3 * FPS, 8.0)
        event_at = time.time()
        job = cutter.submit("evt_gone", reader.ring, event_at, tmp_path / "evt_gone.mp4", pre_s=PRE_S,
                            post_s=20.0, is_live=lambda: reader.connected)
        time.sleep(1.0)
        own_rtsp_server.kill()
        clip = job.wait(5.0)
    finally:
        cutter.stop()
        reader.stop()
    assert job.error is None and clip is not None, job.error
    assert PRE_S + 0.5 <= clip.duration_s <= PRE_S + 1.5 + GOP_S + 0.5, clip  # pre-roll + ~1 s, not 20 s
    assert_playable_clip(clip.path, PRE_S + 0.5, PRE_S + 1.5 + GOP_S + 0.5)


def test_clip_across_a_reconnect_keeps_timestamps_increasing(camera_stream: Path, tmp_path: Path):
    # Two connections: the second restarts its clock at 0 and arrives 1 s after the first ended.
    first = real_packets(camera_stream, wall0=1000.0, session=1, limit=int(4 * FPS))
    second = real_packets(camera_stream, wall0=first[-1].wall + 1.0, session=2, limit=int(4 * FPS))
    clip = write_clip(first + second, None, tmp_path / "evt_reconnect.mp4", 1000.0, second[-1].wall)
    assert clip.packets == len(first) + len(second) and clip.first_is_keyframe
    assert clip.duration_s == pytest.approx(9.0, abs=0.15)  # 4 s + 1 s gap + 4 s
    assert_playable_clip(clip.path, 8.8, 9.2)
    dts = [p["dts"] for p in ffprobe(clip.path, "-show_entries", "packet=dts")["packets"]]
    assert dts[0] == 0 and all(b > a for a, b in zip(dts, dts[1:]))


def test_write_clip_starts_on_the_keyframe_before_the_start(camera_stream: Path, tmp_path: Path):
    packets = real_packets(camera_stream, wall0=0.0, limit=int(10 * FPS))
    clip = write_clip(packets, packets[0].codec, tmp_path / "evt_k.mp4", start_wall=3.0, end_wall=6.0)
    assert clip.start_wall == 2.0 and clip.first_is_keyframe  # keyframes every 2 s: 0, 2, 4, ...
    assert clip.duration_s == pytest.approx(4.0 + 1 / FPS, abs=0.01)
    assert_playable_clip(clip.path, 3.9, 4.2)
    with pytest.raises(ValueError, match="no keyframe"):
        write_clip([p for p in packets if not p.is_keyframe], None, tmp_path / "x.mp4", 3.0, 6.0)


def test_packet_ring_keeps_keep_s_back_to_a_keyframe_and_bounds_memory(camera_stream: Path):
    packets = real_packets(camera_stream, wall0=0.0, limit=int(12 * FPS))
    ring = PacketRing(keep_s=3.0)
    for p in packets:
        ring.append(p)
    newest = packets[-1].wall
    assert ring.oldest_wall <= newest - 3.0 and ring.oldest_wall > newest - 3.0 - GOP_S
    assert ring.since_keyframe_before(newest - 3.0)[0].is_keyframe
    since = ring.since_keyframe_before(newest - 2.5)
    assert since[0].is_keyframe and since[0].wall <= newest - 2.5 and since[-1] is packets[-1]
    assert ring.dropped == 0 and ring.evicted == len(packets) - len(ring)
    # Ask for more than the ring holds: it starts at its oldest keyframe.
    assert ring.since_keyframe_before(0.0)[0].wall == ring.oldest_wall

    small = PacketRing(keep_s=30.0, max_bytes=600_000)
    for p in packets:
        small.append(p)
    assert small.nbytes <= 600_000 and small.dropped > 0 and len(small) + small.dropped == len(packets)
    assert small.since_keyframe_before(newest)[0].is_keyframe


def first_vtest_frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(vtest_path()))
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


def test_snapshot_draws_boxes_on_a_copy_and_overlay_json_matches(tmp_path: Path):
    image = first_vtest_frame()
    original = image.copy()
    red = (0, 0, 255)
    path = write_snapshot(image, tmp_path / "evt_s.jpg", boxes=[((100, 150, 260, 400), "staff 0.91", red)])
    assert np.array_equal(image, original)  # the caller's frame is not drawn on
    jpeg = cv2.imread(str(path))
    assert jpeg.shape == image.shape
    b, g, r = jpeg[275, 100].astype(int)  # on the box's left edge
    assert r > 180 and g < 80 and b < 80
    assert np.abs(jpeg[300, 400].astype(int) - original[300, 400].astype(int)).max() < 30  # elsewhere untouched

    clip = tmp_path / "evt_s.mp4"
    written = write_overlay(overlay_path(clip), [
        {"t": 1.5, "boxes": [((100, 150, 260, 400), "staff", red)]},
        {"t": 0.5, "boxes": [{"box": [1, 2, 3, 4], "label": "phone", "color": [0, 255, 0]}]},
    ], width=image.shape[1], height=image.shape[0])
    assert written == tmp_path / "evt_s.boxes.json"
    doc = json.loads(written.read_text())
    assert doc["width"] == image.shape[1] and [f["t"] for f in doc["frames"]] == [0.5, 1.5]
    assert doc["frames"][1]["boxes"][0] == {"box": [100.0, 150.0, 260.0, 400.0], "label": "staff",
                                            "color": [0, 0, 255]}


def test_prune_media_keeps_kept_events_and_removes_the_oldest_under_a_byte_budget(tmp_path: Path):
    now = time.time()
    ages_days = {"evt_a": 9.0, "evt_b": 5.0, "evt_c": 3.0, "evt_d": 1.0, "evt_e": 40.0}
    for event_id, age in ages_days.items():
        folder = tmp_path / "cam1" / event_id[-1]
        folder.mkdir(parents=True)
        for name, size in ((f"{event_id}.mp4", 1000), (f"{event_id}.jpg", 200), (f"{event_id}.boxes.json", 50)):
            path = folder / name
            path.write_bytes(os.urandom(size))
            os.utime(path, (now - age * 86400, now - age * 86400))
    # 5 events x 1250 bytes; budget 2600: after the 30-day limit removes evt_e (kept or not: not kept here),
    # the oldest unkept go first: evt_a is kept, so evt_b then evt_c go; evt_d (newest) stays.
    result = prune_media(tmp_path, max_age_days=30, max_bytes=2600, keep={"evt_a"}, now=now)
    left = sorted(p.name.split(".")[0] for p in tmp_path.rglob("*") if p.is_file())
    assert sorted(set(left)) == ["evt_a", "evt_d"]
    assert len(left) == 6 and result.kept_bytes == 2500 and result.freed_bytes == 3 * 1250
    assert not (tmp_path / "cam1" / "e").exists()  # emptied folders are removed
    # A kept event survives even when it alone is over budget and past the age limit.
    result = prune_media(tmp_path, max_age_days=0.5, max_bytes=0, keep={"evt_a"}, now=now)
    assert sorted({p.name.split(".")[0] for p in tmp_path.rglob("*") if p.is_file()}) == ["evt_a"]
