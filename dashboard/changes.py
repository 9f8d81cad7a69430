"""The settings change log admins read: who changed what in cameras.yaml, and when; pauses and
resumes from the board too. One JSON object a line in ``changes.jsonl`` beside the database (no
table, no migration). The diff is of the YAML text with every camera password and secret masked."""

from __future__ import annotations

import difflib
import json
import os
import re
import threading
import time
from collections import deque
from pathlib import Path

from flask import current_app

from vision.media.capture import mask_url

from .auth import actor
from .present import hall

_lock = threading.Lock()
_SECRET_LINE = re.compile(r"(?i)^(\s*-?\s*(?:secret|secrets|password|token|api_key|key)\s*:\s*).+$")
MAX_DIFF_LINES = 200


def log_path() -> Path:
    config = hall()
    return config.path(config.storage.database).parent / "changes.jsonl"


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
    """Append one change by the logged-in user (or token)."""
    entry = {"at": time.time(), "by": actor(), "what": what, "detail": masked(detail), "diff": diff}
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line)
    current_app.logger.info("settings change by %s: %s %s", entry["by"], what, entry["detail"])
    return entry


def recent(limit: int = 100) -> list[dict]:
    """The newest ``limit`` changes, newest first."""
    path = log_path()
    if not path.is_file():
        return []
    kept: deque[dict] = deque(maxlen=limit)
    with path.open(encoding="utf-8") as f:
        for raw in f:
            try:
                kept.append(json.loads(raw))
            except ValueError:
                continue          # a line cut by a crash: the others still read
    return list(reversed(kept))
