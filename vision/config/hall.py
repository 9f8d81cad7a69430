"""hall: and schedule: the hall's name and language, its service hours, breaks, closed dates and time zone."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from vision.config.base import Strict

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Hall(Strict):
    name: str = "Service hall"
    language: Literal["zh-CN", "en"] = "zh-CN"


class Schedule(Strict):
    """Service hours per weekday in the hall's time zone; gaps between periods are breaks."""

    timezone: str = "Asia/Shanghai"
    hours: dict[str, list[str]] = Field(default_factory=lambda: {
        "mon-fri": ["09:00-12:00", "13:30-17:30"]})
    closed: list[date] = Field(default_factory=list, description="dates with no service")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for days, periods in value.items():
            expand_days(days)
            for p in periods:
                parse_period(p)
        return value

    def periods(self, weekday: int) -> list[tuple[time, time]]:
        """Service periods for weekday 0=Monday, sorted."""
        out: list[tuple[time, time]] = []
        for days, periods in self.hours.items():
            if weekday in expand_days(days):
                out.extend(parse_period(p) for p in periods)
        return sorted(out)


def expand_days(spec: str) -> list[int]:
    """'mon-fri' -> [0..4]; 'sat' -> [5]; 'mon,wed' -> [0, 2]."""
    days: list[int] = []
    for part in spec.lower().split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in WEEKDAYS or b not in WEEKDAYS:
                raise ValueError(f"weekday range {part!r}: use mon..sun, e.g. 'mon-fri'")
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            days.extend(range(i, j + 1))
        elif part in WEEKDAYS:
            days.append(WEEKDAYS.index(part))
        else:
            raise ValueError(f"weekday {part!r}: use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri")
    return days


def parse_period(spec: str) -> tuple[time, time]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", spec)
    if not m:
        raise ValueError(f"service period {spec!r} must look like '09:00-12:00'")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"service period {spec!r} has an impossible time")
    start, end = time(h1, m1), (time(23, 59, 59) if h2 == 24 else time(h2, m2))
    if end <= start:
        raise ValueError(f"service period {spec!r} ends before it starts")
    return start, end
