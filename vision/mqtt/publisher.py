"""The MQTT publisher: the outbox to ``<prefix>/events``, the hall's state to retained topics, and the
pause topics back into the store.

1. **Events**, at least once and in order (transitions on ``<prefix>/events``, managers' reviews on
   ``<prefix>/reviews``). Messages after the cursor (``cursor.py``) are published
   with QoS 1; the cursor moves past a message only once the broker has acknowledged it and every
   message before it. While the broker is away nothing is acknowledged and nothing moves; the client
   keeps what it had sent and sends it again on reconnect, then the publisher goes on from there. A
   ``kill -9`` loses nothing either: the next start publishes from the cursor.
2. **State**, retained: each window's state, attributes, behaviours and pause switch, each camera's
   connection (``topics.hall_state``), published when they change and all again on every connect
   (a broker without persistence forgets retained messages when it restarts).
3. **Availability**: the Last Will is ``offline`` on ``<prefix>/available`` (retained); ``online`` is
   published on every connect, ``offline`` on a clean stop.
4. **Discovery**: Home Assistant's configs (``discovery.py``) on every connect, and again when Home
   Assistant announces itself (``<discovery prefix>/status`` = ``online``).
5. **Pause**: ``<prefix>/<window>/pause/set`` (``commands.py``) writes the same pause row as
   ``POST /api/windows/<id>/pause``; the window's worker turns it into a ``window_paused`` event.

The client's network thread only hands messages over; the store is read and written by the
publisher's own thread. The password is given to the client and to nobody else: no log line names it.
"""

from __future__ import annotations

import logging
import queue
import secrets
import ssl
import threading
import time
from collections import deque

import paho.mqtt.client as mqtt

from vision.errors import ConfigError, InputError, NotFound
from vision.mqtt.commands import parse_pause
from vision.mqtt.cursor import OutboxCursor
from vision.mqtt.discovery import discovery_messages
from vision.mqtt.topics import Topics, hall_state, outbox_message

log = logging.getLogger(__name__)

QOS = 1


class Publisher:
    """One broker connection for the hall; see the module docstring for what it promises.

    ``poll_s`` is how often it looks at the store; ``max_inflight`` bounds the event messages sent but
    not yet acknowledged; ``reconnect_max_s`` caps the wait between two connection attempts.
    """

    def __init__(self, config, store, *, poll_s: float = 0.5, max_inflight: int = 100,
                 reconnect_max_s: float = 30.0):
        if config.mqtt is None:
            raise InputError("no `mqtt:` section in the config: nothing to publish to")
        self.config = config
        self.settings = config.mqtt
        self.store = store
        self.topics = Topics(self.settings.topic_prefix)
        self.cursor = OutboxCursor(store)
        self.poll_s = poll_s
        self.max_inflight = max_inflight
        self.windows = {w.id for cam in config.cameras for w in cam.windows}
        self.client_id = self.settings.client_id or f"{self.settings.topic_prefix.replace('/', '-')}-" \
                                                    f"{secrets.token_hex(4)}"
        self.published = 0                       # event messages acknowledged by the broker
        self._ha_status = f"{self.settings.discovery_prefix}/status"
        self._inflight: deque[tuple[int, int]] = deque()   # (outbox seq, message id), oldest first
        self._acked: set[int] = set()
        self._queued_seq: int | None = None
        self._last_state: dict[str, str] = {}
        self._state_at = float("-inf")
        self._state_due = False                  # a pause command changed the state: publish it now
        self._resync = False
        self._commands: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._said: str | None = None            # the last connection problem logged (said once, not every retry)
        self.client = self._make_client(reconnect_max_s)

    # ---- the client ----

    def _make_client(self, reconnect_max_s: float) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv311, clean_session=True)
        if s.username is not None:
            client.username_pw_set(s.username, s.password.get_secret_value() if s.password is not None else None)
        if s.tls is not None:
            path = lambda p: None if p is None else str(self.config.path(p))  # noqa: E731
            try:
                client.tls_set(ca_certs=path(s.tls.ca_file), certfile=path(s.tls.cert_file),
                               keyfile=path(s.tls.key_file))
            except (OSError, ssl.SSLError) as exc:
                files = ", ".join(f"{k} {path(getattr(s.tls, k))}" for k in ("ca_file", "cert_file", "key_file")
                                  if getattr(s.tls, k) is not None) or "the system's CAs"
                raise ConfigError(f"mqtt.tls: cannot use {files}: {exc}; give PEM files (a certificate, and "
                                  f"its unencrypted key)") from None
        client.will_set(self.topics.available, "offline", qos=QOS, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=max(1, int(reconnect_max_s)))
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(self.max_inflight)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    @property
    def broker(self) -> str:
        return f"{self.settings.host}:{self.settings.broker_port}"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _say_once(self, problem: str) -> None:
        if problem != self._said:
            self._said = problem
            log.warning("mqtt %s: %s; trying again", self.broker, problem)

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self._say_once(f"the broker refused the connection ({reason_code}); check mqtt.username and "
                           f"mqtt.password in cameras.yaml")
            return
        self._said = None
        log.info("mqtt: connected to %s as %s", self.broker, self.client_id)
        client.subscribe([(self.topics.pause_set_filter, QOS), (self._ha_status, QOS)])
        with self._lock:
            self._resync = True
        self._connected.set()
        self._wake.set()

    def _on_connect_fail(self, client, userdata) -> None:
        self._say_once("cannot reach the broker")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stop.is_set():
            log.warning("mqtt: lost the connection to %s (%s); reconnecting, nothing is lost meanwhile",
                        self.broker, reason_code)

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._lock:
            self._acked.add(mid)
        self._wake.set()

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == self._ha_status:
            if message.payload.strip().lower() == b"online":   # Home Assistant restarted: tell it again
                with self._lock:
                    self._resync = True
                self._wake.set()
            return
        if message.retain:   # a retained command would pause the window again on every reconnect
            log.warning("mqtt %s: ignored a retained message; publish pause commands without retain",
                        message.topic)
            return
        self._commands.put((message.topic, bytes(message.payload)))
        self._wake.set()

    # ---- lifecycle ----

    def start(self) -> Publisher:
        self._queued_seq = self.cursor.read()
        self.client.connect_async(self.settings.host, self.settings.broker_port, keepalive=self.settings.keepalive_s)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()
        log.info("mqtt publisher started: %s, topics under %s/", self.broker, self.topics.prefix)
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Wait a moment for the acknowledgements of what was sent, say ``offline`` and disconnect (the
        Last Will is for dying, not for stopping)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            if self._connected.is_set():
                deadline = time.monotonic() + min(timeout, 2.0)   # the acknowledgements of what was sent
                self._acknowledged()
                while self._inflight and self._connected.is_set() and time.monotonic() < deadline:
                    self._wake.wait(0.05)
                    self._wake.clear()
                    self._acknowledged()
                info = self.client.publish(self.topics.available, "offline", qos=QOS, retain=True)
                info.wait_for_publish(min(timeout, 2.0))
        except (RuntimeError, ValueError) as exc:
            log.warning("mqtt: offline not published on stop: %s", exc)
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # noqa: BLE001 - e.g. a busy database: log, wait, go on
                log.exception("mqtt publisher: step failed; trying again")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    # ---- one step ----

    def step(self) -> None:
        self._handle_commands()
        if not self._connected.is_set():
            return
        with self._lock:
            resync, self._resync = self._resync, False
        if resync:
            if self.settings.discovery:
                found = discovery_messages(self.config, self.topics, self.settings.discovery_prefix)
                for topic, payload in found.items():
                    self.client.publish(topic, payload, qos=QOS, retain=True)
            self.client.publish(self.topics.available, "online", qos=QOS, retain=True)
            self._last_state.clear()
        # the state is read once per poll; acknowledgements wake the loop far more often than that
        if resync or self._state_due or time.monotonic() - self._state_at >= self.poll_s:
            self._state_due = False
            self._state_at = time.monotonic()
            self._publish_state()
        self._acknowledged()
        self._publish_events()

    def _publish_state(self) -> None:
        now = time.time()
        rows = {r["window_id"]: r for r in self.store.window_states()}
        paused = {p["window_id"] for p in self.store.active_pauses(now)}
        for topic, payload in hall_state(self.config, self.topics, rows, self.store.open_events(), paused).items():
            if self._last_state.get(topic) != payload:
                self.client.publish(topic, payload, qos=QOS, retain=True)
                self._last_state[topic] = payload

    def _acknowledged(self) -> None:
        """Move the cursor past the oldest messages the broker has acknowledged."""
        done = None
        with self._lock:
            while self._inflight and self._inflight[0][1] in self._acked:
                seq, mid = self._inflight.popleft()
                self._acked.discard(mid)
                done = seq
                self.published += 1
            # what is left acknowledged was a state message (or nothing); message ids come round again
            self._acked.intersection_update(mid for _, mid in self._inflight)
        if done is not None:
            self.cursor.advance(done)

    def _publish_events(self) -> None:
        room = self.max_inflight - len(self._inflight)
        if room <= 0:
            return
        for msg in self.store.outbox_after(self._queued_seq, room):
            if not self._connected.is_set():
                return
            # no lock held here: the client calls on_publish holding its own lock, which publish() takes too.
            # An acknowledgement that comes before the append waits in _acked: only this thread prunes it.
            topic, payload = outbox_message(self.topics, msg["type"], msg["body"])
            info = self.client.publish(topic, payload, qos=QOS, retain=False)
            self._inflight.append((msg["seq"], info.mid))
            self._queued_seq = msg["seq"]

    # ---- the pause topic ----

    def _handle_commands(self) -> None:
        while True:
            try:
                topic, payload = self._commands.get_nowait()
            except queue.Empty:
                return
            self.pause_command(topic, payload)

    def pause_command(self, topic: str, payload: bytes) -> str | None:
        """Apply one ``<prefix>/<window>/pause/set`` message; returns what was done, or None if refused (logged)."""
        window_id = self.topics.window_of_pause_set(topic)
        if window_id is None:
            return None
        if window_id not in self.windows:
            log.warning("mqtt %s: no window %r in the config (windows: %s)", topic, window_id,
                        ", ".join(sorted(self.windows)) or "none")
            return None
        try:
            command = parse_pause(payload)
        except InputError as exc:
            log.warning("mqtt %s: ignored: %s", topic, exc)
            return None
        now = time.time()
        if command.pause:
            minutes = command.minutes or self.settings.pause_minutes
            self.store.add_pause(window_id, "api", command.reason, now, now + minutes * 60)
            log.info("mqtt: window %s paused for %g min%s", window_id, minutes,
                     f" ({command.reason})" if command.reason else "")
            self._state_due = True
            self._wake.set()
            return "paused"
        try:
            self.store.end_pause(window_id, now, source="api")
        except NotFound:
            pass   # resuming a window that is not paused is not an error (as the API)
        log.info("mqtt: window %s resumed", window_id)
        self._state_due = True
        self._wake.set()
        return "resumed"
