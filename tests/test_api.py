"""The REST API through Flask's test client: who may do what, filters and paging, media downloads with
ranges, pauses, token and webhook admin, /metrics, and a matrix of bad input that must be a 4xx JSON error."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timezone

import av
import cv2
import numpy as np
import pytest

from dashboard import create_app
from dashboard.accounts import Accounts
from vision.config import parse_config
from vision.events import Event, new_event_id
from vision.media.clips import overlay_path, write_overlay
from vision.privacy.evidence import blurred_path
from vision.store.database import Store
from vision.webhooks.dispatcher import Dispatcher
from vision.webhooks.endpoints import Endpoints
from vision.webhooks.signing import new_secret

CONFIG = """
hall: {name: Test hall, language: en}
storage: {database: hall.db, media_dir: media}
cameras:
  - id: cam-a
    url: rtsp://127.0.0.1:9/a
    windows:
      - id: w01
        name: Window 1
        staff_zone: [[0, 0], [0.5, 0], [0.5, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [0.5, 0.6], [0.5, 0.8], [0, 0.8]]
      - id: w02
        staff_zone: [[0.5, 0], [1, 0], [1, 0.6], [0.5, 0.6]]
        counter: [[0.5, 0.6], [1, 0.6], [1, 0.8], [0.5, 0.8]]
  - id: cam-b
    url: rtsp://127.0.0.1:9/b
    windows:
      - id: w03
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8], [0, 0.8]]
webhooks:
  - id: queue-system
    url: http://127.0.0.1:9/hook
    secrets: [SECRET]
    allow_private: true
"""
PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC).timestamp()


class CameraStatus:
    """What the supervisor reports for /api/cameras and /metrics (the real one needs live cameras)."""

    def status(self) -> list[dict]:
        return [{"camera_id": "cam-a", "connected": True, "fps": 1.0, "frames_analysed": 42, "last_frame_age_s": 0.4,
                 "drops": 3, "reconnects": 1, "mode": "keyframes", "step_ms": 120.0, "worker_alive": True,
                 "last_error": None, "restarts": 0},
                {"camera_id": "cam-b", "connected": False, "fps": 0.0, "frames_analysed": 7, "last_frame_age_s": None,
                 "drops": 0, "reconnects": 4, "mode": "keyframes", "step_ms": 0.0, "worker_alive": True,
                 "last_error": "no frames for 10 s", "restarts": 0}]


def event(i: int, **kw) -> Event:
    at = T0 + i * 60
    base = dict(id=new_event_id(at), type="unattended", camera_id="cam-a", window_id="w01", phase="started",
                severity="medium", started_at=at, updated_at=at)
    base.update(kw)
    return Event(**base)


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    config = parse_config(CONFIG.replace("SECRET", new_secret()), base_dir=folder)
    store = Store(folder / "hall.db", synchronous="NORMAL")
    accounts = Accounts(store)
    for name, role in (("ada", "admin"), ("max", "manager"), ("vic", "viewer")):
        accounts.add_user(name, PASSWORD, role)
    tokens = {scope: accounts.create_token(f"{scope} token", scope)[1] for scope in ("read", "write")}
    revoked_meta, tokens["revoked"] = accounts.create_token("old", "write")
    accounts.revoke_token(revoked_meta["id"])
    Endpoints(store).sync_config(config.webhooks)
    app = create_app(config, store=store, supervisor=CameraStatus(), testing=True, secret_key=b"s" * 32)
    yield {"app": app, "store": store, "config": config, "tokens": tokens, "folder": folder}
    store.close()


@pytest.fixture(scope="module")
def events(hall) -> list[Event]:
    """30 events: 3 windows x types/severities, some ended, one reviewed."""
    store = hall["store"]
    types = ["unattended", "phone_use", "sleeping"]
    made = []
    for i in range(30):
        window = ("w01", "w02", "w03")[i % 3]
        ev = event(i, type=types[i % 3], window_id=window, camera_id="cam-b" if window == "w03" else "cam-a",
                   severity=("low", "medium", "high")[i % 3])
        store.record(ev)
        if i % 2 == 0:
            ev = ev.advance("ended", ev.started_at + 30)
            store.record(ev)
        made.append(ev)
    store.set_review(made[0].id, "resolved", "talked to staff", "max")
    return made


def login(app, username: str):
    """A browser session through the real login form; returns (client, csrf token)."""
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 302, r.data
    with client.session_transaction() as s:
        csrf = s["csrf"]
    return client, csrf


@pytest.fixture(scope="module")
def callers(hall):
    """who -> function(method, path, **kw) -> response, for every kind of caller."""
    app = hall["app"]
    out = {}
    for who, user in (("viewer", "vic"), ("manager", "max"), ("admin", "ada")):
        client, csrf = login(app, user)
        out[who] = (lambda c, t: lambda method, path, **kw: c.open(
            path, method=method, headers={"X-CSRF-Token": t, **kw.pop("headers", {})}, **kw))(client, csrf)
    for who in ("read", "write", "revoked"):
        token = hall["tokens"][who]
        out[who] = (lambda t: lambda method, path, **kw: app.test_client().open(
            path, method=method, headers={"Authorization": f"Bearer {t}", **kw.pop("headers", {})}, **kw))(token)
    out["none"] = lambda method, path, **kw: app.test_client().open(path, method=method, **kw)
    out["bad-token"] = lambda method, path, **kw: app.test_client().open(
        path, method=method, headers={"Authorization": "Bearer hm_not-a-token"}, **kw)
    return out


def _error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.data[:300])
    body = r.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == status and body["error"]["message"]
    return body["error"]["message"]


# ---- who may do what ----

EV = "EVENT"  # replaced by a real event id
GET_ALL = ("/api/health", "/api/events", f"/api/events/{EV}", f"/api/events/{EV}/timeline", "/api/windows",
           "/api/windows/w01", "/api/cameras", "/metrics", "/api/openapi.json")
ADMIN_ONLY = (("GET", "/api/tokens"), ("GET", "/api/webhooks"), ("GET", "/api/webhooks/queue-system"),
              ("GET", "/api/webhooks/queue-system/deliveries"))

# (who, expected status) for: reading, reviewing/pausing, admin routes
PERMISSIONS = [
    ("none", 401, 401, 401),
    ("bad-token", 401, 401, 401),
    ("revoked", 401, 401, 401),
    ("viewer", 200, 403, 403),
    ("manager", 200, 200, 403),
    ("admin", 200, 200, 200),
    ("read", 200, 403, 403),
    ("write", 200, 200, 403),
]


@pytest.mark.parametrize("who, read, act, admin", PERMISSIONS)
def test_permissions(callers, events, who, read, act, admin):
    call = callers[who]
    for path in GET_ALL:
        r = call("GET", path.replace(EV, events[3].id))
        assert r.status_code == read, (who, path, r.data[:200])
        if read != 200:
            _error(r, read)
    r = call("POST", f"/api/events/{events[3].id}/review", json={"status": "acknowledged"})
    assert r.status_code == act, (who, r.data[:200])
    r = call("POST", "/api/windows/w02/pause", json={"minutes": 1})
    assert r.status_code == (201 if act == 200 else act), (who, r.data[:200])
    r = call("POST", "/api/windows/w02/resume")
    assert r.status_code == act
    for method, path in ADMIN_ONLY:
        r = call(method, path)
        assert r.status_code == admin, (who, path, r.data[:200])
        if admin != 200:
            _error(r, admin)


def test_a_session_post_without_its_csrf_token_is_refused(hall):
    client, _ = login(hall["app"], "max")
    message = _error(client.post("/api/windows/w01/pause", json={"minutes": 5}), 403)
    assert "CSRF" in message
    assert hall["store"].active_pauses(time.time(), "w01") == []


def test_a_read_token_cannot_post_and_says_why(callers):
    message = _error(callers["read"]("POST", "/api/windows/w01/pause", json={"minutes": 5}), 403)
    assert "read scope" in message


# ---- events: filters and paging ----

def test_paging_walks_every_event_once_newest_first(callers, events):
    seen, cursor = [], None
    while True:
        r = callers["read"]("GET", "/api/events", query_string={"limit": 7, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200
        body = r.get_json()
        assert len(body["events"]) <= 7
        seen += [e["id"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [e.id for e in sorted(events, key=lambda e: (e.started_at, e.id), reverse=True)]
    # an empty cursor= (valid by the OpenAPI schema) is the first page
    first = callers["read"]("GET", "/api/events", query_string={"limit": 7, "cursor": ""})
    assert first.status_code == 200 and [e["id"] for e in first.get_json()["events"]] == seen[:7]


def _ids(call, **params) -> set[str]:
    r = call("GET", "/api/events", query_string={"limit": 500, **params})
    assert r.status_code == 200, r.data
    return {e["id"] for e in r.get_json()["events"]}


def test_filters(callers, events):
    call = callers["read"]
    by = lambda pred: {e.id for e in events if pred(e)}  # noqa: E731
    assert _ids(call, window="w02") == by(lambda e: e.window_id == "w02")
    assert _ids(call, window=["w01", "w03"]) == by(lambda e: e.window_id in ("w01", "w03"))
    assert _ids(call, camera="cam-b") == by(lambda e: e.camera_id == "cam-b")
    assert _ids(call, type=["phone_use", "sleeping"]) == by(lambda e: e.type in ("phone_use", "sleeping"))
    assert _ids(call, phase="ended") == by(lambda e: e.phase == "ended")
    assert _ids(call, phase=["started", "updated"]) == by(lambda e: e.phase != "ended")
    assert _ids(call, severity="high") == by(lambda e: e.severity == "high")
    assert _ids(call, review_status="resolved") == {events[0].id}
    iso_10 = datetime.fromtimestamp(T0 + 10 * 60, tz=UTC).isoformat()
    assert _ids(call, since=iso_10) == by(lambda e: e.started_at >= T0 + 600)
    assert _ids(call, since=str(T0 + 600), until=str(T0 + 1200)) == by(lambda e: T0 + 600 <= e.started_at < T0 + 1200)
    assert _ids(call, since="2026-11-02T17:10:00+08:00", window="w02", severity="medium") == \
        by(lambda e: e.started_at >= T0 + 600 and e.window_id == "w02" and e.severity == "medium")


def test_one_event_and_its_timeline(callers, events):
    ended = events[0]
    body = callers["read"]("GET", f"/api/events/{ended.id}").get_json()
    assert body["id"] == ended.id and body["phase"] == "ended" and body["review_status"] == "resolved"
    assert body["review_comment"] == "talked to staff" and body["reviewed_by"] == "max"
    timeline = callers["read"]("GET", f"/api/events/{ended.id}/timeline").get_json()
    assert timeline["event_id"] == ended.id
    assert [t["phase"] for t in timeline["timeline"]] == ["started", "ended"]


def test_review_by_a_write_token_names_the_token(callers, events):
    r = callers["write"]("POST", f"/api/events/{events[5].id}/review",
                         json={"status": "false_positive", "comment": "a cleaner, not staff"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["review_status"] == "false_positive" and body["reviewed_by"] == "token:write token"
    assert callers["read"]("GET", f"/api/events/{events[5].id}").get_json()["review_comment"] == "a cleaner, not staff"


# ---- media: clip, snapshot, boxes ----

@pytest.fixture(scope="module")
def media_event(hall, media):
    """An event whose clip is a real H.264 MP4 made from frames of OpenCV's vtest.avi."""
    store, config = hall["store"], hall["config"]
    media_dir = config.path(config.storage.media_dir)
    ev = event(100, window_id="w01")
    clip_rel = f"cam-a/2026-11-02/{ev.id}.mp4"
    snap_rel = f"cam-a/2026-11-02/{ev.id}.jpg"
    clip_path, snap_path = media_dir / clip_rel, media_dir / snap_rel
    clip_path.parent.mkdir(parents=True, exist_ok=True)
    capture = cv2.VideoCapture(str(media / "opencv" / "vtest.avi"))
    frames = []
    for _ in range(20):
        ok, frame = capture.read()
        assert ok
        frames.append(cv2.resize(frame, (384, 288)))
    capture.release()
    with av.open(str(clip_path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 384, 288, "yuv420p"
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert cv2.imwrite(str(snap_path), frames[0])
    boxes = [{"t": 0.0, "boxes": [([10, 20, 110, 220], "person", (0, 255, 0))]}]
    write_overlay(overlay_path(clip_path), boxes, 384, 288)
    store.record(Event(**{**ev.__dict__, "clip": clip_rel, "snapshot": snap_rel}))
    missing = event(101, clip="cam-a/2026-11-02/not-yet.mp4", snapshot=None)
    store.record(missing)
    outside = event(102, clip="../../hall.db", snapshot="../hall.db")
    store.record(outside)
    return {"event": ev, "clip": clip_path.read_bytes(), "clip_path": clip_path, "frames": len(frames), "missing": missing, "outside": outside}


def test_clip_downloads_whole_and_in_ranges(callers, media_event):
    call, ev = callers["read"], media_event["event"]
    r = call("GET", f"/api/events/{ev.id}/clip.mp4")
    deadline = time.time() + 60
    while r.status_code == 202:      # the faces are being blurred (dashboard/privacy.py): ask again
        assert r.json["status"] == "preparing" and r.headers["Retry-After"] == "2", r.json
        assert time.time() < deadline
        time.sleep(0.3)
        r = call("GET", f"/api/events/{ev.id}/clip.mp4")
    data = blurred_path(media_event["clip_path"]).read_bytes()     # an API answer leaves the hall: blurred
    assert r.status_code == 200 and r.mimetype == "video/mp4" and r.data == data
    assert r.headers["Accept-Ranges"] == "bytes"
    assert "private" in r.headers["Cache-Control"] and "public" not in r.headers["Cache-Control"]
    with av.open(io.BytesIO(r.data)) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(decoded) == media_event["frames"] and decoded[0].shape == (288, 384, 3)
    part = call("GET", f"/api/events/{ev.id}/clip.mp4", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.data == data[100:1100]
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    tail = call("GET", f"/api/events/{ev.id}/clip.mp4", headers={"Range": "bytes=-64"})
    assert tail.status_code == 206 and tail.data == data[-64:]
    again = call("GET", f"/api/events/{ev.id}/clip.mp4", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert call("GET", f"/api/events/{ev.id}/clip.mp4",
                headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


def test_snapshot_and_boxes(callers, media_event):
    ev = media_event["event"]
    r = callers["read"]("GET", f"/api/events/{ev.id}/snapshot.jpg")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(r.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (288, 384, 3)
    boxes = callers["read"]("GET", f"/api/events/{ev.id}/boxes.json")
    assert boxes.status_code == 200 and boxes.mimetype == "application/json"
    assert json.loads(boxes.data)["frames"][0]["boxes"][0]["label"] == "person"


def test_media_not_there_is_a_json_404(callers, media_event):
    call = callers["read"]
    assert "not there yet" in _error(call("GET", f"/api/events/{media_event['missing'].id}/clip.mp4"), 404)
    _error(call("GET", f"/api/events/{media_event['missing'].id}/snapshot.jpg"), 404)
    _error(call("GET", f"/api/events/{media_event['missing'].id}/boxes.json"), 404)
    for suffix in ("clip.mp4", "snapshot.jpg"):  # a path that leaves media_dir is never served
        _error(call("GET", f"/api/events/{media_event['outside'].id}/{suffix}"), 404)
    assert "no event" in _error(call("GET", "/api/events/evt_nope/clip.mp4"), 404)


# ---- windows, pauses, cameras ----

def test_pause_and_resume_from_the_queue_caller(callers, hall):
    store, call = hall["store"], callers["write"]
    before = time.time()
    r = call("POST", "/api/windows/w03/pause", json={"minutes": 10, "reason": "暂时离开,请稍候"})
    assert r.status_code == 201
    pause = r.get_json()["pause"]
    assert pause["window_id"] == "w03" and pause["source"] == "api" and pause["reason"] == "暂时离开,请稍候"
    active = store.active_pauses(time.time(), "w03")
    assert [p["id"] for p in active] == [pause["id"]]
    until = datetime.fromisoformat(active[0]["until"].replace("Z", "+00:00")).timestamp()
    assert before + 599 <= until <= time.time() + 601
    windows = {w["id"]: w for w in callers["read"]("GET", "/api/windows").get_json()["windows"]}
    assert windows["w03"]["paused"] and windows["w03"]["camera_id"] == "cam-b" and not windows["w01"]["paused"]
    r = call("POST", "/api/windows/w03/resume")
    assert r.status_code == 200 and [p["id"] for p in r.get_json()["ended"]] == [pause["id"]]
    assert store.active_pauses(time.time() + 0.01, "w03") == []
    again = call("POST", "/api/windows/w03/resume")
    assert again.status_code == 200 and again.get_json()["ended"] == []
    assert "no window 'w99'" in _error(call("POST", "/api/windows/w99/pause", json={"minutes": 5}), 404)
    _error(call("POST", "/api/windows/w99/resume"), 404)
    _error(call("GET", "/api/windows/w99"), 404)


def test_window_state_shows_in_the_list(callers, hall):
    hall["store"].set_window_state("w02", "cam-a", "staffed", since=T0, updated_at=T0 + 5)
    windows = {w["id"]: w for w in callers["read"]("GET", "/api/windows").get_json()["windows"]}
    assert windows["w02"]["state"]["status"] == "staffed" and windows["w01"]["state"] is None


def test_cameras_never_show_the_url_and_carry_live_status(callers):
    cameras = callers["read"]("GET", "/api/cameras").get_json()["cameras"]
    assert [c["id"] for c in cameras] == ["cam-a", "cam-b"]
    assert cameras[0]["windows"] == ["w01", "w02"] and cameras[0]["status"]["frames_analysed"] == 42
    assert cameras[1]["status"]["connected"] is False
    assert "rtsp" not in json.dumps(cameras)


def test_health(callers):
    body = callers["read"]("GET", "/api/health").get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["cameras"] == {"configured": 2, "connected": 1}


# ---- metrics ----

def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_metrics(callers, hall, events):
    store = hall["store"]
    Dispatcher(store).fan_out()  # a backlog for the config endpoint, nothing sent
    r = callers["read"]("GET", "/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    samples = _samples(r.get_data(as_text=True))
    assert samples['hallmonitor_frames_analysed_total{camera="cam-a"}'] == 42
    assert samples['hallmonitor_camera_up{camera="cam-a"}'] == 1
    assert samples['hallmonitor_camera_up{camera="cam-b"}'] == 0
    assert samples['hallmonitor_events_total{type="phone_use"}'] == store.count_events(types="phone_use") > 0
    assert samples['hallmonitor_events_total{type="eating"}'] == 0
    pending = store._conn().execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
    assert samples['hallmonitor_webhook_backlog{endpoint="queue-system"}'] == pending > 0
    assert samples['hallmonitor_webhook_deliveries_failed{endpoint="queue-system"}'] == 0
    assert "# TYPE hallmonitor_events_total counter" in r.get_data(as_text=True)


# ---- token admin ----

def test_token_admin_end_to_end(callers, hall):
    admin = callers["admin"]
    r = admin("POST", "/api/tokens", json={"name": "queue caller", "scope": "write"})
    assert r.status_code == 201
    made = r.get_json()
    secret, token_id = made["secret"], made["token"]["id"]
    assert secret.startswith("hm_") and made["token"]["scope"] == "write"
    assert token_id in {t["id"] for t in admin("GET", "/api/tokens").get_json()["tokens"]}
    assert secret not in json.dumps(admin("GET", "/api/tokens").get_json())
    client = hall["app"].test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/windows/w01/resume", headers=auth).status_code == 200
    r = admin("POST", f"/api/tokens/{token_id}/revoke")
    assert r.status_code == 200 and r.get_json()["token"]["revoked_at"]
    _error(client.get("/api/health", headers=auth), 401)
    _error(admin("POST", "/api/tokens/tok_nope/revoke"), 404)
    assert "scope" in _error(admin("POST", "/api/tokens", json={"name": "x", "scope": "admin"}), 400)


# ---- webhook admin ----

def test_webhook_admin_end_to_end(callers, hall, events):
    admin, store = callers["admin"], hall["store"]
    message = _error(admin("POST", "/api/webhooks", json={"url": "http://127.0.0.1:8080/hook"}), 400)
    assert "loopback" in message and "allow_private" in message
    assert "metadata" in _error(admin("POST", "/api/webhooks", json={"url": "http://169.254.169.254/latest"}), 400)
    assert "unknown message types" in _error(admin("POST", "/api/webhooks", json={
        "url": "http://127.0.0.1:1/h", "allow_private": True, "types": ["event.exploded"]}), 400)
    assert "unknown window ids" in _error(admin("POST", "/api/webhooks", json={
        "url": "http://127.0.0.1:1/h", "allow_private": True, "windows": ["w77"]}), 400)
    r = admin("POST", "/api/webhooks", json={"url": "http://127.0.0.1:1/h", "allow_private": True,
                                             "types": ["event.started"], "windows": ["w01"], "timeout_s": 5})
    assert r.status_code == 201
    made = r.get_json()
    hook, secret = made["webhook"], made["secret"]
    assert secret.startswith("whsec_") and hook["secret_count"] == 1 and hook["source"] == "dashboard"
    assert secret not in json.dumps(admin("GET", "/api/webhooks").get_json())
    rotated = admin("POST", f"/api/webhooks/{hook['id']}/rotate").get_json()
    assert rotated["secret"] != secret and rotated["webhook"]["secret_count"] == 2
    only_new = admin("POST", f"/api/webhooks/{hook['id']}/rotate", json={"keep_previous": False}).get_json()
    assert only_new["webhook"]["secret_count"] == 1
    assert "cameras.yaml" in _error(admin("POST", "/api/webhooks/queue-system/rotate"), 409)
    off = admin("POST", f"/api/webhooks/{hook['id']}/disable", json={"reason": "receiver moving"}).get_json()
    assert off["webhook"]["enabled"] is False and off["webhook"]["disabled_reason"] == "receiver moving"
    on = admin("POST", f"/api/webhooks/{hook['id']}/enable").get_json()
    assert on["webhook"]["enabled"] is True and on["webhook"]["disabled_reason"] is None

    store.record(event(200, window_id="w01"))
    Dispatcher(store).fan_out()
    deliveries = admin("GET", f"/api/webhooks/{hook['id']}/deliveries").get_json()["deliveries"]
    assert len(deliveries) == 1 and deliveries[0]["status"] == "pending" and deliveries[0]["type"] == "event.started"
    d = deliveries[0]
    assert admin("GET", f"/api/webhooks/{hook['id']}/deliveries?status=delivered").get_json()["deliveries"] == []
    r = admin("POST", f"/api/deliveries/{d['outbox_id']}/{hook['id']}/replay")
    assert r.status_code == 200 and r.get_json()["delivery"]["status"] == "pending"
    _error(admin("POST", f"/api/deliveries/msg_nope/{hook['id']}/replay"), 404)
    _error(admin("GET", "/api/webhooks/ep_nope/deliveries"), 404)
    _error(admin("GET", f"/api/webhooks/{hook['id']}/deliveries?status=lost"), 400)
    listed = {w["id"]: w for w in admin("GET", "/api/webhooks").get_json()["webhooks"]}
    assert listed[hook["id"]]["deliveries"]["pending"] == 1 and listed["queue-system"]["source"] == "config"


def test_webhooks_page(hall):
    app = hall["app"]
    client, csrf = login(app, "ada")
    page = client.get("/settings/webhooks")
    assert page.status_code == 200 and "queue-system" in page.get_data(as_text=True)
    created = client.post("/settings/webhooks", data={"csrf_token": csrf, "url": "http://127.0.0.1:2/page",
                                                       "allow_private": "on", "types": ["window.paused"],
                                                       "timeout_s": "10"})
    html = created.get_data(as_text=True)
    assert created.status_code == 201 and 'id="new-secret">whsec_' in html
    endpoint = next(e for e in Endpoints(hall["store"]).list() if e.url == "http://127.0.0.1:2/page")
    assert endpoint.types == ("window.paused",) and endpoint.allow_private and endpoint.timeout_s == 10
    refused = client.post("/settings/webhooks", data={"csrf_token": csrf, "url": "http://10.0.0.8/x"})
    assert refused.status_code == 400 and "private address" in refused.get_data(as_text=True)
    assert client.post(f"/settings/webhooks/{endpoint.id}/disable", data={}).status_code == 403  # no CSRF token
    r = client.post(f"/settings/webhooks/{endpoint.id}/disable", data={"csrf_token": csrf})
    assert r.status_code == 302 and not Endpoints(hall["store"]).get(endpoint.id).enabled
    rotated = client.post(f"/settings/webhooks/{endpoint.id}/rotate", data={"csrf_token": csrf})
    newest = Endpoints(hall["store"]).get(endpoint.id).secrets[0]
    assert rotated.status_code == 200 and newest in rotated.get_data(as_text=True)
    hall["store"].record(event(300, window_id="w02"))
    Dispatcher(hall["store"]).fan_out()
    d = Endpoints(hall["store"]).deliveries("queue-system", limit=1)[0]
    log = client.get("/settings/webhooks?hook=queue-system")
    assert log.status_code == 200 and d["outbox_id"] in log.get_data(as_text=True)
    with hall["store"].write() as conn:
        conn.execute("UPDATE deliveries SET status = 'failed', attempts = 10 WHERE outbox_id = ?", (d["outbox_id"],))
    replayed = client.post(f"/settings/webhooks/deliveries/{d['outbox_id']}/queue-system/replay",
                           data={"csrf_token": csrf})
    assert replayed.status_code == 302 and replayed.headers["Location"].endswith("?hook=queue-system")
    again = Endpoints(hall["store"]).delivery(d["outbox_id"], "queue-system")
    assert again["status"] == "pending" and again["attempts"] == 0
    manager, _ = login(app, "max")
    assert manager.get("/settings/webhooks").status_code == 403


# ---- bad input never makes a 500 ----

BAD_INPUT = [
    # method, path, kwargs, status, words in the message
    ("POST", "/api/windows/w01/pause", {"data": "{not json", "content_type": "application/json"}, 400,
     "not valid JSON"),
    ("POST", "/api/windows/w01/pause", {"data": "[5]", "content_type": "application/json"}, 400, "JSON object"),
    ("POST", "/api/windows/w01/pause", {"data": "minutes=5", "content_type": "application/x-www-form-urlencoded"},
     415, "application/json"),
    ("POST", "/api/windows/w01/pause", {}, 400, "minutes"),
    ("POST", "/api/windows/w01/pause", {"json": {"minutes": 0}}, 400, "from 1 to 1440"),
    ("POST", "/api/windows/w01/pause", {"json": {"minutes": 1441}}, 400, "from 1 to 1440"),
    ("POST", "/api/windows/w01/pause", {"json": {"minutes": "5"}}, 400, "number"),
    ("POST", "/api/windows/w01/pause", {"json": {"minutes": True}}, 400, "number"),
    ("POST", "/api/windows/w01/pause", {"data": '{"minutes": NaN}', "content_type": "application/json"}, 400, "JSON"),
    ("POST", "/api/windows/w01/pause", {"json": {"minutes": 5, "reason": 7}}, 400, "reason"),
    ("POST", "/api/windows/w01/pause", {"json": {"minutes": 5, "reason": "x" * 201}}, 400, "200 characters"),
    ("POST", "/api/windows/w01/pause", {"json": {"minutes": 5, "minuets": 5}}, 400, "unknown field 'minuets'"),
    ("POST", "/api/windows/w01/pause", {"data": b'{"reason": "' + b"x" * 70_000 + b'"}',
                                        "content_type": "application/json"}, 413, "too large"),
    ("POST", "/api/windows/w01/pause", {"data": b"\xff\xfe{", "content_type": "application/json"}, 400, "JSON"),
    ("POST", f"/api/events/{EV}/review", {"json": {"status": "deleted"}}, 400, "acknowledged"),
    ("POST", f"/api/events/{EV}/review", {"json": {"comment": "no status"}}, 400, "status"),
    ("POST", f"/api/events/{EV}/review", {"json": {"status": "resolved", "comment": ["x"]}}, 400, "comment"),
    ("POST", "/api/events/evt_nope/review", {"json": {"status": "resolved"}}, 404, "no event"),
    ("GET", "/api/events?limit=abc", {}, 400, "limit"),
    ("GET", "/api/events?limit=0", {}, 400, "limit"),
    ("GET", "/api/events?limit=501", {}, 400, "limit"),
    ("GET", "/api/events?since=yesterday", {}, 400, "since"),
    ("GET", "/api/events?since=2026-11-02T09:00:00", {}, 400, "zone"),
    ("GET", "/api/events?since=99999999999999", {}, 400, "1970 to 9999"),
    ("GET", "/api/events?since=2026-11-03T00:00:00Z&until=2026-11-02T00:00:00Z", {}, 400, "after until"),
    ("GET", "/api/events?type=nap", {}, 400, "unknown value 'nap'"),
    ("GET", "/api/events?severity=extreme", {}, 400, "severity"),
    ("GET", "/api/events?cursor=garbage", {}, 400, "cursor"),
    ("GET", "/api/events?windw=w01", {}, 400, "unknown query parameter 'windw'"),
    ("GET", "/api/events/evt_nope", {}, 404, "no event"),
    ("GET", "/api/events/evt_nope/timeline", {}, 404, "no event"),
    ("DELETE", "/api/events", {}, 405, "method"),
    ("GET", "/api/nothing-here", {}, 404, "not found"),
]


@pytest.mark.parametrize("method, path, kwargs, status, words", BAD_INPUT,
                         ids=[f"{m} {p[:40]} {s}" for m, p, _, s, _ in BAD_INPUT])
def test_bad_input_is_a_4xx_json_error(callers, events, method, path, kwargs, status, words):
    r = callers["write"](method, path.replace(EV, events[1].id), **kwargs)
    message = _error(r, status)
    assert words.lower() in message.lower(), message


def test_405_names_the_allowed_methods(callers):
    r = callers["write"]("DELETE", "/api/windows/w01/pause")
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


LONE_SURROGATE = b'"\\udc80 oops"'    # JSON's escape for half a UTF-16 pair: no character at all


@pytest.mark.parametrize("who, method, path, body", [
    ("write", "POST", "/api/windows/w01/pause", b'{"minutes": 1, "reason": %s}'),
    ("write", "POST", "/api/events/{event}/review", b'{"status": "acknowledged", "comment": %s}'),
    ("admin", "POST", "/api/tokens", b'{"name": %s, "scope": "read"}'),
    ("manager", "POST", "/events/{event}/review", b'{"status": "acknowledged", "comment": %s}'),
])
def test_a_lone_surrogate_is_a_400_not_a_500(callers, events, who, method, path, body):
    event = events[0].id
    r = callers[who](method, path.format(event=event), data=body % LONE_SURROGATE,
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.data[:300])
    if path.startswith("/api/"):
        assert r.get_json()["error"]["status"] == 400
