"""One error path for the whole web app: JSON for /api and JSON clients, a page for browsers."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask import make_response as app_response
from werkzeug.exceptions import HTTPException

from vision.errors import ConfigError, HallmonitorError

from .settings_errors import config_problems

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/metrics", "/events/stream", "/live/")):   # /live/: frames for scripts
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str, headers=None, page_problems: list[dict] | None = None,
                   **extra):
    """The error as JSON (API, JSON clients) or as a page; ``headers`` such as Allow or Retry-After are kept.
    ``page_problems`` (a refused config's, in the page's language) are listed on the page above the English fold."""
    if wants_json():
        response = jsonify({"error": {"status": status, "message": message, **extra}})
    else:
        response = app_response(render_template("error.html", status=status, message=message,
                                                problems=page_problems or []))
    response.status_code = status
    for name, value in headers or ():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HallmonitorError)
    def _hallmonitor(exc: HallmonitorError):
        if isinstance(exc, ConfigError) and not wants_json():
            return error_response(exc.status, exc.message, page_problems=config_problems(exc))
        return error_response(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"the request body is too large (limit {app.config['MAX_CONTENT_LENGTH']} bytes)"
        return error_response(exc.code or 500, message, headers=exc.get_headers())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error; the server log has the details")
