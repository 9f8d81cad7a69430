"""Admin-only API: API tokens and webhook endpoints (with their delivery log). A logged-in admin only:
a token cannot make tokens or point webhooks somewhere else."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from vision.events import iso
from vision.webhooks.endpoints import DELIVERY_STATUSES, Endpoints

from .api_common import boolean, int_arg, json_body, number, query, store, text, windows
from .auth import accounts, actor, require

bp = Blueprint("admin", __name__)


def _token_json(meta: dict) -> dict:
    return {**meta, **{k: iso(meta.get(k)) for k in ("created_at", "revoked_at", "last_used_at")}}


@bp.get("/tokens")
@require("admin", token=False)
def list_tokens():
    query(set())
    return jsonify({"tokens": [_token_json(t) for t in accounts().tokens()]})


@bp.post("/tokens")
@require("admin", token=False)
def create_token():
    query(set())
    data = json_body({"name", "scope"})
    name = text(data, "name", max_len=100, required=True)
    scope = text(data, "scope", max_len=8, required=True, allowed=("read", "write"))
    meta, plain = accounts().create_token(name, scope, actor())
    return jsonify({"token": _token_json(meta), "secret": plain}), 201


@bp.post("/tokens/<token_id>/revoke")
@require("admin", token=False)
def revoke_token(token_id: str):
    query(set())
    json_body(set(), required=False)
    return jsonify({"token": _token_json(accounts().revoke_token(token_id))})


def endpoints() -> Endpoints:
    return Endpoints(store(), known_windows=[w.id for w, _ in windows()])


def webhook_json(endpoint, backlog: dict | None = None) -> dict:
    counts = (backlog or {}).get(endpoint.id, {})
    return {**endpoint.to_json(), "deliveries": {s: counts.get(s, 0) for s in DELIVERY_STATUSES}}


@bp.get("/webhooks")
@require("admin", token=False)
def list_webhooks():
    query(set())
    eps = endpoints()
    backlog = eps.backlog()
    return jsonify({"webhooks": [webhook_json(e, backlog) for e in eps.list()]})


@bp.post("/webhooks")
@require("admin", token=False)
def create_webhook():
    query(set())
    data = json_body({"url", "types", "windows", "allow_private", "timeout_s"})
    url = text(data, "url", max_len=2000, required=True)
    endpoint, secret = endpoints().create(
        url, data.get("types"), data.get("windows"), allow_private=boolean(data, "allow_private", False),
        timeout_s=number(data, "timeout_s", 0.5, 60, default=15.0))
    return jsonify({"webhook": webhook_json(endpoint), "secret": secret}), 201


@bp.get("/webhooks/<endpoint_id>")
@require("admin", token=False)
def get_webhook(endpoint_id: str):
    query(set())
    eps = endpoints()
    return jsonify({"webhook": webhook_json(eps.get(endpoint_id), eps.backlog())})


@bp.post("/webhooks/<endpoint_id>/rotate")
@require("admin", token=False)
def rotate_webhook(endpoint_id: str):
    query(set())
    data = json_body({"keep_previous"}, required=False)
    endpoint, secret = endpoints().rotate(endpoint_id, boolean(data, "keep_previous", True))
    return jsonify({"webhook": webhook_json(endpoint), "secret": secret})


@bp.post("/webhooks/<endpoint_id>/disable")
@require("admin", token=False)
def disable_webhook(endpoint_id: str):
    query(set())
    data = json_body({"reason"}, required=False)
    reason = text(data, "reason", max_len=200) or f"disabled by {actor()}"
    return jsonify({"webhook": webhook_json(endpoints().disable(endpoint_id, reason))})


@bp.post("/webhooks/<endpoint_id>/enable")
@require("admin", token=False)
def enable_webhook(endpoint_id: str):
    query(set())
    json_body(set(), required=False)
    return jsonify({"webhook": webhook_json(endpoints().enable(endpoint_id))})


@bp.post("/webhooks/<endpoint_id>/retry")
@require("admin", token=False)
def retry_webhook(endpoint_id: str):
    query(set())
    json_body(set(), required=False)
    released = endpoints().retry_now(endpoint_id)
    return jsonify({"webhook": webhook_json(endpoints().get(endpoint_id)), "released": released})


@bp.get("/webhooks/<endpoint_id>/deliveries")
@require("admin", token=False)
def list_deliveries(endpoint_id: str):
    query({"status", "limit"})
    status = request.args.get("status")
    return jsonify({"deliveries": endpoints().deliveries(endpoint_id, status, int_arg("limit", 100, 1, 500))})


@bp.post("/deliveries/<outbox_id>/<endpoint_id>/replay")
@require("admin", token=False)
def replay_delivery(outbox_id: str, endpoint_id: str):
    query(set())
    json_body(set(), required=False)
    return jsonify({"delivery": endpoints().replay(outbox_id, endpoint_id)})
