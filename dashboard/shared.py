"""Links that open without a login, each proving itself: the snapshot of one event, signed for a
group robot's message (vision/notify/links.py), until it expires."""

from __future__ import annotations

from flask import Blueprint, abort, request

from vision.notify.links import link_is_valid, share_key

from .evidence import send_evidence
from .present import media_file, store
from .privacy import record_look, snapshot_for

bp = Blueprint("shared", __name__)


@bp.get("/shared/<event_id>/snapshot.jpg")
def snapshot(event_id: str):
    if not link_is_valid(share_key(store()), event_id, request.args.get("until"), request.args.get("sig")):
        abort(403, description="this snapshot link is not valid or has expired; open the event in the dashboard")
    event = store().get_event(event_id)
    if event is None:
        abort(404, description="no such event (deleted by retention?)")
    path, blurred = snapshot_for(event, media_file(event.get("snapshot")), download=True)   # leaves the hall
    record_look(event_id, "snapshot", "view", "shared_link", blurred, who="shared link")
    return send_evidence(path, mimetype="image/jpeg", max_age=3600)
