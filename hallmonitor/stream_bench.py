"""`hallmonitor bench --cameras N`: the real pipeline against N real RTSP streams, measured.

A local GStreamer RTSP server serves N cameras of real footage (vtest.avi, 720p15,
a keyframe every second); the supervisor runs them with the bundled models and
short-dwell rules so that events keep coming. Reported per run:

- analysed frames per second, and missed analysis ticks (expected minus analysed);
- CPU per camera (process CPU over the run), split by stage: demux and decode (the
  reader threads' own CPU), clips (the clip thread), and the analysis split by the
  wall time each stage took (preprocess, detect, crop detect, pose, face, observe, rules);
- alert latency, from the frame on which a rule's dwell was met to the event stored
  and published: median and p95;
- resident memory.
"""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

import click
import numpy as np

from vision.config import parse_config
from vision.events import parse_iso

CLK_TCK = os.sysconf("SC_CLK_TCK")
STAGES = ("decode", "preprocess", "detect", "confirm", "crop_detect", "counter_zoom", "pose", "face", "heads",
          "observe", "rules", "clips")
ANALYSIS_STAGES = tuple(s for s in STAGES if s not in ("decode", "clips"))


def thread_cpu_s(native_id: int | None) -> float:
    """CPU seconds (user + system) of one thread of this process, from /proc."""
    if native_id is None:
        return 0.0
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_config(folder: Path, urls: list[str], windows_per_camera: int, fps: float, detect_on: str) -> str:
    cams = []
    for i, url in enumerate(urls):
        wins = []
        for j in range(windows_per_camera):
            x1 = 0.05 + 0.9 * j / windows_per_camera
            x2 = 0.05 + 0.9 * (j + 1) / windows_per_camera
            wins.append(f"""
      - id: c{i}w{j}
        staff_zone: [[{x1:.3f}, 0.20], [{x2:.3f}, 0.20], [{x2:.3f}, 0.55], [{x1:.3f}, 0.55]]
        counter:    [[{x1:.3f}, 0.55], [{x2:.3f}, 0.55], [{x2:.3f}, 0.65], [{x1:.3f}, 0.65]]""")
        cams.append(f"""
  - id: cam{i}
    url: {url}
    analysis_fps: {fps}
    detect_on: {detect_on}
    clip: {{pre_s: 3, post_s: 3}}
    windows:{''.join(wins)}""")
    return f"""
storage: {{database: {folder / 'bench.db'}, media_dir: {folder / 'media'}}}
dashboard: {{port: 0, secret_key_file: {folder / 'secret_key'}}}
schedule: {{hours: {{mon-sun: ["00:00-24:00"]}}}}
defaults:
  rules:
    unattended: {{dwell_s: 2, grace_s: {max(1.5, 1.5 / fps)}, cooldown_s: 2}}
    extra_person: {{dwell_s: 2, grace_s: {max(1.5, 1.5 / fps)}, cooldown_s: 2}}
    late_opening: {{enabled: false}}
cameras:{''.join(cams)}"""


@dataclass
class RunResult:
    cameras: int
    windows: int
    seconds: float
    analysed: int
    expected: int
    drops: int
    cpu_s: float
    stage_cpu_s: dict[str, float]
    latencies_ms: list[float] = field(default_factory=list)
    rss_mb: float = 0.0

    @property
    def fps(self) -> float:
        return self.analysed / self.seconds

    @property
    def missed(self) -> int:
        return max(0, self.expected - self.analysed)

    def latency(self) -> tuple[float | None, float | None]:
        if not self.latencies_ms:
            return None, None
        return statistics.median(self.latencies_ms), float(np.percentile(self.latencies_ms, 95))

    def holds(self, fps: float) -> bool:
        p95 = self.latency()[1]
        return self.analysed >= 0.95 * self.expected and p95 is not None and p95 <= 2000


def run_once(stream: Path, n: int, k: int, seconds: float, fps: float, folder: Path, pool,
             warmup_s: float = 8.0, detect_on: str = "auto") -> RunResult:
    from vision.media.footage import RtspServerProcess
    from vision.runtime.supervisor import Supervisor

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("bench.db*"):
        old.unlink()
    server = RtspServerProcess({f"cam{i}": stream for i in range(n)}).start()
    latencies: list[float] = []
    measuring = threading.Event()

    def publish(ev):
        fired = ev.details.get("fired_at") if ev.phase == "started" else None
        if fired and measuring.is_set():
            latencies.append((time.time() - parse_iso(fired)) * 1000)

    try:
        config = parse_config(bench_config(folder, [server.urls[f"cam{i}"] for i in range(n)], k, fps, detect_on))
        sup = Supervisor(config, analyzer=pool, publish=publish, status_every_s=3600).start()
        try:
            time.sleep(warmup_s)
            workers = list(sup.workers.values())
            a0 = sum(w.steps for w in workers)
            d0 = sum(w.reader.stats().drops for w in workers)
            readers0 = sum(thread_cpu_s(getattr(w.reader._thread, "native_id", None)) for w in workers)
            clips0 = thread_cpu_s(getattr(sup.cutter._thread, "native_id", None))
            stage0 = {s: sum(w.stage_ms.get(s, 0.0) for w in workers) for s in STAGES}
            cpu0, t0 = time.process_time(), time.monotonic()
            measuring.set()
            time.sleep(seconds)
            measuring.clear()
            wall = time.monotonic() - t0
            cpu = time.process_time() - cpu0
            analysed = sum(w.steps for w in workers) - a0
            drops = sum(w.reader.stats().drops for w in workers) - d0
            readers = sum(thread_cpu_s(getattr(w.reader._thread, "native_id", None)) for w in workers) - readers0
            clips = thread_cpu_s(getattr(sup.cutter._thread, "native_id", None)) - clips0
            stage_ms = {s: sum(w.stage_ms.get(s, 0.0) for w in workers) - stage0[s] for s in STAGES}
            memory = rss_mb()
        finally:
            sup.stop()
    finally:
        server.stop()
    analysis_cpu = max(0.0, cpu - readers - clips)
    split_ms = {s: stage_ms[s] for s in ANALYSIS_STAGES}
    total_ms = sum(split_ms.values()) or 1.0
    stage_cpu = {"decode": readers, "clips": clips}
    stage_cpu.update({s: analysis_cpu * v / total_ms for s, v in split_ms.items()})
    return RunResult(cameras=n, windows=n * k, seconds=wall, analysed=analysed, expected=int(n * fps * wall),
                     drops=drops, cpu_s=cpu, stage_cpu_s=stage_cpu, latencies_ms=latencies, rss_mb=memory)


def format_runs(results: list[RunResult], fps: float) -> str:
    head = (["cameras", "windows", "analysed fps", "missed ticks", "CPU % of a core per camera",
             "CPU ms per window per s"] + [f"{s} %" for s in STAGES]
            + ["latency median ms", "latency p95 ms", "events", "RSS MB", "goal"])
    lines = ["| " + " | ".join(head) + " |", "|" + " ---: |" * (len(head) - 1) + " --- |"]
    for r in results:
        per_cam = 100 * r.cpu_s / r.seconds / r.cameras
        med, p95 = r.latency()
        missed = f"{r.missed} ({100 * r.missed / max(1, r.expected):.0f} %)"
        per_window = 1000 * r.cpu_s / r.seconds / r.windows
        cells = [str(r.cameras), str(r.windows), f"{r.fps:.2f}", missed, f"{per_cam:.1f}", f"{per_window:.0f}"]
        cells += [f"{100 * r.stage_cpu_s.get(s, 0.0) / r.seconds / r.cameras:.1f}" for s in STAGES]
        cells += ["-" if med is None else f"{med:.0f}", "-" if p95 is None else f"{p95:.0f}", str(len(r.latencies_ms)),
                  f"{r.rss_mb:.0f}", "holds" if r.holds(fps) else "misses"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class BenchMode(TypedDict):
    """How one bench mode loads and runs the analyzers."""
    sessions: int
    threads: int
    detect_on: str
    everyone: bool
    crop_pass: bool
    detector: NotRequired[str]


MODES: dict[str, BenchMode] = {
    # the first version: one session on all cores, the whole frame, crop pass and pose for everyone
    "baseline": {"sessions": 1, "threads": 0, "detect_on": "frame", "everyone": True, "crop_pass": True},
    # now: a single-threaded session per core, the windows' zones, crop pass for staff, pose for staff and counter
    "optimized": {"sessions": 0, "threads": 0, "detect_on": "auto", "everyone": False, "crop_pass": True},
    # as optimized, without the second detector pass on staff crops (fewer small phones found)
    "lean": {"sessions": 0, "threads": 0, "detect_on": "auto", "everyone": False, "crop_pass": False},
    # as lean, with the int8 NanoDet (models/quantize.py)
    "lean-int8": {"sessions": 0, "threads": 0, "detect_on": "auto", "everyone": False, "crop_pass": False,
                  "detector": "nanodet-int8"},
    # as optimized, with the int8 NanoDet
    "optimized-int8": {"sessions": 0, "threads": 0, "detect_on": "auto", "everyone": False, "crop_pass": True,
                       "detector": "nanodet-int8"},
}


def make_pool(mode: str, crop_pass: bool):
    from vision.config import ModelChoice
    from vision.perception.load import load_pool
    m = MODES[mode]
    pool = load_pool(ModelChoice(sessions=m["sessions"], threads=m["threads"], detector=m.get("detector", "nanodet")),
                     crop_pass=crop_pass and m["crop_pass"])
    for a in pool.analyzers:
        a.everyone = m["everyone"]
    return pool


def stream_bench(cameras: list[int], windows_per_camera: int, seconds: float, fps: float, modes: list[str],
                 crop_pass: bool, sweep: bool) -> str:
    from hallmonitor.demo import footage_path
    from vision.media.footage import prepare_stream_file

    root = Path(__file__).resolve().parent.parent
    stream = prepare_stream_file(footage_path(), root / ".cache" / "streams" / "vtest-720p15-gop1.h264",
                                 width=1280, height=720, fps=15, gop_s=1.0)
    folder = root / "var" / "bench"
    limit = physical_limit(stream, windows_per_camera)
    click.echo(limit, err=True)
    out = [limit, "", f"machine: {os.cpu_count()} cores; crop pass={'on' if crop_pass else 'off'}; "
           f"{fps:g} analysis/s per camera, {windows_per_camera} windows per camera; "
           f"720p15 H.264, keyframe every 1 s; {seconds:g} s per run"]
    for mode in modes:
        pool = make_pool(mode, crop_pass)
        results: list[RunResult] = []
        held: dict[int, bool] = {}
        plan = list(cameras)
        m = MODES[mode]
        while plan:
            n = plan.pop(0)
            click.echo(f"bench [{mode}]: {n} cameras x {windows_per_camera} windows for {seconds:g} s ...", err=True)
            r = run_once(stream, n, windows_per_camera, seconds, fps, folder, pool, detect_on=m["detect_on"])
            results.append(r)
            held[n] = r.holds(fps)
            click.echo(format_runs([r], fps).splitlines()[-1], err=True)
            if sweep and not plan:
                nxt = next_count(held)
                if nxt is not None:
                    plan.append(nxt)
        results.sort(key=lambda r: r.cameras)
        out += ["", f"### {mode}: {MODES[mode]}", "", format_runs(results, fps)]
        if sweep:
            best = highest_held(held)
            cores = os.cpu_count() or 1
            out += ["", f"highest camera count that holds the goal (>= 95 % of ticks analysed, alerts measured, "
                        f"p95 alert latency <= 2 s): {best or 'none'} cameras = {best * windows_per_camera} windows "
                        f"= {best * windows_per_camera / cores:.1f} windows per core on {cores} cores"]
    return "\n".join(out)


def highest_held(held: dict[int, bool]) -> int:
    """The largest camera count that held, below every count that missed (0: none held)."""
    first_miss = min((n for n, ok in held.items() if not ok), default=None)
    return max((n for n, ok in held.items() if ok and (first_miss is None or n < first_miss)), default=0)


def next_count(held: dict[int, bool], limit: int = 64) -> int | None:
    """The sweep's next camera count: double (by 4 past 8) while the goal holds, then bisect between the
    highest count that held and the lowest that missed; None when they are neighbours."""
    best = highest_held(held)
    first_miss = min((n for n, ok in held.items() if not ok), default=None)
    if first_miss is None:
        nxt = best * 2 if best < 8 else best + 4
        return nxt if nxt <= limit else None
    if first_miss - best <= 1:
        return None
    return (best + first_miss) // 2 if best else max(1, first_miss // 2)


def physical_limit(stream: Path, windows_per_camera: int, repeats: int = 30) -> str:
    """What the arithmetic costs on this machine: one detector inference (one thread) plus one keyframe decode."""
    import av

    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer

    analyzer = load_analyzer(ModelChoice(threads=1), crop_pass=False)
    decode_ms, frames = [], []
    with av.open(str(stream)) as container:
        vs = container.streams.video[0]
        for packet in container.demux(vs):
            if not packet.is_keyframe or packet.size == 0:
                continue
            t0 = time.perf_counter()
            decoded = packet.decode()
            decode_ms.append((time.perf_counter() - t0) * 1000)
            frames += [f.to_ndarray(format="bgr24") for f in decoded]
            if len(decode_ms) >= repeats:
                break
    infer_ms = []
    for image in frames[:repeats]:
        analyzer.detector.detect(image)
        infer_ms.append(analyzer.detector.timing["infer"])
    infer = statistics.median(infer_ms[3:] or infer_ms)
    decode = statistics.median(decode_ms[3:] or decode_ms)
    per_core = 1000.0 / (infer + decode)
    return (f"physical limit on this machine: detector inference {infer:.1f} ms (1 thread, median) + keyframe decode "
            f"{decode:.1f} ms = {infer + decode:.1f} ms per camera-frame -> {per_core:.1f} camera-frames/s per core = "
            f"{per_core * windows_per_camera:.1f} windows per core at {windows_per_camera} windows per camera "
            f"(1 analysis/s)")
