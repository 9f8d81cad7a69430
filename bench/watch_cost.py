"""CPU per camera-frame of the whole watch (models, observe, rules) on real footage, no RTSP.

The live benchmark (`hallmonitor bench --cameras N`) measures throughput, which on a machine
shared with other jobs says more about the other jobs than about the code. This measures the
process CPU time each `CameraWatch.step` takes on the same footage (vtest.avi at 720p, one frame a
second, the live benchmark's camera with 2 windows and the shipped models and rules), so two
versions of the code can be compared by a ratio:

    python bench/watch_cost.py --seconds 60
    python bench/watch_cost.py --seconds 60 --still     # the same frame over and over
    python bench/watch_cost.py --seconds 60 --hand-off  # as the live worker: heavy looks to the hall's queue
    python bench/watch_cost.py --seconds 60 --presence auto  # the int8 twin on the presence pass
    python bench/watch_cost.py --seconds 60 --stretch none   # the presence pass stretched to the square
    python bench/watch_cost.py --seconds 60 --footage /work/data/office-staff.mp4   # a hall's own recording

The models, thresholds and rules are the shipped cameras.yaml's (``--config`` for another file), as in
the live benchmark; ``--presence`` overrides its ``models.presence_detector``, ``--stretch`` its
``models.presence_max_stretch``. ``--footage``: another video in place of the walkway (one frame a second,
at 720p as the bench's cameras).

With ``--hand-off`` the crop pass, face stage and counter zoom go to a ``HeavyLooks`` queue on a second
session (vision/runtime/heavy_looks.py), as in the live worker; the frame's own CPU is then the camera
thread's (``time.thread_time``), the heavy looks' the rest of the process's. Each frame waits for the
last heavy look to come back before it is stepped (a camera's next frame comes a second later).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# --checkout DIR measures another checkout's code (e.g. main) with this script's counting
if "--checkout" in sys.argv:
    ROOT = Path(sys.argv[sys.argv.index("--checkout") + 1]).resolve()
sys.path.insert(0, str(ROOT))

# the Analyzer methods whose MoveNet calls are the confirmation's (weak and doubtful persons)
CONFIRMING = ("_checked", "_a_new_weak_person")


def count_poses(pose) -> dict[str, int]:
    """Count ``pose.estimate`` calls, as the confirmation's or the pose stage's (by the calling method)."""
    counts = {"confirm": 0, "pose": 0}
    estimate = pose.estimate

    def counted(image, box):
        counts["confirm" if sys._getframe(1).f_code.co_name in CONFIRMING else "pose"] += 1
        return estimate(image, box)

    pose.estimate = counted
    return counts


def frames(seconds: int, footage: Path | None = None):
    import cv2
    cap = cv2.VideoCapture(str(footage or ROOT / ".cache" / "media" / "opencv" / "vtest.avi"))
    if not cap.isOpened():
        raise SystemExit(f"cannot read {footage}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    out, i = [], 0
    while len(out) < seconds:
        ok, img = cap.read()
        if not ok:                                   # loop the clip, as the bench's camera does
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        if i % round(fps) == 0:
            out.append(cv2.resize(img, (1280, 720)))
        i += 1
    return out


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60, help="seconds of footage, one frame a second")
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--still", action="store_true", help="one frame over and over: a window where nothing changes")
    ap.add_argument("--hand-off", action="store_true", help="heavy looks to the hall's queue, as the live worker")
    ap.add_argument("--presence", default=None, help="models.presence_detector: auto (the detector's int8 "
                    "twin), none (the detector), or a detect model's name; default: the config's (shipped: none)")
    ap.add_argument("--stretch", default=None, help="models.presence_max_stretch: e.g. 1, 1.5, 2, or none (the "
                    "square); default: the config's")
    ap.add_argument("--footage", type=Path, default=None, help="a video to play in place of vtest.avi")
    ap.add_argument("--events", action="store_true", help="list each event: frame, window, type, phase")
    ap.add_argument("--config", type=Path, default=None, help="the cameras.yaml whose models, thresholds and "
                    "rules to measure (default: the shipped one)")
    ap.add_argument("--checkout", type=Path, default=None, help="the checkout whose code to measure (default: this "
                    "one), e.g. /work/main, with this script's pose counts")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a threshold for every window, "
                    "e.g. unsure_beside_staff_wait=false")
    args = ap.parse_args()
    from hallmonitor.stream_bench import SHIPPED, bench_config, shipped_hall
    from vision.config import parse_config
    from vision.perception.load import load_analyzer
    from vision.runtime.watch import CameraWatch

    folder = Path(tempfile.mkdtemp(prefix="watch-cost-"))
    hall = shipped_hall(args.config or SHIPPED)
    raw = bench_config(folder, ["rtsp://127.0.0.1:1/cam0"], args.windows, 1.0, "auto", hall)
    for item in args.set:
        key, _, value = item.partition("=")
        raw.setdefault("defaults", {}).setdefault("thresholds", {})[key] = yaml.safe_load(value)
    config = parse_config(raw)
    update: dict = {"threads": 1}
    if args.presence is not None:
        update["presence_detector"] = None if args.presence.lower() in ("none", "null") else args.presence
    if args.stretch is not None:
        update["presence_max_stretch"] = None if args.stretch.lower() in ("none", "null") else float(args.stretch)
    choice = config.models.model_copy(update=update)
    rss0 = rss_mb()
    analyzer = load_analyzer(choice)
    rss1 = rss_mb()
    images = frames(args.seconds, args.footage)
    if args.still:
        images = [images[0]] * len(images)
    watch = CameraWatch(config, "cam0", analyzer)
    for k, img in enumerate(images[:3]):             # warm-up
        watch.step(img, 1000.0 + k)
    watch = CameraWatch(config, "cam0", analyzer)
    heavy = None
    if args.hand_off:
        from vision.perception.pipeline import AnalyzerPool
        from vision.runtime.heavy_looks import HeavyLooks
        heavy = HeavyLooks(AnalyzerPool([load_analyzer(choice)])).start()
        watch.heavy = heavy
    poses = count_poses(analyzer.pose) if analyzer.pose is not None else {"confirm": 0, "pose": 0}
    cpu, stages, events = [], {}, 0
    counts: dict[str, list[int]] = {}         # window id -> its staff count on each frame
    p0 = time.process_time()
    for k, img in enumerate(images):
        c0 = time.thread_time()
        step = watch.step(img, 2000.0 + k)
        cpu.append((time.thread_time() - c0) * 1000)
        events += len(step.events)
        for obs in step.observations:
            counts.setdefault(obs.window_id, []).append(obs.staff_count)
        if args.events:
            for e in step.events:
                print(f"  frame {k}: {e.window_id} {e.type} {e.phase}")
        for stage, ms in step.timing_ms.items():
            stages[stage] = stages.get(stage, 0.0) + ms
        while watch._heavy_out and not watch._heavy_inbox:      # the look is still out: a second passes
            time.sleep(0.005)
    total = (time.process_time() - p0) * 1000 / len(images)
    if heavy is not None:
        heavy.stop()
    mean = statistics.fmean(cpu)
    print(f"{len(images)} frames, {args.windows} windows{', heavy looks handed off' if heavy else ''}: "
          f"the frame's own CPU median {statistics.median(cpu):.1f} ms, mean {mean:.1f} ms, "
          f"p95 {sorted(cpu)[int(0.95 * (len(cpu) - 1))]:.1f} ms, max {max(cpu):.1f} ms; all CPU per camera-frame "
          f"{total:.1f} ms = {total / args.windows:.1f} ms per window per second; {events} events")
    print(f"presence pass: {analyzer.presence.spec.name} (max stretch {analyzer.presence_stretch}), "
          f"crop pass and zooms: {analyzer.detector.spec.name}; "
          f"RSS {rss0:.0f} MB before the models, {rss1:.0f} MB after one Analyzer, {rss_mb():.0f} MB at the end")
    if args.events:
        for wid, seen in counts.items():
            print(f"staff count of {wid}: {' '.join(map(str, seen))}")
    print(f"MoveNet calls: confirmation {poses['confirm']}, pose stage {poses['pose']} in {len(images)} frames; "
          f"code: {ROOT}")
    print("wall ms per frame by stage: " + ", ".join(f"{s} {v / len(images):.1f}" for s, v in stages.items()))


if __name__ == "__main__":
    main()
