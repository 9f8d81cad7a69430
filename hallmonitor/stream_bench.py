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
STAGES = ("decode", "preprocess", "detect", "confirm", "crop_detect", "counter_zoom", "counter_turns", "pose", "face",
          "heads", "observe", "rules", "clips")
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


ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "cameras.yaml"


def shipped_hall(path: Path = SHIPPED) -> dict:
    """The hall settings a bench camera takes from a cameras.yaml (the shipped one by default): its
    ``models:``, ``defaults:`` (thresholds and rules) and ``badge:``; the cameras are the bench's own."""
    from ruamel.yaml import YAML
    data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8")) or {}
    hall = {key: data[key] for key in ("models", "defaults", "badge") if data.get(key) is not None}
    models = dict(hall.get("models") or {})
    manifest = Path(models.get("manifest", "models/models.yaml"))
    models["manifest"] = str(manifest if manifest.is_absolute() else Path(path).resolve().parent / manifest)
    hall["models"] = models
    return hall


def bench_config(folder: Path, urls: list[str], windows_per_camera: int, fps: float, detect_on: str,
                 hall: dict | None = None) -> str:
    """The bench's cameras.yaml: ``urls`` as cameras of ``windows_per_camera`` windows side by side, the
    ``hall``'s models, thresholds and rules (``shipped_hall``; None: the schema's defaults), and two rules
    whose short dwells make events keep coming, so that the alert latency is measured (unattended and
    extra person: 2 s; their dwells serve no model stage, so the schedule is the hall's). Written as JSON,
    which is YAML."""
    import json
    cams = []
    for i, url in enumerate(urls):
        wins = []
        for j in range(windows_per_camera):
            x1 = round(0.05 + 0.9 * j / windows_per_camera, 3)
            x2 = round(0.05 + 0.9 * (j + 1) / windows_per_camera, 3)
            wins.append({"id": f"c{i}w{j}",
                         "staff_zone": [[x1, 0.20], [x2, 0.20], [x2, 0.55], [x1, 0.55]],
                         "counter": [[x1, 0.55], [x2, 0.55], [x2, 0.65], [x1, 0.65]]})
        cams.append({"id": f"cam{i}", "url": url, "analysis_fps": fps, "detect_on": detect_on,
                     "clip": {"pre_s": 3, "post_s": 3}, "windows": wins})
    hall = dict(hall or {})
    defaults = dict(hall.get("defaults") or {})
    rules = dict(defaults.get("rules") or {})
    grace = max(1.5, 1.5 / fps)
    rules["unattended"] = {"dwell_s": 2, "grace_s": grace, "cooldown_s": 2}
    rules["extra_person"] = {"dwell_s": 2, "grace_s": grace, "cooldown_s": 2}
    rules["late_opening"] = {"enabled": False}
    defaults["rules"] = rules
    config = {"storage": {"database": str(folder / "bench.db"), "media_dir": str(folder / "media")},
              "dashboard": {"port": 0, "secret_key_file": str(folder / "secret_key")},
              "schedule": {"hours": {"mon-sun": ["00:00-24:00"]}},
              **{k: v for k, v in hall.items() if k != "defaults"}, "defaults": defaults, "cameras": cams}
    return json.dumps(config, ensure_ascii=False, indent=1, default=str)


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
    heavy_looks: int = 0            # the heavy looks (crop pass, face, counter zoom) done in the run
    heavy_wait_s: float = 0.0       # their mean wait in the hall's queue
    load: tuple[float, float] = (0.0, 0.0)   # the machine's 1-minute load average at the start and the end

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
             warmup_s: float = 8.0, detect_on: str = "auto", hall: dict | None = None) -> RunResult:
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
        config = parse_config(bench_config(folder, [server.urls[f"cam{i}"] for i in range(n)], k, fps, detect_on,
                                           hall))
        sup = Supervisor(config, analyzer=pool, publish=publish, status_every_s=3600).start()
        try:
            time.sleep(warmup_s)
            workers = list(sup.workers.values())
            a0 = sum(w.steps for w in workers)
            d0 = sum(w.reader.stats().drops for w in workers)
            readers0 = sum(thread_cpu_s(getattr(w.reader._thread, "native_id", None)) for w in workers)
            clips0 = thread_cpu_s(getattr(sup.cutter._thread, "native_id", None))
            stage0 = {s: sum(w.stage_ms.get(s, 0.0) for w in workers) for s in STAGES}
            heavy0, waited0 = sup.heavy.done, sup.heavy.waited_s
            load0 = os.getloadavg()[0]
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
            heavy, waited = sup.heavy.done - heavy0, sup.heavy.waited_s - waited0
            load1 = os.getloadavg()[0]
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
                     drops=drops, cpu_s=cpu, stage_cpu_s=stage_cpu, latencies_ms=latencies, rss_mb=memory,
                     heavy_looks=heavy, heavy_wait_s=waited / heavy if heavy else 0.0, load=(load0, load1))


def format_runs(results: list[RunResult], fps: float) -> str:
    head = (["cameras", "windows", "analysed fps", "missed ticks", "CPU % of a core per camera",
             "CPU ms per window per s"] + [f"{s} %" for s in STAGES]
            + ["heavy looks", "their wait s", "latency median ms", "latency p95 ms", "events", "RSS MB", "load",
               "goal"])
    lines = ["| " + " | ".join(head) + " |", "|" + " ---: |" * (len(head) - 1) + " --- |"]
    for r in results:
        per_cam = 100 * r.cpu_s / r.seconds / r.cameras
        med, p95 = r.latency()
        missed = f"{r.missed} ({100 * r.missed / max(1, r.expected):.0f} %)"
        per_window = 1000 * r.cpu_s / r.seconds / r.windows
        cells = [str(r.cameras), str(r.windows), f"{r.fps:.2f}", missed, f"{per_cam:.1f}", f"{per_window:.0f}"]
        cells += [f"{100 * r.stage_cpu_s.get(s, 0.0) / r.seconds / r.cameras:.1f}" for s in STAGES]
        cells += [str(r.heavy_looks), f"{r.heavy_wait_s:.2f}"]
        cells += ["-" if med is None else f"{med:.0f}", "-" if p95 is None else f"{p95:.0f}", str(len(r.latencies_ms)),
                  f"{r.rss_mb:.0f}", f"{r.load[0]:.0f}-{r.load[1]:.0f}", "holds" if r.holds(fps) else "misses"]
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


@dataclass(frozen=True)
class StreamKind:
    """What the bench cameras send."""
    width: int
    height: int
    fps: int
    gop_s: float
    codec: str          # h264 | h265

    def describe(self) -> str:
        return (f"{self.width}x{self.height} {self.fps} fps {self.codec.upper().replace('H', 'H.')}, "
                f"keyframe every {self.gop_s:g} s (GOP {round(self.fps * self.gop_s)})")

    def file_name(self, name: str, footage: str = "vtest") -> str:
        return f"{footage}-{name}.{'h265' if self.codec == 'h265' else 'h264'}"


STREAMS: dict[str, StreamKind] = {
    # the bench's stream until 2026-12 (a 720p15 camera with a keyframe every second)
    "720p15-h264-gop1": StreamKind(1280, 720, 15, 1.0, "h264"),
    # Hikvision / Dahua defaults: 25 fps, a keyframe every 50 frames; the main stream often H.265
    "720p25-h264-gop1": StreamKind(1280, 720, 25, 1.0, "h264"),
    "720p25-h264-gop2": StreamKind(1280, 720, 25, 2.0, "h264"),
    "720p25-h265-gop2": StreamKind(1280, 720, 25, 2.0, "h265"),
    "1080p25-h265-gop2": StreamKind(1920, 1080, 25, 2.0, "h265"),   # a 2 MP main stream
    "d1-h264-gop2": StreamKind(704, 576, 25, 2.0, "h264"),          # a D1 sub-stream
}
DEFAULT_STREAM = "720p15-h264-gop1"


def stream_file(name: str, footage: Path | None = None) -> Path:
    """The bench cameras' stream file of kind ``name``, transcoded from ``footage`` (a video file; default the demo's
    vtest.avi walkway) and cached under .cache/streams by the footage's name and the stream kind."""
    from hallmonitor.demo import footage_path
    from vision.media.footage import prepare_stream_file
    kind = STREAMS[name]
    src = footage or footage_path()
    # 30 s of footage (looped by the server): the bench's first stream keeps its length (and its cached file)
    own = footage is not None
    return prepare_stream_file(src, ROOT / ".cache" / "streams" / kind.file_name(name, src.stem if own else "vtest"),
                               width=kind.width, height=kind.height, fps=kind.fps, gop_s=kind.gop_s, codec=kind.codec,
                               max_s=None if name == DEFAULT_STREAM or own else 30.0)


def make_pool(mode: str, crop_pass: bool, hall: dict | None = None):
    """The analyzers of a bench mode: ``shipped`` loads what the hall's ``models:`` says (cameras.yaml)."""
    from vision.config import ModelChoice
    from vision.perception.load import load_pool
    if mode == "shipped":
        return load_pool(ModelChoice(**(hall or {}).get("models", {})), ROOT,
                         crop_pass=None if crop_pass else False)
    m = MODES[mode]
    pool = load_pool(ModelChoice(sessions=m["sessions"], threads=m["threads"], detector=m.get("detector", "nanodet"),
                                 presence_detector=None),     # the modes' one detector on every pass
                     crop_pass=crop_pass and m["crop_pass"])
    for a in pool.analyzers:
        a.everyone = m["everyone"]
    return pool


def stream_bench(cameras: list[int], windows_per_camera: int, seconds: float, fps: float, modes: list[str],
                 crop_pass: bool, sweep: bool, streams: list[str] | None = None, config_path: Path = SHIPPED,
                 footage: Path | None = None) -> str:
    """The live bench: per stream kind and mode, the camera counts asked (and, with ``sweep``, the highest
    that holds the goal), then windows per core held at the goal beside the physical limit. ``footage``: what
    the cameras show (a hall's own recording; default the demo's walkway)."""
    folder = ROOT / "var" / "bench"
    cores = os.cpu_count() or 1
    out: list[str] = []
    shipped = shipped_hall(config_path)
    for stream_name in streams or [DEFAULT_STREAM]:
        kind = STREAMS[stream_name]
        stream = stream_file(stream_name, footage)
        shown = f"{footage.name}" if footage else "vtest.avi (the demo's walkway)"
        out += ["", f"## {stream_name}: {kind.describe()}, footage {shown}", "",
                f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f} at the start; "
                f"{fps:g} analysis/s per camera, {windows_per_camera} windows per camera; {seconds:g} s per run"]
        for mode in modes:
            hall = shipped if mode == "shipped" else None
            pool = make_pool(mode, crop_pass, hall)
            first = pool.analyzers[0]
            limit = physical_limit(stream, windows_per_camera, fps, first.presence,
                                   region=bench_region(folder, kind, windows_per_camera, first),
                                   stretch=first.presence_stretch)
            click.echo(limit.text, err=True)
            results: list[RunResult] = []
            held: dict[int, bool] = {}
            plan = list(cameras)
            detect_on = "auto" if mode == "shipped" else MODES[mode]["detect_on"]
            while plan:
                n = plan.pop(0)
                click.echo(f"bench [{stream_name}, {mode}]: {n} cameras x {windows_per_camera} windows for "
                           f"{seconds:g} s ...", err=True)
                r = run_once(stream, n, windows_per_camera, seconds, fps, folder, pool, detect_on=detect_on, hall=hall)
                results.append(r)
                held[n] = r.holds(fps)
                click.echo(format_runs([r], fps).splitlines()[-1], err=True)
                if sweep and not plan:
                    nxt = next_count(held)
                    if nxt is not None:
                        plan.append(nxt)
            results.sort(key=lambda r: r.cameras)
            what = f"the models and rules of {config_path.name}" if mode == "shipped" else str(MODES[mode])
            out += ["", f"### {mode}: {what}", "", format_runs(results, fps), "", limit.text]
            best = highest_held(held)
            held_per_core = best * windows_per_camera / cores
            share = 100 * held_per_core / limit.windows_per_core
            out += [f"held at the goal (>= 95 % of ticks analysed, alerts measured, p95 alert latency <= 2 s): "
                    f"{best or 'no'} cameras = {best * windows_per_camera} windows = **{held_per_core:.1f} windows "
                    f"per core**{' (highest count found by the sweep)' if sweep else ''}; physical limit "
                    f"{limit.windows_per_core:.1f} windows per core ({share:.0f} % of it); goal 20 windows per core"]
    return "\n".join(out).lstrip()


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


@dataclass
class PhysicalLimit:
    infer_ms: float            # the detector on one camera-frame, one thread (median)
    decode_ms: float           # CPU to decode what one analysed frame needs (keyframe, or the frames after one)
    frames_per_analysis: float
    windows_per_core: float
    text: str


def decode_cost(stream: Path, fps: float, limit_s: float = 12.0, every_frame: bool = False) -> tuple[float, float]:
    """CPU ms (one thread) to decode and convert what one analysed frame needs, as the reader does it:
    keyframes only when the GOP is no longer than the period, else from each keyframe to the last frame due
    before the next one (``every_frame``: every frame, as the reader did before 2026-12); and the frames
    decoded per analysed frame."""
    import av
    period = 1.0 / fps
    with av.open(str(stream)) as container:
        vs = container.streams.video[0]
        vs.codec_context.thread_count = 1
        rate = float(vs.average_rate or vs.guessed_rate or 25)
        keys, index = [], 0
        for packet in container.demux(vs):
            if packet.size:
                if packet.is_keyframe:
                    keys.append(index)
                index += 1
        gop = (keys[1] - keys[0]) / rate if len(keys) > 1 else period
    decoded = analysed = 0
    cpu = 0.0
    with av.open(str(stream)) as container:
        vs = container.streams.video[0]
        ctx = vs.codec_context
        ctx.thread_count = 1
        decoding, due, t_key, i = False, 0.0, 0.0, -1
        for packet in container.demux(vs):
            if not packet.size:
                continue
            i += 1
            t = i / rate
            if t > limit_s:
                break
            if packet.is_keyframe:
                decoding, due, t_key = True, t, t
            if not decoding:
                continue
            c0 = time.process_time()
            frames = ctx.decode(packet)
            if gop <= period + 0.25 and not every_frame:
                frames += ctx.decode(None)
                ctx.flush_buffers()
            take = t >= due - 0.5 / rate
            if take and frames:
                frames[-1].to_ndarray(format="bgr24")
            cpu += time.process_time() - c0
            decoded += len(frames)
            if take:
                analysed += 1
                due += period
                if not every_frame and (gop <= period + 0.25 or due >= t_key + gop - 0.25):
                    decoding = False
    return 1000 * cpu / max(1, analysed), decoded / max(1, analysed)


def detector_ms(stream: Path, detector, repeats: int = 20, region=None, stretch: float | None = None) -> float:
    """The detector's inference on the stream's keyframes (median, after three warm-up frames): on ``region``
    (x1, y1, x2, y2) of each at the presence pass's input (``stretch``: models.presence_max_stretch), else
    the whole frame."""
    import av

    from vision.perception.pipeline import Analyzer
    frames = []
    with av.open(str(stream)) as container:
        vs = container.streams.video[0]
        for packet in container.demux(vs):
            if packet.is_keyframe and packet.size:
                frames += [f.to_ndarray(format="bgr24") for f in packet.decode()]
                if len(frames) >= repeats:
                    break
    infer_ms = []
    for image in frames[:repeats]:
        Analyzer._detect(detector, image, region, 0.2, stretch=stretch)
        infer_ms.append(detector.timing["infer"])
    return statistics.median(infer_ms[3:] or infer_ms)


def bench_region(folder: Path, kind, windows_per_camera: int, analyzer) -> tuple[int, int, int, int] | None:
    """The rectangle the presence pass looks at on a bench camera's frame (its windows' zones, padded)."""
    from vision.runtime.watch import CameraWatch
    config = parse_config(bench_config(folder, ["rtsp://127.0.0.1:1/cam0"], windows_per_camera, 1.0, "auto"))
    return CameraWatch(config, "cam0", analyzer)._region(kind.width, kind.height)


def physical_limit(stream: Path, windows_per_camera: int, fps: float = 1.0, detector=None,
                   decode: tuple[float, float] | None = None, region=None,
                   stretch: float | None = None) -> PhysicalLimit:
    """What the arithmetic costs on this machine with the cheapest models at the bar (the hall's presence detector,
    once per camera-frame for all its windows) plus the decode one analysed frame needs (``decode``: as
    ``decode_cost`` gives it, if already measured). ``region``, ``stretch``: the presence pass's rectangle and
    its models.presence_max_stretch (``detector_ms``)."""
    if detector is None:
        from vision.config import ModelChoice
        from vision.perception.load import load_analyzer
        detector = load_analyzer(ModelChoice(threads=1), crop_pass=False).presence
    infer = detector_ms(stream, detector, region=region, stretch=stretch)
    decode_ms, per_analysis = decode or decode_cost(stream, fps)
    per_core = 1000.0 / (infer + decode_ms) / fps
    size = getattr(detector, "input_size", None)
    shown = f" at {size[0]} x {size[1]}" if size else ""
    text = (f"physical limit on this machine: {detector.spec.name} inference{shown} {infer:.1f} ms (1 thread, median) "
            f"+ decode {decode_ms:.1f} ms CPU ({per_analysis:.1f} frames) = {infer + decode_ms:.1f} ms per "
            f"camera-frame -> {per_core:.1f} cameras per core = {per_core * windows_per_camera:.1f} windows per core "
            f"at {windows_per_camera} windows per camera ({fps:g} analysis/s)")
    return PhysicalLimit(infer, decode_ms, per_analysis, per_core * windows_per_camera, text)
