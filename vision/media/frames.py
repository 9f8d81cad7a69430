"""What a camera reader hands on: decoded frames, the reader's counters, and the bounded queue that
drops the oldest frame when analysis falls behind (and counts it)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One analysed frame: BGR pixels, the wall-clock time its packet arrived, its running index."""

    camera_id: str
    ts: float
    index: int
    image: np.ndarray
    keyframe: bool


@dataclass(frozen=True)
class CaptureStats:
    """A snapshot of a reader's health and cost.

    ``fps`` is analysed frames per second over the last 10 s; ``decoded`` counts every frame the
    decoder produced (analysed or not); ``drops`` counts frames dropped from the full queue;
    ``decode_ms`` is a moving average of the wall time of one decode (plus BGR conversion).
    """

    camera_id: str
    connected: bool
    mode: str
    frames_analysed: int
    fps: float
    last_frame_age_s: float | None
    last_packet_age_s: float | None
    keyframe_interval_s: float | None
    packets: int
    decoded: int
    drops: int
    decode_errors: int
    reconnects: int
    decode_ms: float


class FrameQueue:
    """A bounded frame queue that drops the oldest frame when full and counts every drop."""

    def __init__(self, maxsize: int = 2):
        if not 1 <= maxsize <= 16:
            raise ValueError(f"FrameQueue maxsize must be 1..16 frames, got {maxsize}")
        self._frames: deque[Frame] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self._closed = False
        self.drops = 0

    def put(self, frame: Frame) -> None:
        """Add a frame without ever blocking; the oldest queued frame is dropped if full."""
        with self._cond:
            if len(self._frames) >= self._maxsize:
                self._frames.popleft()
                self.drops += 1
            self._frames.append(frame)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest queued frame, waiting up to ``timeout`` s; None on timeout or once closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._frames or self._closed, timeout):
                return None
            return self._frames.popleft() if self._frames else None

    def close(self) -> None:
        """Wake every waiting ``get`` (they return None once the queue is empty)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)
