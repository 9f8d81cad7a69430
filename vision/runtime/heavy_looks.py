"""The heavy looks of every camera (crop pass, counter zoom upright and turned, face stage), run by one
pool-wide queue.

A camera's presence look (the detector on its windows' zones, once a second) must not wait behind
the crop pass or the counter zoom of its own frame or of another camera's: those cost several
detector passes each and, run inside a frame, made that frame take over a second under load, so
the camera's next frames fell out of its 2-frame queue. So the live worker's ``CameraWatch`` hands
them here (``HeavyLook``, with the frame's picture and the staff boxes it chose) and goes on.

One queue for the hall, oldest first, served by one thread per model session. Each detector pass
(one staff crop, one counter tile upright or turned) and each face reading takes an Analyzer from the shared pool
with ``acquire(background=True)``: it waits while any camera's frame waits for one. The heavy looks
thus get the CPU the presence looks leave, on every core; when that is not enough, their period
stretches (the wait is measured and reported back) while presence stays once a second.

The finds go back to the camera through ``deliver`` (the watch applies them on its own thread at
its next frame); a camera has at most one look queued or running (``CameraWatch`` keeps the due
stages due meanwhile), so the queue holds at most one look per camera.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vision.perception.detections import Detection
from vision.perception.pipeline import AnalyzerPool, merge_detections

log = logging.getLogger(__name__)


@dataclass
class HeavyLook:
    """One camera's heavy looks taken on one frame."""

    camera_id: str
    ts: float                                            # the frame's time
    image: np.ndarray
    crops: list[tuple[tuple, tuple[str, ...]]]          # (staff box, its window ids): the crop pass
    faces: list[tuple[tuple, object, tuple[str, ...]]]  # (staff box, its pose, window ids): the face stage
    counters: list[tuple[str, tuple]]                   # (window id, counter rectangle): the counter zoom
    stages: dict[str, frozenset[str]]                   # stage -> the windows it looked at
    generation: int                                      # the watch's; a look from before a gap is dropped
    deliver: Callable[[HeavyFinds], None]
    queued_at: float = field(default_factory=time.monotonic)
    turned: list[tuple[str, tuple]] = field(default_factory=list)   # (window id, counter rectangle): its turned looks


@dataclass
class HeavyFinds:
    look: HeavyLook
    crop_objects: list[list[Detection] | None]          # aligned with ``look.crops``
    faces: list                                          # aligned with ``look.faces``
    zoomed: dict[str, list[Detection]]                   # window id -> what its counter holds
    timing_ms: dict[str, float]
    waited_s: float                                      # from queued to started
    error: str | None = None
    turned: dict[str, list[Detection]] = field(default_factory=dict)   # window id -> what its turned looks found


def run_look(look: HeavyLook, pool: AnalyzerPool) -> HeavyFinds:
    """Every pass of ``look``, each on an Analyzer taken from ``pool`` behind any waiting frame."""
    started = time.monotonic()
    timing = {"crop_detect": 0.0, "counter_zoom": 0.0, "counter_turns": 0.0, "face": 0.0}

    def on_free_analyzer(stage: str, work):
        analyzer = pool.acquire(background=True)
        t0 = time.perf_counter()
        try:
            return work(analyzer)
        finally:
            timing[stage] += (time.perf_counter() - t0) * 1000
            pool.release(analyzer)

    crop_objects = [on_free_analyzer("crop_detect", lambda a, box=box: a.crop_finds(look.image, box)
                                     if a.crop_pass else None) for box, _ in look.crops]
    faces: list = []
    if look.faces:
        faces = on_free_analyzer("face", lambda a: a.read_faces(look.image, [b for b, _, _ in look.faces],
                                                               [p for _, p, _ in look.faces]))

    def counter(stage: str, wid_rects: list[tuple[str, tuple]], upright: bool) -> dict[str, list[Detection]]:
        """Each counter's passes upright (``upright``) or turned, one pass per free Analyzer."""
        found: dict[str, list[Detection]] = {}
        for wid, rect in wid_rects:
            passes = on_free_analyzer(stage, lambda a, rect=rect: a.counter_looks(look.image, rect, upright=upright,
                                                                                  turned=not upright))
            found[wid] = merge_detections([d for p in passes for d in on_free_analyzer(
                stage, lambda a, p=p: a.zoom_look(look.image, p))])
        return found

    zoomed = counter("counter_zoom", look.counters, upright=True)
    turned = counter("counter_turns", look.turned, upright=False)
    return HeavyFinds(look, crop_objects, faces, zoomed, {k: v for k, v in timing.items() if v},
                      waited_s=started - look.queued_at, turned=turned)


class HeavyLooks:
    """The hall's queue of heavy looks and the threads that run them (one per model session)."""

    def __init__(self, pool: AnalyzerPool, threads: int | None = None):
        self.pool = pool
        self.threads = threads or len(pool)
        self._queue: queue.Queue[HeavyLook | None] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._stop = threading.Event()
        self.done = 0
        self.waited_s = 0.0          # summed over the looks done: how far the heavy looks lag their frames

    def start(self) -> HeavyLooks:
        self._stop.clear()
        for i in range(self.threads):
            t = threading.Thread(target=self._run, name=f"heavy-looks-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for _ in self._workers:
            self._queue.put(None)
        for t in self._workers:
            t.join(10)
        self._workers = []

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def submit(self, look: HeavyLook) -> None:
        self._queue.put(look)

    def _run(self) -> None:
        while not self._stop.is_set():
            look = self._queue.get()
            if look is None:
                return
            try:
                finds = run_look(look, self.pool)
            except Exception as exc:  # noqa: BLE001 - one bad look must not stop the hall's heavy looks
                log.exception("camera %s: heavy look failed", look.camera_id)
                finds = HeavyFinds(look, [None] * len(look.crops), [None] * len(look.faces), {}, {}, 0.0,
                                   error=f"{type(exc).__name__}: {exc}")
            self.done += 1
            self.waited_s += finds.waited_s
            look.deliver(finds)
