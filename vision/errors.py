"""One error path: every error a user can act on is a HallmonitorError.

The CLI prints ``str(error)`` (no traceback) and exits with ``error.exit_code``;
the dashboard and API answer with ``error.status`` and a JSON body.
"""

from __future__ import annotations


class HallmonitorError(Exception):
    """An error whose message tells the user what went wrong and what to do."""

    status = 400
    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(HallmonitorError):
    """cameras.yaml (or another config file) is malformed; the message names file, line and key.

    ``problems`` holds the same errors one by one for a form to show next to its fields:
    ``{"loc": ("cameras", 0, "url"), "type": "missing", "msg": ..., "ctx": {...}, "line": 14}``."""

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.problems = problems or []


class ModelError(HallmonitorError):
    """A model file is missing, altered, or not what the manifest says."""

    exit_code = 3


class InputError(HallmonitorError):
    """An image, video or request the user gave cannot be read."""


class NotFound(HallmonitorError):
    status = 404
