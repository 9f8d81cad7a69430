"""Runs every camera's worker with one shared detector and one queue for every camera's heavy looks;
restarts what crashes; keeps media in budget; puts the hall's head switches into effect; applies an
edited cameras.yaml while running (vision.runtime.reload: the file is checked every second)."""

from __future__ import annotations

import logging
import threading
import time
from functools import partial
from typing import Any

from vision.config import HallConfig
from vision.errors import ConfigError
from vision.media.clips import ClipCutter, prune_media
from vision.runtime.heavy_looks import HeavyLooks
from vision.runtime.reload import ConfigFile, plan_changes
from vision.runtime.worker import CameraWorker
from vision.store.database import Store
from vision.training.versions import HeadSwitch

log = logging.getLogger(__name__)


class Supervisor:
    web_url: str | None = None  # the dashboard's address, once a front end serves it
    node: Any = None            # the vision.runtime.node.Node whose leases start and stop the cameras, if any

    def __init__(self, config: HallConfig, analyzer=None, publish=None, status_every_s: float = 30.0,
                 prune_every_s: float = 3600.0, config_path=None):
        if not any(c.enabled for c in config.cameras):
            raise ConfigError("the config has no enabled camera: add one under `cameras:`")
        from vision.perception.load import load_pool
        from vision.perception.pipeline import AnalyzerPool
        self.config = config
        self.store = Store(config.store_target())
        # the models, shared by every camera: one session per core by default
        if isinstance(analyzer, AnalyzerPool):
            self.pool = analyzer
        elif analyzer is not None:
            self.pool = AnalyzerPool([analyzer])
        else:
            self.pool = load_pool(config.models, config.base_dir)
        self.head_switch = HeadSwitch(config, self.store, self.pool.analyzers)
        # every camera's crop pass, face stage and counter zoom, in one queue behind the presence looks
        self.heavy = HeavyLooks(self.pool)
        self._sync_heads()
        self.cutter = ClipCutter()
        self.publish = publish
        self.workers: dict[str, CameraWorker] = {}
        self._workers_lock = threading.Lock()   # watch / unwatch (a node's leases) against restarts
        self.restarts: dict[str, int] = {}
        self.status_every_s = status_every_s
        self.prune_every_s = prune_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # the file the config came from, watched for edits; listeners hear of every config applied
        self.config_file = ConfigFile(config_path, config) if config_path is not None else None
        self.config_listeners: list = []
        self._reload_lock = threading.Lock()

    def _new_worker(self, camera) -> CameraWorker:
        return CameraWorker(self.config, camera, self.pool, self.store, self.cutter, publish=self.publish,
                            head_switch=self.head_switch, heavy=self.heavy)

    def start(self, cameras: bool = True) -> Supervisor:
        """Start the supervisor and (unless ``cameras`` is False: a node starts them as it wins their
        leases, through :meth:`watch`) every enabled camera."""
        for warning in self.config.clip_warnings():
            log.warning("%s", warning)
        self.cutter.start()
        self.heavy.start()
        if cameras:
            for cam in self.config.cameras:
                if cam.enabled:
                    self.watch(cam.id)
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def watch(self, camera_id: str) -> None:
        """Start the worker of one camera (a node that won the camera's lease)."""
        cam = next(c for c in self.config.cameras if c.id == camera_id)
        with self._workers_lock:
            if camera_id in self.workers:
                return
            self.workers[camera_id] = self._new_worker(cam).start()
        log.info("camera %s: started (%d windows, %.2g analyses/s)", cam.id, len(cam.windows), cam.analysis_fps)

    def camera_jobs(self) -> dict:
        """A node's job per enabled camera: start its worker here, stop it (vision.runtime.node.Job)."""
        from vision.runtime.node import Job
        return {cam.id: Job(start=partial(self.watch, cam.id), stop=partial(self.unwatch, cam.id))
                for cam in self.config.cameras if cam.enabled}

    def unwatch(self, camera_id: str) -> None:
        """Stop the worker of one camera and return once it has stopped (a node giving the camera up)."""
        with self._workers_lock:
            worker = self.workers.pop(camera_id, None)
        if worker is not None:
            worker.stop()
            log.info("camera %s: stopped (its lease is given up)", camera_id)

    def stop(self) -> None:
        self._stop.set()
        with self._workers_lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.stop()
        self.heavy.stop()
        self.cutter.stop(flush=True)
        if self._thread is not None:
            self._thread.join(5)
        self.store.close()

    def status(self) -> list[dict]:
        return [w.status() | {"restarts": self.restarts.get(cid, 0)} for cid, w in list(self.workers.items())]

    def _watch(self) -> None:
        last_status = last_prune = time.time()
        while not self._stop.wait(1.0):
            for cid, worker in list(self.workers.items()):
                if not worker.alive and worker.failed:    # stopped by its own config error: said once, not restarted
                    continue
                if not worker.alive and not self._stop.is_set():
                    with self._workers_lock:
                        if self.workers.get(cid) is not worker:     # unwatched meanwhile
                            continue
                        self.restarts[cid] = self.restarts.get(cid, 0) + 1
                        log.error("camera %s: worker stopped unexpectedly (%s); restarting (restart #%d)",
                                  cid, worker.last_error or "no error recorded", self.restarts[cid])
                        worker.stop()          # its reader too, so no thread of the old worker is left behind
                        self.workers[cid] = self._new_worker(worker.camera).start()
            self._sync_heads()
            self.reload()
            now = time.time()
            if now - last_status >= self.status_every_s:
                last_status = now
                for s in self.status():
                    log.info("camera %s: %s, %.2f fps analysed, last frame %s s ago", s["camera_id"],
                             "connected" if s["connected"] else "OFFLINE", s["fps"], s["last_frame_age_s"],
                             extra={"camera_status": s})
            if now - last_prune >= self.prune_every_s:
                last_prune = now
                self.prune()

    def reload(self) -> bool:
        """Apply cameras.yaml if it changed and validates (see vision.runtime.reload); True if applied.
        Called every second by the supervisor's thread (the only one that starts and stops workers)."""
        if self.config_file is None:
            return False
        with self._reload_lock:
            config = self.config_file.poll()
            if config is None:
                return False
            self.apply(config)
            return True

    def apply(self, config: HallConfig) -> None:
        """Put a new, valid config into effect: start, stop or restart cameras, hand changed windows to
        their running workers (rule state kept), and tell the listeners (the dashboard's pages)."""
        changes = plan_changes(self.config, config)
        self.config = config
        for cid in changes.stop:
            with self._workers_lock:
                worker = self.workers.pop(cid, None)
            if worker is not None:
                worker.stop()
            log.info("config: camera %s stopped (removed or disabled)", cid)
        for cid in changes.restart:
            with self._workers_lock:
                worker = self.workers.pop(cid, None)
                if worker is not None:
                    worker.stop()
                if worker is not None or self.node is None:     # a node restarts only the cameras it watches
                    self.workers[cid] = self._new_worker(config.camera(cid)).start()
                    log.info("config: camera %s restarted (its stream settings changed)", cid)
        for cid in changes.windows:
            worker = self.workers.get(cid)
            if worker is not None:
                worker.reconfigure(config)
                log.info("config: camera %s: windows, rules or hours changed; applying", cid)
        if self.node is not None:       # new cameras go to whichever node wins their lease
            self.node.set_cameras(self.camera_jobs())
            for cid in changes.start:
                log.info("config: camera %s added; the node that wins its lease watches it", cid)
        else:
            for cid in changes.start:
                with self._workers_lock:
                    self.workers[cid] = self._new_worker(config.camera(cid)).start()
                log.info("config: camera %s started", cid)
        if changes.needs_restart:
            log.warning("config: %s changed; these take effect at the next restart",
                        ", ".join(changes.needs_restart))
        for listener in list(self.config_listeners):
            try:
                listener(config)
            except Exception as exc:  # noqa: BLE001 - a listener's bug must not stop the reload
                log.warning("config listener failed: %s", exc)

    def _sync_heads(self) -> None:
        """The hall's head switches (dashboard or `hallmonitor heads`) reach the cameras within a second."""
        try:
            if self.head_switch.sync():
                log.info("hall heads on: %s", ", ".join(self.head_switch.applied) or "none (bundled heads)")
        except Exception as exc:  # noqa: BLE001 - a broken head file must not stop the cameras; the old heads stay
            log.warning("hall heads not switched: %s", exc)

    def prune(self):
        st = self.config.storage
        media = self.config.path(st.media_dir)
        if not media.is_dir():
            return None
        result = prune_media(media, st.retention_days, int(st.max_media_gb * 1e9), keep=self.store.kept_event_ids())
        if result.deleted:
            log.info("retention: deleted %d files, freed %.1f MB", len(result.deleted), result.freed_bytes / 1e6)
        return result
