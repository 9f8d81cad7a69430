"""The OpenAPI 3.1 document of /api and /metrics, served at /api/openapi.json.

Written by hand next to the routes it describes; tests keep it true (every /api rule is in it, and
schemathesis checks the live app against it). The event and webhook payload schemas are the files in
``docs/`` (the same ones the store's tests check), embedded so there is one definition of each.

Over 400 lines because it is one declarative document, a route per entry beside the shared schemas
it refers to; it holds data, not logic.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from vision import __version__
from vision.events import EVENT_TYPES, PHASES, SEVERITIES
from vision.rota import MAX_NAME, MAX_NUMBER, MAX_SHIFTS
from vision.store.checks import MAX_PAGE
from vision.store.events import MESSAGE_TYPES, REVIEW_STATUSES
from vision.store.reviews import MAX_BULK, MAX_COMMENT
from vision.store.rota import MODES as ROTA_MODES
from vision.webhooks.endpoints import DELIVERY_STATUSES

from .api_events import REVIEW_VERDICTS
from .api_hall import MAX_PAUSE_MINUTES
from .api_rota import MAX_ROTA_BYTES

# the JSON Schemas ship inside the package (docs/ links to them), so a plain `pip install .` serves them
SCHEMAS = resources.files("vision") / "schemas"
NULL_STR = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
WHEN = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "pattern": r"^\d{1,12}(\.\d+)?$"}]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _load(name: str) -> dict:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return schema


def _obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required, **extra}


def _schemas() -> dict:
    event = _load("event.schema.json")
    record = copy.deepcopy(event)
    record["title"] = "An event with its review"
    review = {
        "review_status": {"enum": list(REVIEW_STATUSES), "description": "new until a manager reviews it"},
        "review_comment": NULL_STR, "reviewed_by": NULL_STR, "reviewed_at": TIME_OR_NULL,
        "keep": {"type": "boolean", "description": "clip and snapshot are exempt from retention"},
    }
    record["properties"].update(review)
    record["required"] = record["required"] + list(review)
    payload = _load("webhook.schema.json")
    payload["properties"]["data"] = ref("Event")
    pause = _obj({"id": {"type": "integer"}, "window_id": {"type": "string"}, "source": {"enum": ["api", "sign"]},
                  "reason": NULL_STR, "started_at": TIME, "until": TIME_OR_NULL, "ended_at": TIME_OR_NULL})
    endpoint_props = {
        "id": {"type": "string"}, "url": {"type": "string"},
        "types": {"type": "array", "items": {"enum": list(MESSAGE_TYPES)}},
        "windows": {"type": "array", "items": {"type": "string"}},
        "enabled": {"type": "boolean"}, "allow_private": {"type": "boolean"}, "timeout_s": {"type": "number"},
        "source": {"enum": ["dashboard", "config"]}, "disabled_reason": NULL_STR,
        "secret_count": {"type": "integer", "minimum": 0}, "created_at": TIME, "updated_at": TIME,
        "deliveries": _obj({s: {"type": "integer", "minimum": 0} for s in DELIVERY_STATUSES},
                           description="deliveries per status (pending is the backlog)"),
    }
    token_props = {"id": {"type": "string"}, "name": {"type": "string"}, "scope": {"enum": ["read", "write"]},
                   "created_by": NULL_STR, "created_at": TIME, "revoked_at": TIME_OR_NULL,
                   "last_used_at": TIME_OR_NULL}
    return {
        "Error": _obj({"error": _obj({"status": {"type": "integer"}, "message": {"type": "string"}})},
                      description="Every error: the HTTP status again and a message saying what to do."),
        "Event": event,
        "EventRecord": record,
        "EventPage": _obj({"events": {"type": "array", "items": ref("EventRecord")},
                           "next_cursor": {**NULL_STR, "description": "pass as cursor= for the next page; null on "
                                                                      "the last page"}}),
        "Timeline": _obj({"event_id": {"type": "string"}, "timeline": {"type": "array", "items": _obj({
            "phase": {"enum": list(PHASES)}, "at": TIME, "severity": {"enum": list(SEVERITIES)},
            "event": ref("Event")})}}),
        "Review": payload["properties"]["review"],
        "EventDetail": {**copy.deepcopy(record), "title": "An event with its review and review history",
                        "properties": {**record["properties"], "reviews": {
                            "type": "array", "items": ref("Review"), "description": "every review, oldest first"}},
                        "required": record["required"] + ["reviews"]},
        "ReviewList": _obj({"event_id": {"type": "string"}, "reviews": {"type": "array", "items": ref("Review")}}),
        "BulkReviewRequest": _obj({"ids": {"type": "array", "items": {"type": "string", "pattern": "\\S"},
                                           "minItems": 1, "maxItems": MAX_BULK},
                                   "status": {"enum": list(REVIEW_VERDICTS)},
                                   "comment": {"type": ["string", "null"], "maxLength": MAX_COMMENT}},
                                  ["ids", "status"], additionalProperties=False),
        "BulkReviewed": _obj({"reviewed": {"type": "integer", "minimum": 1},
                              "events": {"type": "array", "items": ref("EventRecord")}}),
        "ReviewRequest": _obj({"status": {"enum": list(REVIEW_VERDICTS)},
                               "comment": {"type": ["string", "null"], "maxLength": 2000}},
                              ["status"], additionalProperties=False),
        "WindowState": _obj({"window_id": {"type": "string"}, "camera_id": {"type": "string"},
                             "status": {"type": "string", "description": "e.g. staffed, unattended, paused, closed"},
                             "since": TIME, "updated_at": TIME,
                             "active_types": {"type": "array", "items": {"enum": list(EVENT_TYPES)}}}),
        "Pause": pause,
        "Window": _obj({"id": {"type": "string"}, "name": NULL_STR, "camera_id": {"type": "string"},
                        "camera_name": NULL_STR, "staff": {"type": "integer"},
                        "state": {"oneOf": [ref("WindowState"), {"type": "null"}],
                                  "description": "null until the camera's worker has judged the window"},
                        "paused": {"type": "boolean"}, "pauses": {"type": "array", "items": ref("Pause")}}),
        "WindowList": _obj({"windows": {"type": "array", "items": ref("Window")}}),
        "PauseRequest": _obj({"minutes": {"type": "number", "minimum": 1, "maximum": MAX_PAUSE_MINUTES},
                              "reason": {"type": ["string", "null"], "maxLength": 200}},
                             ["minutes"], additionalProperties=False),
        "PauseCreated": _obj({"pause": ref("Pause")}),
        "Resumed": _obj({"window_id": {"type": "string"}, "ended": {"type": "array", "items": ref("Pause")}}),
        "CameraStatus": {"type": "object", "description": "live state from the camera's worker",
                         "properties": {"camera_id": {"type": "string"}, "connected": {"type": "boolean"},
                                        "fps": {"type": "number"}, "frames_analysed": {"type": "integer"},
                                        "last_frame_age_s": {"type": ["number", "null"]},
                                        "drops": {"type": "integer"}, "reconnects": {"type": "integer"},
                                        "restarts": {"type": "integer"}, "last_error": NULL_STR},
                         "required": ["camera_id", "connected", "frames_analysed"]},
        "Camera": _obj({"id": {"type": "string"}, "name": NULL_STR, "enabled": {"type": "boolean"},
                        "analysis_fps": {"type": "number"}, "windows": {"type": "array", "items": {"type": "string"}},
                        "node": {"type": ["string", "null"],
                                 "description": "the node (`hallmonitor run --node NAME`) whose lease says it "
                                                "watches the camera now; null when no node does"},
                        "status": {"oneOf": [ref("CameraStatus"), {"type": "null"}],
                                   "description": "null when the camera runs in another process (or node)"}}),
        "CameraList": _obj({"cameras": {"type": "array", "items": ref("Camera")}}),
        "Health": _obj({"status": {"const": "ok"}, "version": {"type": "string"}, "time": TIME,
                        "database": {"const": "ok"},
                        "cameras": _obj({"configured": {"type": "integer"},
                                         "connected": {"type": ["integer", "null"]}}),
                        "webhook_backlog": {"type": "integer", "minimum": 0}}),
        "Token": _obj(token_props),
        "TokenList": _obj({"tokens": {"type": "array", "items": ref("Token")}}),
        "ClipPreparing": _obj({"status": {"enum": ["preparing", "failed"]}, "event_id": {"type": "string"},
                               "done": {"type": "integer", "minimum": 0}, "total": {"type": "integer", "minimum": 0},
                               "progress": {"type": "number", "minimum": 0, "maximum": 1},
                               "error": {"type": "string"}}, required=["status", "event_id", "done", "total",
                                                                       "progress"]),
        "EvidenceAccess": _obj({"id": {"type": "integer"}, "at": TIME, "user": {"type": "string"},
                                "event_id": {"type": "string"}, "what": {"enum": ["clip", "snapshot"]},
                                "action": {"enum": ["view", "download"]},
                                "via": {"enum": ["dashboard", "api", "shared_link"]}, "blurred": {"type": "boolean"},
                                "address": {"type": ["string", "null"]}}),
        "LoginAttempt": _obj({"at": TIME, "user": {"type": "string"}, "address": {"type": ["string", "null"]},
                              "ok": {"type": "boolean"}, "reason": {"type": ["string", "null"]}}),
        "Audit": _obj({"accesses": {"type": "array", "items": ref("EvidenceAccess")},
                       "logins": {"type": "array", "items": ref("LoginAttempt")}}),
        "TokenRequest": _obj({"name": {"type": "string", "minLength": 1, "maxLength": 100},
                              "scope": {"enum": ["read", "write"]}}, additionalProperties=False),
        "TokenCreated": _obj({"token": ref("Token"), "secret": {"type": "string", "pattern": "^hm_",
                                                                 "description": "shown once"}}),
        "TokenOne": _obj({"token": ref("Token")}),
        "Webhook": _obj(endpoint_props),
        "WebhookList": _obj({"webhooks": {"type": "array", "items": ref("Webhook")}}),
        "WebhookOne": _obj({"webhook": ref("Webhook")}),
        "WebhookRetry": _obj({"webhook": ref("Webhook"), "released": {"type": "integer", "minimum": 0}}),
        "WebhookRequest": _obj({
            "url": {"type": "string", "maxLength": 2000, "description": "http(s) URL of a public address"},
            "types": {"type": "array", "items": {"enum": list(MESSAGE_TYPES)}, "description": "empty: all"},
            "windows": {"type": "array", "items": {"type": "string"}, "description": "empty: all"},
            "allow_private": {"type": "boolean", "default": False,
                              "description": "allow loopback/private addresses (a receiver in the hall's network)"},
            "timeout_s": {"type": "number", "minimum": 0.5, "maximum": 60, "default": 15}},
            ["url"], additionalProperties=False),
        "WebhookSecret": _obj({"webhook": ref("Webhook"), "secret": {"type": "string", "pattern": "^whsec_",
                                                                     "description": "shown once"}}),
        "RotateRequest": _obj({"keep_previous": {"type": "boolean", "default": True}}, [],
                              additionalProperties=False),
        "DisableRequest": _obj({"reason": {"type": ["string", "null"], "maxLength": 200}}, [],
                               additionalProperties=False),
        "Delivery": _obj({"outbox_id": {"type": "string", "description": "the webhook-id"},
                          "endpoint_id": {"type": "string"}, "seq": {"type": ["integer", "null"]},
                          "event_id": {"type": "string"}, "type": {"enum": list(MESSAGE_TYPES)},
                          "status": {"enum": list(DELIVERY_STATUSES)}, "attempts": {"type": "integer"},
                          "next_attempt_at": TIME_OR_NULL, "last_attempt_at": TIME_OR_NULL,
                          "delivered_at": TIME_OR_NULL, "last_code": {"type": ["integer", "null"]},
                          "last_error": NULL_STR, "latency_ms": {"type": ["number", "null"]},
                          "created_at": TIME_OR_NULL}),
        "DeliveryList": _obj({"deliveries": {"type": "array", "items": ref("Delivery")}}),
        "DeliveryOne": _obj({"delivery": ref("Delivery")}),
        "WebhookPayload": payload,
        **_teach_schemas(),
        **_rota_schemas(),
    }


def _rota_schemas() -> dict:
    local_time = {"type": "string", "minLength": 1, "maxLength": 40,
                  "description": "date-time in the hall's time zone, 2026-12-01 08:30 (an offset such as +08:00 "
                                 "is kept)", "examples": ["2026-12-01 08:30"]}
    return {
        "Shift": _obj({"id": {"type": "integer"}, "window_id": {"type": "string"}, "staff_name": {"type": "string"},
                       "staff_number": {"type": "string", "description": "工号"}, "from": TIME, "to": TIME,
                       "imported_by": NULL_STR, "imported_at": TIME}),
        "ShiftList": _obj({"shifts": {"type": "array", "items": ref("Shift")}}),
        "RotaRequest": _obj({
            "shifts": {"type": "array", "minItems": 1, "maxItems": MAX_SHIFTS, "items": _obj({
                "window": {"type": "string", "minLength": 1, "maxLength": 100,
                           "description": "window id or name from cameras.yaml"},
                "staff_name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
                "staff_number": {"type": "string", "minLength": 1, "maxLength": MAX_NUMBER, "description": "工号"},
                "from": local_time, "to": local_time}, additionalProperties=False)},
            "mode": {"enum": list(ROTA_MODES), "default": "add"}}, ["shifts"], additionalProperties=False),
        "RotaImported": _obj({"mode": {"enum": list(ROTA_MODES)}, "imported": {"type": "integer", "minimum": 1},
                              "replaced": {"type": "integer", "minimum": 0,
                                           "description": "stored shifts removed (mode replace)"},
                              "attributed": {"type": "integer", "minimum": 0,
                                             "description": "events whose staff member this import set or changed"}}),
        "RotaProblems": _obj({"error": _obj({
            "status": {"const": 400}, "message": {"type": "string"},
            "problems": {"type": "array", "items": _obj({
                "line": {"type": ["integer", "null"], "description": "CSV line (1 is the header)"},
                "item": {"type": ["integer", "null"], "description": "index in shifts (JSON)"},
                "column": {**NULL_STR, "description": "the column as the file names it, or the JSON field"},
                "code": {"type": "string"}, "params": {"type": "object"}, "message": {"type": "string"}})}},
            ["status", "message"])}),
    }


def _rota_paths(window_ids: list[str]) -> dict:
    window_schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if window_ids:
        window_schema["enum"] = window_ids
    window = {"name": "window", "in": "query", "schema": window_schema, "description": "only this window's shifts"}
    post = _op("Import a rota (排班): all of it or nothing (admin, or a write token)", _ok("what was imported",
                                                                                     "RotaImported"),
               tag="rota", status="201", params=[{
                   "name": "mode", "in": "query", "schema": {"enum": list(ROTA_MODES), "default": "add"},
                   "description": "with a CSV body only (JSON sends mode in the body)"}],
               description="JSON (`{\"shifts\": [...], \"mode\"}`) or CSV (`Content-Type: text/csv`, UTF-8, first "
                           "line `window,staff_name,staff_number,from,to` or `窗口,姓名,工号,开始,结束`). Times are "
                           "in the hall's time zone. Mode add refuses a shift that overlaps one on the rota; mode "
                           "replace replaces, per window in the import, the shifts that overlap the import's span. "
                           "Events already recorded in the imported shifts get their staff member (add: those that "
                           "had none; replace: re-attributed). A 400 lists every problem with its CSV line and "
                           "column (or JSON item and field); nothing is imported then.")
    post["requestBody"] = {"required": True, "content": {
        **_json(ref("RotaRequest")),
        "text/csv": {"schema": {"type": "string"}, "example": "窗口,姓名,工号,开始,结束\n"
                                                             "w01,张三,1001,2026-12-01 08:30,2026-12-01 12:00\n"}}}
    post["responses"]["400"] = {"description": "Nothing imported: bad input, or the problems to fix",
                                "content": _json(ref("RotaProblems"))}
    post["responses"]["413"] = _error(f"The rota is over {MAX_ROTA_BYTES // 1024} KiB: split it")
    post["responses"]["415"] = _r("UnsupportedMediaType")
    return {"/api/rota": {
        "get": _op("The shifts on the rota that overlap a time range (default: yesterday to a week ahead)",
                   _ok("the shifts, oldest first", "ShiftList"), tag="rota", params=[
                       {"name": "since", "in": "query", "schema": WHEN, "description": "shifts ending after this"},
                       {"name": "until", "in": "query", "schema": WHEN, "description": "shifts starting before this"},
                       window]),
        "post": post}}


def _teach_schemas() -> dict:
    from vision.training.teaching import BEHAVIOURS
    from vision.training.versions import RUN_STATUSES

    label = _obj({"id": {"type": "integer"}, "frame_id": {"type": "integer"}, "event_id": NULL_STR,
                  "camera_id": {"type": "string"}, "window_id": NULL_STR, "subject": {"enum": ["person", "window"]},
                  "region": {"type": "array", "description": "person: box [x1, y1, x2, y2]; window: its staff "
                                                             "zone polygon; frame pixels"},
                  "behaviour": {"enum": list(BEHAVIOURS)}, "value": {"type": "string"},
                  "labelled_by": {"type": "string"}, "labelled_at": TIME, "taken_at": TIME})
    prf = _obj({"precision": {"type": "number"}, "recall": {"type": "number"}, "f1": {"type": "number"},
                "accuracy": {"type": "number"}, "n": {"type": "integer"}, "positives": {"type": "integer"}})
    return {
        "TeachLabel": label,
        "HeldBackScores": prf,
        "TeachView": _obj({
            "event_id": {"type": "string"},
            "frame": _obj({"width": {"type": "integer"}, "height": {"type": "integer"},
                           "source": {"enum": ["frame", "clip"], "description": "the clean frame the worker kept, "
                                                                                "or one decoded from the clip"},
                           "frame_id": {"type": ["integer", "null"]}}),
            "behaviours": {"type": "array", "description": "the person behaviours, in the panel's order",
                           "items": _obj({"behaviour": {"type": "string"},
                                          "values": {"type": "array", "items": {"type": "string"}}})},
            "window_states": {"type": "array", "items": {"type": "string"}},
            "persons": {"type": "array", "items": _obj({
                "index": {"type": "integer"}, "box": {"type": "array", "items": {"type": "number"}},
                "staff": {"type": "boolean"}, "windows": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "description": "behaviour -> {value, by, at}"}})},
            "windows": {"type": "array", "items": _obj({
                "window_id": {"type": "string"}, "name": {"type": "string"},
                "polygon": {"type": "array"}, "label": {"type": ["object", "null"]}})}}),
        "TeachLabelRequest": _obj({
            "person": {"type": "integer", "minimum": 0, "description": "index of the person in the frame"},
            "window": {"type": "string", "description": "a window of the event's camera (its state)"},
            "behaviour": {"enum": list(BEHAVIOURS)},
            "value": {"type": ["string", "null"], "description": "yes/no; occupied/vacant/head_down for "
                                                                 "window_state; null clears the label"}},
            ["behaviour"], additionalProperties=False),
        "TeachLabelResult": _obj({"label": {"oneOf": [ref("TeachLabel"), {"type": "null"}]},
                                  "cleared": {"type": "boolean"}, "frame_id": {"type": "integer"}}),
        "LabelCounts": _obj({"counts": {"type": "object", "description": "behaviour -> window -> value -> n"},
                             "total": {"type": "integer"}}),
        "CandidateList": _obj({"candidates": {"type": "array", "items": {"type": "object"}}}),
        "CandidateRequest": _obj({"value": {"type": ["string", "null"], "enum": [*BEHAVIOURS["window_state"], None],
                                            "description": "confirm or correct; null drops the candidate"}},
                                 [], additionalProperties=False),
        "CandidateResult": _obj({"label": {"oneOf": [ref("TeachLabel"), {"type": "null"}]}}),
        "TrainRequest": _obj({"behaviours": {"type": "array", "items": {"type": "string"},
                                             "description": "default: every head the labels allow"}},
                             [], additionalProperties=False),
        "TrainingRun": _obj({"id": {"type": "integer"}, "status": {"enum": list(RUN_STATUSES)},
                             "behaviours": {"type": "array", "items": {"type": "string"}},
                             "started_by": {"type": "string"}, "started_at": TIME, "updated_at": TIME,
                             "finished_at": TIME_OR_NULL, "progress": {"type": "number", "minimum": 0, "maximum": 1},
                             "stage": {"type": "string"}, "message": NULL_STR,
                             "result": {"type": ["object", "null"],
                                        "description": "{rows: [{head, ref, n_train, n_held_back, split, before: "
                                                       "{name, scores} | null, after}], skipped, activated}"}}),
        "RunOne": _obj({"run": {"oneOf": [ref("TrainingRun"), {"type": "null"}]}}),
        "HeadVersion": _obj({"head": {"type": "string"}, "behaviour": {"type": "string"}, "window_id": NULL_STR,
                             "version": {"type": "integer"}, "ref": {"type": "string"},
                             "model_name": {"type": "string"}, "file": {"type": "string"},
                             "sha256": {"type": "string"}, "metrics": {"type": "object"},
                             "trained_by": {"type": "string"}, "trained_at": TIME,
                             "run_id": {"type": ["integer", "null"]}, "active": {"type": "boolean"}}),
        "HeadList": _obj({"versions": {"type": "array", "items": ref("HeadVersion")},
                          "audit": {"type": "array", "items": {"type": "object"}}}),
        "HeadVersionOne": _obj({"version": ref("HeadVersion")}),
        "RolledBack": _obj({"head": {"type": "string"}, "from_version": {"type": ["integer", "null"]},
                            "to_version": {"type": ["integer", "null"]}}),
    }


def _error(description: str) -> dict:
    return {"description": description, "content": _json(ref("Error"))}


RESPONSES = {
    "BadRequest": _error("Bad input: malformed JSON, wrong types, unknown fields or query parameters"),
    "Unauthorized": _error("No login and no valid bearer token (unknown or revoked)"),
    "Forbidden": _error("Not allowed: a read token on a POST, a token on an admin route, a role too low, "
                        "or a session POST without its X-CSRF-Token"),
    "NotFound": _error("No such event, window, endpoint or delivery (or the file is not there yet)"),
    "Conflict": _error("The request conflicts with where the thing comes from (e.g. an endpoint from cameras.yaml)"),
    "TooLarge": _error("The request body is over 64 KiB"),
    "UnsupportedMediaType": _error("A body that is not Content-Type: application/json"),
}


def _r(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _op(summary: str, ok: dict, *, tag: str, body: str | None = None, body_required: bool = True,
        status: str = "200", errors: tuple[str, ...] = (), params: list | None = None, admin: bool = False,
        description: str | None = None, session: str | None = None) -> dict:
    responses = {status: ok, "400": _r("BadRequest"), "401": _r("Unauthorized"), "403": _r("Forbidden")}
    for code, name in (("404", "NotFound"), ("409", "Conflict")):
        if name in errors:
            responses[code] = _r(name)
    op: dict = {"summary": summary, "tags": [tag], "responses": responses}
    if description:
        op["description"] = description
    if body:
        op["requestBody"] = {"required": body_required, "content": _json(ref(body))}
        responses["413"] = _r("TooLarge")
        responses["415"] = _r("UnsupportedMediaType")
    if params:
        op["parameters"] = params
    if admin:
        op["security"] = [{"session": []}]
        op["description"] = (description + "\n\n" if description else "") + \
            "Admin only, logged in (a session cookie and the X-CSRF-Token header on POST); API tokens get 403."
    elif session:
        op["security"] = [{"session": []}]
        op["description"] = (description + "\n\n" if description else "") + \
            f"Logged in as a {session} or above (a session cookie and the X-CSRF-Token header on POST), so the " \
            f"record names who did it; API tokens get 403."
    return op


def _ok(description: str, schema: str) -> dict:
    return {"description": description, "content": _json(ref(schema))}


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def _many(name: str, items: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
            "schema": {"type": "array", "items": items}, "description": description}


EVENT_ID = _path("event_id", "evt_... id of the event")
ENDPOINT_ID = _path("endpoint_id", "webhook endpoint id")


def _media(summary: str, mime: str, description: str) -> dict:
    ok = {"description": description, "content": {mime: {"schema": {"type": "string", "format": "binary"}}}}
    op = _op(summary, ok, tag="events", errors=("NotFound",), params=[EVENT_ID])
    op["responses"]["206"] = {"description": "the requested byte range (Range: bytes=...)",
                              "content": {mime: {"schema": {"type": "string", "format": "binary"}}}}
    op["responses"]["304"] = {"description": "not modified (If-None-Match / If-Modified-Since)"}
    op["responses"]["416"] = _error("the requested range is outside the file")
    return op


def _clip_op() -> dict:
    op = _media("The event's video clip", "video/mp4",
                "MP4 (H.264) with citizens' faces blurred (privacy.blur_faces); supports Range for seeking")
    op["description"] = ("The blurred copy is made on the first request; until it is ready the answer is 202 with "
                         "its progress and a Retry-After header: ask again.")
    op["responses"]["202"] = {"description": "the faces are being blurred; ask again after Retry-After seconds",
                              "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                              "content": _json(ref("ClipPreparing"))}
    return op


def _paths(window_ids: list[str]) -> dict:
    window_param = _path("window_id", "window id from cameras.yaml")
    if window_ids:
        window_param["schema"]["examples"] = window_ids
    list_params = [
        {"name": "since", "in": "query", "schema": WHEN,
         "description": "started_at >= this: ISO 8601 with a zone (2026-11-03T09:00:00+08:00) or Unix seconds"},
        {"name": "until", "in": "query", "schema": WHEN,
         "description": "started_at < this (and after since): ISO 8601 with a zone or Unix seconds"},
        _many("window", {"type": "string", "minLength": 1}, "window id; repeat for any of several"),
        _many("camera", {"type": "string", "minLength": 1}, "camera id; repeat for any of several"),
        _many("type", {"enum": list(EVENT_TYPES)}, "event type; repeat for any of several"),
        _many("phase", {"enum": list(PHASES)}, "phase; phase=started&phase=updated lists the events still open"),
        _many("severity", {"enum": list(SEVERITIES)}, "severity; repeat for any of several"),
        _many("review_status", {"enum": list(REVIEW_STATUSES)}, "review status; repeat for any of several"),
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                                     "default": 50}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"},
         "description": "next_cursor of the previous page (pages are newest first: started_at, id descending); "
                        "empty or absent: the first page"},
    ]
    return {
        "/api/health": {"get": _op("Is the service up", _ok("up", "Health"), tag="service")},
        "/api/openapi.json": {"get": _op("This document", {"description": "OpenAPI 3.1",
                                                           "content": _json({"type": "object"})}, tag="service")},
        "/api/events": {"get": _op("List events, newest first", _ok("one page", "EventPage"), tag="events",
                                   params=list_params)},
        "/api/events/{event_id}": {"get": _op("One event, with its review history", _ok("the event", "EventDetail"),
                                              tag="events", errors=("NotFound",), params=[EVENT_ID])},
        "/api/events/{event_id}/reviews": {"get": _op(
            "The event's review history (处置记录), oldest first", _ok("the reviews", "ReviewList"), tag="events",
            errors=("NotFound",), params=[EVENT_ID])},
        "/api/events/review": {"post": _op(
            "Review many events at once (manager, or a write token)", _ok("the reviewed events", "BulkReviewed"),
            tag="events", body="BulkReviewRequest", errors=("NotFound",),
            description=f"All or nothing: an unknown id is a 404 naming it and nothing is reviewed. Up to {MAX_BULK} "
                        f"ids; each event gets one review history entry and one event.reviewed webhook message. "
                        f"An empty comment keeps the event's current comment.")},
        "/api/events/{event_id}/timeline": {"get": _op(
            "Every transition of the event, oldest first", _ok("the timeline", "Timeline"), tag="events",
            errors=("NotFound",), params=[EVENT_ID])},
        "/api/events/{event_id}/clip.mp4": {"get": _clip_op()},
        "/api/events/{event_id}/snapshot.jpg": {"get": _media(
            "The event's snapshot with boxes", "image/jpeg", "JPEG taken when the event started, citizens' faces "
            "blurred (privacy.blur_faces)")},
        "/api/events/{event_id}/boxes.json": {"get": _op(
            "Boxes to draw over the clip, per frame", {"description": "{version, width, height, frames: "
                                                                      "[{t, boxes: [{box, label, color}]}]}",
                                                       "content": _json({"type": "object"})},
            tag="events", errors=("NotFound",), params=[EVENT_ID])},
        "/api/events/{event_id}/review": {"post": _op(
            "Review an event (manager, or a write token)", _ok("the reviewed event", "EventRecord"), tag="events",
            body="ReviewRequest", errors=("NotFound",), params=[EVENT_ID])},
        "/api/windows": {"get": _op("Every window: state and active pauses", _ok("the windows", "WindowList"),
                                    tag="windows")},
        "/api/windows/{window_id}": {"get": _op("One window", _ok("the window", "Window"), tag="windows",
                                                errors=("NotFound",), params=[window_param])},
        "/api/windows/{window_id}/pause": {"post": _op(
            "Pause the window's rules (manager, or a write token)", _ok("the pause", "PauseCreated"),
            status="201", tag="windows", body="PauseRequest", errors=("NotFound",), params=[window_param],
            description="For the queue caller's '暂停服务': no alerts for this window until the pause ends "
                        "(after `minutes`, or on resume). The worker applies it within a second and records a "
                        "window_paused event (webhook window.paused)."),
        },
        "/api/windows/{window_id}/resume": {"post": _op(
            "End the window's API pauses now (manager, or a write token)", _ok("the pauses ended (may be none)",
                                                                                "Resumed"),
            tag="windows", errors=("NotFound",), params=[window_param])},
        "/api/cameras": {"get": _op("Every camera with its live status", _ok("the cameras", "CameraList"),
                                    tag="cameras")},
        "/api/audit": {"get": _op(
            "Who viewed or downloaded which clip or snapshot, and the logins", _ok("newest first", "Audit"),
            tag="admin", admin=True, params=[
                {"name": "user", "in": "query", "schema": {"type": "string"}, "description": "one user's rows"},
                {"name": "event", "in": "query", "schema": {"type": "string"},
                 "description": "one event's looks (no logins then)"},
                {"name": "since", "in": "query", "schema": WHEN, "description": "at >= this (ISO 8601 or Unix s)"},
                {"name": "until", "in": "query", "schema": WHEN, "description": "at < this"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500,
                                                            "default": 100}}])},
        "/api/tokens": {
            "get": _op("List API tokens", _ok("the tokens", "TokenList"), tag="admin", admin=True),
            "post": _op("Create an API token", _ok("the token and its secret (shown once)", "TokenCreated"),
                        status="201", tag="admin", body="TokenRequest", admin=True),
        },
        "/api/tokens/{token_id}/revoke": {"post": _op(
            "Revoke an API token", _ok("the revoked token", "TokenOne"), tag="admin", errors=("NotFound",),
            params=[_path("token_id", "tok_... id")], admin=True)},
        "/api/webhooks": {
            "get": _op("List webhook endpoints", _ok("the endpoints", "WebhookList"), tag="admin", admin=True),
            "post": _op("Create a webhook endpoint", _ok("the endpoint and its secret (shown once)", "WebhookSecret"),
                        status="201", tag="admin", body="WebhookRequest", admin=True),
        },
        "/api/webhooks/{endpoint_id}": {"get": _op("One webhook endpoint", _ok("the endpoint", "WebhookOne"),
                                                   tag="admin", errors=("NotFound",), params=[ENDPOINT_ID],
                                                   admin=True)},
        "/api/webhooks/{endpoint_id}/rotate": {"post": _op(
            "Add a new signing secret (the previous one keeps signing)", _ok("the new secret", "WebhookSecret"),
            tag="admin", body="RotateRequest", body_required=False, errors=("NotFound", "Conflict"),
            params=[ENDPOINT_ID], admin=True)},
        "/api/webhooks/{endpoint_id}/disable": {"post": _op(
            "Stop sending (messages queue up meanwhile)", _ok("the endpoint", "WebhookOne"), tag="admin",
            body="DisableRequest", body_required=False, errors=("NotFound",), params=[ENDPOINT_ID], admin=True)},
        "/api/webhooks/{endpoint_id}/enable": {"post": _op(
            "Send again: the queue goes out in order on a fresh retry schedule", _ok("the endpoint", "WebhookOne"),
            tag="admin", errors=("NotFound",), params=[ENDPOINT_ID], admin=True)},
        "/api/webhooks/{endpoint_id}/retry": {"post": _op(
            "Retry now: the receiver is back, send the waiting queue without waiting for the next scheduled retry",
            _ok("the endpoint and how many deliveries were released", "WebhookRetry"),
            tag="admin", errors=("NotFound",), params=[ENDPOINT_ID], admin=True)},
        "/api/webhooks/{endpoint_id}/deliveries": {"get": _op(
            "The endpoint's deliveries, newest first", _ok("the deliveries", "DeliveryList"), tag="admin",
            errors=("NotFound",), admin=True, params=[
                ENDPOINT_ID, {"name": "status", "in": "query", "schema": {"enum": list(DELIVERY_STATUSES)}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500,
                                                             "default": 100}}])},
        "/api/deliveries/{outbox_id}/{endpoint_id}/replay": {"post": _op(
            "Send a delivery again (same webhook-id, fresh schedule)", _ok("the delivery, pending", "DeliveryOne"),
            tag="admin", errors=("NotFound",), admin=True,
            params=[_path("outbox_id", "msg_... (the webhook-id)"), ENDPOINT_ID])},
        **_teach_paths(),
        **_rota_paths(window_ids),
        "/metrics": {"get": _op("Prometheus metrics", {
            "description": "text exposition format 0.0.4: hallmonitor_frames_analysed_total, hallmonitor_camera_up, "
                           "hallmonitor_events_total, hallmonitor_webhook_backlog, "
                           "hallmonitor_webhook_deliveries_failed, hallmonitor_robot_backlog, ...",
            "content": {"text/plain": {"schema": {"type": "string"}}}}, tag="service")},
    }


def document(config=None) -> dict:
    """The document; with the hall's config, its window ids are the examples of ``window_id``."""
    window_ids = [w.id for cam in config.cameras for w in cam.windows] if config is not None else []
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hallmonitor API",
            "version": __version__,
            "description": "Events from the cameras watching a service hall's staff windows, the windows' state "
                           "and pauses, and the admin of tokens and webhooks. Every request needs "
                           "`Authorization: Bearer hm_...` (read scope for GET, write scope for POST) or a "
                           "dashboard login. Errors are always `{\"error\": {\"status\", \"message\"}}`. "
                           "See docs/integration.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "tags": [{"name": n} for n in ("events", "windows", "cameras", "rota", "service", "admin", "teach")],
        "paths": _paths(window_ids),
        "webhooks": {"event": {"post": {
            "summary": "A webhook message (Standard Webhooks v1)",
            "description": "Sent to each enabled endpoint whose types/windows match. Verify webhook-signature "
                           "(HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` with the endpoint's secret) "
                           "and reject timestamps more than 5 minutes away. Use webhook-id to drop duplicates.",
            "parameters": [
                {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
                 "description": "msg_...: the same on every retry (idempotency key)"},
                {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string"},
                 "description": "Unix seconds of this attempt"},
                {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"},
                 "description": "space-separated v1,<base64> signatures, one per active secret"}],
            "requestBody": {"required": True, "content": _json(ref("WebhookPayload"))},
            "responses": {"200": {"description": "any 2xx: delivered"},
                          "410": {"description": "Gone: the endpoint is disabled"}},
        }}},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "hm_...",
                           "description": "An API token made by an admin (GET /api/tokens)."},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "The dashboard's login; POSTs also need the X-CSRF-Token header."},
            },
            "schemas": _schemas(),
            "responses": RESPONSES,
        },
    }


def _teach_paths() -> dict:
    m: dict[str, Any] = {"tag": "teach", "session": "manager"}
    a: dict[str, Any] = {"tag": "teach", "session": "admin"}
    return {
        "/api/teach/events/{event_id}": {"get": _op(
            "The event's staff crops and windows, with their labels", _ok("what the teach panel shows", "TeachView"),
            errors=("NotFound",), params=[EVENT_ID], **m)},
        "/api/teach/events/{event_id}/labels": {"post": _op(
            "Label a staff crop or a window of the event's frame", _ok("the label (null when cleared)",
                                                                      "TeachLabelResult"),
            body="TeachLabelRequest", errors=("NotFound",), params=[EVENT_ID], **m,
            description="The event's clean frame is kept in the store with the label, so the label outlives "
                        "the event's media. A new value replaces the old one (the history is kept).")},
        "/api/teach/labels": {"get": _op("How many labels per behaviour, window and value",
                                         _ok("the counts", "LabelCounts"), **m)},
        "/api/teach/candidates": {"get": _op("Window states proposed without anyone's effort, to confirm",
                                             _ok("the open candidates", "CandidateList"), **m)},
        "/api/teach/candidates/{candidate_id}": {"post": _op(
            "Confirm, correct or drop a window-state candidate", _ok("the label made (null when dropped)",
                                                                    "CandidateResult"),
            body="CandidateRequest", errors=("NotFound",),
            params=[{**_path("candidate_id", "candidate id"), "schema": {"type": "integer"}}], **m)},
        "/api/teach/train": {"post": _op(
            "Fit the hall's heads on its labels (in the background)", _ok("the run, running", "RunOne"),
            status="202", body="TrainRequest", body_required=False, **m,
            description="One run at a time (400 while another runs). Follow it at /api/teach/runs/{run_id}; "
                        "new versions stay off until an admin switches them on.")},
        "/api/teach/runs/latest": {"get": _op("The latest training run", _ok("the run, or null", "RunOne"), **m)},
        "/api/teach/runs/{run_id}": {"get": _op(
            "One training run: progress, then the before/after table", _ok("the run", "RunOne"),
            errors=("NotFound",), params=[{**_path("run_id", "run id"), "schema": {"type": "integer"}}], **m)},
        "/api/teach/heads": {"get": _op("Every version of the hall's heads, and who switched what",
                                        _ok("versions and audit", "HeadList"), **m)},
        "/api/teach/heads/{ref}/activate": {"post": _op(
            "Switch a head version on", _ok("the version, on", "HeadVersionOne"), errors=("NotFound",),
            params=[_path("ref", "NAME@VERSION, e.g. hall-phone_in_use@2")], **a)},
        "/api/teach/heads/{head}/rollback": {"post": _op(
            "Undo the head's last switch", _ok("what is on now", "RolledBack"),
            params=[_path("head", "head name, e.g. hall-phone_in_use")], **a)},
    }
