"""What each kind of camera stream costs to decode for analysis, and the physical limit it leaves.

    python bench/stream_cost.py [--fps 1] [--stream NAME ...]

Per stream kind of ``hallmonitor.stream_bench.STREAMS`` (720p15 H.264 with a 1 s GOP, 25 fps with 1 s and
2 s GOPs in H.264 and H.265, a 1080p H.265 main stream, a D1 H.264 sub-stream): CPU ms of one thread to
decode and convert what one analysed frame needs, as the reader does it (keyframes only when the GOP is
no longer than the analysis period, else from each keyframe to the last frame due before the next one)
and as it did before (every frame), and the physical limit with the float and the int8 NanoDet
(inference once per camera-frame + that decode). CPU time, so that the figures hold on a loaded machine.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from hallmonitor.stream_bench import STREAMS, decode_cost, physical_limit, stream_file
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fps", type=float, default=1.0, help="analyses per second per camera")
    ap.add_argument("--stream", action="append", choices=sorted(STREAMS), help="default: all")
    ap.add_argument("--windows-per-camera", type=int, default=2)
    args = ap.parse_args()
    detectors = {name: load_analyzer(ModelChoice(threads=1, detector=name), crop_pass=False).detector
                 for name in ("nanodet", "nanodet-int8")}
    print(f"load average at the start: {os.getloadavg()[0]:.1f}; {args.fps:g} analysis/s, "
          f"{args.windows_per_camera} windows per camera", file=sys.stderr)
    head = ["stream", "frames decoded per analysis", "decode ms CPU per analysis", "every frame: frames",
            "every frame: ms CPU"] + [f"limit, {d}: windows per core" for d in detectors]
    rows = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name in args.stream or list(STREAMS):
        path = stream_file(name)
        ms, frames = decode_cost(path, args.fps)
        all_ms, all_frames = decode_cost(path, args.fps, every_frame=True)
        limits = [physical_limit(path, args.windows_per_camera, args.fps, det, decode=(ms, frames))
                  for det in detectors.values()]
        cells = [f"{name} ({STREAMS[name].describe()})", f"{frames:.1f}", f"{ms:.1f}", f"{all_frames:.1f}",
                 f"{all_ms:.1f}"] + [f"{lim.windows_per_core:.1f} ({lim.infer_ms:.0f} ms + {lim.decode_ms:.0f} ms)"
                                      for lim in limits]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], file=sys.stderr, flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
