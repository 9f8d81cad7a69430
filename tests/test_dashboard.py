"""Dashboard pages through the Flask test client, on a real SQLite store: permissions, CSRF, the
events list and review, the weekly report's numbers and CSV, the live view fallback, SSE."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from werkzeug.security import generate_password_hash

from dashboard import create_app
from dashboard.accounts import Accounts
from vision.config import load_config
from vision.events import Event, new_event_id
from vision.media.clips import write_snapshot
from vision.store.database import Store

TZ = ZoneInfo("Asia/Shanghai")

HALL_YAML = """\
# test hall: two cameras, three windows
hall:
  name: 测试大厅
  language: zh-CN
storage:
  database: var/hm.db       # relative to this file
  media_dir: var/media
dashboard:
  secret_key_file: var/secret_key
schedule:
  timezone: Asia/Shanghai
cameras:
  - id: cam-a
    name: A区
    url: rtsp://127.0.0.1:9/none
    windows:
      - id: w01
        name: 1号窗口
        # the staff zone follows the desk's edge
        staff_zone: [[0.05, 0.10], [0.45, 0.10], [0.45, 0.60], [0.05, 0.60]]   # keep me
        counter:    [[0.00, 0.60], [0.50, 0.60], [0.50, 0.80], [0.00, 0.80]]
        citizen_zone: [[0.00, 0.80], [0.50, 0.80], [0.50, 1.00], [0.00, 1.00]]
      - id: w02
        name: 2号窗口
        staff_zone: [[0.55, 0.10], [0.95, 0.10], [0.95, 0.60], [0.55, 0.60]]
        counter:    [[0.50, 0.60], [1.00, 0.60], [1.00, 0.80], [0.50, 0.80]]
  - id: cam-b
    name: B区
    url: rtsp://127.0.0.1:9/none
    windows:
      - id: w03
        name: 3号窗口
        staff_zone: [[0.20, 0.20], [0.60, 0.20], [0.60, 0.60], [0.20, 0.60]]
        counter:    [[0.20, 0.60], [0.60, 0.60], [0.60, 0.70], [0.20, 0.70]]
"""

PASSWORD = "correct-horse-1"
CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def local_ts(*args) -> float:
    return datetime(*args, tzinfo=TZ).timestamp()


def record(store: Store, type_: str, window: str | None, start: float, minutes: float | None, *,
           camera: str = "cam-a", severity: str = "medium", snapshot: str | None = None,
           clip: str | None = None) -> Event:
    """One event, ended after ``minutes`` (None: still open)."""
    ev = Event(id=new_event_id(start), type=type_, camera_id=camera, window_id=window, phase="started",
               severity=severity, started_at=start, updated_at=start, snapshot=snapshot, clip=clip)
    store.record(ev)
    if minutes is not None:
        ev = ev.advance("ended", start + minutes * 60)
        store.record(ev)
    return ev


class Site:
    def __init__(self, folder: Path, target: Path | str | None = None):
        self.folder = folder
        self.config_path = folder / "cameras.yaml"
        self.config_path.write_text(HALL_YAML, encoding="utf-8")
        self.config = load_config(self.config_path)
        self.store = Store(target or self.config.store_target())
        self.media = self.config.path(self.config.storage.media_dir)
        self.app = create_app(self.config, store=self.store, config_path=self.config_path, testing=True,
                              secret_key=b"t" * 32)
        # the users get a cheap pbkdf2 hash (werkzeug reads the method from the hash when checking), so
        # each test does not spend a second on scrypt; the login itself runs the real code
        with self.store.write() as conn:
            for role in ("admin", "manager", "viewer"):
                conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                             (role, CHEAP_HASH, role, time.time()))

    def client(self, role: str | None = None):
        client = self.app.test_client()
        if role is not None:
            login(client, role)
        return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, username: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.text
    return csrf_of(client.get("/").text)


@pytest.fixture()
def site(tmp_path) -> Site:
    s = Site(tmp_path)
    yield s
    s.store.close()


def snapshot_file(site: Site, name: str = "cam-a/2026-11-10/snap.jpg") -> str:
    image = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(image, (200, 60), (320, 300), (40, 160, 40), -1)
    write_snapshot(image, site.media / name, [((190, 50, 330, 310), "staff", (60, 180, 60))])
    return name


# ---- permissions ----

PAGES = ["/", "/events", "/live", "/report", "/report.csv", "/settings", "/settings/users",
         "/settings/cameras/cam-a", "/events/stream"]
ADMIN_ONLY = {"/settings", "/settings/users", "/settings/cameras/cam-a"}


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(site, path):
    resp = site.client().get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", ["/events?to=9999-12-31", "/events?from=0001-01-01&to=9999-12-31",
                                  "/report?week=9999-W52", "/report?week=0001-W01", "/report.csv?week=9999-W52"])
def test_dates_a_date_picker_allows_never_give_a_500(site, path):
    record(site.store, "unattended", "w01", time.time() - 600, 5)
    assert site.client("viewer").get(path).status_code == 200


def test_every_answer_carries_the_security_headers(site):
    client = site.client("viewer")
    for path in ("/", "/events", "/report", "/live", "/login", "/api/health", "/static/app.css"):
        h = client.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "same-origin" and "Strict-Transport-Security" not in h
    for template in Path("dashboard/templates").glob("*.html"):     # the CSP would block inline code
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", html), template
        assert not re.search(r"\son[a-z]+=\"", html), template


def test_secure_cookies_behind_tls(tmp_path):
    (tmp_path / "cameras.yaml").write_text(HALL_YAML.replace(
        "  secret_key_file: var/secret_key", "  secret_key_file: var/secret_key\n  secure_cookies: true"))
    app = create_app(load_config(tmp_path / "cameras.yaml"), testing=True)
    resp = app.test_client().get("/login")
    assert "Secure" in resp.headers["Set-Cookie"] and "max-age" in resp.headers["Strict-Transport-Security"]


def _try_login(client, username: str, password: str, address: str = "127.0.0.1"):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_failed_logins_lock_the_account_then_the_address(site, caplog):
    client = site.client()
    for _ in range(5):
        assert _try_login(client, "viewer", "wrong").status_code == 401
    locked = _try_login(client, "viewer", PASSWORD)                # even the right password, now
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60
    assert "已暂时锁定" in locked.text and "15 分钟" in locked.text
    assert "login failed for user 'viewer' from 127.0.0.1" in caplog.text
    # the other accounts are not locked by it
    assert _try_login(site.client(), "manager", PASSWORD).status_code == 302
    # one address trying many accounts is stopped too
    for i in range(20):
        assert _try_login(client, f"guess{i}", "wrong", address="10.9.9.9").status_code == 401
    assert _try_login(client, "admin", PASSWORD, address="10.9.9.9").status_code == 429
    assert _try_login(site.client(), "admin", PASSWORD).status_code == 302     # from elsewhere it works


@pytest.mark.parametrize("next_url, location", [
    ("/events?type=sleeping", "/events?type=sleeping"),
    ("/%09/evil.example/x", "/"),          # Flask decodes %09: a tab, which browsers drop -> //evil.example
    ("/\\evil.example/x", "/"),
    ("//evil.example/x", "/"),
    ("https://evil.example/x", "/"),
    ("/%0a/evil.example", "/"),
])
def test_login_returns_only_to_this_site(site, next_url, location):
    client = site.client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.post("/login?next=" + next_url, data={"username": "viewer", "password": PASSWORD,
                                                        "csrf_token": token})
    assert resp.status_code == 302
    assert resp.headers["Location"] == location


@pytest.mark.parametrize("role, path, expected", [
    (role, path, 403 if (path in ADMIN_ONLY and role != "admin") else 200)
    for role in ("viewer", "manager", "admin") for path in PAGES if path != "/events/stream"
])
def test_pages_by_role(site, role, path, expected):
    record(site.store, "unattended", "w01", time.time() - 600, 5)
    resp = site.client(role).get(path)
    assert resp.status_code == expected, resp.text[:500]


def test_nav_shows_settings_only_to_admins(site):
    assert "/settings/webhooks" in site.client("admin").get("/").text
    for role in ("viewer", "manager"):
        html = site.client(role).get("/").text
        assert "/settings/webhooks" not in html and 'href="/settings"' not in html


def test_review_needs_manager_and_csrf(site):
    ev = record(site.store, "sleeping", "w02", time.time() - 60, None, severity="high")
    viewer = site.client()
    token = login(viewer, "viewer")
    resp = viewer.post(f"/events/{ev.id}/review", json={"status": "acknowledged"}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 403

    manager = site.client()
    token = login(manager, "manager")
    resp = manager.post(f"/events/{ev.id}/review", json={"status": "acknowledged", "comment": "去看了"})
    assert resp.status_code == 403 and "CSRF" in resp.text
    resp = manager.post(f"/events/{ev.id}/review", json={"status": "acknowledged", "comment": "去看了"},
                        headers={"X-CSRF-Token": token})
    assert resp.status_code == 200
    assert resp.json["review_status"] == "acknowledged" and resp.json["reviewed_by"] == "manager"
    stored = site.store.get_event(ev.id)
    assert (stored["review_status"], stored["review_comment"], stored["reviewed_by"]) == \
        ("acknowledged", "去看了", "manager")

    # the event page's form: resolve, then false positive, each with its comment
    resp = manager.post(f"/events/{ev.id}/review",
                        data={"status": "resolved", "comment": "已提醒", "csrf_token": token})
    assert resp.status_code == 302
    assert site.store.get_event(ev.id)["review_status"] == "resolved"
    resp = manager.post(f"/events/{ev.id}/review", json={"status": "false_positive", "comment": "是访客"},
                        headers={"X-CSRF-Token": token})
    assert site.store.get_event(ev.id)["review_comment"] == "是访客"
    resp = manager.post(f"/events/{ev.id}/review", json={"status": "bogus"}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 400

    # keep toggle
    assert manager.post(f"/events/{ev.id}/keep", data={"keep": "1", "csrf_token": token}).status_code == 302
    assert site.store.get_event(ev.id)["keep"] is True
    assert viewer.post(f"/events/{ev.id}/keep", data={"keep": "0"}).status_code == 403


def test_users_admin_adds_changes_and_disables(site):
    admin = site.client()
    token = login(admin, "admin")
    resp = admin.post("/settings/users", data={"username": "zhang", "password": "long-enough-1", "role": "viewer",
                                               "csrf_token": token})
    assert resp.status_code == 200 and "zhang" in resp.text
    assert admin.post("/settings/users", data={"username": "li", "password": "short", "role": "viewer",
                                               "csrf_token": token}).status_code == 400
    admin.post("/settings/users/zhang", data={"role": "manager", "csrf_token": token})
    assert site.store and Accounts(site.store).user("zhang")["role"] == "manager"
    admin.post("/settings/users/zhang", data={"disabled": "1", "csrf_token": token})
    assert Accounts(site.store).user("zhang")["disabled"] == 1
    # an admin cannot lock themselves out
    assert admin.post("/settings/users/admin", data={"role": "viewer", "csrf_token": token}).status_code == 400
    assert admin.post("/settings/users/zhang", data={"disabled": "0"}).status_code == 403   # no CSRF token
    assert site.client("manager").post("/settings/users", data={"username": "x"}).status_code == 403


# ---- events list, event page, media ----

def test_events_list_filters_and_pages(site):
    base = local_ts(2026, 11, 10, 9, 0)
    for i in range(120):
        record(site.store, ("unattended", "phone_use", "eating")[i % 3], ("w01", "w02", "w03")[i % 3],
               base + i * 300, 2, camera="cam-b" if i % 3 == 2 else "cam-a", severity=("high", "medium", "low")[i % 3])
    client = site.client("viewer")
    page = client.get("/events").text
    assert "共 120 条事件" in page
    assert page.count('class="sev-') == 50
    nxt = re.search(r'id="next-page" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    seen = set(re.findall(r'/events/(evt_[0-9a-f]+)"', page))
    page2 = client.get(nxt).text
    seen2 = set(re.findall(r'/events/(evt_[0-9a-f]+)"', page2))
    assert len(seen) == len(seen2) == 50 and not seen & seen2

    filtered = client.get("/events?window=w02&type=phone_use&severity=medium&from=2026-11-10&to=2026-11-10").text
    assert "共 40 条事件" in filtered
    assert client.get("/events?window=w02&type=eating").text.count('class="sev-') == 0
    assert "共 0 条事件" in client.get("/events?from=2026-11-11").text
    assert "共 120 条事件" in client.get("/events?status=new&lang=en").text.replace("120 events", "共 120 条事件")
    # a broken cursor is explained, not a 500
    assert client.get("/events?cursor=nonsense").status_code == 400      # the page says so, with the first page link


def test_event_page_and_media(site):
    snap = snapshot_file(site)
    clip_rel = "cam-a/2026-11-10/clip.mp4"
    (site.media / clip_rel).write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000)
    (site.media / "cam-a/2026-11-10/clip.boxes.json").write_text(json.dumps(
        {"version": 1, "width": 640, "height": 360, "frames": [{"t": 0.5, "boxes": []}]}))
    ev = record(site.store, "unattended", "w01", time.time() - 120, 1, snapshot=snap, clip=clip_rel)
    client = site.client("viewer")
    html = client.get(f"/events/{ev.id}").text
    assert "离岗" in html and "1号窗口" in html and "<video" in html and "时间线" in html
    assert "act_resolve" not in html and 'name="status"' not in html       # a viewer gets no review form
    assert 'name="status" value="resolved"' in site.client("manager").get(f"/events/{ev.id}").text
    full = client.get(f"/events/{ev.id}/snapshot.jpg")
    assert full.status_code == 200 and full.data[:2] == b"\xff\xd8"
    thumb = client.get(f"/events/{ev.id}/snapshot.jpg?thumb=1")
    image = cv2.imdecode(np.frombuffer(thumb.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] <= 320
    # the clip's bytes here are no video, so no blurred copy can be made of them (tests/test_privacy.py
    # blurs real clips): an admin's player gets the original, in ranges
    admin = site.client("admin")
    ranged = admin.get(f"/events/{ev.id}/clip.mp4", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100
    assert client.get(f"/events/{ev.id}/clip.mp4").status_code == 202        # a viewer waits for the blur
    assert client.get(f"/events/{ev.id}/boxes.json").json["width"] == 640
    for resp in (full, thumb, ranged, client.get(f"/events/{ev.id}/boxes.json")):   # evidence: no shared caches
        assert "private" in resp.headers["Cache-Control"] and "public" not in resp.headers["Cache-Control"]
    assert client.get("/events/evt_missing").status_code == 404
    # a path outside the media folder is never served
    bad = record(site.store, "eating", "w01", time.time() - 50, 1, snapshot="../cameras.yaml")
    assert client.get(f"/events/{bad.id}/snapshot.jpg").status_code == 404


def test_board_shows_window_states(site):
    now = time.time()
    site.store.set_window_state("w01", "cam-a", "unattended", now - 125, now, ["unattended"])
    site.store.set_window_state("w02", "cam-a", "staffed", now - 3600, now)
    record(site.store, "camera_offline", None, now - 30, None, camera="cam-b", severity="high")
    html = site.client("viewer").get("/").text
    tiles = dict(re.findall(r'class="tile state-(\w+)"[^>]*data-window="(\w+)"', html))
    assert {v: k for k, v in tiles.items()} == {"w01": "unattended", "w02": "staffed", "w03": "offline"}
    assert "摄像头离线" in html and "擅自离岗" in html


def test_live_view_without_cameras_shows_latest_snapshot(site):
    client = site.client("viewer")
    assert client.get("/live/cam-a.jpg").status_code == 404
    html = client.get("/live").text
    assert "hallmonitor run" in html
    snap = snapshot_file(site)
    record(site.store, "unattended", "w01", time.time() - 60, 1, snapshot=snap)
    resp = client.get("/live/cam-a.jpg")
    assert resp.status_code == 200 and resp.headers["X-Frame-Source"] == "snapshot"
    assert client.get("/live/nope.jpg").status_code == 404


def test_live_view_draws_the_workers_latest_frame(site):
    class Worker:
        latest = (time.time(), np.full((720, 1280, 3), 120, np.uint8), [])

    class Supervisor:
        workers = {"cam-a": Worker()}

    app = create_app(site.config, store=site.store, supervisor=Supervisor(), testing=True, secret_key=b"t" * 32)
    client = app.test_client()
    login(client, "viewer")
    resp = client.get("/live/cam-a.jpg")
    assert resp.headers["X-Frame-Source"] == "live"
    image = cv2.imdecode(np.frombuffer(resp.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] == 960                                  # downscaled for the page
    assert (np.abs(image.astype(int) - 120).sum(axis=2) > 60).mean() > 0.01   # zones drawn on it
    assert "hallmonitor run" not in client.get("/live").text


# ---- the weekly report ----

@pytest.fixture()
def scripted_week(site):
    s = site.store
    # 2026-W46: Monday 2026-11-09 .. Sunday 2026-11-15 (Asia/Shanghai)
    record(s, "unattended", "w01", local_ts(2026, 11, 10, 9, 0), 10)
    record(s, "unattended", "w01", local_ts(2026, 11, 12, 14, 0), 5)
    record(s, "unattended", "w01", local_ts(2026, 11, 15, 23, 50), 30)     # runs into next week: 10 min count
    record(s, "phone_use", "w01", local_ts(2026, 11, 11, 10, 0), 2)
    record(s, "unattended", "w02", local_ts(2026, 11, 13, 9, 30), 30, severity="high")
    record(s, "eating", "w02", local_ts(2026, 11, 14, 11, 0), 1, severity="low")
    fp = record(s, "phone_use", "w02", local_ts(2026, 11, 12, 10, 0), 3)
    s.set_review(fp.id, "false_positive", "是计算器", "manager")
    record(s, "camera_offline", None, local_ts(2026, 11, 11, 8, 0), 60, camera="cam-b", severity="high")
    # 2026-W45 (previous) and W47 (next)
    record(s, "unattended", "w01", local_ts(2026, 11, 3, 9, 0), 5)
    record(s, "eating", "w02", local_ts(2026, 11, 4, 12, 0), 1)
    record(s, "eating", "w02", local_ts(2026, 11, 5, 12, 0), 1)
    record(s, "unattended", "w01", local_ts(2026, 11, 16, 8, 0), 60)
    record(s, "unattended", "w01", local_ts(2026, 11, 9, 0, 0) - 1, 5)      # Sunday 23:59:59 of W45
    return site


def test_report_numbers(scripted_week):
    client = scripted_week.client("viewer")
    html = client.get("/report?week=2026-W46").text
    assert "2026-11-09 – 2026-11-15" in html
    assert re.search(r'id="total-events">7<', html)
    assert re.search(r'id="unattended-total">55.0<', html)          # 10 + 5 + 10 (cut) + 30
    rows = {}
    for place, cells in re.findall(r'<tr data-place="([^"]+)">(.*?)</tr>', html, re.S):
        rows[place] = [c.strip() for c in re.findall(r'<td class="num[^"]*">([^<]*)</td>', cells)]
    types = re.findall(r"<th[^>]*>([^<]+)</th>", html.split('id="report-table"')[1].split("</thead>")[0])[1:-3]
    assert types == ["擅自离岗", "窗口使用手机", "窗口进食", "摄像头离线"]
    assert rows["w01"] == ["3", "1", "·", "·", "4", "+100%", "25.0"]   # previous week: 2 (one at Sunday 23:59:59)
    assert rows["w02"] == ["1", "·", "1", "·", "2", "+0%", "30.0"]
    assert rows["w03"] == ["·", "·", "·", "·", "0", "—", "0.0"]
    assert rows["camera:cam-b"][3] == "1"
    assert "误报（未计入）" in html and '<span class="big">1</span>' in html
    assert html.count("<svg") == 3 and "本周" in html and "上周" in html
    longest = html.split("持续最久的事件")[1]
    assert longest.index("1小时0分") < longest.index("30分0秒")       # the camera hour first, then 30 min
    # any week can be picked; an empty week renders
    assert client.get("/report?week=2025-W01").status_code == 200
    assert "2026-W45" in client.get("/report?week=2026-W46").text
    # the picker names weeks in the page's language; no native week input (it speaks the browser's language)
    assert '<option value="2026-W46" selected>2026年第46周 (11-09 – 11-15)</option>' in html
    assert 'type="week"' not in html
    en = client.get("/report?week=2026-W46&lang=en").text
    assert '<option value="2026-W46" selected>Week 46, 2026 (11-09 – 11-15)</option>' in en
    assert ">2026年11月</option>" in client.get("/report/month?month=2026-11&lang=zh-CN").text


def test_report_csv(scripted_week):
    resp = scripted_week.client("viewer").get("/report.csv?week=2026-W46&lang=en")
    assert resp.mimetype == "text/csv"
    assert 'filename="hallmonitor-2026-W46.csv"' in resp.headers["Content-Disposition"]
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    by = {(r["Window ID"], r["Type"]): r for r in rows}
    assert by[("w01", "unattended")] == {
        "Period": "2026-W46", "Window ID": "w01", "Window": "1号窗口", "Type": "unattended",
        "Event": "Window unattended", "Count": "3", "Total minutes": "25.0", "Longest minutes": "10.0",
        "Previous period count": "2"}
    assert by[("w02", "eating")]["Count"] == "1" and by[("w02", "eating")]["Previous period count"] == "2"
    assert ("w02", "phone_use") not in by                  # only a false positive: left out
    assert by[("camera:cam-b", "camera_offline")]["Total minutes"] == "60.0"
    assert sum(int(r["Count"]) for r in rows) == 7
    # the headers are in the page's language
    zh = scripted_week.client("viewer").get("/report.csv?week=2026-W46&lang=zh-CN").data.decode("utf-8")
    assert zh.lstrip("\ufeff").splitlines()[0] == "时段,窗口编号,窗口,事件类型代码,事件,次数,总时长（分钟）,最长（分钟）,上期次数"


# ---- server-sent events ----

def _read_until(chunks, needle: str, timeout: float = 5.0) -> str:
    text, deadline = "", time.monotonic() + timeout
    while needle not in text:
        assert time.monotonic() < deadline, f"{needle!r} not in the stream: {text!r}"
        text += _next(chunks)
    return text


def _next(chunks) -> str:
    chunk = next(chunks)
    return chunk.decode() if isinstance(chunk, bytes) else chunk


def test_sse_stream_yields_inserted_event_and_resumes(site):
    site.app.config.update(HM_SSE_POLL_S=0.05, HM_SSE_HEARTBEAT_S=0.2, HM_SSE_MAX_S=5)
    before = record(site.store, "eating", "w02", time.time() - 100, 1)
    client = site.client("viewer")
    resp = client.get("/events/stream", buffered=False)
    assert resp.mimetype == "text/event-stream"
    chunks = iter(resp.response)
    head = _read_until(chunks, "event: board")
    assert "retry:" in head and before.id not in head          # a new stream starts at the newest row
    ev = record(site.store, "sleeping", "w01", time.time(), None, severity="high")
    text = _read_until(chunks, ev.id)
    msg = re.search(r"id: (\d+)\nevent: alert\ndata: (.*)\n\n", text)
    data = json.loads(msg.group(2))
    assert {k: data[k] for k in ev.to_json()} == ev.to_json()        # the event's own JSON, as /api sends it
    assert data["severity"] == "high" and data["title"] == "Dozing on the counter"
    assert data["display"]["title"] == "趴台打盹" and data["display"]["where"] == "1号窗口"
    assert data["review_status"] == "new"
    assert _read_until(chunks, ": heartbeat")
    resp.close()

    # resume: Last-Event-ID gets exactly the rows after it
    first_id = int(msg.group(1))
    later = record(site.store, "phone_use", "w02", time.time(), None)
    resp = client.get("/events/stream", headers={"Last-Event-ID": str(first_id)}, buffered=False)
    text = _read_until(iter(resp.response), later.id)
    assert ev.id not in text
    resp.close()


# ---- sessions: server-side, revocable, audited ----

def _cookie_jar_copy(src, dst) -> None:
    """Copy every cookie of one test client into another (a stolen or copied cookie)."""
    for cookie in src._cookies.values():
        dst.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def test_logout_ends_the_session_even_for_a_copied_cookie(site):
    client = site.client()
    csrf = login(client, "manager")
    thief = site.app.test_client()
    _cookie_jar_copy(client, thief)
    assert thief.get("/events").status_code == 200               # the copy works while the session lives
    assert client.get("/logout").status_code == 405              # a link cannot log anyone out
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 302
    assert thief.get("/events").status_code == 302               # the copied cookie is worth nothing now
    assert thief.get("/api/events").status_code == 401


@pytest.mark.parametrize("change", [{"password": "another-horse-2"}, {"disabled": True}, {"role": "viewer"}])
def test_a_password_or_role_change_or_disabling_ends_the_users_sessions(site, change):
    client = site.client("manager")
    other = site.client("admin")
    assert client.get("/events").status_code == 200
    Accounts(site.store).set_user("manager", **change)
    assert client.get("/events").status_code == 302
    assert other.get("/events").status_code == 200               # other users keep theirs


def test_an_open_stream_of_a_disabled_user_closes_within_seconds(site):
    site.app.config.update(HM_SSE_POLL_S=0.05, HM_SSE_HEARTBEAT_S=0.2, HM_SSE_MAX_S=30)
    client = site.client("viewer")
    resp = client.get("/events/stream", buffered=False)
    chunks = iter(resp.response)
    _read_until(chunks, "event: board")
    t0 = time.monotonic()
    Accounts(site.store).set_user("viewer", disabled=True)
    text = _read_until(chunks, "event: logout", timeout=5)
    assert "session ended" in text and time.monotonic() - t0 < 3
    assert list(chunks) == []                                     # and the stream is over
    resp.close()


def test_every_login_attempt_is_recorded(site):
    assert _try_login(site.client(), "viewer", "wrong").status_code == 401
    assert _try_login(site.client(), "viewer", PASSWORD).status_code == 302
    rows = Accounts(site.store).logins()
    assert [(r["username"], r["ok"], r["address"]) for r in rows[:2]] == [("viewer", 1, "127.0.0.1"),
                                                                         ("viewer", 0, "127.0.0.1")]
    assert rows[1]["reason"] == "wrong username or password"
