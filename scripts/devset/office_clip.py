"""A clip of seated office staff for `hallmonitor bench --footage`: the 192 frames of chai991014/Staff_Identification.

The bench's own footage (vtest.avi) is a walkway: people cross every zone all the time, so motion gating never
saves anything there. A hall's windows look more like an office: staff seated at desks, moving a little. This
script writes the overhead office CCTV frames of the dev set's `staff-id-*` sources (960x720, one video, consecutive
frames of `training/raw_data_labeled/images`) as a video at one frame a second. Licence: none stated, so it is
used to measure only and is never committed (docs/devset.md).

    python scripts/devset/office_clip.py --mirror /work/.mirror --out /work/data/office-staff.mp4
    hallmonitor bench --cameras 4 --sweep --seconds 15 --footage /work/data/office-staff.mp4
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = "chai991014/Staff_Identification"
COMMIT = "0582735ebbea88dd2734960a470f44decaebb587"
FRAMES = "training/raw_data_labeled/images/"


def git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, required=True, help="where the fetch tool put the snapshots")
    ap.add_argument("--out", type=Path, required=True, help="the .mp4 to write")
    ap.add_argument("--fps", type=float, default=1.0, help="frames a second of the clip (the source's rate is unknown)")
    args = ap.parse_args()
    git_dir = args.mirror / REPO.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        sys.exit(f"{git_dir}: no snapshot of {REPO}; bring it with the fetch tool (github:{REPO})")
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg not found; install it with: apt-get install -y ffmpeg")
    names = sorted(n for n in git(git_dir, "ls-tree", "-r", "--name-only", COMMIT).decode().splitlines()
                   if n.startswith(FRAMES) and n.endswith(".jpg"))
    if not names:
        sys.exit(f"{REPO}@{COMMIT[:8]}: no frames under {FRAMES}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(names):
            (Path(tmp) / f"{i:05d}.jpg").write_bytes(git(git_dir, "show", f"{COMMIT}:{name}"))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-framerate", f"{args.fps:g}", "-i", f"{tmp}/%05d.jpg",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-r", f"{args.fps:g}", str(args.out)], check=True)
    print(f"{args.out}: {len(names)} frames at {args.fps:g} fps from {REPO}@{COMMIT[:8]}")


if __name__ == "__main__":
    main()
