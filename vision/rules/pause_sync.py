"""API pauses kept in the store, reconciled with each window's rules. Pure: rows and time in, changes out.

The dashboard and the queue caller write a window's pause into the store (``pauses`` rows with
``source`` "api"); the worker reads the active rows now and then and applies what ``reconcile`` says:

* a stored pause the window is not running (not paused, paused by the sign, or with another
  ``until``) -> ``pause`` with the row's ``until`` and ``reason`` (an API pause wins over the sign);
* no stored pause while the window runs an API pause that has not expired -> ``resume`` (someone
  resumed it through the API);
* an API pause past its ``until`` is left to the window's PauseKeeper, which ends it as "expired"
  with ``ended_at = until``. Rows of other sources and of unknown windows are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from vision.events import Event, parse_iso


class RunningPause(Protocol):
    """What reconcile reads of a window's pause (vision.rules.pause.PauseKeeper has it)."""
    @property
    def active(self) -> bool: ...
    @property
    def source(self) -> str | None: ...
    @property
    def until(self) -> float | None: ...


class PausableWindow(Protocol):
    """What apply calls (vision.rules.window.WindowRules has it)."""
    def pause(self, now: float, until: float | None, reason: str, source: str) -> list[Event]: ...
    def resume(self, now: float) -> list[Event]: ...


@dataclass(frozen=True)
class PauseChange:
    window_id: str
    action: Literal["pause", "resume"]
    until: float | None = None      # Unix seconds; None = until resumed
    reason: str = ""


def reconcile(now: float, stored: Iterable[dict], running: Mapping[str, RunningPause]) -> list[PauseChange]:
    """The changes that make each window in ``running`` match the stored active pauses ``stored``
    (store rows: window_id, source, until as ISO text or None, reason), in ``running``'s order."""
    by_window = {r["window_id"]: r for r in stored if r.get("source") == "api"}
    out = []
    for window_id, pause in running.items():
        row = by_window.get(window_id)
        if row is not None:
            until = parse_iso(row.get("until"))
            if not pause.active or pause.source != "api" or pause.until != until:
                out.append(PauseChange(window_id, "pause", until, row.get("reason") or ""))
        elif pause.active and pause.source == "api" and (pause.until is None or now < pause.until):
            out.append(PauseChange(window_id, "resume"))
    return out


def apply(changes: Iterable[PauseChange], windows: Mapping[str, PausableWindow], now: float) -> list[Event]:
    """The events the changes cause, in order."""
    out: list[Event] = []
    for change in changes:
        rules = windows[change.window_id]
        if change.action == "pause":
            out += rules.pause(now, change.until, change.reason, "api")
        else:
            out += rules.resume(now)
    return out
