"""The live benchmark's sweep finds the highest camera count that holds, not only powers of two."""

from __future__ import annotations

import pytest

from hallmonitor.stream_bench import highest_held, next_count


def sweep(start: int, capacity: int) -> tuple[list[int], int]:
    """Drive the sweep against a machine that holds up to ``capacity`` cameras."""
    held: dict[int, bool] = {}
    tried, n = [], start
    while n is not None:
        tried.append(n)
        held[n] = n <= capacity
        n = next_count(held)
    return tried, highest_held(held)


@pytest.mark.parametrize("start, capacity, tried, best", [
    (4, 5, [4, 8, 6, 5], 5),
    (4, 7, [4, 8, 6, 7], 7),
    (4, 13, [4, 8, 12, 16, 14, 13], 13),
    (4, 4, [4, 8, 6, 5], 4),
    (4, 2, [4, 2, 3], 2),
    (4, 0, [4, 2, 1], 0),
])
def test_the_sweep_bisects_to_the_highest_count(start, capacity, tried, best):
    assert sweep(start, capacity) == (tried, best)


def test_a_count_that_held_above_a_miss_is_noise_not_the_answer():
    assert highest_held({4: True, 6: False, 8: True}) == 4


def test_the_bench_cameras_can_show_a_halls_own_footage(tmp_path, monkeypatch):
    """`bench --footage FILE`: the stream kind is transcoded from that file, cached under its own name."""
    import shutil
    import subprocess

    import hallmonitor.stream_bench as sb
    from hallmonitor.demo import footage_path
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is missing: scripts/setup.sh installs it")
    clip = tmp_path / "my-hall.mp4"        # 3 s of real footage stands in for a hall's recording
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(footage_path()), "-t", "3", "-c:v", "libx264",
                    str(clip)], check=True)
    monkeypatch.setattr(sb, "ROOT", tmp_path)
    out = sb.stream_file("d1-h264-gop2", clip)
    assert out == tmp_path / ".cache" / "streams" / "my-hall-d1-h264-gop2.h264"
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                            "stream=width,height,nb_read_frames", "-of", "csv=p=0", str(out)],
                           check=True, capture_output=True, text=True).stdout.strip()
    width, height, frames = (int(v) for v in probe.split(","))
    assert (width, height) == (704, 576)
    assert frames >= 20 * 25             # looped to the bench's 20 s at the kind's 25 fps
