"""Live reload: cameras.yaml edited (by hand, the zone editor or the settings pages) reaches the
running cameras within a few seconds, without a restart.

``ConfigFile`` watches the file (its mtime, size and text hash, checked by the supervisor every
second), re-validates it with the same loader as at start, and hands back the new config; a file
that does not validate is refused with one log line naming file, line and key, and the running
config stays. ``plan_changes`` (pure) says what differs: cameras to start, stop or restart (their
stream settings changed), cameras whose windows changed (applied in the running worker, which
keeps every window's rule state), and settings that only a restart applies (models, storage,
webhooks, robots, MQTT, the web server).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from vision.config import HallConfig, load_config
from vision.errors import ConfigError

log = logging.getLogger(__name__)

# sections of cameras.yaml that the running process reads once, at start
RESTART_SECTIONS = ("models", "storage", "webhooks", "notify", "mqtt", "dashboard")


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Changes:
    """What a new config changes in a running hall (camera ids)."""

    start: list[str] = field(default_factory=list)       # new or newly enabled cameras
    stop: list[str] = field(default_factory=list)        # removed or disabled cameras
    restart: list[str] = field(default_factory=list)     # url, fps, timeouts or clip settings changed
    windows: list[str] = field(default_factory=list)     # only their windows (or what they inherit) changed
    needs_restart: list[str] = field(default_factory=list)   # sections applied at the next restart

    @property
    def empty(self) -> bool:
        return not (self.start or self.stop or self.restart or self.windows or self.needs_restart)


def window_settings(config: HallConfig, camera_id: str) -> list:
    """Everything a camera's windows use, resolved (per-window overrides over the defaults), and the badge."""
    cam = config.camera(camera_id)
    out: list = [(w, config.rules(w), config.schedule_for(w), config.thresholds(w)) for w in cam.windows]
    return out + [config.badge]


def plan_changes(old: HallConfig, new: HallConfig) -> Changes:
    out = Changes()
    before = {c.id: c for c in old.cameras if c.enabled}
    after = {c.id: c for c in new.cameras if c.enabled}
    out.stop = [cid for cid in before if cid not in after]
    out.start = [cid for cid in after if cid not in before]
    for cid in before.keys() & after.keys():
        a, b = before[cid], after[cid]
        if a.model_copy(update={"windows": []}) != b.model_copy(update={"windows": []}):
            out.restart.append(cid)
        elif window_settings(old, cid) != window_settings(new, cid):
            out.windows.append(cid)
    out.restart.sort()
    out.windows.sort()
    out.needs_restart = [s for s in RESTART_SECTIONS if getattr(old, s) != getattr(new, s)]
    return out


class ConfigFile:
    """cameras.yaml as last applied; ``poll()`` returns the new config once the file changed and validates."""

    def __init__(self, path: str | Path, config: HallConfig | None = None):
        self.path = Path(path)
        self._stamp = self._stat()
        data = self._read()
        self.applied = _hash(data) if data is not None else None   # the text the running config came from
        self._refused: str | None = None                           # the last text refused (said once)
        self.config = config if config is not None else load_config(self.path)

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def poll(self) -> HallConfig | None:
        """The new config when the file changed since the last call and is valid; None otherwise."""
        stamp = self._stat()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        data = self._read()
        if data is None:
            log.error("config %s: cannot be read; the running config stays", self.path)
            return None
        digest = _hash(data)
        if digest in (self.applied, self._refused):
            return None
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            self._refused = digest
            first, *more = exc.message.splitlines()
            log.error("config %s refused, the running config stays: %s%s", self.path, first,
                      f" (and {len(more)} more: {'; '.join(more)})" if more else "")
            return None
        self.applied, self._refused, self.config = digest, None, config
        return config
