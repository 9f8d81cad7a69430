"""One camera along the whole path: capture -> watch (models, observe, rules) -> store + evidence.

The worker owns the camera's reader, packet ring and CameraWatch. For every event
that starts it writes a snapshot with the boxes drawn (and the clean frame with its
persons beside it, for the hall's own labels) and queues a clip cut from
the ring (10 s before to 20 s after the start, by default) with the per-frame
boxes beside it. Every transition goes to the store (event row, timeline and
webhook outbox in one transaction) before anyone else hears of it. Now and then it keeps a
frame as a window-state candidate (vacant in closed hours, occupied with a confident staff
detection) for a manager to confirm on the Training page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from vision.config import BEHAVIOURS, Camera, HallConfig
from vision.errors import ConfigError
from vision.events import Event, new_event_id
from vision.media.annotate import draw_window
from vision.media.capture import CameraReader
from vision.media.clips import ClipCutter, ClipJob, overlay_path, write_overlay, write_snapshot
from vision.media.event_frame import encode_jpeg, frame_persons, write_event_frame
from vision.media.labels import say
from vision.media.palette import ALERT, OBJECT, PERSON, STAFF
from vision.media.ring import MAX_RING_S, PacketRing, seconds_for_clip
from vision.observe.observations import WindowObservation, distinct
from vision.perception.geometry import to_pixels
from vision.perception.pipeline import AnalyzerPool
from vision.rules import pause_sync
from vision.runtime.watch import CameraWatch, Step
from vision.store.database import Store
from vision.training.teaching import Teaching, state_candidates

log = logging.getLogger(__name__)

CANDIDATE_EVERY_S = 600.0       # at most one window-state candidate per window this often
MAX_OPEN_CANDIDATES = 200       # per window, waiting for a manager: beyond that, none are kept


def frame_boxes(observations: list[WindowObservation]) -> list[dict]:
    """The boxes of one analysed frame, for snapshots and clip overlays (each drawn once)."""
    out = []
    persons, objects = distinct(observations)
    for p in persons:
        flags = [n for n, on in (("phone", p.phone_in_hand or p.phone_at_ear), ("eating", p.eating),
                                 ("head down", p.head_down), ("no badge", p.badge is False)) if on]
        label = ("staff" if p.staff else "person") + (": " + ", ".join(flags) if flags else "")
        out.append({"box": list(p.box), "label": label,
                    "color": list(ALERT if flags else STAFF if p.staff else PERSON)})
    for o in objects:
        out.append({"box": list(o.detection.box), "label": f"{o.detection.label} {o.detection.score:.2f}",
                    "color": list(ALERT if (o.on_counter or o.held) else OBJECT)})
    return out


def ring_seconds(config: HallConfig, camera: Camera) -> float:
    """How much video the camera's ring keeps: an event's clip starts ``pre_s`` before the event's
    start, which is the start of its dwell, and the clip is cut ``post_s`` after the event fires; so
    the ring must reach back over the longest dwell any enabled rule of the camera uses."""
    longest = max((getattr(config.rules(w), kind).dwell_s for w in camera.windows for kind in BEHAVIOURS
                   if getattr(config.rules(w), kind).enabled), default=0.0)
    return min(seconds_for_clip(camera.clip.pre_s, longest, camera.clip.post_s), MAX_RING_S)


class CameraWorker:
    def __init__(self, config: HallConfig, camera: Camera, pool: AnalyzerPool, store: Store, cutter: ClipCutter,
                 publish: Callable[[Event], None] | None = None, head_switch=None, heavy=None):
        self.config, self.camera, self.store, self.cutter = config, camera, store, cutter
        self.media_dir = config.path(config.storage.media_dir)
        self.pool = pool
        self.publish = publish
        self.watch = CameraWatch(config, camera.id, pool.analyzers[0])
        self.watch.zone_heads = head_switch      # the hall's window-state heads, switched by the supervisor
        self.watch.heavy = heavy                 # the hall's heavy-look queue (vision.runtime.heavy_looks), or None
        keep_s = ring_seconds(config, camera)
        self.ring = PacketRing(keep_s=keep_s)
        self.reader = CameraReader(
            camera.id, camera.url, analysis_fps=camera.analysis_fps, ring=self.ring,
            on_offline=self._offline, on_online=self._online, open_timeout_s=camera.open_timeout_s,
            read_timeout_s=min(camera.read_timeout_s, camera.stall_s / 2), stall_s=camera.stall_s)
        self.overlay: deque[tuple[float, list[dict]]] = deque()
        self.keep_s = keep_s
        self.media: dict[str, tuple[str | None, str | None]] = {}     # event id -> (snapshot, clip)
        self.offline_event: Event | None = None
        self._window_state: dict[str, tuple] = {}
        self._candidate_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._events_lock = threading.Lock()
        self.failed: str | None = None     # a config error stopped this camera: not restarted
        self.steps = 0
        self.stage_ms: dict[str, float] = {}    # cumulative wall time per stage, for the benchmark
        self.latest: tuple | None = None    # (ts, image, observations) of the newest analysed frame, for live views
        self._frame_size: tuple[int | None, int | None] = (None, None)
        self.step_ms = 0.0
        self.last_error: str | None = None
        self._pending_config: HallConfig | None = None   # a reloaded config, applied by the camera's own thread
        self.config_applied_at: float | None = None
        self._resume_open_events()

    # ---- lifecycle ----

    def start(self) -> CameraWorker:
        self._stop.clear()
        self.reader.start()
        self._thread = threading.Thread(target=self._run, name=f"worker-{self.camera.id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.reader.stop()
        if self._thread is not None:
            self._thread.join(10)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def reconfigure(self, config: HallConfig) -> None:
        """A reloaded config whose changes for this camera are in its windows (zones, rules, hours,
        thresholds): the camera's loop applies it before its next frame (within about a second)."""
        self._pending_config = config

    def _apply_config(self, now: float) -> None:
        config, self._pending_config = self._pending_config, None
        if config is None:
            return
        self.config, self.camera = config, config.camera(self.camera.id)
        self._emit(self.watch.reconfigure(config, now), None, None)
        self.keep_s = self.ring.keep_s = ring_seconds(config, self.camera)
        self._window_state = {k: v for k, v in self._window_state.items() if k in self.watch.rules}
        self.config_applied_at = time.time()
        log.info("camera %s: new config applied (%d windows)", self.camera.id, len(self.camera.windows))

    def status(self) -> dict:
        s = self.reader.stats()
        return {"camera_id": self.camera.id, "connected": s.connected, "fps": round(s.fps, 2),
                "frames_analysed": s.frames_analysed,
                "last_frame_age_s": None if s.last_frame_age_s is None else round(s.last_frame_age_s, 2),
                "drops": s.drops, "reconnects": s.reconnects, "mode": s.mode,
                "step_ms": round(self.step_ms, 1), "worker_alive": self.alive, "last_error": self.last_error,
                "failed": self.failed}

    def _resume_open_events(self) -> None:
        """After a crash or kill -9: continue the events the store still has open, never start them twice."""
        open_events = self.store.open_events(self.camera.id)
        for ev in open_events:
            self.media[ev.id] = (ev.snapshot, ev.clip)
            if ev.type == "camera_offline":
                self.offline_event = ev
        adopted = self.watch.adopt([e for e in open_events if e.type != "camera_offline"])
        if open_events:
            log.info("camera %s: continuing %d open events from before the restart (%d adopted by rules)",
                     self.camera.id, len(open_events), adopted)

    # ---- the loop ----

    def _run(self) -> None:
        last_sync = 0.0
        while not self._stop.is_set():
            frame = self.reader.get_frame(timeout=1.0)
            now = time.time()
            if self._pending_config is not None:
                self._apply_config(now)
            if now - last_sync >= 1.0:
                self._sync_pauses(now)
                last_sync = now
            if frame is None:
                if not self.reader.connected:
                    self._emit(self.watch.offline(now), None, None)
                    self._save_window_state(now)
                continue
            t0 = time.perf_counter()
            analyzer = self.pool.acquire()
            try:
                step = self.watch.step(frame.image, frame.ts, analyzer)
            except ConfigError as exc:   # the camera's config cannot work (every frame would fail): stop it
                self.failed = f"{exc}; fix cameras.yaml and restart (the other cameras keep running)"
                self.last_error = self.failed
                log.error("camera %s: stopped: %s", self.camera.id, self.failed)
                self.reader.stop()
                return
            except Exception as exc:  # noqa: BLE001 - one bad frame must not stop the camera
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("camera %s: frame %s could not be analysed", self.camera.id, frame.index)
                continue
            finally:
                self.pool.release(analyzer)
            self.step_ms = (time.perf_counter() - t0) * 1000
            self.steps += 1
            for stage, ms in step.timing_ms.items():
                self.stage_ms[stage] = self.stage_ms.get(stage, 0.0) + ms
            self._frame_size = (step.frame.width, step.frame.height)
            self.latest = (frame.ts, frame.image, step.observations)
            boxes = frame_boxes(step.observations)
            self.overlay.append((frame.ts, boxes))
            while self.overlay and self.overlay[0][0] < frame.ts - self.keep_s:
                self.overlay.popleft()
            self._emit(step.events, frame.image, step)
            self._save_window_state(frame.ts)
            self._propose_states(frame.ts, frame.image, step.observations)

    # ---- events and evidence ----

    def _emit(self, events: list[Event], image, step: Step | None) -> None:
        for ev in events:
            if ev.phase == "started" and ev.type != "window_paused":
                ev = self._attach_evidence(ev, image, step)
            elif ev.id in self.media:
                snap, clip = self.media[ev.id]
                ev = replace(ev, snapshot=snap, clip=clip)
            self._record(ev)
            if ev.phase == "ended":
                self.media.pop(ev.id, None)

    def _record(self, ev: Event) -> None:
        with self._events_lock:
            new = self.store.record(ev)
        if new:
            log.info("event %s %s window=%s camera=%s severity=%s", ev.type, ev.phase, ev.window_id,
                     ev.camera_id, ev.severity, extra={"event": ev.to_json() | {"evidence": None}})
            if self.publish is not None:
                self.publish(ev)

    def _media_paths(self, ev: Event) -> tuple[Path, Path]:
        day = datetime.fromtimestamp(ev.started_at, tz=UTC).strftime("%Y-%m-%d")
        folder = self.media_dir / self.camera.id / day
        return folder / f"{ev.id}.jpg", folder / f"{ev.id}.mp4"

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.media_dir).as_posix()

    def _attach_evidence(self, ev: Event, image, step: Step | None) -> Event:
        snap_path, clip_path = self._media_paths(ev)
        snapshot = None
        if image is not None and step is not None:
            try:   # the clean pixels first: a hall's labels are cut from them (vision.media.event_frame)
                write_event_frame(snap_path, image, frame_persons(step.observations), step.ts)
            except (OSError, ValueError) as exc:
                log.warning("event %s: clean frame not written: %s", ev.id, exc)
            try:
                window = next((w for w in self.camera.windows if w.id == ev.window_id), None)
                if window is not None:
                    image = draw_window(image, window, self.config.hall.language)
                write_snapshot(image, snap_path, [(b["box"], say(b["label"], self.config.hall.language),
                                                   tuple(b["color"]))
                                                  for b in frame_boxes(step.observations)])
                snapshot = self._relative(snap_path)
            except (OSError, ValueError) as exc:
                log.warning("event %s: snapshot not written: %s", ev.id, exc)
        # the clip is named on the event only once its file is written (post_s after the start): an
        # event never points at a clip that does not exist (yet, or ever: a ring that lost the start)
        self.cutter.submit(ev.id, self.ring, ev.started_at, clip_path, pre_s=self.camera.clip.pre_s,
                           post_s=self.camera.clip.post_s, is_live=lambda: self.reader.connected,
                           on_done=self._clip_done)
        self.media[ev.id] = (snapshot, None)
        return replace(ev, snapshot=snapshot, clip=None)

    def _clip_done(self, job: ClipJob) -> None:
        if job.result is None:
            log.warning("event %s: no clip (%s)", job.event_id, job.error)
            return
        start, end = job.result.start_wall, job.result.end_wall
        frames = [{"t": ts - start, "boxes": boxes} for ts, boxes in list(self.overlay) if start <= ts <= end]
        try:
            write_overlay(overlay_path(job.path), frames, self._frame_size[0], self._frame_size[1])
        except OSError as exc:
            log.warning("event %s: overlay not written: %s", job.event_id, exc)
        clip = self._relative(job.path)
        with self._events_lock:
            self.store.set_clip(job.event_id, clip)
            if job.event_id in self.media:          # still open: its next transitions carry the clip
                self.media[job.event_id] = (self.media[job.event_id][0], clip)

    # ---- camera health ----

    def _offline(self, camera_id: str, ts: float, reason: str) -> None:
        if self.offline_event is not None:
            return
        ev = Event(id=new_event_id(ts), type="camera_offline", camera_id=camera_id, window_id=None,
                   phase="started", severity="high", started_at=ts, updated_at=ts,
                   details={"reason": reason, "url": self.reader.safe_url})
        self.offline_event = ev
        self._record(ev)

    def _online(self, camera_id: str, ts: float) -> None:
        if self.offline_event is None:
            return
        ev = self.offline_event.advance("ended", max(ts, self.offline_event.updated_at))
        self.offline_event = None
        self._record(ev)

    # ---- window-state candidates for the hall's own training ----

    def _propose_states(self, ts: float, image, observations: list[WindowObservation]) -> int:
        """Now and then keep a frame as a window-state candidate (vacant in closed hours, occupied with a
        confident staff detection) for a manager to confirm in the dashboard; returns how many."""
        due = [w for w in self.camera.windows if ts - self._candidate_at.get(w.id, float("-inf")) >= CANDIDATE_EVERY_S]
        if not due or image is None:
            return 0
        statuses = {w.id: self.watch.rules[w.id].state(ts).status for w in due}
        found = [c for c in state_candidates([o for o in observations if o.window_id in statuses], statuses)]
        if not found:
            return 0
        made = 0
        try:
            teaching = Teaching(self.store)
            h, w = image.shape[:2]
            frame_id = None
            for window_id, suggested, reason in found:
                self._candidate_at[window_id] = ts
                if teaching.open_candidates(window_id) >= MAX_OPEN_CANDIDATES:
                    continue
                if frame_id is None:
                    frame_id = teaching.add_frame(encode_jpeg(image), w, h, self.camera.id, ts, source="candidate",
                                                  persons=[p.to_json() for p in frame_persons(observations)])
                window = next(x for x in self.camera.windows if x.id == window_id)
                made += teaching.add_candidate(frame_id, window_id, to_pixels(window.staff_zone, w, h).tolist(),
                                               suggested, reason)
        except Exception as exc:  # noqa: BLE001 - a busy database must not stop the camera
            log.warning("camera %s: window-state candidate not kept: %s", self.camera.id, exc)
        return made

    # ---- pauses and the board ----

    def _sync_pauses(self, now: float) -> None:
        """Apply API pauses written to the store (by the dashboard or the queue caller) to the rules
        (what changes: vision.rules.pause_sync.reconcile)."""
        try:
            rows = self.store.active_pauses(now)
        except Exception as exc:  # noqa: BLE001 - a busy database must not stop the camera
            log.warning("camera %s: pauses not read: %s", self.camera.id, exc)
            return
        rules = self.watch.rules
        changes = pause_sync.reconcile(now, rows, {w: r.pause_keeper for w, r in rules.items()})
        self._emit(pause_sync.apply(changes, rules, now), None, None)

    def _save_window_state(self, now: float) -> None:
        for win_id, rules in self.watch.rules.items():
            st = rules.state(now)
            key = (st.status, st.since, tuple(sorted(st.active)))
            if self._window_state.get(win_id) == key:
                continue
            self._window_state[win_id] = key
            try:
                self.store.set_window_state(win_id, self.camera.id, st.status, st.since, now, st.active)
            except Exception as exc:  # noqa: BLE001
                log.warning("window %s: state not saved: %s", win_id, exc)
