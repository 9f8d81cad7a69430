"""The cameras: list of the halls the live tests build on vtest.avi (tests/test_live_pipeline.py, the
node drill, live reload, the live view): per camera a window `<cam>-w` on a stretch of path people often
leave empty and a window `<cam>-busy` where people walk by."""

from __future__ import annotations


def vtest_cameras(cameras: dict[str, str], stall_s: float = 4.0, pre_s: float = 2, post_s: float = 3) -> str:
    """The YAML of ``cameras:``' items (camera id -> URL), to follow a ``cameras:`` line."""
    return "".join(f"""
  - id: {cid}
    url: {url}
    analysis_fps: 1
    stall_s: {stall_s}
    open_timeout_s: 3
    read_timeout_s: 2
    clip: {{pre_s: {pre_s}, post_s: {post_s}}}
    windows:
      - id: {cid}-w
        staff_zone: [[0.50, 0.15], [0.70, 0.15], [0.70, 0.35], [0.50, 0.35]]
        counter:    [[0.50, 0.35], [0.70, 0.35], [0.70, 0.42], [0.50, 0.42]]
      - id: {cid}-busy
        staff_zone: [[0.20, 0.24], [0.46, 0.24], [0.46, 0.56], [0.20, 0.56]]
        counter:    [[0.20, 0.56], [0.46, 0.56], [0.46, 0.64], [0.20, 0.64]]
""" for cid, url in cameras.items())
