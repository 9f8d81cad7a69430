"""The one event schema: store row, /api JSON, SSE message, webhook ``data``, ``analyze`` output.

An event has a lifecycle: ``started`` -> ``updated``* -> ``ended``. The same id
carries it through every phase. ``docs/event.schema.json`` is the JSON Schema of
``Event.to_json()``; a test keeps the two in step.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import overload

SCHEMA_VERSION = 1

# type -> (English title, 中文标题)
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "unattended": ("Window unattended", "擅自离岗"),
    "late_opening": ("Late opening", "未按时到岗"),
    "phone_on_counter": ("Phone on counter", "手机放置台面"),
    "phone_use": ("Phone use at window", "窗口使用手机"),
    "long_call": ("Call longer than 3 minutes", "通话超过3分钟"),
    "badge_absent": ("Badge not worn", "未佩戴工牌"),
    "eating": ("Eating or drinking", "窗口进食"),
    "sleeping": ("Dozing on the counter", "趴台打盹"),
    "extra_person": ("Extra person behind the counter", "会客/串岗"),
    "camera_offline": ("Camera offline", "摄像头离线"),
    "window_paused": ("Window paused", "暂停服务"),
}
# judgements of an absence or an outage: no detection stands behind them, so they carry no score
# (JSON null, "—" on the pages), not a confidence of 0
UNSCORED_TYPES = frozenset({"unattended", "late_opening", "camera_offline"})
SEVERITIES = ("low", "medium", "high")
PHASES = ("started", "updated", "ended")


def new_event_id(now: float | None = None) -> str:
    """A time-sortable id: ``evt_`` + 12 hex digits of milliseconds + 10 random hex digits."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"evt_{ms:012x}{os.urandom(5).hex()}"


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@overload
def parse_iso(value: str) -> float: ...
@overload
def parse_iso(value: None) -> None: ...
@overload
def parse_iso(value: str | None) -> float | None: ...
def parse_iso(value: str | None) -> float | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    camera_id: str
    window_id: str | None
    phase: str
    severity: str
    started_at: float
    updated_at: float
    ended_at: float | None = None
    score: float = 0.0
    evidence: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    snapshot: str | None = None
    clip: str | None = None
    # the staff member on duty at the window when the event started, from the rota (vision/rota.py):
    # {"name": ..., "number": 工号}, or None (no shift on the rota, or an event of a whole camera)
    staff: dict | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}; known: {', '.join(EVENT_TYPES)}")
        if self.phase not in PHASES:
            raise ValueError(f"unknown event phase {self.phase!r}; known: {', '.join(PHASES)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; known: {', '.join(SEVERITIES)}")

    @property
    def duration_s(self) -> float:
        end = self.ended_at if self.ended_at is not None else self.updated_at
        return max(0.0, end - self.started_at)

    def advance(self, phase: str, now: float, **changes) -> Event:
        """The same event in a later phase (``ended`` also sets ``ended_at``)."""
        if phase == "ended":
            changes.setdefault("ended_at", now)
        return replace(self, phase=phase, updated_at=now, **changes)

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "type": self.type,
            "title": EVENT_TYPES[self.type][0],
            "title_zh": EVENT_TYPES[self.type][1],
            "camera_id": self.camera_id,
            "window_id": self.window_id,
            "phase": self.phase,
            "severity": self.severity,
            "started_at": iso(self.started_at),
            "updated_at": iso(self.updated_at),
            "ended_at": iso(self.ended_at),
            "duration_s": round(self.duration_s, 3),
            "score": None if self.type in UNSCORED_TYPES else round(float(self.score), 4),
            "evidence": self.evidence,
            "details": self.details,
            "snapshot": self.snapshot,
            "clip": self.clip,
            "staff": None if self.staff is None else {"name": self.staff["name"], "number": self.staff["number"]},
        }

    @classmethod
    def from_json(cls, data: dict) -> Event:
        return cls(
            id=data["id"], type=data["type"], camera_id=data["camera_id"],
            window_id=data.get("window_id"), phase=data["phase"], severity=data["severity"],
            started_at=parse_iso(data["started_at"]), updated_at=parse_iso(data["updated_at"]),
            ended_at=parse_iso(data.get("ended_at")), score=data.get("score") or 0.0,
            evidence=data.get("evidence") or {}, details=data.get("details") or {},
            snapshot=data.get("snapshot"), clip=data.get("clip"), staff=data.get("staff"),
        )
