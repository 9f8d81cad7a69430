"""MQTT: a real mosquitto, a real paho subscriber, the real store and publisher (and `hallmonitor run`)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.mqtt_fixtures import Broker, Subscriber, broker, make_certificates  # noqa: F401
from vision.config import parse_config
from vision.errors import ConfigError, InputError
from vision.events import Event, new_event_id, parse_iso
from vision.media.footage import free_port
from vision.mqtt.commands import PauseCommand, parse_pause
from vision.mqtt.publisher import Publisher
from vision.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
P = "hallmonitor"


def hall_yaml(folder: Path, port: int, mqtt_extra: str = "") -> str:
    return f"""
hall: {{name: North hall}}
storage: {{database: {folder / 'hall.db'}, media_dir: {folder / 'media'}}}
dashboard: {{port: 0, secret_key_file: {folder / 'secret_key'}}}
schedule:
  hours: {{mon-sun: ["00:00-24:00"]}}
defaults:
  rules:
    eating: {{enabled: false}}
cameras:
  - id: cam1
    url: rtsp://127.0.0.1:{free_port()}/nothing-here
    open_timeout_s: 1
    read_timeout_s: 1
    stall_s: 2
    windows:
      - id: w1
        name: Window 1
        staff_zone: [[0, 0], [0.5, 0], [0.5, 0.6]]
        counter: [[0, 0.6], [0.5, 0.6], [0.5, 0.8]]
      - id: w2
        staff_zone: [[0.5, 0], [1, 0], [1, 0.6]]
        counter: [[0.5, 0.6], [1, 0.6], [1, 0.8]]
mqtt:
  host: 127.0.0.1
  port: {port}
  keepalive_s: 5
{mqtt_extra}"""


def transition(kind: str = "unattended", window: str = "w1", at: float | None = None) -> Event:
    at = time.time() if at is None else at
    return Event(id=new_event_id(at), type=kind, camera_id="cam1", window_id=window, phase="started",
                 severity="medium", started_at=at, updated_at=at)


def _one_query(db: Path | str, sql: str) -> list:
    """Rows read on a connection of their own (a SQLite file or a PostgreSQL URL), not the publisher's."""
    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            return conn.execute(sql).fetchall()
    with Store(db) as s:
        return s._conn().execute(sql).fetchall()


def outbox_events(db: Path | str) -> list[dict]:
    return [json.loads(r[0])["data"] for r in _one_query(db, "SELECT payload FROM outbox ORDER BY seq")]


def cursor_seq(db: Path | str) -> int | None:
    rows = _one_query(db, "SELECT seq FROM mqtt_cursor WHERE id = 1")
    return rows[0][0] if rows else None


def max_seq(db: Path | str) -> int:
    return _one_query(db, "SELECT COALESCE(MAX(seq), 0) FROM outbox")[0][0]


def heard_events(sub: Subscriber) -> list[tuple[str, str]]:
    return [(e["id"], e["phase"]) for e in map(json.loads, sub.on(f"{P}/events"))]


@pytest.fixture
def hall(tmp_path, broker, store_target):
    config = parse_config(hall_yaml(tmp_path, broker.port), base_dir=tmp_path)
    store = Store(store_target)
    yield config, store
    store.close()


# ---- pure parts ----

@pytest.mark.parametrize("payload, expected", [
    (b"ON", PauseCommand(True)),
    (b" off\n", PauseCommand(False)),
    ('{"state": "ON", "minutes": 15, "reason": "暂时离开"}'.encode(), PauseCommand(True, 15.0, "暂时离开")),
    (b'{"state": "OFF"}', PauseCommand(False)),
])
def test_pause_payloads(payload, expected):
    assert parse_pause(payload) == expected


@pytest.mark.parametrize("payload, words", [
    (b"maybe", "send ON, OFF or JSON"),
    (b'{"state": "ON", "minutes": 0}', "minutes: a number above 0 and at most 1440"),
    (b'{"state": "ON", "minutes": 5000}', "at most 1440"),
    (b'{"state": "paused"}', "state: ON or OFF"),
    (b'{"state": "ON", "until": 3}', "unknown key(s) until"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_bad_pause_payloads_say_what_to_send(payload, words):
    with pytest.raises(InputError) as err:
        parse_pause(payload)
    assert words in str(err.value)


@pytest.mark.parametrize("section, line, key, words", [
    ("mqtt: {port: 1883}", 24, "mqtt.host", "required key is missing"),
    ("mqtt: {host: h, topic_prefix: halls/+}", 24, "mqtt.topic_prefix", "no '+', '#'"),
    ("mqtt: {host: h, topic_prefix: /halls}", 24, "mqtt.topic_prefix", "none at the ends"),
    ("mqtt: {host: h, password: x}", 24, "mqtt", "a password needs a username"),
    ("mqtt:\n  host: h\n  tls: {cert_file: c.pem}", 26, "mqtt.tls", "cert_file and key_file together"),
    ("mqtt:\n  host: h\n  tls: {ca_file: missing.pem}", 26, "mqtt.tls.ca_file", "no such file"),
    ("mqtt:\n  host: h\n  port: 70000", 26, "mqtt.port", "less than or equal to 65535"),
    ("mqtt:\n  host: h\n  discovery_prefx: ha", 26, "mqtt.discovery_prefx", "unknown key"),
])
def test_mqtt_config_errors_name_file_line_and_key(tmp_path, section, line, key, words):
    text = hall_yaml(tmp_path, 1883).split("mqtt:\n")[0] + section + "\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="halls/cameras.yaml", base_dir=tmp_path)
    assert f"halls/cameras.yaml:{line}: {key}: " in str(err.value), str(err.value)
    assert words in str(err.value)


def test_the_password_never_shows(tmp_path):
    config = parse_config(hall_yaml(tmp_path, 1883, "  username: hall\n  password: s3cret-pw\n"))
    assert config.mqtt.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(config) and "s3cret-pw" not in str(config.model_dump())
    assert config.mqtt.broker_port == 1883
    assert parse_config(hall_yaml(tmp_path, 1883).replace("  port: 1883\n", "  tls: true\n")).mqtt.broker_port == 8883


def test_no_page_or_api_answer_shows_the_password(tmp_path):
    from dashboard import create_app
    from dashboard.accounts import Accounts
    from tests.test_api import PASSWORD, login

    config = parse_config(hall_yaml(tmp_path, 1883, "  username: hall\n  password: s3cret-pw\n"), base_dir=tmp_path)
    store = Store(tmp_path / "hall.db")
    Accounts(store).add_user("ada", PASSWORD, "admin")
    app = create_app(config, store=store, testing=True, secret_key=b"s" * 32)
    client, _ = login(app, "ada")
    pages = [r.rule for r in app.url_map.iter_rules()
             if "GET" in r.methods and not r.arguments and r.endpoint != "sse.stream"]   # the stream never ends
    assert "/settings" in pages and "/api/health" in pages and "/api/cameras" in pages
    for page in pages:
        r = client.get(page)
        assert r.status_code < 500, page
        assert b"s3cret-pw" not in r.data, page
    store.close()


# ---- against a real broker ----

def test_every_transition_in_order_and_the_state_retained(hall, broker, store_target):
    config, store = hall
    history = transition("badge_absent", "w2", at=time.time() - 3600)
    store.record(history)                       # before the first start: MQTT is live, history is not replayed
    sub = Subscriber(broker.port, [f"{P}/#"])
    pub = Publisher(config, store, poll_s=0.1).start()
    try:
        assert sub.wait(lambda: sub.last(f"{P}/available") == "online"), sub.messages
        assert sub.wait(lambda: sub.last(f"{P}/w1/state") == "unknown")
        store.set_window_state("w1", "cam1", "staffed", time.time())
        assert sub.wait(lambda: sub.last(f"{P}/w1/state") == "occupied")

        first, second = transition("unattended"), transition("phone_use", "w2")
        store.record(first)
        assert sub.wait(lambda: sub.last(f"{P}/w1/unattended") == "ON")
        later = time.time() + 1
        store.record(second)
        store.record(first.advance("updated", later, score=0.8))
        store.record(second.advance("ended", later))
        store.record(first.advance("ended", later + 1))
        recorded = outbox_events(store_target)
        assert sub.wait(lambda: len(heard_events(sub)) >= 5), heard_events(sub)
        store.set_review(first.id, "resolved", "talked to staff", "max")      # a review: its own topic
        assert sub.wait(lambda: sub.on(f"{P}/reviews"))
        assert sub.wait(lambda: sub.last(f"{P}/w1/unattended") == "OFF")
    finally:
        pub.stop()
    # every transition, in the order the store recorded it, each exactly the event's own JSON
    heard = [json.loads(p) for p in sub.on(f"{P}/events")]
    assert recorded[0]["id"] == history.id
    assert heard == recorded[1:]
    assert [(e["type"], e["phase"]) for e in heard] == [
        ("unattended", "started"), ("phone_use", "started"), ("unattended", "updated"), ("phone_use", "ended"),
        ("unattended", "ended")]
    assert sub.on(f"{P}/w2/phone_use")[-1] == "OFF" and sub.on(f"{P}/w2/eating") == ["OFF"]
    assert all(not r for t, _, r in sub.messages if t == f"{P}/events")       # live, never retained
    [review] = [json.loads(p) for p in sub.on(f"{P}/reviews")]
    assert review["event"]["id"] == first.id and review["event"]["phase"] == "ended"
    assert (review["review"]["status"], review["review"]["comment"]) == ("resolved", "talked to staff")
    assert cursor_seq(store_target) == max_seq(store_target)
    assert sub.wait(lambda: sub.last(f"{P}/available") == "offline")          # a clean stop says so
    sub.close()

    # a subscriber that comes later gets the state from the broker: retained
    late = Subscriber(broker.port, [f"{P}/#"])
    # available, the camera, and per window: state, attributes, 9 behaviours, the pause switch
    assert late.wait(lambda: len({t for t, _, _ in late.messages}) >= 2 + 2 * 12), late.messages
    retained = {t: (p, r) for t, p, r in late.messages}
    assert retained[f"{P}/w1/state"] == ("occupied", True)
    assert retained[f"{P}/w2/state"] == ("unknown", True)
    assert retained[f"{P}/cam1/status"] == ("online", True)
    assert retained[f"{P}/w1/pause/state"] == ("OFF", True)
    assert retained[f"{P}/available"] == ("offline", True)
    attributes = json.loads(retained[f"{P}/w1/attributes"][0])
    assert attributes["status"] == "staffed" and attributes["camera_id"] == "cam1" and attributes["name"] == "Window 1"
    assert f"{P}/events" not in retained
    late.close()


def test_discovery_configs_make_each_window_a_device(hall, broker):
    config, store = hall
    sub = Subscriber(broker.port, ["homeassistant/#"])
    pub = Publisher(config, store, poll_s=0.1).start()
    try:
        state_topic = f"homeassistant/sensor/{P}/w1_state/config"
        assert sub.wait(lambda: sub.last(f"homeassistant/switch/{P}/w2_pause/config") is not None)
        configs = {t: p for t, p, _ in sub.messages}
        sensor = json.loads(configs[state_topic])
        assert sensor["state_topic"] == f"{P}/w1/state"
        assert sensor["json_attributes_topic"] == f"{P}/w1/attributes"
        assert sensor["device_class"] == "enum" and {"occupied", "vacant", "paused"} <= set(sensor["options"])
        assert sensor["availability_topic"] == f"{P}/available"
        assert sensor["device"]["name"] == "North hall Window 1"

        asleep = json.loads(configs[f"homeassistant/binary_sensor/{P}/w1_sleeping/config"])
        assert asleep["state_topic"] == f"{P}/w1/sleeping" and asleep["payload_on"] == "ON"
        assert asleep["device_class"] == "problem" and asleep["device"] == sensor["device"]
        assert configs[f"homeassistant/binary_sensor/{P}/w1_eating/config"] == ""    # rule off: no entity
        switch = json.loads(configs[f"homeassistant/switch/{P}/w1_pause/config"])
        assert switch["command_topic"] == f"{P}/w1/pause/set" and switch["state_topic"] == f"{P}/w1/pause/state"
        camera = json.loads(configs[f"homeassistant/binary_sensor/{P}/camera_cam1/config"])
        assert camera["device_class"] == "connectivity" and camera["state_topic"] == f"{P}/cam1/status"

        bodies = [json.loads(p) for p in configs.values() if p]
        assert len({b["unique_id"] for b in bodies}) == len(bodies) == 2 * (1 + 8 + 1) + 1
        late = Subscriber(broker.port, ["homeassistant/#"])                      # every config is retained
        assert late.wait(lambda: len(late.messages) >= len(bodies))
        assert {t for t, p, r in late.messages if r} == {t for t, p in configs.items() if p}
        late.close()

        # Home Assistant restarted (its birth message): it is told everything again
        before = len(sub.on(state_topic))
        sub.publish("homeassistant/status", "online")
        assert sub.wait(lambda: len(sub.on(state_topic)) > before)
    finally:
        pub.stop()
        sub.close()


def test_the_pause_topic_writes_the_apis_pause(hall, broker, caplog):
    config, store = hall
    caller = Subscriber(broker.port, [f"{P}/w1/pause/state"])
    caller.client.publish(f"{P}/w1/pause/set", "ON", qos=1, retain=True).wait_for_publish(5)   # a mistake
    pub = Publisher(config, store, poll_s=0.1).start()
    try:
        assert caller.wait(lambda: caller.last(f"{P}/w1/pause/state") == "OFF")
        time.sleep(0.3)
        assert store.active_pauses(time.time()) == []            # a retained command is not obeyed
        assert "ignored a retained message" in caplog.text

        caller.publish(f"{P}/w1/pause/set", json.dumps({"state": "ON", "minutes": 10, "reason": "暂时离开"}))
        assert caller.wait(lambda: caller.last(f"{P}/w1/pause/state") == "ON")
        [pause] = store.active_pauses(time.time())
        assert (pause["window_id"], pause["source"], pause["reason"]) == ("w1", "api", "暂时离开")
        assert 599 <= (parse_iso(pause["until"]) - parse_iso(pause["started_at"])) <= 601

        caller.publish(f"{P}/w1/pause/set", "maybe")             # unreadable: said, nothing changes
        caller.publish(f"{P}/w1/pause/set", "OFF")
        assert caller.wait(lambda: caller.last(f"{P}/w1/pause/state") == "OFF")
        assert store.active_pauses(time.time()) == []
        assert "ignored: payload 'maybe': send ON, OFF or JSON" in caplog.text
    finally:
        pub.stop()
        caller.client.publish(f"{P}/w1/pause/set", "", qos=1, retain=True).wait_for_publish(5)
        caller.close()


PUBLISHER_PROCESS = """
import sys, time
from vision.config import load_config
from vision.store.database import Store
from vision.mqtt.publisher import Publisher
config = load_config(sys.argv[1])
Publisher(config, Store(config.path(config.storage.database)), poll_s=0.1).start()
time.sleep(600)
"""


def test_kill_9_leaves_the_last_will_and_the_next_start_loses_nothing(tmp_path, broker):
    (tmp_path / "cameras.yaml").write_text(hall_yaml(tmp_path, broker.port))
    db = tmp_path / "hall.db"
    store = Store(db)
    sub = Subscriber(broker.port, [f"{P}/#"])

    def publisher():
        return subprocess.Popen([sys.executable, "-c", PUBLISHER_PROCESS, str(tmp_path / "cameras.yaml")], cwd=ROOT)

    proc = publisher()
    try:
        assert sub.wait(lambda: sub.last(f"{P}/available") == "online", 20)
        first = transition()
        store.record(first)
        store.record(first.advance("updated", first.updated_at + 1))
        assert sub.wait(lambda: len(heard_events(sub)) == 2)
        deadline = time.monotonic() + 5
        while cursor_seq(db) != max_seq(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        # the broker sees the connection die and publishes the Last Will, retained
        assert sub.wait(lambda: sub.last(f"{P}/available") == "offline", 5), sub.on(f"{P}/available")

        # recorded while no publisher runs: published by the next one, nothing lost, nothing twice
        store.record(first.advance("ended", first.updated_at + 2))
        store.record(transition("long_call", "w2"))
        proc = publisher()
        assert sub.wait(lambda: len(heard_events(sub)) >= 4, 20), heard_events(sub)
        assert sub.wait(lambda: sub.on(f"{P}/available")[-1] == "online")
        time.sleep(0.5)
        assert heard_events(sub) == [(e["id"], e["phase"]) for e in outbox_events(db)]
    finally:
        proc.kill()
        proc.wait(5)
        sub.close()
        store.close()


def test_a_broker_restart_delivers_what_was_recorded_meanwhile(hall, broker, tmp_path, store_target):
    config, store = hall
    db = store_target
    # a subscriber that must not miss an event keeps a persistent session (QoS 1, clean_session false)
    sub = Subscriber(broker.port, [f"{P}/events"], client_id="queue-system", persistent=True)
    pub = Publisher(config, store, poll_s=0.1, reconnect_max_s=1).start()
    try:
        assert pub.connected or sub.wait(lambda: pub.connected)
        before = transition()
        store.record(before)
        assert sub.wait(lambda: len(heard_events(sub)) == 1)
        assert sub.wait(lambda: cursor_seq(db) == max_seq(db), 5)

        broker.stop()
        assert sub.wait(lambda: not pub.connected, 5)
        meanwhile = [before.advance("updated", before.updated_at + 1), transition("phone_on_counter", "w2"),
                     before.advance("ended", before.updated_at + 2)]
        for ev in meanwhile:
            store.record(ev)
        time.sleep(0.5)
        assert cursor_seq(db) == max_seq(db) - 3          # nothing acknowledged: the cursor waits
        broker.start()

        assert sub.wait(lambda: len(heard_events(sub)) >= 4, 20), heard_events(sub)
        assert sub.wait(lambda: cursor_seq(db) == max_seq(db), 5)
        time.sleep(0.3)
        assert heard_events(sub) == [(e["id"], e["phase"]) for e in outbox_events(db)]
        assert pub.published == 4
    finally:
        pub.stop()
        sub.close()


def test_a_refused_login_is_said_and_the_password_never_logged(tmp_path, caplog):
    b = Broker(tmp_path / "locked", users={"hall": "right-pw"}).start()
    try:
        config = parse_config(hall_yaml(tmp_path, b.port, "  username: hall\n  password: wrong-pw\n"))
        store = Store(tmp_path / "hall.db")
        caplog.set_level("INFO", logger="vision.mqtt")
        pub = Publisher(config, store, poll_s=0.1, reconnect_max_s=1).start()
        deadline = time.monotonic() + 10
        while "refused" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
        pub.stop()
        store.close()
    finally:
        b.stop()
    assert "the broker refused the connection (Not authorized)" in caplog.text, caplog.text
    assert caplog.text.count("refused") == 1                  # said once, not on every retry
    assert "wrong-pw" not in caplog.text


def test_tls_to_the_broker_with_the_halls_ca(tmp_path):
    ca, cert, key = make_certificates(tmp_path / "pki")
    b = Broker(tmp_path / "broker", tls=(ca, cert, key)).start()
    sub = Subscriber(b.port, [f"{P}/available"])                      # the plain listener
    store = Store(tmp_path / "hall.db")
    try:
        config = parse_config(hall_yaml(tmp_path, b.tls_port, f"  tls: {{ca_file: {ca}}}\n"), base_dir=tmp_path)
        pub = Publisher(config, store, poll_s=0.1).start()
        assert sub.wait(lambda: sub.last(f"{P}/available") == "online", 10)     # came in over TLS
        pub.stop()

        (tmp_path / "not-a-cert.pem").write_text("hello")
        bad = parse_config(hall_yaml(tmp_path, b.tls_port, "  tls: {ca_file: not-a-cert.pem}\n"), base_dir=tmp_path)
        with pytest.raises(ConfigError, match=r"mqtt.tls: cannot use ca_file .*not-a-cert.pem: .*give PEM files"):
            Publisher(bad, store)
    finally:
        store.close()
        sub.close()
        b.stop()


@pytest.mark.slow
def test_hallmonitor_run_publishes_and_the_pause_topic_pauses_a_window(tmp_path):
    """The whole hall: `hallmonitor run` with an `mqtt:` section, a broker with a login, the queue caller's
    pause switch going through the worker to a window_paused event and back."""
    b = Broker(tmp_path / "broker", users={"hall": "s3cret-pw"}).start()
    config = tmp_path / "cameras.yaml"
    config.write_text(hall_yaml(tmp_path, b.port, "  username: hall\n  password: s3cret-pw\n"))
    proc = subprocess.Popen([sys.executable, "-m", "hallmonitor", "run", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sub = Subscriber(b.port, [f"{P}/#"], username="hall", password="s3cret-pw")
    try:
        assert sub.wait(lambda: sub.last(f"{P}/available") == "online", 60), sub.messages
        # the camera cannot be reached: its camera_offline event and its retained status
        assert sub.wait(lambda: sub.last(f"{P}/cam1/status") == "offline", 20)
        assert sub.wait(lambda: sub.last(f"{P}/w1/state") == "offline")

        sub.publish(f"{P}/w1/pause/set", json.dumps({"state": "ON", "minutes": 5, "reason": "暂时离开"}))
        paused = lambda: [e for e in map(json.loads, sub.on(f"{P}/events"))  # noqa: E731
                          if e["type"] == "window_paused" and e["window_id"] == "w1"]
        assert sub.wait(lambda: paused(), 10), sub.on(f"{P}/events")
        started = paused()[0]
        assert started["phase"] == "started" and started["details"]["reason"] == "暂时离开"
        assert started["details"]["source"] == "api"
        assert sub.wait(lambda: sub.last(f"{P}/w1/pause/state") == "ON")
        assert sub.last(f"{P}/w2/pause/state") == "OFF"

        sub.publish(f"{P}/w1/pause/set", "OFF")
        assert sub.wait(lambda: [e["phase"] for e in paused()] == ["started", "ended"], 10), paused()
        assert paused()[1]["id"] == started["id"]
        assert sub.wait(lambda: sub.last(f"{P}/w1/pause/state") == "OFF")
        sub.publish(f"{P}/nowhere/pause/set", "ON")          # no such window: said in the log, nothing else
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        b.stop()
    assert proc.returncode == 0, err[-3000:]
    assert sub.wait(lambda: sub.last(f"{P}/available") == "offline")
    sub.close()
    assert f"MQTT to 127.0.0.1:{b.port}" in err
    assert "no window 'nowhere' in the config (windows: w1, w2)" in err
    assert "s3cret-pw" not in out + err
