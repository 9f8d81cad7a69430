"""Test a camera's address before saving it: open it with the real capture code (``CameraReader``,
the same options, timeouts and decoder a worker uses) and wait for the first analysed frame."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from vision.media.capture import CameraReader, mask_url


@dataclass
class ProbeResult:
    image: np.ndarray | None       # the first frame (BGR), or None
    error: str | None              # why there is none, with every password masked
    seconds: float                 # until the frame or the failure

    @property
    def ok(self) -> bool:
        return self.image is not None


def probe_camera(url: str, open_timeout_s: float = 5.0, wait_s: float = 8.0) -> ProbeResult:
    """The first frame from ``url`` within ``wait_s`` seconds, or the reader's reason it has none."""
    failure: list[str] = []
    failed = threading.Event()

    def offline(_camera_id: str, _ts: float, reason: str) -> None:
        failure.append(reason)
        failed.set()

    t0 = time.monotonic()
    reader = CameraReader("probe", url, analysis_fps=2.0, on_offline=offline, open_timeout_s=open_timeout_s,
                          read_timeout_s=min(open_timeout_s, 5.0), stall_s=wait_s, backoff_initial_s=wait_s)
    reader.start()
    try:
        deadline = t0 + wait_s
        while time.monotonic() < deadline and not failed.is_set():
            frame = reader.get_frame(timeout=0.2)
            if frame is not None:
                return ProbeResult(frame.image, None, time.monotonic() - t0)
    finally:
        reader.stop(timeout_s=open_timeout_s + 2.0)
    reason = failure[0] if failure else f"no picture within {wait_s:g} s from {mask_url(url)}"
    return ProbeResult(None, mask_url(reason), time.monotonic() - t0)
