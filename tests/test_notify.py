"""Group robots (企业微信 / 钉钉) against a local receiver that checks each message the way the platforms
document it: the JSON fields of each msgtype, WeCom's image md5 over the base64'd bytes, DingTalk's
加签 (timestamp + sign) recomputed here from the secret. Grouping and the rate limit in real (short)
time, a sender process killed with SIGKILL, the config's errors, and `hallmonitor run` wiring it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from dashboard import create_app
from vision.config import load_config, parse_config
from vision.errors import ConfigError
from vision.events import Event, new_event_id
from vision.notify import queue
from vision.notify.links import snapshot_link
from vision.notify.messages import Alert, HallFacts, fit_picture, robot_messages
from vision.notify.sender import Notifier, Robot
from vision.privacy.evidence import blurred_path
from vision.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
WECOM_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"
DING_SECRET = "SEC9f3b2c1d0e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2"


# ---- the receiver: what WeCom and DingTalk accept, as their docs describe it ----

def _utf8(value) -> int:
    return len(value.encode("utf-8"))


def check_wecom(message: dict) -> str | None:
    """Why WeCom would refuse this body (None: accepted)."""
    kind = message.get("msgtype")
    if set(message) != {"msgtype", kind}:
        return f"keys {sorted(message)}: expected msgtype and {kind}"
    body = message[kind]
    if kind == "markdown":
        if set(body) != {"content"} or not isinstance(body["content"], str) or _utf8(body["content"]) > 4096:
            return "markdown.content: a string of at most 4096 bytes"
    elif kind == "news":
        articles = body.get("articles")
        if set(body) != {"articles"} or not isinstance(articles, list) or not 1 <= len(articles) <= 8:
            return "news.articles: 1 to 8 articles"
        for a in articles:
            if not set(a) <= {"title", "description", "url", "picurl"} or not a.get("title") or not a.get("url"):
                return f"article {a}: title and url required; description, picurl optional"
            if _utf8(a["title"]) > 128 or _utf8(a.get("description", "")) > 512:
                return "article: title at most 128 bytes, description 512"
    elif kind == "image":
        if set(body) != {"base64", "md5"}:
            return "image: base64 and md5"
        picture = base64.b64decode(body["base64"], validate=True)
        if hashlib.md5(picture).hexdigest() != body["md5"]:
            return "image.md5 is not the md5 of the picture before base64"
        if len(picture) > 2 * 1024 * 1024 or not (picture[:3] == b"\xff\xd8\xff" or picture[:8] == b"\x89PNG\r\n\x1a\n"):
            return "image: a JPG or PNG of at most 2 MB"
    else:
        return f"msgtype {kind!r} is not one a group robot sends"
    return None


def check_dingtalk(message: dict) -> str | None:
    kind = message.get("msgtype")
    if not set(message) <= {"msgtype", kind, "at"}:
        return f"keys {sorted(message)}"
    body = message.get(kind)
    if kind == "markdown":
        if set(body) != {"title", "text"} or not all(isinstance(body[k], str) and body[k] for k in body):
            return "markdown: title and text"
    elif kind == "actionCard":
        required = {"title", "text", "singleTitle", "singleURL"}
        if not required <= set(body) <= required | {"btnOrientation", "hideAvatar"}:
            return f"actionCard keys {sorted(body)}"
        if body.get("btnOrientation", "0") not in ("0", "1") or not body["singleURL"].startswith("http"):
            return "actionCard: btnOrientation 0/1, singleURL a link"
    else:
        return f"msgtype {kind!r}"
    return None


def ding_signature(secret: str, timestamp: str) -> str:
    """加签 as DingTalk's docs give it: HmacSHA256 with the secret over timestamp + "\\n" + secret, base64."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class RobotReceiver:
    """Plays qyapi.weixin.qq.com (/cgi-bin/webhook/send?key=) and oapi.dingtalk.com (/robot/send?access_token=)."""

    def __init__(self, secret: str | None = DING_SECRET, delay_s: float = 0.0):
        self.secret = secret
        self.delay_s = delay_s
        self.got: list[dict] = []       # accepted messages
        self.refused: list[dict] = []
        self.answers: list[dict] = []   # answers to give first (then errcode 0)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.time()
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                problem, kind = None, None
                try:
                    message = json.loads(raw)
                except ValueError:
                    message, problem = None, "body is not JSON"
                if not self.headers.get("content-type", "").startswith("application/json"):
                    problem = "content-type must be application/json"
                if problem is None and parts.path == "/cgi-bin/webhook/send":
                    kind = "wecom"
                    problem = "invalid webhook url (key)" if query.get("key") != [WECOM_KEY] else check_wecom(message)
                elif problem is None and parts.path == "/robot/send":
                    kind = "dingtalk"
                    if query.get("access_token") != [DING_TOKEN]:
                        problem = "token is not exist"
                    elif receiver.secret is not None:
                        ts, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
                        if not ts.isdigit() or abs(now * 1000 - int(ts)) > 3600 * 1000:
                            problem = "timestamp missing or more than an hour off"
                        elif not hmac.compare_digest(sign, ding_signature(receiver.secret, ts)):
                            problem = "sign not match"
                    if problem is None:
                        problem = check_dingtalk(message)
                elif problem is None:
                    problem = f"no robot at {parts.path}"
                with receiver.lock:
                    entry = {"kind": kind, "message": message, "at": now, "path": self.path}
                    if problem:
                        receiver.refused.append({**entry, "problem": problem})
                        answer = {"errcode": 310000 if "sign" in problem else 40008, "errmsg": problem}
                    elif receiver.answers:
                        answer = receiver.answers.pop(0)
                        receiver.refused.append({**entry, "problem": answer["errmsg"]})
                    else:
                        receiver.got.append(entry)
                        answer = {"errcode": 0, "errmsg": "ok"}
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def wecom_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key={WECOM_KEY}"

    @property
    def dingtalk_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token={DING_TOKEN}"

    def messages(self, msgtype: str | None = None) -> list[dict]:
        with self.lock:
            return [g["message"] for g in self.got if msgtype is None or g["message"]["msgtype"] == msgtype]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ---- a hall with robots ----

def hall_yaml(folder: Path, robots: str, windows: int = 3, store: Path | str | None = None) -> Path:
    wins = "\n".join(f"""      - id: w{i:02d}
        name: {i}号窗口
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8], [0, 0.8]]""" for i in range(1, windows + 1))
    path = folder / "cameras.yaml"
    path.write_text(f"""hall: {{name: 测试大厅, language: zh-CN}}
storage: {{database: hall.db, media_dir: media}}
{f'store: {{url: "{store}"}}' if store else ''}
schedule: {{timezone: Asia/Shanghai}}
dashboard: {{public_url: "http://10.1.2.3:8080", secret_key_file: secret_key}}
cameras:
  - id: cam-a
    name: 东区
    url: rtsp://127.0.0.1:9/none
    windows:
{wins}
notify:
{robots}
""", encoding="utf-8")
    return path


@pytest.fixture()
def receiver():
    r = RobotReceiver()
    yield r
    r.stop()


@pytest.fixture()
def notifiers():
    """Notifiers on a store; at the end they stop before their store closes (closing a connection a
    sender thread still uses would crash the interpreter)."""
    made: list[Notifier] = []

    def make(store, config, **kw) -> Notifier:
        kw.setdefault("poll_s", 0.05)
        kw.setdefault("schedule", (0.2,))
        n = Notifier.from_config(store, config, **kw)
        made.append(n)
        return n
    yield make
    for n in made:
        n.stop(5)
    for n in made:
        n.store.close()


def new_alert(store: Store, type_: str = "sleeping", window: str | None = "w02", at: float | None = None, *,
              severity: str = "high", snapshot: str | None = None) -> Event:
    at = time.time() if at is None else at
    ev = Event(id=new_event_id(at), type=type_, camera_id="cam-a", window_id=window, phase="started",
               severity=severity, started_at=at, updated_at=at, snapshot=snapshot)
    store.record(ev)
    return ev


def put_snapshot(config, media: Path, name: str = "cam-a/2026-12-01/snap.jpg") -> tuple[str, bytes]:
    """A real photo as an event's snapshot (messi5.jpg from opencv's samples)."""
    data = (media / "opencv" / "messi5.jpg").read_bytes()
    path = config.path(config.storage.media_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return name, data


# ---- formats, as each platform's docs describe them ----

def test_wecom_markdown_then_the_snapshot_as_an_image_whose_md5_matches(tmp_path, receiver, notifiers, media):
    config = load_config(hall_yaml(tmp_path, f"""  - id: wx
    kind: wecom
    url: {receiver.wecom_url}
    allow_private: true"""))
    store = Store(config.store_target())
    rel, picture = put_snapshot(config, media)
    notifiers(store, config).start()
    at = datetime(2026, 12, 1, 14, 3, 22, tzinfo=TZ).timestamp()
    ev = new_alert(store, "phone_use", "w02", at, snapshot=rel)
    wait_for(lambda: len(receiver.messages()) == 2, what="markdown and image")
    assert receiver.refused == []
    text, image = receiver.messages()
    assert text["msgtype"] == "markdown" and image["msgtype"] == "image"
    content = text["markdown"]["content"]
    for words in ("2号窗口", "窗口使用手机", "2026-12-01 14:03:22", "东区", f"http://10.1.2.3:8080/events/{ev.id}"):
        assert words in content
    sent = blurred_path(config.path(config.storage.media_dir) / rel).read_bytes()   # citizens' faces blurred
    assert sent != picture and base64.b64decode(image["image"]["base64"]) == sent
    assert image["image"]["md5"] == hashlib.md5(sent).hexdigest()


def test_wecom_news_links_a_snapshot_the_chat_app_opens_without_login(tmp_path, receiver, notifiers, media):
    config = load_config(hall_yaml(tmp_path, f"""  - id: wx
    kind: wecom
    format: news
    url: {receiver.wecom_url}
    allow_private: true"""))
    store = Store(config.store_target())
    rel, picture = put_snapshot(config, media)
    notifiers(store, config).start()
    ev = new_alert(store, snapshot=rel)
    wait_for(lambda: receiver.messages("news"), what="the news message")
    (article,) = receiver.messages("news")[0]["news"]["articles"]
    assert article["title"] == "2号窗口 · 趴台打盹" and article["url"] == f"http://10.1.2.3:8080/events/{ev.id}"
    pic = urlsplit(article["picurl"])
    assert pic.netloc == "10.1.2.3:8080" and pic.path == f"/shared/{ev.id}/snapshot.jpg"
    app = create_app(config, store=store, testing=True, secret_key=b"k" * 32)
    client = app.test_client()                   # nobody logged in: the chat app's fetch
    got = client.get(f"{pic.path}?{pic.query}")
    blurred = blurred_path(config.path(config.storage.media_dir) / rel)     # a link leaves the hall: blurred
    assert got.status_code == 200 and got.data == blurred.read_bytes() != picture
    tampered = pic.query.replace("sig=", "sig=A")
    assert client.get(f"{pic.path}?{tampered}").status_code == 403
    other = new_alert(store, "eating", "w01", snapshot=rel)
    assert client.get(f"/shared/{other.id}/snapshot.jpg?{pic.query}").status_code == 403  # one link, one event
    assert client.get(f"/events/{ev.id}/snapshot.jpg").status_code == 302      # the normal URL wants a login
    from vision.notify.links import share_key
    expired = urlsplit(snapshot_link("", share_key(store), ev.id, now=time.time() - 8 * 86400))
    assert client.get(f"{expired.path}?{expired.query}").status_code == 403


@pytest.mark.parametrize("style", ["markdown", "actionCard"])
def test_dingtalk_signed_message_with_the_snapshot_link(tmp_path, receiver, notifiers, media, style):
    config = load_config(hall_yaml(tmp_path, f"""  - id: ding
    kind: dingtalk
    format: {style}
    url: {receiver.dingtalk_url}
    secret: {DING_SECRET}
    allow_private: true"""))
    store = Store(config.store_target())
    rel, _ = put_snapshot(config, media)
    notifiers(store, config).start()
    at = datetime(2026, 12, 1, 9, 0, 5, tzinfo=TZ).timestamp()
    ev = new_alert(store, "unattended", "w03", at, severity="medium", snapshot=rel)
    wait_for(lambda: receiver.messages(), what="the DingTalk message")
    assert receiver.refused == []           # the receiver recomputed the sign from the secret and it matched
    (message,) = receiver.messages()
    body = message[style]
    assert message["msgtype"] == style and body["title"] == "3号窗口 · 擅自离岗"
    assert "2026-12-01 09:00:05" in body["text"] and "级别：中" in body["text"]
    assert f"![抓拍](http://10.1.2.3:8080/shared/{ev.id}/snapshot.jpg?until=" in body["text"]
    if style == "actionCard":
        assert body["singleURL"] == f"http://10.1.2.3:8080/events/{ev.id}" and body["singleTitle"] == "查看详情"


def test_a_wrong_dingtalk_secret_is_refused_retried_and_never_logged(tmp_path, receiver, notifiers, caplog):
    wrong = "SEC" + "0" * 64
    config = load_config(hall_yaml(tmp_path, f"""  - id: ding
    kind: dingtalk
    url: {receiver.dingtalk_url}
    secret: {wrong}
    allow_private: true"""))
    store = Store(config.store_target())
    caplog.set_level(logging.WARNING, logger="vision.notify")
    notifiers(store, config).start()
    new_alert(store)
    wait_for(lambda: len(receiver.refused) >= 2, what="the first try and a retry")
    assert receiver.got == [] and all(r["problem"] == "sign not match" for r in receiver.refused)
    state = queue.status(store, "ding")
    assert state["untold"] == 1 and state["failing"][0]["last_error"].startswith("errcode 310000")
    logged = caplog.text
    assert "robot ding" in logged and "errcode 310000" in logged
    assert wrong not in logged and DING_TOKEN not in logged
    assert wrong not in repr(config) and DING_TOKEN not in repr(config)
    assert wrong not in config.model_dump_json()
    # the admin fixes the secret: the waiting alert goes, nothing lost
    receiver.secret = wrong
    wait_for(lambda: receiver.messages(), what="the alert after the fix")
    wait_for(lambda: queue.status(store, "ding")["untold"] == 0, what="the alert marked told")


# ---- grouping and the rate limit, in real time ----

def test_one_message_per_window_per_interval_and_the_rest_summed_up_in_the_next(tmp_path, receiver, notifiers, store_target):
    config = load_config(hall_yaml(tmp_path, f"""  - id: ding
    kind: dingtalk
    url: {receiver.dingtalk_url}
    secret: {DING_SECRET}
    min_interval_s: 1.5
    allow_private: true""", store=store_target))
    store = Store(config.store_target())
    notifiers(store, config).start()
    first = new_alert(store, "phone_use", "w02")
    wait_for(lambda: len(receiver.got) == 1, what="the first alert at once")
    t1 = receiver.got[0]["at"]
    assert first.id in receiver.got[0]["message"]["markdown"]["text"]
    second = new_alert(store, "eating", "w02")
    third = new_alert(store, "sleeping", "w02")
    other = new_alert(store, "unattended", "w01")          # another window is not held up
    wait_for(lambda: len(receiver.got) == 2, what="the other window's alert")
    assert other.id in receiver.got[1]["message"]["markdown"]["text"] and receiver.got[1]["at"] - t1 < 1.0
    wait_for(lambda: len(receiver.got) == 3, timeout=5, what="the held alerts")
    held = receiver.got[2]
    assert 1.5 <= held["at"] - t1 < 2.5, f"sent {held['at'] - t1:.2f} s after the first"
    text = held["message"]["markdown"]["text"]
    assert held["message"]["markdown"]["title"] == "2号窗口 · 趴台打盹（共 2 条）"
    assert f"/events/{third.id})" in text and f"/events/{second.id})" in text and "同一窗口此前另有 1 条提醒" in text
    time.sleep(1.0)
    assert len(receiver.got) == 3                        # nothing more, nothing twice


def test_a_robot_never_posts_more_than_max_per_minute(tmp_path, receiver, notifiers):
    config = load_config(hall_yaml(tmp_path, f"""  - id: ding
    kind: dingtalk
    url: {receiver.dingtalk_url}
    secret: {DING_SECRET}
    min_interval_s: 0
    max_per_minute: 2
    allow_private: true""", windows=5))
    store = Store(config.store_target())
    notifier = notifiers(store, config, rate_window_s=1.0)     # "a minute" of one second
    for i in range(1, 6):
        new_alert(store, "phone_use", f"w{i:02d}")           # five windows: five messages due at once
    notifier.start()
    wait_for(lambda: len(receiver.got) == 5, timeout=6, what="five messages")
    at = [g["at"] - receiver.got[0]["at"] for g in receiver.got]
    assert at[1] < 0.5 and 0.95 <= at[2] < 1.6 and at[3] < 1.6 and at[4] >= 1.95, at
    assert sorted(m["markdown"]["title"] for m in receiver.messages()) == [f"{i}号窗口 · 窗口使用手机" for i in range(1, 6)]


def test_filters_by_type_and_window_and_only_new_alerts(tmp_path, receiver, notifiers, store_target):
    config = load_config(hall_yaml(tmp_path, f"""  - id: wx
    kind: wecom
    url: {receiver.wecom_url}
    types: [phone_use, camera_offline]
    windows: [w01]
    min_interval_s: 0
    allow_private: true""", store=store_target))
    store = Store(config.store_target())
    notifiers(store, config).start()
    wanted = new_alert(store, "phone_use", "w01")
    new_alert(store, "phone_use", "w02")                  # another window
    new_alert(store, "eating", "w01")                     # another type
    store.record(Event(id=wanted.id, type="phone_use", camera_id="cam-a", window_id="w01", phase="ended",
                       severity="high", started_at=wanted.started_at, updated_at=wanted.started_at + 5,
                       ended_at=wanted.started_at + 5))   # its end is not a new alert
    offline = new_alert(store, "camera_offline", None, severity="high")  # cam-a carries w01
    store.set_review(offline.id, "acknowledged", "seen", user="manager")  # a review of an alert is not a new one
    wait_for(lambda: len(receiver.got) == 2, what="two alerts")
    time.sleep(0.5)
    texts = [m["markdown"]["content"] for m in receiver.messages()]
    assert len(texts) == 2 and wanted.id in texts[0] and "摄像头离线" in texts[1] and offline.id in texts[1]


def test_a_new_robot_does_not_post_the_halls_history(tmp_path, receiver, notifiers, store_target):
    config = load_config(hall_yaml(tmp_path, f"""  - id: wx
    kind: wecom
    url: {receiver.wecom_url}
    allow_private: true""", store=store_target))
    store = Store(config.store_target())
    for _ in range(3):
        new_alert(store)
    notifiers(store, config).start()
    fresh = new_alert(store, "eating", "w01")
    wait_for(lambda: receiver.got, what="the new alert")
    time.sleep(0.5)
    assert len(receiver.got) == 1 and fresh.id in receiver.messages()[0]["markdown"]["content"]


def test_told_alerts_are_dropped_from_the_queue_after_a_week(tmp_path, store_target):
    config = load_config(hall_yaml(tmp_path, """  - id: wx
    kind: wecom
    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k""", store=store_target))
    store = Store(config.store_target())
    robot = Robot.from_config(config.notify[0])
    Notifier(store, [robot], HallFacts.from_config(config))      # the cursor starts here
    new_alert(store, window="w01")
    new_alert(store, window="w02")
    assert queue.take_in(store, "wx", lambda kind, data: robot.wants(kind, data)) == 2
    old, fresh = queue.due(store, "wx", 60, time.time())
    queue.told(store, old, time.time() - queue.KEEP_TOLD_S - 10)   # told more than a week ago
    assert queue.status(store, "wx") == {"untold": 1, "told": 1, "failing": []}
    queue.told(store, fresh, time.time())
    assert queue.status(store, "wx") == {"untold": 0, "told": 1, "failing": []}
    assert queue.due(store, "wx", 60, time.time()) == []
    store.close()


def test_metrics_show_each_robots_backlog_and_failing_windows_not_its_address(tmp_path, receiver, notifiers):
    from .test_dashboard import CHEAP_HASH, login
    config = load_config(hall_yaml(tmp_path, f"""  - id: ding
    kind: dingtalk
    url: {receiver.dingtalk_url}
    secret: SEC{"2" * 64}
    allow_private: true"""))
    store = Store(config.store_target())
    notifiers(store, config).start()
    new_alert(store, window="w01")
    new_alert(store, window="w02")
    wait_for(lambda: len(queue.status(store, "ding")["failing"]) == 2, what="two windows failing (wrong secret)")
    with store.write() as conn:
        conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES ('viewer', ?, 'viewer', ?)",
                     (CHEAP_HASH, time.time()))
    client = create_app(config, store=store, testing=True, secret_key=b"k" * 32).test_client()
    login(client, "viewer")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'hallmonitor_robot_backlog{robot="ding"} 2.0' in text
    assert 'hallmonitor_robot_failing_windows{robot="ding"} 2.0' in text
    assert DING_TOKEN not in text and "SEC2222" not in text


# ---- a kill -9 loses nothing ----

SENDER_PROCESS = """
import sys, time
from vision.config import load_config
from vision.notify.sender import Notifier
from vision.store.database import Store
config = load_config(sys.argv[1])
Notifier.from_config(Store(config.store_target()), config, poll_s=0.05, schedule=(0.2,)).start()
print("started", flush=True)
time.sleep(600)
"""


def _spawn(cfg: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SENDER_PROCESS, str(cfg)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == b"started"
    return proc


def test_kill_9_of_the_sender_loses_no_alert(tmp_path, store_target):
    receiver = RobotReceiver(delay_s=0.05)
    cfg = hall_yaml(tmp_path, f"""  - id: ding
    kind: dingtalk
    url: {receiver.dingtalk_url}
    secret: {DING_SECRET}
    min_interval_s: 0
    max_per_minute: 600
    allow_private: true""", windows=40, store=store_target)
    config = load_config(cfg)
    store = Store(config.store_target())
    Notifier.from_config(store, config)                 # the robot's cursor starts before these alerts
    alerts = [new_alert(store, "phone_use", f"w{i % 40 + 1:02d}") for i in range(80)]   # 2 per window
    proc = _spawn(cfg)
    try:
        wait_for(lambda: len(receiver.got) >= 8, timeout=30, what="8 messages before the kill")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        before = len(receiver.got)
        assert before < 40, "every window was told before the kill; make the backlog longer"
        more = [new_alert(store, "eating", "w01") for _ in range(3)]   # alerts while no sender runs
        proc = _spawn(cfg)
        told = lambda: {a.id for a in alerts + more if any(f"/events/{a.id})" in m["markdown"]["text"]  # noqa: E731
                                                           for m in receiver.messages())}
        wait_for(lambda: len(told()) == 83, timeout=60, what="every alert after the restart")
        wait_for(lambda: queue.status(store, "ding")["untold"] == 0, what="the queue empty")
    finally:
        proc.kill()
        proc.wait(5)
        receiver.stop()
    titles = [m["markdown"]["title"] for m in receiver.messages()]
    # each window's two alerts in one message, the three later ones in a message of their own; the batch
    # in flight at the kill may have gone twice, nothing else
    assert 41 <= len(titles) <= 42, titles
    assert queue.status(store, "ding") == {"untold": 0, "told": 83, "failing": []}
    store.close()


# ---- pure pieces ----

def test_a_snapshot_over_2mb_is_made_smaller_for_wecom(skimage_data):
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (1800, 2400, 3), dtype=np.uint8)     # noise does not compress
    big = cv2.imencode(".png", noise)[1].tobytes()
    assert len(big) > 2 * 1024 * 1024
    small = fit_picture(big)
    assert len(small) <= 2 * 1024 * 1024 and cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR) is not None
    photo = (skimage_data / "astronaut.png").read_bytes()
    assert fit_picture(photo) == photo                                 # small enough: unchanged
    facts = HallFacts(window_names={"w01": "1号窗口"})
    alert = Alert("evt_x", "eating", "cam-a", "w01", "low", time.time())
    assert check_wecom(robot_messages("wecom", "markdown", facts, [alert], picture=big)[1]) is None


def test_many_held_alerts_stay_within_wecoms_4096_bytes():
    facts = HallFacts(window_names={"w01": "1号窗口"}, language="zh-CN")
    t = time.time()
    batch = [Alert(f"evt_{i:04d}", "phone_use", "cam-a", "w01", "high", t + i) for i in range(300)]
    (message,) = robot_messages("wecom", "markdown", facts, batch)
    assert check_wecom(message) is None
    content = message["markdown"]["content"]
    assert "（共 300 条）" in content and "……另有 289 条，见事件列表" in content and "window=w01" in content
    english = HallFacts(window_names={"w01": "Window 1"}, language="en")
    (message,) = robot_messages("dingtalk", "markdown", english, batch[:2], picture_url=None)
    assert message["markdown"]["title"] == "Window 1 · Phone use at window (2 alerts)"
    assert "1 more alerts at this window" in message["markdown"]["text"]


# ---- the config ----

@pytest.mark.parametrize("robot, words", [
    ("{id: a, kind: wecom, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send'}",
     ":12: notify[0]: url: a wecom robot's address ends in ?key="),
    ("{id: a, kind: dingtalk, url: 'https://oapi.dingtalk.com/robot/send?access_token=x', secret: abc}",
     ":12: notify[0].secret: a DingTalk signing secret starts with SEC"),
    ("{id: a, kind: wecom, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', secret: SECabc}",
     "secret: WeCom robots have no signing secret"),
    ("{id: a, kind: wecom, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', format: actionCard}",
     "format: a wecom robot sends markdown or news, not actionCard"),
    ("{id: a, kind: wecom, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', windows: [w09]}",
     ":12: notify[0].windows[0]: no window 'w09' in this config (windows: w01)"),
    ("{id: a, kind: wecom, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', types: [naps]}",
     ":12: notify[0].types: unknown event type 'naps'"),
    ("{id: a, kind: feishu, url: 'https://x.example/hook?key=k'}", ":12: notify[0].kind: Input should be"),
    ("{id: a, kind: wecom, url: 'ftp://qyapi.weixin.qq.com/?key=topsecretkey'}", ":12: notify[0].url: String should"),
])
def test_config_errors_name_file_line_and_key(robot, words):
    text = f"""cameras:
  - id: cam-a
    url: rtsp://127.0.0.1:9/none
    windows:
      - id: w01
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8], [0, 0.8]]
# robots
dashboard:
  port: 8080
notify:
  - {robot}
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="cameras.yaml")
    assert words in str(err.value)
    assert all(s not in str(err.value) for s in ("'abc'", "SECabc", "topsecretkey"))   # credentials are not echoed


def test_a_robot_on_a_private_address_stops_the_start_without_showing_its_key(tmp_path):
    config = load_config(hall_yaml(tmp_path, f"""  - id: wx
    kind: wecom
    url: http://127.0.0.1:9/cgi-bin/webhook/send?key={WECOM_KEY}"""))
    store = Store(config.store_target())
    with pytest.raises(ConfigError) as err:
        Notifier.from_config(store, config)
    message = str(err.value)
    assert message.startswith("notify[0] (robot wx): ") and "a loopback address" in message
    assert "allow_private" in message and WECOM_KEY not in message
    store.close()


def test_robot_filters_table():
    robot = Robot(id="r", kind="wecom", url="https://x/?key=kkkk", windows=frozenset({"w01"}))
    cams = {"cam-a": ["w01", "w02"], "cam-b": ["w03"]}
    cases = [
        ({"type": "eating", "phase": "started", "window_id": "w01", "camera_id": "cam-a"}, True),
        ({"type": "eating", "phase": "updated", "window_id": "w01", "camera_id": "cam-a"}, False),
        ({"type": "eating", "phase": "started", "window_id": "w02", "camera_id": "cam-a"}, False),
        ({"type": "camera_offline", "phase": "started", "window_id": None, "camera_id": "cam-a"}, True),
        ({"type": "camera_offline", "phase": "started", "window_id": None, "camera_id": "cam-b"}, False),
        ({"type": "window_paused", "phase": "started", "window_id": "w01", "camera_id": "cam-a"}, False),
    ]
    for data, expected in cases:
        assert robot.wants("event.started", data, cams) is expected, data
    started = {"type": "eating", "phase": "started", "window_id": "w01", "camera_id": "cam-a"}
    assert robot.wants("event.reviewed", {**started, "review": {"status": "acknowledged"}}, cams) is False
    assert Robot(id="r", kind="wecom", url="u", types=frozenset({"window_paused"})).wants(
        "window.paused", {"type": "window_paused", "phase": "started"}) is True
    assert "kkkk" not in repr(robot) and robot.scrub("failed: https://x/?key=kkkk") == "failed: https://x/?key=***"


def test_hallmonitor_notify_test_posts_through_each_robot_and_says_what_they_answered(tmp_path, receiver):
    cfg = hall_yaml(tmp_path, f"""  - id: wx
    kind: wecom
    url: {receiver.wecom_url}
    allow_private: true
  - id: ding
    kind: dingtalk
    url: {receiver.dingtalk_url}
    secret: SEC{"1" * 64}
    allow_private: true""")
    run = subprocess.run([sys.executable, "-m", "hallmonitor.cli", "notify", "test", "--config", str(cfg)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "robot wx (wecom): sent" in run.stdout
    assert "robot ding (dingtalk): failed: errcode 310000: sign not match" in run.stderr
    assert "1 of 2 robots failed; check their url and secret in" in run.stderr
    assert DING_TOKEN not in run.stdout + run.stderr and WECOM_KEY not in run.stdout + run.stderr
    (message,) = receiver.messages()
    assert message["markdown"]["content"].startswith("### 测试大厅：群机器人已接通")
    assert "每个窗口每 60 秒最多一条" in message["markdown"]["content"]
    run = subprocess.run([sys.executable, "-m", "hallmonitor.cli", "notify", "test", "--config", str(cfg),
                          "--robot", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "no enabled robot nope under notify: (robots: wx, ding)" in run.stderr


# ---- wired into `hallmonitor run` ----

def test_hallmonitor_run_tells_the_dingtalk_group_a_camera_went_offline(tmp_path, receiver):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]   # nothing listens here: the camera goes offline
    cfg = tmp_path / "cameras.yaml"
    cfg.write_text(f"""
models: {{manifest: {ROOT / 'models' / 'models.yaml'}}}
storage: {{database: {tmp_path / 'hall.db'}, media_dir: {tmp_path / 'media'}}}
dashboard: {{port: 0, secret_key_file: {tmp_path / 'secret_key'}, public_url: "https://hall.example.gov.cn"}}
cameras:
  - id: gone
    name: 西区
    url: rtsp://127.0.0.1:{dead_port}/stream
    stall_s: 2
    open_timeout_s: 1
    read_timeout_s: 1
    windows:
      - id: w01
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8], [0, 0.8]]
notify:
  - id: ding
    kind: dingtalk
    url: {receiver.dingtalk_url}
    secret: {DING_SECRET}
    allow_private: true
""")
    proc = subprocess.Popen([sys.executable, "-m", "hallmonitor.cli", "run", "--config", str(cfg)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True).start()
    try:
        wait_for(lambda: receiver.got or proc.poll() is not None, timeout=60, what="the DingTalk message")
        assert proc.poll() is None, "".join(log)
        (message,) = receiver.messages()
        assert message["markdown"]["title"] == "西区 · 摄像头离线"
        assert "https://hall.example.gov.cn/events/evt_" in message["markdown"]["text"]
        assert receiver.refused == []
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
    assert DING_SECRET not in "".join(log) and DING_TOKEN not in "".join(log)
