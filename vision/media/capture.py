"""Read one camera: demux every packet into the clip ring, decode only what analysis needs.

``CameraReader`` runs in its own thread. It opens the camera's RTSP url over TCP with PyAV (or
a local video file, looped and paced at real time, for tests and demos), stores every
compressed packet in a ``PacketRing`` and decodes frames at ``analysis_fps``:

- ``keyframes`` mode, when the camera's keyframe interval is at most
  ``1/analysis_fps + keyframe_slack_s``: only keyframe packets reach the decoder (and only when
  a frame is due), so the camera costs about a demux plus one decode per analysed frame.
- ``sampled`` mode otherwise (and during the first GOP, until the interval is known): from each
  keyframe on, packets are decoded (a P-frame needs the ones before it) and one frame per analysis
  period is converted and delivered, up to the last frame due before the next keyframe; the rest of
  the GOP is not decoded (a 2 s GOP at 1 analysis/s: the keyframe and the 1 s after it, half the GOP).

Frames go to a bounded queue that drops the OLDEST frame when full and counts the drop, so a
slow consumer never stalls the demuxer. With ``on_frame`` a small delivery thread calls it.

If no packet arrives for ``stall_s`` (or the stream ends, or reading fails), the reader closes
the input, fires ``on_offline(camera_id, ts, reason)`` once and reconnects with capped
exponential backoff; ``on_online(camera_id, ts)`` fires when a connection opens again. Both
callbacks run on the reader thread: keep them short. A corrupt packet is logged and skipped.

Clips are muxed from the ring's plain-bytes records plus a ``CodecInfo`` captured at open, never
from the live input stream: the reader may close or reopen its container at any time, and
PyAV 18 crashes when a muxer uses a stream whose container was closed.

Over 400 lines because ``CameraReader`` is one thread's loop (open, demux, pick frames, decode,
reconnect) whose states share the open container; the frame types and queue are in ``frames.py``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vision.media.frames import CaptureStats, Frame, FrameQueue
from vision.media.ring import CodecInfo, PacketRecord, PacketRing

log = logging.getLogger(__name__)

FPS_WINDOW_S = 10.0
DECODE_MODES = ("auto", "keyframes", "sampled")
# Demuxers that hand out length-prefixed (MP4-style) packets are converted to Annex-B for the ring.
_TO_ANNEXB = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}


_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|pass|secret|token|access_token|api_?key|key|auth|sig|signature)=)[^&#\s]*")


def mask_url(url: str) -> str:
    """``url`` with every password replaced by ``***`` (safe for logs, events, API answers, webhooks).

    Covers ``user:password@host`` even when the password holds ``/``, ``@`` or ``:`` (cameras'
    URLs are often typed raw, unescaped: the credentials end at the last ``@`` of the authority),
    and secrets in the query string (``?user=admin&password=...``, ``token=``, ``key=``...).
    Errs on the side of masking: text it cannot parse loses what looks like a password."""
    def authority(m: re.Match) -> str:
        scheme, rest = m.group(1), m.group(2)
        at = rest.rfind("@")
        if at < 0:
            return scheme + rest
        userinfo, host = rest[:at], rest[at:]
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        elif "/" in userinfo:             # something@ after a path: not credentials we can tell apart
            userinfo = "***"
        return scheme + userinfo + host
    # the authority: from :// to the last @ before the query (a raw password may hold / and @)
    masked = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)([^?#\s]*@)?", lambda m: authority(m) if m.group(2) else m.group(0),
                    url)
    return _SECRET_QUERY.sub(r"\1***", masked)


def _describe(exc: BaseException) -> str:
    """An exception as a short message without credentials (FFmpeg's errors repeat the full url)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return mask_url(str(text))


class _Timeline:
    """Makes a session's timestamps usable for clips.

    Fills in missing pts/dts (RTSP's first packet, raw ``.h264`` files have none) from the last
    dts plus duration, and after a looped file restarts, shifts the new pass to continue where
    the previous one ended, so timestamps never go backwards within a session.
    """

    def __init__(self) -> None:
        self._offset = 0
        self._next: int | None = None
        self._rebase = False

    def restart(self) -> None:
        """The source starts over (a looped file): continue the timeline after the last packet."""
        self._rebase = True

    def stamp(self, pts: int | None, dts: int | None, duration: int) -> tuple[int, int]:
        if dts is None:
            dts = pts
        if dts is None:
            dts = pts = self._next if self._next is not None else 0
            self._rebase = False
            self._next = dts + duration
            return pts, dts
        if self._rebase:
            self._offset = (self._next or 0) - dts
            self._rebase = False
        pts = (pts if pts is not None else dts) + self._offset
        dts += self._offset
        self._next = dts + duration
        return pts, dts


class _StreamEnded(Exception):
    """The input reached its end (a file's EOF, or a server that closed the stream)."""


class CameraReader:
    """Reads one camera in a thread: packets into ``ring``, analysed frames to ``on_frame``/``get_frame``.

    ``url`` is an ``rtsp://`` (or ``rtsps://``, ``http://``) url, or a local video file that is
    looped and paced at its own frame rate like a live camera. See the module docstring for the
    decode modes and the offline/online behaviour.
    """

    def __init__(
        self,
        camera_id: str,
        url: str,
        *,
        analysis_fps: float = 1.0,
        ring: PacketRing | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        on_offline: Callable[[str, float, str], None] | None = None,
        on_online: Callable[[str, float], None] | None = None,
        queue_size: int = 2,
        open_timeout_s: float = 5.0,
        read_timeout_s: float | None = None,
        stall_s: float = 10.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        keyframe_slack_s: float = 0.25,
        decode: str = "auto",
        probe_s: float = 0.5,
    ):
        if analysis_fps <= 0:
            raise ValueError(f"camera {camera_id!r}: analysis_fps must be > 0, got {analysis_fps}")
        if decode not in DECODE_MODES:
            raise ValueError(f"camera {camera_id!r}: decode must be one of {', '.join(DECODE_MODES)}, got {decode!r}")
        self.camera_id = camera_id
        self.url = url
        self.safe_url = mask_url(url)
        self.is_file = "://" not in url
        self.analysis_fps = analysis_fps
        self.ring = ring if ring is not None else PacketRing()
        self.queue = FrameQueue(queue_size)
        self.on_frame = on_frame
        self.on_offline = on_offline
        self.on_online = on_online
        self.open_timeout_s = open_timeout_s
        # A blocked read must give up before the stall watchdog would: half of stall_s, at most 5 s.
        self.read_timeout_s = read_timeout_s if read_timeout_s is not None else min(5.0, stall_s / 2)
        self.stall_s = stall_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.keyframe_slack_s = keyframe_slack_s
        self.decode = decode
        self.probe_s = probe_s

        self.codec_info: CodecInfo | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._delivery: threading.Thread | None = None
        self._lock = threading.Lock()
        self._online: bool | None = None
        self._session = 0
        self._mode = "sampled"
        self._key_interval_s: float | None = None
        self._last_packet_wall: float | None = None
        self._last_frame_wall: float | None = None
        self._analysed_ts: deque[float] = deque()
        self._online_since: float | None = None
        self._decode_ms = 0.0
        self._last_error_log = 0.0
        self.frames_analysed = 0
        self.packets = 0
        self.decoded = 0
        self.decode_errors = 0
        self.reconnects = 0

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> CameraReader:
        """Start the reader thread (and the delivery thread when ``on_frame`` is set)."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.camera_id}", daemon=True)
        self._thread.start()
        if self.on_frame is not None:
            self._delivery = threading.Thread(target=self._deliver, name=f"frames-{self.camera_id}", daemon=True)
            self._delivery.start()
        return self

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop reading and wait for the threads (a read blocked on a frozen camera ends within its timeout)."""
        self._stop.set()
        self.queue.close()
        wait = timeout_s if timeout_s is not None else self.open_timeout_s + self.read_timeout_s + 2.0
        for thread in (self._thread, self._delivery):
            if thread is not None:
                thread.join(wait)
                if thread.is_alive():
                    log.warning("camera %s: thread %s did not stop within %.1f s", self.camera_id, thread.name, wait)

    @property
    def alive(self) -> bool:
        """True while the reader thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def connected(self) -> bool:
        """True while a connection is open and packets flow."""
        return bool(self._online)

    def get_frame(self, timeout: float | None = None) -> Frame | None:
        """The next analysed frame, or None after ``timeout`` s (only without ``on_frame``)."""
        return self.queue.get(timeout)

    def stats(self) -> CaptureStats:
        now = time.time()
        with self._lock:
            while self._analysed_ts and self._analysed_ts[0] < now - FPS_WINDOW_S:
                self._analysed_ts.popleft()
            span = min(FPS_WINDOW_S, now - self._online_since) if self._online_since else 0.0
            fps = len(self._analysed_ts) / span if span > 0.5 else 0.0
            return CaptureStats(
                camera_id=self.camera_id,
                connected=self.connected,
                mode=self._mode,
                frames_analysed=self.frames_analysed,
                fps=fps,
                last_frame_age_s=now - self._last_frame_wall if self._last_frame_wall else None,
                last_packet_age_s=now - self._last_packet_wall if self._last_packet_wall else None,
                keyframe_interval_s=self._key_interval_s,
                packets=self.packets,
                decoded=self.decoded,
                drops=self.queue.drops,
                decode_errors=self.decode_errors,
                reconnects=self.reconnects,
                decode_ms=self._decode_ms,
            )

    # ---- state changes ---------------------------------------------------------------------------

    def _set_online(self) -> None:
        if self._online is True:
            return
        self._online = True
        with self._lock:
            self._online_since = time.time()
        log.info("camera %s: online (%s)", self.camera_id, self.safe_url)
        self._callback(self.on_online, self.camera_id, time.time())

    def _set_offline(self, reason: str) -> None:
        if self._online is False:
            log.debug("camera %s: still offline: %s", self.camera_id, reason)
            return
        self._online = False
        log.warning("camera %s: offline: %s", self.camera_id, reason)
        self._callback(self.on_offline, self.camera_id, time.time(), reason)

    def _callback(self, fn: Callable[..., None] | None, *args: object) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            log.exception("camera %s: callback %r failed", self.camera_id, fn)

    def _deliver(self) -> None:
        while not self._stop.is_set():
            frame = self.queue.get(timeout=0.5)
            if frame is not None:
                self._callback(self.on_frame, frame)

    # ---- the reader loop -------------------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                container = self._open()
            except Exception as exc:  # noqa: BLE001 - any open failure means "camera unreachable"
                self._set_offline(f"cannot open {self.safe_url}: {_describe(exc)}")
                self._backoff(attempt)
                attempt += 1
                continue
            self._session += 1
            try:
                reason, got_packets = self._read_session(container, _Timeline())
            except Exception as exc:  # noqa: BLE001 - a bug here must not end the camera's thread
                log.exception("camera %s: reader failed", self.camera_id)
                reason, got_packets = f"reader failed: {_describe(exc)}", False
            if got_packets:
                attempt = 0
            if self._stop.is_set():
                break
            self._set_offline(reason)
            self.reconnects += 1
            self._backoff(attempt)
            attempt += 1

    def _backoff(self, attempt: int) -> None:
        delay = min(self.backoff_initial_s * (2 ** min(attempt, 16)), self.backoff_max_s)
        log.debug("camera %s: retrying in %.1f s", self.camera_id, delay)
        self._stop.wait(delay)

    def _open(self) -> av.container.InputContainer:
        if self.is_file:
            if not Path(self.url).is_file():
                raise FileNotFoundError(f"no such file: {self.url}")
            return av.open(self.url, timeout=(self.open_timeout_s, self.read_timeout_s))
        # A short probe: opens in ~0.6 s instead of ~2 s, and the packets buffered while probing
        # (they all get the same arrival time) span 0.5 s instead of 2 s.
        options = {"analyzeduration": str(int(self.probe_s * 1_000_000))}
        if self.url.startswith(("rtsp://", "rtsps://")):
            options["rtsp_transport"] = "tcp"
        return av.open(self.url, options=options, timeout=(self.open_timeout_s, self.read_timeout_s))

    def _read_session(self, container: av.container.InputContainer, timeline: _Timeline) -> tuple[str, bool]:
        """Read one connection (for files: every loop of the file) until it ends; return (reason, got packets)."""
        got_packets = False
        current: av.container.InputContainer | None = container
        try:
            while current is not None:
                try:
                    got = self._read_pass(current, timeline)
                except _StreamEnded as end:
                    return str(end), got_packets
                got_packets = got_packets or got
                if not self.is_file or not got:
                    return ("the camera closed the stream" if got else "no video packets in the stream"), got_packets
                # A file: start it over, continuing the same timeline.
                current.close()
                current = None
                if self._stop.is_set():
                    return "stopped", got_packets
                current = self._open()
                timeline.restart()
            return "stopped", got_packets
        except Exception as exc:  # noqa: BLE001 - any read failure ends the session; we reconnect
            return f"reading {self.safe_url} failed: {_describe(exc)}", got_packets
        finally:
            if current is not None:
                current.close()

    def _read_pass(self, container: av.container.InputContainer, timeline: _Timeline) -> bool:
        """Demux ``container`` to its end. Returns True if it held at least one video packet."""
        if not container.streams.video:
            raise _StreamEnded(f"{self.safe_url} has no video stream")
        self._set_online()  # opened, with a video stream: the camera counts as online
        stream = container.streams.video[0]
        ctx = stream.codec_context
        ctx.thread_count = 1  # no frame-threading delay: a frame comes out for the packet that went in
        fps = float(stream.average_rate or stream.guessed_rate or 15)
        tb = stream.time_base or Fraction(1, 90000)
        default_duration = max(1, round(1 / (fps * tb)))
        info = CodecInfo(codec=ctx.name, width=ctx.width, height=ctx.height, time_base=tb, fps=fps,
                         extradata=bytes(ctx.extradata) if ctx.extradata else None)
        self.codec_info = info
        bsf = None
        if info.extradata and info.extradata[:1] == b"\x01" and ctx.name in _TO_ANNEXB:
            bsf = av.BitStreamFilterContext(_TO_ANNEXB[ctx.name], stream)

        period = 1.0 / self.analysis_fps
        pass_start_wall = time.time()
        first_dts_s: float | None = None
        last_key_s: float | None = None
        waiting_for_keyframe = True
        decoding_gop = False
        last_emit_s: float | None = None       # stream time of the last frame delivered
        anchored = False
        gop_due_s = 0.0
        next_due = 0.0
        got = False
        self._last_packet_wall = time.time()

        for packet in container.demux():
            now = time.time()
            if self._stop.is_set():
                raise _StreamEnded("stopped")
            if now - self._last_packet_wall > self.stall_s:
                raise _StreamEnded(f"stalled: no video packet for {now - self._last_packet_wall:.1f} s")
            if packet.stream.index != stream.index or packet.size == 0:
                continue
            got = True
            duration = packet.duration or default_duration
            pts, dts = timeline.stamp(packet.pts, packet.dts, duration)
            if self.is_file:  # pace a file like a live camera
                t_s = float(dts * tb)
                first_dts_s = t_s if first_dts_s is None else first_dts_s
                delay = pass_start_wall + (t_s - first_dts_s) - time.time()
                if delay > 0 and self._stop.wait(delay):
                    raise _StreamEnded("stopped")
                now = time.time()
            self._last_packet_wall = now
            self.packets += 1
            key = bool(packet.is_keyframe)
            if waiting_for_keyframe and not key:
                continue  # nothing before a session's first keyframe can be decoded or clipped
            waiting_for_keyframe = False

            data = bytes(packet)
            if bsf is not None:  # the filter takes the packet it is given: give it a copy, decode the original
                data = b"".join(bytes(p) for p in bsf.filter(av.Packet(data)))
            self.ring.append(PacketRecord(data=data, pts=pts, dts=dts, duration=duration, is_keyframe=key,
                                          wall=now, codec=info, session=self._session))

            t_s = float(pts * tb)
            if key:
                t_key = t_s
                if last_key_s is not None and t_key > last_key_s:
                    self._key_interval_s = t_key - last_key_s
                last_key_s = t_key
                self._mode = self._choose_mode()
                decoding_gop = self._mode == "sampled"
                # a GOP longer than the period, of known length: the frames due are the keyframe and one
                # per period after it, in the stream's own time (a burst of packets does not shift them),
                # and nothing of the GOP after the last of them is decoded
                anchored = decoding_gop and self._key_interval_s is not None
                if anchored:     # the keyframe, unless the last frame was just before it: then a period after it
                    gop_due_s = t_key if last_emit_s is None or t_key - last_emit_s >= period / 2 else t_key + period
            if anchored:
                due = t_s >= gop_due_s - 0.5 / fps
            else:
                due = now >= next_due
            if self._mode == "keyframes":
                # Decode a keyframe when the next analysis is due within half a keyframe interval.
                half_gop = (self._key_interval_s or 0.0) / 2
                if not (key and now >= next_due - half_gop):
                    continue
            elif not decoding_gop:
                continue
            decoded = self._decode(ctx, packet, convert=due or self._mode == "keyframes")
            if decoded is None:
                continue
            image, key = decoded
            # Keep the cadence (no drift), but never owe a burst of frames after a gap.
            next_due = next_due + period if next_due and next_due + period > now else now + period
            self._emit(image, now, key)
            last_emit_s = t_s
            if anchored and last_key_s is not None and self._key_interval_s:
                gop_due_s += period
                if gop_due_s >= last_key_s + self._key_interval_s - self.keyframe_slack_s:
                    decoding_gop = False      # the next frame due is the next keyframe (or about)
        return got

    def _choose_mode(self) -> str:
        if self.decode != "auto":
            return self.decode
        if self._key_interval_s is None:
            return "sampled"  # first GOP: the keyframe interval is not known yet
        return "keyframes" if self._key_interval_s <= 1.0 / self.analysis_fps + self.keyframe_slack_s else "sampled"

    def _decode(self, ctx: av.video.codeccontext.VideoCodecContext, packet: av.Packet,
                convert: bool) -> tuple[np.ndarray, bool] | None:
        """Decode ``packet``; if ``convert`` and a frame came out, return (BGR image, is keyframe).

        A corrupt packet is counted, logged (at most every 10 s) and skipped.
        """
        started = time.perf_counter()
        try:
            if self._mode == "keyframes":
                # A decoder with reorder delay (B-frames) holds frames back: drain it, so the frame
                # that comes out is this keyframe and not one left over from an earlier packet.
                try:
                    frames = ctx.decode(packet)
                    frames += ctx.decode(None)
                finally:
                    ctx.flush_buffers()  # leave draining mode even after an error
                frames = [f for f in frames if f.pts == packet.pts] or frames[-1:]
            else:
                frames = ctx.decode(packet)
            result = None
            if frames and convert:
                result = frames[-1].to_ndarray(format="bgr24"), bool(frames[-1].key_frame)
        except (av.error.FFmpegError, ValueError) as exc:
            self.decode_errors += 1
            if time.time() - self._last_error_log > 10.0:
                self._last_error_log = time.time()
                log.warning("camera %s: skipped a corrupt packet (%s); %d so far", self.camera_id, exc,
                            self.decode_errors)
            return None
        self.decoded += len(frames)
        ms = (time.perf_counter() - started) * 1000
        self._decode_ms = ms if self._decode_ms == 0 else 0.9 * self._decode_ms + 0.1 * ms
        return result

    def _emit(self, image: np.ndarray, ts: float, key: bool) -> None:
        frame = Frame(camera_id=self.camera_id, ts=ts, index=self.frames_analysed, image=image, keyframe=key)
        with self._lock:
            self.frames_analysed += 1
            self._last_frame_wall = ts
            self._analysed_ts.append(ts)
        self.queue.put(frame)
