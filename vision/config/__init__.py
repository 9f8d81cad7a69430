"""cameras.yaml: the schema (``schema.py``) and its loader (``loading.py``), imported from here."""

from vision.config.loading import load_config, parse_config
from vision.config.schema import (
    BEHAVIOURS,
    SLUG,
    SLUG_HELP,
    WEEKDAYS,
    BadgeProfile,
    Camera,
    ClipSettings,
    Dashboard,
    Defaults,
    Hall,
    HallConfig,
    LateOpeningSettings,
    ModelChoice,
    Mqtt,
    MqttTls,
    NotifyRobot,
    PauseSign,
    Point,
    RuleOverride,
    Rules,
    RuleSettings,
    RulesOverride,
    Schedule,
    Storage,
    Strict,
    Thresholds,
    ThresholdsOverride,
    WebhookEndpoint,
    Window,
    expand_days,
    parse_period,
    single_window_config,
)

__all__ = ["load_config", "parse_config", "BEHAVIOURS", "BadgeProfile", "Camera", "ClipSettings", "Dashboard", "Defaults", "Hall", "HallConfig", "LateOpeningSettings", "ModelChoice", "Mqtt", "MqttTls", "NotifyRobot", "PauseSign", "Point", "RuleOverride", "RuleSettings", "Rules", "RulesOverride", "SLUG", "SLUG_HELP", "Schedule", "Storage", "Strict", "Thresholds", "ThresholdsOverride", "WEEKDAYS", "WebhookEndpoint", "Window", "expand_days", "parse_period", "single_window_config"]
