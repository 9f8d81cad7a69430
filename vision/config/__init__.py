"""cameras.yaml: one module per section (hall, cameras, thresholds, rules, perception, storage, outputs,
web), the whole file (``hall_config.py``) and its loader (``loading.py``), imported from here."""

from vision.config.base import SLUG, SLUG_HELP, Point, Strict
from vision.config.cameras import Camera, ClipSettings, PauseSign, Window
from vision.config.hall import WEEKDAYS, Hall, Schedule, expand_days, parse_period
from vision.config.hall_config import Defaults, HallConfig, single_window_config
from vision.config.loading import load_config, parse_config
from vision.config.outputs import Mqtt, MqttTls, NotifyRobot, WebhookEndpoint
from vision.config.perception import BadgeProfile, ModelChoice
from vision.config.rules import BEHAVIOURS, LateOpeningSettings, RuleOverride, Rules, RuleSettings, RulesOverride
from vision.config.storage import Storage
from vision.config.thresholds import Thresholds, ThresholdsOverride
from vision.config.web import Dashboard

__all__ = [
    "load_config", "parse_config", "BEHAVIOURS", "BadgeProfile", "Camera", "ClipSettings", "Dashboard", "Defaults",
    "Hall", "HallConfig", "LateOpeningSettings", "ModelChoice", "Mqtt", "MqttTls", "NotifyRobot", "PauseSign",
    "Point", "RuleOverride", "RuleSettings", "Rules", "RulesOverride", "SLUG", "SLUG_HELP", "Schedule", "Storage",
    "Strict", "Thresholds", "ThresholdsOverride", "WEEKDAYS", "WebhookEndpoint", "Window", "expand_days",
    "parse_period", "single_window_config",
]
