"""What every /api view needs: the store and config of the app, strict JSON bodies, strict query strings.

Bad input never reaches a 500: an unreadable body is 400, a body that is not JSON-typed is 415, an
unknown field or query parameter is 400 naming the known ones (integrators find typos at once).
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import UnsupportedMediaType

from vision.config import HallConfig, Window
from vision.errors import InputError, NotFound
from vision.store.database import Store


def store() -> Store:
    return current_app.extensions["hallmonitor.store"]


def hall() -> HallConfig:
    return current_app.config["HALL"]


def supervisor():
    return current_app.extensions.get("hallmonitor.supervisor")


def windows() -> list[tuple[Window, Any]]:
    """Every window of the hall with its camera, in config order."""
    return [(w, cam) for cam in hall().cameras for w in cam.windows]


def find_window(window_id: str) -> tuple[Window, Any]:
    for window, cam in windows():
        if window.id == window_id:
            return window, cam
    known = ", ".join(w.id for w, _ in windows()) or "none"
    raise NotFound(f"no window {window_id!r} in this hall (windows: {known})")


def json_body(known: set[str], required: bool = True) -> dict:
    """The request's JSON object, with only ``known`` fields; ``{}`` for an empty optional body."""
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
    if not raw.strip():
        if required:
            raise InputError(f"send a JSON object with {', '.join(sorted(known))} "
                             f"(Content-Type: application/json)")
        return {}
    if not request.is_json:
        raise UnsupportedMediaType(f"send the body as JSON with Content-Type: application/json "
                                   f"(got {request.mimetype or 'no content type'})")
    try:
        data = strict_json_loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"the body must be a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown field {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def strict_json_loads(raw) -> Any:
    """JSON as RFC 8259 has it: no NaN/Infinity, and no lone UTF-16 surrogate (``"\\udc80"``), which
    is no character: it could not be stored or sent on, so it is refused here, as a 400."""
    data = json.loads(raw, parse_constant=_no_constant)
    _check_text(data)
    return data


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"text holds a lone UTF-16 surrogate at position {exc.start}, which is no "
                             f"character; send valid Unicode") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k)
            _check_text(v)
    elif isinstance(value, list):
        for v in value:
            _check_text(v)


def query(known: set[str]) -> None:
    """Refuse query parameters the endpoint does not know."""
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise InputError(f"unknown query parameter {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(known)) or 'none'}")


def text(data: dict, name: str, *, max_len: int, required: bool = False, allowed: tuple[str, ...] | None = None):
    value = data.get(name)
    if value is None:
        if required:
            raise InputError(f"{name}: required")
        return None
    if not isinstance(value, str):
        raise InputError(f"{name}: expected text, got {type(value).__name__}")
    if allowed is not None and value not in allowed:
        raise InputError(f"{name}: unknown value {value!r}; known: {', '.join(allowed)}")
    if len(value) > max_len:
        raise InputError(f"{name}: at most {max_len} characters")
    return value


def number(data: dict, name: str, lo: float, hi: float, default: float | None = None) -> float:
    value = data.get(name, default)
    if value is None:
        raise InputError(f"{name}: required, a number from {lo:g} to {hi:g}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise InputError(f"{name}: expected a number from {lo:g} to {hi:g}, got {value!r}")
    return float(value)


def boolean(data: dict, name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise InputError(f"{name}: expected true or false, got {value!r}")
    return value


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise InputError(f"{name}: expected a whole number from {lo} to {hi}, got {value!r}") from None
    if not lo <= n <= hi:
        raise InputError(f"{name}: expected a whole number from {lo} to {hi}, got {n}")
    return n
