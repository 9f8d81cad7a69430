"""The settings change log admins read: who changed what in cameras.yaml, and when; pauses and
resumes from the board too. The rows live in the hall's store (vision/store/changes.py), so every
dashboard of a hall reads one log; this module decides what is written: the diff is of the YAML text
with every camera password and secret masked."""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path

from flask import current_app

from vision.media.capture import mask_url
from vision.store import changes as stored_changes

from .api_common import store
from .auth import actor
from .present import hall

_SECRET_LINE = re.compile(r"(?i)^(\s*-?\s*(?:secret|secrets|password|token|api_key|key)\s*:\s*).+$")
MAX_DIFF_LINES = 200


def old_log_path() -> Path:
    """Where releases before schema 15 kept the log (read into the store once, see ``import_old_log``)."""
    config = hall()
    return config.path(config.storage.database).parent / "changes.jsonl"


def import_old_log() -> None:
    """Read the old file into the store once (each node's own file, when nodes kept their own)."""
    try:
        stored_changes.import_file(store(), old_log_path())
    except OSError as exc:
        current_app.logger.warning("settings change log: could not read %s (%s); it stays where it is",
                                   old_log_path(), exc)


def masked(line: str) -> str:
    line = re.sub(r"whsec_[A-Za-z0-9+/=]+", "whsec_***", mask_url(line))
    line = re.sub(r"(SEC)[A-Za-z0-9]{6,}", r"\1***", line)
    return _SECRET_LINE.sub(r"\1***", line)


def text_diff(old: str, new: str, name: str = "cameras.yaml") -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"{name} (before)", f"{name} (after)",
                                      n=1, lineterm=""))
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
    return "\n".join(masked(x) for x in lines)


def record(what: str, detail: str = "", diff: str = "") -> dict:
    """Keep one change by the logged-in user (or token)."""
    at, by, detail = time.time(), actor(), masked(detail)
    stored_changes.record(store(), at, by, what, detail, diff)
    current_app.logger.info("settings change by %s: %s %s", by, what, detail)
    return {"at": at, "by": by, "what": what, "detail": detail, "diff": diff}


def recent(limit: int = 100) -> list[dict]:
    """The newest ``limit`` changes, newest first."""
    return stored_changes.recent(store(), limit)
