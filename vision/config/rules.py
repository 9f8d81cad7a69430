"""rules: (under defaults: and per window): each behaviour's dwell, grace, cooldown and severity."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, create_model, model_validator

from vision.config.base import Strict


class RuleSettings(Strict):
    enabled: bool = True
    dwell_s: float = Field(ge=0, description="seconds the condition must hold before the event starts")
    grace_s: float = Field(10.0, ge=0,
                           description="a gap shorter than this neither resets the dwell nor ends the event")
    cooldown_s: float = Field(120.0, ge=0, description="after an event ends, no new one of this kind for this long")
    on_ratio: float = Field(0.6, gt=0, le=1, description="share of samples over the dwell that must be positive "
                                                         "(hysteresis)")
    off_ratio: float = Field(0.2, ge=0, lt=1, description="the event ends when the share over the grace falls below "
                                                          "this")
    update_every_s: float = Field(60.0, gt=0, description="an active event sends an `updated` this often")
    severity: Literal["low", "medium", "high"] = "medium"


def _rule(dwell: float, severity: Literal["low", "medium", "high"] = "medium", **kw: Any):
    return Field(default_factory=lambda: RuleSettings(dwell_s=dwell, severity=severity, **kw))


class LateOpeningSettings(Strict):
    enabled: bool = True
    lead_s: float = Field(180.0, ge=0, description="staff must be at the window this long before opening")
    grace_s: float = Field(0.0, ge=0, description="tolerance after the lead time before the event starts")
    severity: Literal["low", "medium", "high"] = "medium"


class Rules(Strict):
    """Each rule's settings; a rule given in part keeps that rule's own defaults for the rest."""

    @model_validator(mode="before")
    @classmethod
    def _merge_with_rule_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            if field is not None and isinstance(value, dict) and field.default_factory is not None:
                merged[name] = {**field.default_factory().model_dump(), **value}  # type: ignore[call-arg]  # ours take no argument
        return merged

    unattended: RuleSettings = _rule(60, "medium", grace_s=10)
    phone_on_counter: RuleSettings = _rule(30, "low")
    phone_use: RuleSettings = _rule(30, "medium")
    long_call: RuleSettings = _rule(180, "high")
    badge_absent: RuleSettings = _rule(120, "low", grace_s=20)
    eating: RuleSettings = _rule(20, "low")
    sleeping: RuleSettings = _rule(90, "high", grace_s=15)
    extra_person: RuleSettings = _rule(120, "low", grace_s=20)
    late_opening: LateOpeningSettings = Field(default_factory=LateOpeningSettings)


# The one list of behaviours a window's rules watch with a dwell (vision/rules/window.py runs one
# machine each): the Rules fields that are RuleSettings, in their order. A new behaviour is a new
# field above, a condition in WindowRules.conditions and an entry in vision/events.EVENT_TYPES.
BEHAVIOURS: tuple[str, ...] = tuple(name for name, f in Rules.model_fields.items() if f.annotation is RuleSettings)


class RuleOverride(Strict):
    enabled: bool | None = None
    dwell_s: float | None = Field(None, ge=0)
    grace_s: float | None = Field(None, ge=0)
    cooldown_s: float | None = Field(None, ge=0)
    on_ratio: float | None = Field(None, gt=0, le=1)
    off_ratio: float | None = Field(None, ge=0, lt=1)
    update_every_s: float | None = Field(None, gt=0)
    severity: Literal["low", "medium", "high"] | None = None
    lead_s: float | None = Field(None, ge=0)


_RULE_OVERRIDES: dict[str, Any] = {name: (RuleOverride | None, None) for name in Rules.model_fields}
RulesOverride = create_model("RulesOverride", __config__=ConfigDict(extra="forbid", frozen=True), **_RULE_OVERRIDES)
