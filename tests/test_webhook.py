"""Webhooks over real HTTP: a receiver on 127.0.0.1 that checks every signature with its own HMAC code
(not vision.webhooks), a dispatcher on a real SQLite file, and a dispatcher process killed with SIGKILL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from hallmonitor.cli import main
from vision.config import WebhookEndpoint
from vision.errors import ConfigError, InputError, NotFound
from vision.events import Event, new_event_id, parse_iso
from vision.store.database import Store
from vision.webhooks.address_guard import UnsafeURL, check_url, http_session
from vision.webhooks.dispatcher import Dispatcher
from vision.webhooks.endpoints import Endpoints, sync_from_config
from vision.webhooks.signing import SignatureError, new_secret, sign, signature_header, verify

ROOT = Path(__file__).resolve().parent.parent
FAST = (0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3)  # the Standard Webhooks schedule, in tenths of seconds


# ---- the receiver's own verification (independent of vision.webhooks) ----

def reference_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def signed_with(secret: str, headers, body: bytes) -> bool:
    expected = reference_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], body)
    given = [part[3:] for part in headers["webhook-signature"].split(" ") if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


class Receiver:
    """An HTTP receiver in a thread. ``answers`` is a list of (status, headers) popped per request
    (then 204); ``secrets`` are checked on every request."""

    def __init__(self, secrets: list[str] | None = None, delay_s: float = 0.0):
        self.secrets = list(secrets or [])
        self.delay_s = delay_s
        self.answers: list[tuple[int, dict]] = []
        self.got: list[dict] = []
        self.lock = threading.Lock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.time()
                with receiver.lock:
                    status, headers = receiver.answers.pop(0) if receiver.answers else (204, {})
                    receiver.got.append({
                        "id": self.headers["webhook-id"], "timestamp": self.headers["webhook-timestamp"],
                        "signature": self.headers["webhook-signature"], "body": body, "at": now,
                        "content_type": self.headers["content-type"], "path": self.path,
                        "valid": [signed_with(s, self.headers, body) for s in receiver.secrets],
                        "fresh": abs(now - int(self.headers["webhook-timestamp"])) <= 300})
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        with self.lock:
            return [g["id"] for g in self.got]


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture()
def store(store_target):
    s = Store(store_target, synchronous="NORMAL")
    yield s
    s.close()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    try:
        r.stop()
    except OSError:
        pass


@pytest.fixture()
def dispatchers():
    made: list[Dispatcher] = []

    def make(store, **kw) -> Dispatcher:
        kw.setdefault("schedule", FAST)
        kw.setdefault("jitter", 0.0)
        kw.setdefault("poll_s", 0.05)
        d = Dispatcher(store, **kw).start()
        made.append(d)
        return d
    yield make
    for d in made:
        d.stop(5)


def record(store: Store, n: int, window: str = "w01", camera: str = "cam-a", start: float | None = None) -> list[str]:
    """n new events (started), returns their outbox ids in order."""
    t = time.time() if start is None else start
    events = [Event(id=new_event_id(t + i), type="unattended", camera_id=camera, window_id=window, phase="started",
                    severity="medium", started_at=t + i, updated_at=t + i) for i in range(n)]
    before = {m["id"] for m in store.outbox_after(0, 10_000)}
    store.record_many(events)
    return [m["id"] for m in store.outbox_after(0, 10_000) if m["id"] not in before]


def outbox(store: Store) -> dict[str, dict]:
    return {m["id"]: m for m in store.outbox_after(0, 10_000)}


def attempts(store: Store, msg_id: str, endpoint_id: str) -> int:
    """Attempts so far (0 while the dispatcher has not fanned the message out yet)."""
    try:
        return Endpoints(store).delivery(msg_id, endpoint_id)["attempts"]
    except NotFound:
        return 0


def endpoint(store: Store, receiver: Receiver, **kw):
    ep, secret = Endpoints(store).create(receiver.url, allow_private=True, timeout_s=2, **kw)
    receiver.secrets.append(secret)
    return ep


# ---- signing ----

def test_sign_matches_the_standard_webhooks_example_and_our_own_hmac():
    # the example in the Standard Webhooks specification
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                '{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = '{"type":"event.started","data":{"名":"窗口"}}'
    assert sign(secret, "msg_1", 1700000000, body) == \
        "v1," + reference_signature(secret, "msg_1", "1700000000", body.encode())


def test_verify_accepts_any_active_secret_and_rejects_the_rest():
    old, new = new_secret(), new_secret()
    body = b'{"type":"event.ended"}'
    ts = int(time.time())
    header = signature_header([new, old], "msg_x", ts, body)
    assert len(header.split(" ")) == 2
    verify(old, "msg_x", ts, header, body)
    verify([new], "msg_x", str(ts), header, body)
    cases = [
        (new_secret(), "msg_x", ts, header, body, "no v1 signature"),
        (new, "msg_y", ts, header, body, "no v1 signature"),
        (new, "msg_x", ts, header, body + b" ", "no v1 signature"),
        (new, "msg_x", ts - 301, signature_header([new], "msg_x", ts - 301, body), body, "more than 300 s"),
        (new, "msg_x", ts + 400, signature_header([new], "msg_x", ts + 400, body), body, "more than 300 s"),
        (new, "msg_x", "soon", header, body, "not Unix seconds"),
        (new, "msg_x", ts, header.replace("v1,", "v2,"), body, "no v1 signature"),
        (new, "msg_x", ts, "", body, "no v1 signature"),
    ]
    for secret, msg_id, t, sig, b, words in cases:
        with pytest.raises(SignatureError, match=words):
            verify(secret, msg_id, t, sig, b)


def test_cli_prints_a_new_secret():
    result = CliRunner().invoke(main, ["webhooks", "secret"])
    assert result.exit_code == 0
    secret = result.output.strip()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    WebhookEndpoint(id="x", url="https://example.org/h", secrets=[secret])  # the config accepts it


# ---- delivery ----

def test_delivers_every_message_signed_unchanged_and_valid(store, receiver, dispatchers):
    event_schema = json.loads((ROOT / "docs/event.schema.json").read_text(encoding="utf-8"))
    payload_schema = json.loads((ROOT / "docs/webhook.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(payload_schema, registry=Registry().with_resource(
        event_schema["$id"], Resource.from_contents(event_schema)), format_checker=Draft202012Validator.FORMAT_CHECKER)
    ep = endpoint(store, receiver)
    ids = record(store, 3)
    dispatchers(store)
    wait_for(lambda: len(receiver.got) == 3, what="3 deliveries")
    sent = outbox(store)
    for got, msg_id in zip(receiver.got, ids):
        assert got["id"] == msg_id and got["body"] == sent[msg_id]["body"].encode()
        assert got["valid"] == [True] and got["fresh"] and got["content_type"] == "application/json"
        validator.validate(json.loads(got["body"]))
    wait_for(lambda: all(d["status"] == "delivered" for d in Endpoints(store).deliveries(ep.id)), what="delivered rows")
    d = Endpoints(store).deliveries(ep.id)[0]
    assert d["attempts"] == 1 and d["last_code"] == 204 and d["latency_ms"] > 0 and d["delivered_at"]


def test_receiver_down_then_up_gets_everything_in_order_with_the_same_ids(store, receiver, dispatchers):
    ep = endpoint(store, receiver)
    receiver.stop()  # connection refused from now on
    ids = record(store, 5)
    dispatchers(store)
    wait_for(lambda: attempts(store, ids[0], ep.id) >= 3, what="three failed attempts")
    d = Endpoints(store).delivery(ids[0], ep.id)
    assert d["status"] == "pending" and d["last_code"] is None and "ConnectionError" in d["last_error"]
    assert all(Endpoints(store).delivery(i, ep.id)["attempts"] == 0 for i in ids[1:])  # in order: they wait
    receiver.start()  # back up, same port
    wait_for(lambda: len(set(receiver.ids())) == 5, what="all 5 messages")
    sent = outbox(store)
    assert receiver.ids() == ids  # in order, none twice
    assert all(g["body"] == sent[g["id"]]["body"].encode() and g["valid"] == [True] for g in receiver.got)
    wait_for(lambda: Endpoints(store).deliveries(ep.id, "delivered").__len__() == 5, what="5 delivered rows")


def test_retry_now_sends_the_queue_when_the_receiver_is_back(store, receiver, dispatchers):
    """With the real schedule (next retry 5 s, then 5 min after two failures), a receiver that is
    back gets the queue at once when an admin says "retry now", not at the next scheduled retry."""
    ep = endpoint(store, receiver)
    receiver.stop()
    ids = record(store, 4)
    dispatchers(store, schedule=(0, 0.2, 300, 1800))
    def second_failure_written() -> bool:   # the attempt count goes up before the request, the next try after it
        if attempts(store, ids[0], ep.id) < 2:
            return False
        head = Endpoints(store).delivery(ids[0], ep.id)
        return head["attempts"] >= 2 and head["next_attempt_at"] is not None \
            and parse_iso(head["next_attempt_at"]) - time.time() > 200    # the next try is minutes away

    wait_for(second_failure_written, what="two failed attempts, the next minutes away")
    receiver.start()
    time.sleep(0.5)
    assert receiver.got == []                                    # the queue waits behind its oldest message
    assert Endpoints(store).retry_now(ep.id) == 1
    wait_for(lambda: len(receiver.got) == 4, timeout=5, what="the whole queue at once")
    assert receiver.ids() == ids


def test_retry_now_of_an_unknown_endpoint_says_so(store):
    with pytest.raises(NotFound):
        Endpoints(store).retry_now("wh_nothing")


def test_429_waits_for_retry_after(store, receiver, dispatchers):
    endpoint(store, receiver)
    receiver.answers = [(429, {"Retry-After": "2"}), (503, {"Retry-After": "1"})]
    record(store, 1)
    dispatchers(store, schedule=(0, 0.1, 0.1, 0.1))
    wait_for(lambda: len(receiver.got) == 3, timeout=10, what="three attempts")
    first, second, third = (g["at"] for g in receiver.got)
    assert second - first >= 1.95, "sent again before Retry-After: 2"
    assert third - second >= 0.95, "sent again before Retry-After: 1"
    assert len({g["id"] for g in receiver.got}) == 1


def test_410_disables_the_endpoint_and_enable_sends_its_queue(store, receiver, dispatchers):
    ep = endpoint(store, receiver)
    receiver.answers = [(410, {})]
    ids = record(store, 3)
    dispatchers(store)
    wait_for(lambda: not Endpoints(store).get(ep.id).enabled, what="endpoint disabled")
    assert "410 Gone" in Endpoints(store).get(ep.id).disabled_reason
    time.sleep(0.5)
    assert len(receiver.got) == 1  # nothing more while disabled
    store.record(Event(id=new_event_id(), type="eating", camera_id="cam-a", window_id="w01", phase="started",
                       severity="low", started_at=time.time(), updated_at=time.time()))
    Endpoints(store).enable(ep.id)
    wait_for(lambda: len(receiver.got) == 5, what="the queue after enable")
    assert receiver.ids()[1:4] == ids and receiver.ids()[0] == ids[0]


def test_rotation_signs_with_both_secrets(store, receiver, dispatchers):
    ep = endpoint(store, receiver)
    _, new = Endpoints(store).rotate(ep.id)
    receiver.secrets.append(new)
    record(store, 1)
    dispatchers(store)
    wait_for(lambda: len(receiver.got) == 1, what="a delivery")
    got = receiver.got[0]
    assert len(got["signature"].split(" ")) == 2 and got["valid"] == [True, True]


def test_retries_exhausted_fail_the_delivery_disable_the_endpoint_and_replay_sends_it_again(
        store, receiver, dispatchers):
    ep = endpoint(store, receiver)
    receiver.answers = [(500, {})] * 4
    ids = record(store, 2)
    dispatchers(store, schedule=(0, 0.1, 0.1, 0.1))
    wait_for(lambda: not Endpoints(store).get(ep.id).enabled, what="endpoint disabled")
    failed = Endpoints(store).delivery(ids[0], ep.id)
    assert failed["status"] == "failed" and failed["attempts"] == 4 and failed["last_code"] == 500
    assert "failed 4 times" in Endpoints(store).get(ep.id).disabled_reason
    assert Endpoints(store).delivery(ids[1], ep.id)["status"] == "pending"
    Endpoints(store).enable(ep.id)  # the queue (ids[1]) goes; the failed one waits for a replay
    wait_for(lambda: receiver.ids().count(ids[1]) == 1, what="the queued message")
    Endpoints(store).replay(ids[0], ep.id)
    wait_for(lambda: Endpoints(store).delivery(ids[0], ep.id)["status"] == "delivered", what="replayed delivery")
    assert receiver.ids().count(ids[0]) == 5  # 4 failures + the replay, all with the same webhook-id
    assert len({g["body"] for g in receiver.got if g["id"] == ids[0]}) == 1


def test_one_endpoint_down_does_not_hold_up_another_and_filters_apply(store, dispatchers):
    slow, fine, paused_only, w02_only = Receiver(delay_s=0.6), Receiver(), Receiver(), Receiver()
    try:
        endpoint(store, slow)
        endpoint(store, fine)
        endpoint(store, paused_only, types=["window.paused"])
        endpoint(store, w02_only, windows=["w02"])
        ids = record(store, 4)
        w02 = record(store, 1, window="w02")
        now = time.time()
        pause = Event(id=new_event_id(now), type="window_paused", camera_id="cam-a", window_id="w03",
                      phase="started", severity="low", started_at=now, updated_at=now)
        store.record(pause)
        offline = Event(id=new_event_id(now), type="camera_offline", camera_id="cam-a", window_id=None,
                        phase="started", severity="high", started_at=now, updated_at=now)
        store.record(offline)
        types = {m["id"]: m["type"] for m in store.outbox_after(0, 100)}
        dispatchers(store, camera_windows={"cam-a": ["w01", "w02", "w03"], "cam-b": ["w04"]})
        wait_for(lambda: len(fine.got) == 7, timeout=5, what="the fast endpoint")
        assert len(slow.got) <= 2, "the fast endpoint waited for the slow one"
        assert fine.ids()[:5] == ids + w02
        assert [types[i] for i in paused_only.ids()] == ["window.paused"]
        assert w02_only.ids()[0] == w02[0] and [types[i] for i in w02_only.ids()[1:]] == ["camera.offline"]
        wait_for(lambda: len(slow.got) == 7, timeout=20, what="the slow endpoint")
    finally:
        for r in (slow, fine, paused_only, w02_only):
            r.stop()


# ---- restart safety ----

DISPATCHER_PROCESS = """
import sys, time
from vision.store.database import Store
from vision.webhooks.dispatcher import Dispatcher
Dispatcher(Store(sys.argv[1]), schedule=(0, 0.2, 0.2, 0.2, 0.2, 0.2), jitter=0, poll_s=0.05).start()
print("started", flush=True)
time.sleep(600)
"""


def _spawn(db: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", DISPATCHER_PROCESS, str(db)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == b"started"
    return proc


def test_kill_9_mid_backlog_loses_nothing_and_duplicates_keep_their_id(store, receiver):
    ep = endpoint(store, receiver)
    receiver.delay_s = 0.01
    ids = record(store, 200)
    proc = _spawn(store.path or store._url)
    try:
        wait_for(lambda: len(receiver.got) >= 60, timeout=30, what="60 deliveries before the kill")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        got_before = len(receiver.got)
        assert got_before < 200, "the backlog finished before the kill; make it longer"
        more = record(store, 20)  # the outbox grows while no dispatcher runs
        proc = _spawn(store.path or store._url)
        wait_for(lambda: set(receiver.ids()) >= set(ids + more), timeout=60, what="every message after the restart")
        wait_for(lambda: len(Endpoints(store).deliveries(ep.id, "delivered", 500)) == 220, what="220 delivered rows")
    finally:
        proc.kill()
        proc.wait(5)
    sent = outbox(store)
    bodies: dict[str, bytes] = {}
    for g in receiver.got:
        assert g["body"] == sent[g["id"]]["body"].encode() and g["valid"] == [True]
        assert bodies.setdefault(g["id"], g["body"]) == g["body"]
    duplicates = len(receiver.got) - len(set(receiver.ids()))
    assert duplicates <= 1, f"{duplicates} messages sent twice; at most the one in flight at the kill"
    first_seen = list(dict.fromkeys(receiver.ids()))
    assert first_seen == ids + more  # still in outbox order across the restart
    with store.read() as conn:
        rows = conn.execute("SELECT status, count(*) FROM deliveries WHERE endpoint_id = ? GROUP BY status",
                            (ep.id,)).fetchall()
        assert dict(rows) == {"delivered": 220}
        assert conn.execute("SELECT seq FROM webhook_cursor").fetchone()[0] == max(m["seq"] for m in sent.values())


def test_the_cursor_is_durable_a_new_dispatcher_does_not_fan_out_again(store, receiver):
    endpoint(store, receiver)
    record(store, 5)
    assert Dispatcher(store).fan_out() == 5
    assert Dispatcher(store).fan_out() == 0
    record(store, 2)
    assert Dispatcher(store).fan_out() == 2


def test_an_upgraded_database_does_not_send_its_history(tmp_path):
    import sqlite3

    from vision.store.schema import migrate
    db = tmp_path / "old.db"
    with Store(db) as s:  # a database with events, from before the dispatcher existed (schema 4)
        record(s, 3)
    conn = sqlite3.connect(db, isolation_level=None)
    tables = lambda c: {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}  # noqa: E731
    fresh = sqlite3.connect(tmp_path / "v5.db", isolation_level=None)
    migrate(fresh, target=5)
    for later in tables(conn) - tables(fresh):      # the tables of the migrations after 5, as if never made
        conn.execute(f"DROP TABLE {later}")
    fresh.close()
    conn.execute("DROP TABLE webhook_cursor")
    conn.execute("DROP INDEX deliveries_queue")
    conn.execute("DROP INDEX events_by_staff")                  # migration 13's columns on events
    for column in ("staff_name", "staff_number"):
        conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
    for column in ("seq", "created_at", "delivered_at"):
        conn.execute(f"ALTER TABLE deliveries DROP COLUMN {column}")
    conn.execute("PRAGMA user_version = 4")
    assert migrate(conn, target=5) == 5
    conn.close()
    with Store(db) as s:
        Endpoints(s).create("http://127.0.0.1:9/", allow_private=True)
        assert Dispatcher(s).fan_out() == 0  # history stays home
        record(s, 2)
        assert Dispatcher(s).fan_out() == 2


# ---- the SSRF guard ----

REFUSED = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://169.254.10.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.9/", "private"),
    ("http://192.168.1.20/", "private"),
    ("http://[fd12::1]/", "private"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://100.64.0.1/", "non-public"),
    ("http://240.0.0.1/", "(private|reserved)"),
]


@pytest.mark.parametrize("url, words", REFUSED)
def test_ssrf_guard_refuses_non_public_addresses(store, url, words):
    with pytest.raises(UnsafeURL, match=words) as err:
        check_url(url)
    assert "allow_private: true" in str(err.value)
    with pytest.raises(UnsafeURL):
        Endpoints(store).create(url)
    assert check_url(url, allow_private=True)


@pytest.mark.parametrize("url, words", [("ftp://example.org/x", "http:// or https://"), ("http:///x", "no host"),
                                        ("http://example.org:99999/", "port"), ("", "URL")])
def test_malformed_urls(url, words):
    with pytest.raises(InputError, match=words):
        check_url(url)


def test_a_public_address_passes():
    assert check_url("https://93.184.215.14/hooks") == ["93.184.215.14"]
    assert check_url("https://queue.example/h", resolver=lambda host, port: ["8.8.8.8"]) == ["8.8.8.8"]
    with pytest.raises(UnsafeURL, match="queue.example resolves to 10.0.0.2, which is a private address"):
        check_url("https://queue.example/h", resolver=lambda host, port: ["8.8.8.8", "10.0.0.2"])


def test_a_config_endpoint_on_a_private_address_stops_the_start(store):
    hook = WebhookEndpoint(id="lan", url="http://192.168.0.5/hook", secrets=[new_secret()])
    with pytest.raises(ConfigError, match="webhooks: lan: .*192.168.0.5 is a private address"):
        Endpoints(store).sync_config([hook])
    allowed = hook.model_copy(update={"allow_private": True})
    [ep] = Endpoints(store).sync_config([allowed])
    assert ep.source == "config" and ep.allow_private


def test_send_time_check_refuses_an_address_that_became_private(store, receiver, dispatchers):
    # the endpoint was accepted when its name resolved to a public address; now it points at loopback
    ep = Endpoints(store, resolver=lambda host, port: ["8.8.8.8"]).create("https://hooks.example/h")[0]
    with store.write() as conn:
        conn.execute("UPDATE webhook_endpoints SET url = ? WHERE id = ?", (receiver.url, ep.id))
    ids = record(store, 1)
    dispatchers(store)
    wait_for(lambda: attempts(store, ids[0], ep.id) >= 2, what="two refused attempts")
    d = Endpoints(store).delivery(ids[0], ep.id)
    assert d["status"] == "pending" and d["last_error"].startswith("refused:") and "loopback" in d["last_error"]
    assert receiver.got == []


def test_the_connection_itself_is_checked(receiver):
    # past the name check (e.g. DNS rebinding between check and connect): the socket's peer is checked
    with pytest.raises(UnsafeURL, match="127.0.0.1, a loopback address"):
        http_session(allow_private=False).post(receiver.url, data=b"{}", timeout=2)
    assert receiver.got == []
    headers = {"webhook-id": "msg_t", "webhook-timestamp": "0", "webhook-signature": "", "content-type": "x"}
    resp = http_session(allow_private=True).post(receiver.url, data=b"{}", timeout=2, headers=headers)
    assert resp.status_code == 204


# ---- endpoints from cameras.yaml ----

def test_config_endpoints_sync(store, receiver):
    endpoints = Endpoints(store)
    a = WebhookEndpoint(id="queue", url=receiver.url, secrets=[new_secret()], allow_private=True,
                        types=["window.paused"])
    b = WebhookEndpoint(id="audit", url=receiver.url, secrets=[new_secret()], allow_private=True, enabled=False)
    endpoints.sync_config([a, b])
    assert {e.id: (e.source, e.enabled) for e in endpoints.list()} == {"queue": ("config", True),
                                                                       "audit": ("config", False)}
    endpoints.disable("queue", "the receiver answered 410 Gone")
    endpoints.sync_config([a.model_copy(update={"types": []}), b.model_copy(update={"enabled": True})])
    queue = endpoints.get("queue")
    assert queue.types == () and not queue.enabled and "410" in queue.disabled_reason  # stays off across restarts
    assert endpoints.get("audit").enabled
    endpoints.sync_config([b])
    assert [e.id for e in endpoints.list()] == ["audit"]
    made, _ = endpoints.create(receiver.url, allow_private=True)
    with pytest.raises(ConfigError, match="made in the dashboard"):
        endpoints.sync_config([b.model_copy(update={"id": made.id})])


def test_config_window_filters_must_name_real_windows(store, receiver):
    from vision.config import parse_config
    config = parse_config(f"""
cameras:
  - id: cam-a
    url: rtsp://127.0.0.1:9/a
    windows:
      - id: w01
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8], [0, 0.8]]
webhooks:
  - id: q
    url: {receiver.url}
    secrets: [{new_secret()}]
    allow_private: true
    windows: [w1]
""")
    with pytest.raises(ConfigError, match="webhooks: q: windows: unknown window ids 'w1'; known: w01"):
        sync_from_config(store, config)
    fixed = config.model_copy(update={"webhooks": [config.webhooks[0].model_copy(update={"windows": ["w01"]})]})
    assert [e.windows for e in sync_from_config(store, fixed)] == [("w01",)]


# ---- the receiver example in docs/integration.md ----

def _doc_receiver() -> str:
    text = (ROOT / "docs/integration.md").read_text(encoding="utf-8")
    section = text[text.index("### 4.5 Receiver example"):]
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("```\n", start)]


def test_the_receiver_example_in_the_docs_verifies_and_drops_duplicates(store, tmp_path, dispatchers):
    script = tmp_path / "receiver.py"
    script.write_text(_doc_receiver(), encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ep, secret = Endpoints(store).create(f"http://127.0.0.1:{port}/", allow_private=True)
    Endpoints(store).rotate(ep.id)  # signs with a new and the old secret; the receiver knows the old one only
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "HALLMONITOR_WEBHOOK_SECRET": secret, "HOST": "127.0.0.1",
                                 "PORT": str(port)})
    try:
        wait_for(lambda: _listening(port), what="the example receiver")
        ids = record(store, 3)
        dispatchers(store)
        lines = [json.loads(proc.stdout.readline()) for _ in ids]
        assert [line["webhook_id"] for line in lines] == ids and lines[0]["title"] == "擅自离岗"
        wait_for(lambda: len(Endpoints(store).deliveries(ep.id, "delivered")) == 3, what="3 delivered")
        Endpoints(store).replay(ids[1], ep.id)  # a duplicate: answered 2xx, not handled twice
        wait_for(lambda: Endpoints(store).delivery(ids[1], ep.id)["status"] == "delivered", what="the replay")
        body = outbox(store)[ids[0]]["body"].encode()
        ts = int(time.time())
        url = f"http://127.0.0.1:{port}/"

        def post(msg_id: str, at: int, secrets: list[str], data: bytes) -> int:
            headers = {"webhook-id": msg_id, "webhook-timestamp": str(at),
                       "webhook-signature": signature_header(secrets, msg_id, at, data)}
            return requests.post(url, data=data, headers=headers, timeout=5).status_code

        assert post(ids[0], ts, [new_secret()], body) == 401  # forged
        assert post(ids[0], ts - 600, [secret], body) == 401  # stale
        other = (b'{"type":"event.ended","timestamp":"x",'
                 b'"data":{"id":"evt_x","window_id":null,"title_zh":"t","phase":"ended"}}')
        assert post("msg_new", ts, [secret], other) == 204
        assert json.loads(proc.stdout.readline())["webhook_id"] == "msg_new"  # the replayed one printed nothing
    finally:
        proc.kill()
        proc.wait(5)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


# ---- wired into `hallmonitor run` ----

def test_hallmonitor_run_syncs_config_endpoints_and_sends(tmp_path, receiver):
    secret = new_secret()
    receiver.secrets.append(secret)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # nothing listens here: the camera goes offline
    cfg = tmp_path / "cameras.yaml"
    cfg.write_text(f"""
models: {{manifest: {ROOT / 'models' / 'models.yaml'}}}
storage: {{database: {tmp_path / 'hall.db'}, media_dir: {tmp_path / 'media'}}}
dashboard: {{port: 0, secret_key_file: {tmp_path / 'secret_key'}}}
cameras:
  - id: gone
    url: rtsp://127.0.0.1:{dead_port}/stream
    stall_s: 2
    open_timeout_s: 1
    read_timeout_s: 1
    windows:
      - id: w01
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8], [0, 0.8]]
webhooks:
  - id: receiver
    url: {receiver.url}
    secrets: [{secret}]
    allow_private: true
    types: [camera.offline]
""")
    proc = subprocess.Popen([sys.executable, "-m", "hallmonitor.cli", "run", "--config", str(cfg)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True).start()
    try:
        wait_for(lambda: receiver.got or proc.poll() is not None, timeout=60, what="camera.offline on the webhook")
        assert proc.poll() is None, "".join(log)
        got = receiver.got[0]
        message = json.loads(got["body"])
        assert message["type"] == "camera.offline" and message["data"]["camera_id"] == "gone"
        assert got["valid"] == [True] and got["fresh"]
        wait_for(lambda: any("Ctrl-C to stop" in line for line in log), what="the signal handlers")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
