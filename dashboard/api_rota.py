"""/api/rota: the rota (排班) for integrators (a HR or queue system sends it) and the dashboard's scripts.

GET lists the shifts overlapping a time range. POST imports a rota as JSON (``{"shifts": [...], "mode"}``)
or as the CSV a spreadsheet exports (``Content-Type: text/csv``, ``?mode=``): all of it in one
transaction, or nothing, with a 400 whose ``problems`` name each CSV line and column (or JSON item and
field) to fix. An admin's login or a write token.
"""

from __future__ import annotations

import time

from flask import Blueprint, jsonify, request

from vision.errors import InputError
from vision.rota import RotaError, parse_csv, parse_rows
from vision.store.rota import MODES

from .api_common import json_body, query, store
from .api_events import _time_arg
from .auth import actor, require
from .errors import error_response
from .present import hall_tz, window_names

bp = Blueprint("rota", __name__, url_prefix="/rota")

MAX_ROTA_BYTES = 1024 * 1024     # a month of a big hall's CSV is about 300 KB
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@bp.url_value_preprocessor
def _larger_body(endpoint, values) -> None:
    # runs before the app's before_request (the login and CSRF check may read the body): a rota may be
    # bigger than the 64 KiB every other request gets
    request.max_content_length = MAX_ROTA_BYTES


def problems_response(exc: RotaError):
    return error_response(400, exc.message, problems=[p.to_json() for p in exc.problems])


@bp.get("")
@require("viewer")
def list_shifts():
    query({"since", "until", "window"})
    window = request.args.get("window")
    if window is not None and window not in window_names():
        raise InputError(f"window: no window {window!r} in this hall; known: {', '.join(window_names())}")
    since, until = _time_arg("since"), _time_arg("until")
    if since is None and until is None:
        since, until = time.time() - 86400, time.time() + 7 * 86400      # yesterday to a week ahead
    return jsonify({"shifts": store().rota(since=since, until=until, window_id=window)})


@bp.post("")
@require("admin")
def import_shifts():
    query({"mode"})
    tz = hall_tz()
    try:
        if request.mimetype in CSV_TYPES:
            mode = request.args.get("mode", "add")
            if mode not in MODES:
                raise InputError(f"mode: use one of {', '.join(MODES)}, got {mode!r}")
            raw = request.get_data(cache=True)
            shifts = parse_csv(raw, window_names(), tz)
            json_items = False
        else:
            if "mode" in request.args:
                raise InputError("mode: in a JSON body, send mode as a field ({\"shifts\": [...], \"mode\": ...})")
            data = json_body({"shifts", "mode"})
            mode = data.get("mode", "add")
            if mode not in MODES:
                raise InputError(f"mode: use one of {', '.join(MODES)}, got {mode!r}")
            if "shifts" not in data:
                raise InputError("shifts: required, a list of {window, staff_name, staff_number, from, to}")
            shifts = parse_rows(data["shifts"], window_names(), tz)
            json_items = True
        result = store().import_rota(shifts, tz, mode=mode, user=actor(), json_items=json_items)
    except RotaError as exc:
        return problems_response(exc)
    return jsonify(result), 201
