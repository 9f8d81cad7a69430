"""What the queue caller sends on ``<prefix>/<window>/pause/set`` (pure).

``ON`` pauses the window (for ``mqtt.pause_minutes``, a day by default), ``OFF`` resumes it. JSON says
more: ``{"state": "ON", "minutes": 15, "reason": "暂时离开"}``. The pause goes the way of the API's
``POST /api/windows/<id>/pause``: a pause row in the store, which the camera's worker turns into a
``window_paused`` event within a second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from vision.errors import InputError

MAX_MINUTES = 1440       # as the API: a forgotten pause ends within a day
MAX_REASON = 200


@dataclass(frozen=True)
class PauseCommand:
    pause: bool
    minutes: float | None = None     # None: the configured default
    reason: str | None = None


def parse_pause(payload: bytes) -> PauseCommand:
    """``ON`` / ``OFF`` or ``{"state": "ON"|"OFF", "minutes": n, "reason": "..."}``; InputError says what is wrong."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError("the payload is not UTF-8 text; send ON, OFF or JSON") from None
    if text.upper() in ("ON", "OFF"):
        return PauseCommand(text.upper() == "ON")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InputError(f"payload {text[:60]!r}: send ON, OFF or JSON such as "
                         '{"state": "ON", "minutes": 15, "reason": "..."}')
    unknown = set(data) - {"state", "minutes", "reason"}
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(sorted(unknown))}; known: state, minutes, reason")
    state = data.get("state")
    if not isinstance(state, str) or state.upper() not in ("ON", "OFF"):
        raise InputError(f"state: ON or OFF, got {state!r}")
    minutes = data.get("minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                or not 0 < minutes <= MAX_MINUTES):
        raise InputError(f"minutes: a number above 0 and at most {MAX_MINUTES}, got {minutes!r}")
    reason = data.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise InputError(f"reason: text of at most {MAX_REASON} characters")
    return PauseCommand(state.upper() == "ON", None if minutes is None else float(minutes), reason or None)
