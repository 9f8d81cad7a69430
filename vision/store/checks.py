"""Input checks for the store's methods, and the paging cursor of ``list_events``.

Every message names the argument (the API's filter of the same name) and says what would be accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from vision.errors import InputError

MAX_PAGE = 500


def dumps(value: Any) -> str:
    """Compact JSON text, as stored (no NaN: SQLite's json_valid would refuse it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def when(name: str, value: Any) -> float | None:
    """A time as Unix seconds, from Unix seconds, an aware datetime or an ISO 8601 string with a zone."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"{name}: expected a time, got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InputError(f"{name}: {value!r} is not a time")
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError(f"{name}: {value.isoformat()} has no time zone; add one, e.g. +08:00")
        return value.timestamp()
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise InputError(
                f"{name}: {value!r} is not a time with a zone; use ISO 8601 such as "
                f"2026-11-03T09:00:00+08:00 (or ...Z), or Unix seconds")
        return parsed.timestamp()
    raise InputError(f"{name}: expected a time (ISO 8601 string, datetime or Unix seconds), got {type(value).__name__}")


def strings(name: str, value: Any, allowed: Iterable[str] | None = None) -> list[str] | None:
    """One string or several; ``None`` or an empty list means no filter."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    try:
        values = list(values)
    except TypeError:
        raise InputError(f"{name}: expected a string or a list of strings, got {type(value).__name__}") from None
    allowed = tuple(allowed) if allowed is not None else None
    for v in values:
        if not isinstance(v, str) or not v:
            raise InputError(f"{name}: expected non-empty strings, got {v!r}")
        if allowed is not None and v not in allowed:
            raise InputError(f"{name}: unknown value {v!r}; known: {', '.join(allowed)}")
    return values or None


def one_of(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(f"{name}: unknown value {value!r}; known: {', '.join(allowed)}")
    return value


def text(name: str, value: Any, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name}: expected a non-empty string, got {value!r}")
    return value


def page_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit: expected a whole number from 1 to {MAX_PAGE}, got {limit!r}")
    return limit


# what the API answers for a cursor it did not hand out (a user's words: no function names)
BAD_CURSOR = ("cursor: not a paging cursor from this server. A cursor marks where the next page starts: pass the "
              "next_cursor of the previous answer unchanged, or leave cursor out to get the first page")


def encode_cursor(started_at: float, event_id: str) -> str:
    raw = dumps([started_at, event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: Any) -> tuple[float, str]:
    bad = InputError(BAD_CURSOR)
    if not isinstance(cursor, str) or not cursor or len(cursor) > 400:
        raise bad
    try:
        started_at, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise bad from None
    if isinstance(started_at, bool) or not isinstance(started_at, (int, float)) or not isinstance(event_id, str):
        raise bad
    if not math.isfinite(started_at):       # JSON allows Infinity and NaN; no event starts then
        raise bad
    return float(started_at), event_id
