"""cameras: each camera's stream, clip settings and windows (staff zone, counter, citizen zone, overrides).

Zone coordinates are relative to the frame (0..1), so a camera's sub-stream and main stream share the
same zones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from vision.config.base import SLUG, SLUG_HELP, Point, Strict
from vision.config.hall import Schedule
from vision.config.rules import RulesOverride
from vision.config.thresholds import ThresholdsOverride


def _polygon(value: list[Point]) -> list[Point]:
    if len(value) < 3:
        raise ValueError("a polygon needs at least 3 points [x, y]")
    for x, y in value:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"point [{x}, {y}] is outside the frame: coordinates are relative, 0 to 1")
    return value


class PauseSign(Strict):
    template: Path = Field(description="photo of the hall's '暂停服务' sign, cropped to the sign")
    threshold: float = Field(0.6, gt=0, le=1, description="match score above which the sign is seen")


class Window(Strict):
    id: str = Field(pattern=SLUG, description=SLUG_HELP)
    name: str | None = None
    staff: int = Field(1, ge=1, le=10, description="how many staff serve at this window")
    staff_zone: list[Point]
    counter: list[Point]
    citizen_zone: list[Point] | None = None
    schedule: Schedule | None = None
    pause_sign: PauseSign | None = None
    # ThresholdsOverride is made by create_model at import time: mypy cannot use a variable as a type
    thresholds: ThresholdsOverride | None = None  # type: ignore[valid-type]
    rules: RulesOverride | None = None

    _poly = field_validator("staff_zone", "counter", "citizen_zone")(
        classmethod(lambda cls, v: v if v is None else _polygon(v)))


class ClipSettings(Strict):
    pre_s: float = Field(10.0, ge=0, le=120)
    post_s: float = Field(20.0, ge=0, le=600)


class Camera(Strict):
    id: str = Field(pattern=SLUG, description=SLUG_HELP)
    name: str | None = None
    url: str = Field(description="rtsp://user:pass@host/stream, or a video file path (looped)")
    enabled: bool = True
    analysis_fps: float = Field(1.0, gt=0, le=15)
    open_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(5.0, gt=0)
    stall_s: float = Field(10.0, gt=0, description="no frame for this long: the camera is offline, reconnect")
    clip: ClipSettings = Field(default_factory=ClipSettings)
    detect_on: Literal["auto", "zones", "frame"] = Field(
        "auto", description="where the detector looks: the windows' zones (padded), the whole frame, "
                            "or auto (zones when they cover less than 70 % of the frame)")
    windows: list[Window] = Field(min_length=1)
