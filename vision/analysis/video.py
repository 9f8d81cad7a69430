"""`hallmonitor analyze VIDEO --config .. --camera ..`: the camera's rules over a video file.

Frames are taken at the camera's analysis rate (by presentation time), run
through the same CameraWatch as a live camera, and every event transition is
printed as one JSON line in the store's schema. Video time is mapped onto a wall
clock that starts at ``start`` (default: the first service opening on or after
today, so the hall's schedule applies).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import av
import click

from vision.config import HallConfig
from vision.errors import InputError
from vision.events import Event
from vision.rules.service_hours import local_time, next_opening, openings_on


def default_start(config: HallConfig, camera_id: str) -> float:
    cam = config.camera(camera_id)
    schedule = config.schedule_for(cam.windows[0])
    today = local_time(schedule, time.time()).date()
    openings = openings_on(schedule, today)
    if openings:
        return openings[0].timestamp()
    nxt = next_opening(schedule, time.time())
    return nxt.timestamp() if nxt else time.time()


def sampled_frames(path: Path, fps: float):
    """(seconds from the start, BGR image) at ``fps`` by presentation time; decode errors are skipped."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"{path}: cannot open the video ({exc})") from None
    with container:
        if not container.streams.video:
            raise InputError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        next_t, first = 0.0, None
        try:
            for index, frame in enumerate(container.decode(stream)):
                if frame.pts is not None and frame.time_base is not None:
                    t = float(frame.pts * frame.time_base)
                else:  # a raw elementary stream has no timestamps: count frames
                    t = index / rate
                first = t if first is None else first
                t -= first
                if t + 1e-6 < next_t:
                    continue
                next_t = t + 1.0 / fps
                yield t, frame.to_ndarray(format="bgr24")
        except av.error.InvalidDataError:
            return  # a truncated tail ends the video


def video_duration(path: Path) -> float | None:
    try:
        with av.open(str(path)) as c:
            return float(c.duration / av.time_base) if c.duration else None
    except (av.error.FFmpegError, OSError):
        return None


def analyze_video(path: Path, config: HallConfig, camera_id: str, start: float | None = None,
                  out=None, analyzer=None) -> list[Event]:
    from tqdm import tqdm

    from vision.perception.load import load_analyzer
    from vision.runtime.watch import CameraWatch

    out = out or sys.stdout
    if not path.is_file():
        raise InputError(f"{path}: no such video file")
    cam = config.camera(camera_id)
    analyzer = analyzer or load_analyzer(config.models, config.base_dir)
    watch = CameraWatch(config, camera_id, analyzer)
    t0 = default_start(config, camera_id) if start is None else start
    click.echo(f"analyze: {path.name} on camera {camera_id} at {cam.analysis_fps:g} fps, clock starts "
               f"{datetime.fromtimestamp(t0).astimezone().isoformat(timespec='seconds')}", err=True)
    duration = video_duration(path)
    total = int(duration * cam.analysis_fps) + 1 if duration else None
    events: list[Event] = []

    def emit(batch: list[Event]) -> None:
        for ev in batch:
            events.append(ev)
            out.write(json.dumps(ev.to_json(), ensure_ascii=False) + "\n")
        out.flush()

    last = 0.0
    frames = 0
    for t, image in tqdm(sampled_frames(path, cam.analysis_fps), total=total, unit="frame", desc="analyse",
                         disable=not sys.stderr.isatty(), file=sys.stderr):
        emit(watch.step(image, t0 + t).events)
        last, frames = t, frames + 1
    if frames == 0:
        raise InputError(f"{path}: no frame could be decoded (corrupt or not a video)")
    # the video is over: let every open event run out its grace and end
    emit(watch.tick(t0 + last + 24 * 3600))
    click.echo(f"analyze: {frames} frames, {sum(e.phase == 'started' for e in events)} events", err=True)
    return events
