"""The evidence audit for admins: who viewed or downloaded which clip or snapshot, and every login.

``/audit`` is the page (filters: user, event, from-to days in the hall's time zone); ``/api/audit``
answers the same as JSON (``since``/``until`` as the events API takes them). Both need an admin's
login: other roles get 403, and an API token cannot read it (the audit watches the integrators too).
The rows are vision/store/audit.py's.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify, render_template, request

from vision.store.audit import MAX_ROWS

from .api_common import int_arg, query
from .api_events import _time_arg
from .auth import require
from .present import local, local_day_start, parse_day
from .privacy import audit

bp = Blueprint("audit", __name__)

API_PARAMS = {"user", "event", "since", "until", "limit"}


@bp.get("/audit")
@require("admin", token=False)
def page():
    args = request.args
    user = args.get("user") or None
    event_id = (args.get("event") or "").strip() or None
    day_from, day_to = parse_day(args.get("from")), parse_day(args.get("to"))
    since = local_day_start(day_from) if day_from else None
    until = local_day_start(day_to + timedelta(days=1)) if day_to else None
    records = audit()
    accesses = records.accesses(user=user, event_id=event_id, since=since, until=until, limit=200)
    logins = [] if event_id else records.logins(user=user, since=since, until=until, limit=100)
    return render_template("audit.html", accesses=accesses, logins=logins, users=records.users(), args=args,
                           local=local)


@bp.get("/api/audit")
@require("admin", token=False)
def api():
    query(API_PARAMS)
    user = request.args.get("user") or None
    event_id = request.args.get("event") or None
    since, until = _time_arg("since"), _time_arg("until")
    limit = int_arg("limit", 100, 1, MAX_ROWS)
    records = audit()
    return jsonify({"accesses": records.accesses(user=user, event_id=event_id, since=since, until=until, limit=limit),
                    "logins": [] if event_id else records.logins(user=user, since=since, until=until, limit=limit)})
