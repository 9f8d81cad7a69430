"""cameras.yaml as a whole: HallConfig composes one model per section of the file.

The sections live in modules named for what they hold: ``hall.py`` (hall, schedule), ``cameras.py``
(cameras, windows, zones), ``thresholds.py`` and ``rules.py`` (defaults and per-window overrides),
``perception.py`` (models, badge), ``storage.py`` (storage, store, privacy), ``outputs.py`` (webhooks,
notify, mqtt) and ``web.py`` (dashboard). Here: the checks that span sections and the lookups that
merge a window's overrides with the defaults. Loading is in ``loading.py``.

Loaded with ruamel (so line numbers are known and comments survive an edit) and
validated with pydantic (``extra="forbid"``). Every error names the file, the
line and the key, e.g. ``cameras.yaml:14: cameras[0].windows[0].staff_zone:
a polygon needs at least 3 points``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from vision.config.base import Strict
from vision.config.cameras import Camera, ClipSettings, Window
from vision.config.hall import Hall, Schedule
from vision.config.outputs import Mqtt, NotifyRobot, WebhookEndpoint
from vision.config.perception import BadgeProfile, ModelChoice
from vision.config.rules import BEHAVIOURS, Rules, RuleSettings
from vision.config.storage import Privacy, Storage, StoreLocation
from vision.config.thresholds import Thresholds
from vision.config.web import Dashboard
from vision.errors import ConfigError


class Defaults(Strict):
    thresholds: Thresholds = Field(default_factory=Thresholds)
    rules: Rules = Field(default_factory=Rules)


class HallConfig(Strict):
    hall: Hall = Field(default_factory=Hall)
    models: ModelChoice = Field(default_factory=ModelChoice)
    storage: Storage = Field(default_factory=Storage)
    store: StoreLocation = Field(default_factory=StoreLocation, description="where the events live (default: "
                                 "the SQLite file storage.database)")
    schedule: Schedule = Field(default_factory=Schedule)
    badge: BadgeProfile = Field(default_factory=BadgeProfile)
    defaults: Defaults = Field(default_factory=Defaults)
    cameras: list[Camera] = Field(default_factory=list)
    webhooks: list[WebhookEndpoint] = Field(default_factory=list)
    notify: list[NotifyRobot] = Field(default_factory=list, description="WeCom / DingTalk group robots")
    dashboard: Dashboard = Field(default_factory=Dashboard)
    privacy: Privacy = Field(default_factory=Privacy)
    mqtt: Mqtt | None = Field(None, description="publish events and window states to an MQTT broker")
    base_dir: Path = Path(".")   # set by the loader: relative paths resolve against the config's folder

    def store_target(self) -> Path | str:
        """What ``Store()`` opens: ``store.url`` if given (a PostgreSQL URL as it is, a SQLite path resolved
        against the config's folder), else the file ``storage.database``."""
        url = self.store.url
        if url is None:
            return self.path(self.storage.database)
        if url.split("://", 1)[0].lower() in ("postgresql", "postgres"):
            return url
        if url.startswith("sqlite://"):
            url = url[len("sqlite://"):]
            url = url[1:] if url.startswith("/") else url
        return self.path(Path(url))

    def duplicate_ids(self) -> list[tuple[tuple, str]]:
        """(path in the YAML, message) for every camera or window id used twice."""
        out: list[tuple[tuple, str]] = []
        seen_cam, seen_win = set(), set()
        for i, cam in enumerate(self.cameras):
            if cam.id in seen_cam:
                out.append((("cameras", i, "id"), f"camera id {cam.id!r} is used twice"))
            seen_cam.add(cam.id)
            for j, win in enumerate(cam.windows):
                if win.id in seen_win:
                    out.append((("cameras", i, "windows", j, "id"),
                                f"window id {win.id!r} is used twice (window ids are unique across cameras)"))
                seen_win.add(win.id)
        return out

    def notify_problems(self) -> list[tuple[tuple, str]]:
        """Robots with a duplicate id or a window filter naming no window of this hall."""
        out: list[tuple[tuple, str]] = []
        seen = set()
        known = [w.id for cam in self.cameras for w in cam.windows]
        for i, robot in enumerate(self.notify):
            if robot.id in seen:
                out.append((("notify", i, "id"), f"robot id {robot.id!r} is used twice"))
            seen.add(robot.id)
            for j, win in enumerate(robot.windows):
                if win not in known:
                    out.append((("notify", i, "windows", j), f"no window {win!r} in this config "
                                                              f"(windows: {', '.join(known) or 'none'})"))
        return out

    def grace_problems(self) -> list[tuple[tuple, str]]:
        """Rules whose grace is shorter than the time between two analyses: every gap would reset them."""
        out = []
        for i, cam in enumerate(self.cameras):
            period = 1.0 / cam.analysis_fps
            for j, win in enumerate(cam.windows):
                rules = self.rules(win)
                for name in Rules.model_fields:
                    rule = getattr(rules, name)
                    if isinstance(rule, RuleSettings) and rule.enabled and rule.grace_s < period:
                        loc = (("cameras", i, "windows", j, "rules", name, "grace_s")
                               if win.rules is not None and getattr(win.rules, name, None) is not None
                               else ("defaults", "rules", name, "grace_s"))
                        out.append((loc, f"window {win.id}: {name}.grace_s {rule.grace_s:g} s is shorter than the "
                                         f"{period:g} s between two analyses of camera {cam.id} "
                                         f"(analysis_fps {cam.analysis_fps:g}): every gap would reset the rule. "
                                         f"Raise grace_s to at least {period:g} s or analysis_fps"))
        return out

    def clip_warnings(self) -> list[str]:
        """Rules whose dwell is longer than a camera's ring can hold: their clips would start late."""
        from vision.media.ring import MAX_RING_S, seconds_for_clip
        out = []
        for cam in self.cameras:
            for win in cam.windows:
                for kind in BEHAVIOURS:
                    rule = getattr(self.rules(win), kind)
                    need = seconds_for_clip(cam.clip.pre_s, rule.dwell_s, cam.clip.post_s)
                    if rule.enabled and need > MAX_RING_S:
                        out.append(f"camera {cam.id}, window {win.id}: {kind}.dwell_s {rule.dwell_s:g} s plus the "
                                   f"clip's pre_s/post_s needs {need:g} s of video, more than the {MAX_RING_S:g} s "
                                   f"a camera keeps: its clips will start {need - MAX_RING_S:g} s after the dwell "
                                   f"began")
        return out

    def missing_files(self) -> list[tuple[tuple, str]]:
        """Files the config names that cannot be read (checked at load, not on every frame)."""
        import cv2

        out: list[tuple[tuple, str]] = []
        tls = self.mqtt.tls if self.mqtt is not None else None
        for key in ("ca_file", "cert_file", "key_file"):
            name = getattr(tls, key, None)
            if name is not None and not self.path(name).is_file():
                out.append((("mqtt", "tls", key), f"no such file: {self.path(name)} (a PEM file; relative paths "
                                                  f"start at the config's folder)"))
        for i, cam in enumerate(self.cameras):
            for j, win in enumerate(cam.windows):
                if win.pause_sign is None:
                    continue
                path = self.path(win.pause_sign.template)
                loc = ("cameras", i, "windows", j, "pause_sign", "template")
                if not path.is_file():
                    out.append((loc, f"no such file: {path} (a photo of the hall's 暂停服务 sign, cropped to the "
                                     f"sign; relative paths start at the config's folder)"))
                elif cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) is None:
                    out.append((loc, f"{path} is not an image OpenCV can read (JPEG or PNG)"))
        return out

    def camera(self, camera_id: str) -> Camera:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        known = ", ".join(c.id for c in self.cameras) or "none"
        raise ConfigError(f"no camera {camera_id!r} in the config (cameras: {known})")

    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.base_dir / p)

    def thresholds(self, window: Window) -> Thresholds:
        over: dict[str, Any] = window.thresholds.model_dump(exclude_none=True) if window.thresholds else {}
        return self.defaults.thresholds.model_copy(update=over)

    def rules(self, window: Window) -> Rules:
        if not window.rules:
            return self.defaults.rules
        update = {}
        for name, over in window.rules:
            if over is not None:
                base = getattr(self.defaults.rules, name)
                fields = {k: v for k, v in over.model_dump(exclude_none=True).items() if k in type(base).model_fields}
                update[name] = base.model_copy(update=fields)
        return self.defaults.rules.model_copy(update=update)

    def schedule_for(self, window: Window) -> Schedule:
        return window.schedule or self.schedule


def single_window_config(width: int, height: int, counter_px: tuple[float, float, float, float] | None) -> HallConfig:
    """The config ``analyze`` uses without --config: the whole image is one window."""
    whole = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    if counter_px:
        x1, y1, x2, y2 = counter_px
        cx1, cx2 = sorted((min(max(x1 / width, 0), 1), min(max(x2 / width, 0), 1)))
        cy1, cy2 = sorted((min(max(y1 / height, 0), 1), min(max(y2 / height, 0), 1)))
        counter = [(cx1, cy1), (cx2, cy1), (cx2, cy2), (cx1, cy2)]
    else:
        counter = [(0.0, 1.0), (1.0, 1.0), (1.0, 1.0)]  # degenerate: nothing lies on it
    win = Window.model_construct(id="window", name=None, staff=1, staff_zone=whole, counter=counter,
                                 citizen_zone=None, schedule=None, pause_sign=None, thresholds=None, rules=None)
    cam = Camera.model_construct(id="image", name=None, url="", enabled=True, analysis_fps=1.0,
                                 open_timeout_s=5.0, read_timeout_s=5.0, stall_s=10.0,
                                 clip=ClipSettings(), detect_on="frame", windows=[win])
    return HallConfig(cameras=[cam])
