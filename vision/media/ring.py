"""A memory-bounded ring of a camera's compressed video packets, for cutting event clips.

The capture thread appends every packet it demuxes; the clip cutter asks for the packets from
the keyframe at or before an event's pre-roll start (``since_keyframe_before``). Packets are
kept in GOPs (a keyframe and the packets up to the next one), so trimming never leaves the
ring starting in the middle of a GOP that cannot be decoded.

Records hold plain bytes and numbers, not PyAV objects: they outlive the input container
(the reader reconnects, closes and reopens it) and can be muxed from any thread.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

MAX_RING_S = 600.0      # the most video a camera's ring keeps: about 60 MB of a 720p sub-stream at 800 kbit/s


def seconds_for_clip(pre_s: float, dwell_s: float, post_s: float) -> float:
    """The video an event's clip needs kept: from ``pre_s`` before the dwell began to ``post_s`` after it
    fired, plus a little for the cutter's delay."""
    return pre_s + dwell_s + post_s + 5


@dataclass(frozen=True, slots=True)
class CodecInfo:
    """What a muxer needs to write a camera's packets to a file without the input stream.

    ``extradata`` is the decoder configuration as the demuxer gave it (Annex-B SPS/PPS for RTSP
    H.264); ``time_base`` is the unit of the packets' ``pts``/``dts``/``duration``.
    """

    codec: str
    width: int
    height: int
    time_base: Fraction
    fps: float
    extradata: bytes | None = None


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """One compressed video packet as received, with the wall-clock time it arrived.

    ``session`` counts the reader's connections: timestamps restart when a camera reconnects,
    so only packets of one session share a timeline.
    """

    data: bytes
    pts: int | None
    dts: int | None
    duration: int
    is_keyframe: bool
    wall: float
    codec: CodecInfo
    session: int = 0

    @property
    def time_base(self) -> Fraction:
        return self.codec.time_base


class _Gop:
    """A keyframe and the packets after it (or, at the very start, packets before any keyframe)."""

    __slots__ = ("packets", "nbytes")

    def __init__(self) -> None:
        self.packets: deque[PacketRecord] = deque()
        self.nbytes = 0

    @property
    def starts_with_keyframe(self) -> bool:
        return bool(self.packets) and self.packets[0].is_keyframe

    @property
    def first_wall(self) -> float:
        return self.packets[0].wall


class PacketRing:
    """Keeps at least ``keep_s`` seconds of packets, reaching back to the keyframe before that.

    Bounded by ``max_bytes``: when full, the oldest packets are dropped (``dropped`` counts them)
    even if that cuts into the ``keep_s`` window. ``evicted`` counts packets that simply aged out.
    Thread-safe: one writer (the capture thread) and any number of readers.

    Size ``keep_s`` for the clips you cut: at least ``pre_s + post_s`` plus the cutter's delay
    (the default 40 s suits 10 s + 20 s clips). A 720p15 camera needs ~6 MB for 40 s.
    """

    def __init__(self, keep_s: float = 40.0, max_bytes: int = 64 * 1024 * 1024):
        if keep_s <= 0:
            raise ValueError(f"PacketRing keep_s must be > 0 seconds, got {keep_s}")
        if max_bytes <= 0:
            raise ValueError(f"PacketRing max_bytes must be > 0, got {max_bytes}")
        self.keep_s = keep_s
        self.max_bytes = max_bytes
        self.dropped = 0
        self.evicted = 0
        self._gops: deque[_Gop] = deque()
        self._nbytes = 0
        self._count = 0
        self._lock = threading.Lock()

    def append(self, packet: PacketRecord) -> None:
        """Add the newest packet, then trim by age and by memory."""
        with self._lock:
            if packet.is_keyframe or not self._gops:
                self._gops.append(_Gop())
            gop = self._gops[-1]
            gop.packets.append(packet)
            gop.nbytes += len(packet.data)
            self._nbytes += len(packet.data)
            self._count += 1
            self._trim(packet.wall)

    def _trim(self, newest_wall: float) -> None:
        cutoff = newest_wall - self.keep_s
        # Drop a whole GOP only when the next one still starts at or before the cutoff.
        while len(self._gops) >= 2 and self._gops[1].first_wall <= cutoff:
            self.evicted += self._drop_gop()
        # A GOP with no keyframe at its head can never be decoded once a later keyframe exists.
        while len(self._gops) >= 2 and not self._gops[0].starts_with_keyframe:
            self.evicted += self._drop_gop()
        while self._nbytes > self.max_bytes:
            if len(self._gops) >= 2:
                self.dropped += self._drop_gop()
            else:  # one huge GOP (a camera that never sends keyframes): drop packet by packet
                gop = self._gops[0]
                old = gop.packets.popleft()
                gop.nbytes -= len(old.data)
                self._nbytes -= len(old.data)
                self._count -= 1
                self.dropped += 1
                if not gop.packets:
                    self._gops.popleft()

    def _drop_gop(self) -> int:
        gop = self._gops.popleft()
        self._nbytes -= gop.nbytes
        self._count -= len(gop.packets)
        return len(gop.packets)

    def since_keyframe_before(self, t_wall: float) -> list[PacketRecord]:
        """All packets from the last keyframe that arrived at or before ``t_wall`` to the newest.

        When ``t_wall`` is older than the ring's first keyframe, starts at the first keyframe it
        has (the clip will then start later than asked). Empty when the ring holds no keyframe.
        """
        with self._lock:
            start = None
            for i, gop in enumerate(self._gops):
                if not gop.starts_with_keyframe:
                    continue
                if start is None or gop.first_wall <= t_wall:
                    start = i
                if gop.first_wall > t_wall:
                    break
            if start is None:
                return []
            out: list[PacketRecord] = []
            for i in range(start, len(self._gops)):
                out.extend(self._gops[i].packets)
            return out

    @property
    def newest_wall(self) -> float | None:
        """Arrival time of the newest packet, or None when empty."""
        with self._lock:
            return self._gops[-1].packets[-1].wall if self._gops and self._gops[-1].packets else None

    @property
    def oldest_wall(self) -> float | None:
        """Arrival time of the oldest packet, or None when empty."""
        with self._lock:
            return self._gops[0].packets[0].wall if self._gops and self._gops[0].packets else None

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._nbytes

    def __len__(self) -> int:
        with self._lock:
            return self._count
