"""A real MQTT broker (Debian's mosquitto) on a free port, and a real paho subscriber that keeps what it hears."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from vision.media.footage import free_port


class Broker:
    """mosquitto with persistence in ``folder``: a restart keeps retained messages and persistent sessions."""

    def __init__(self, folder: Path, port: int | None = None, users: dict[str, str] | None = None,
                 tls: tuple[Path, Path, Path] | None = None, extra: list[str] | None = None):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.users = users or {}
        self.proc: subprocess.Popen | None = None
        self.conf = folder / "mosquitto.conf"
        lines = ["persistence true", f"persistence_location {folder}/",
                 f"log_dest file {folder}/mosquitto.log", "log_type all", *(extra or []),
                 f"listener {self.port} 127.0.0.1"]
        if tls:   # a second listener with TLS (ca, certificate, key)
            ca, cert, key = tls
            lines += [f"listener {self.tls_port} 127.0.0.1", f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        if getpass.getuser() == "root":
            lines.append("user root")     # else mosquitto drops to a 'mosquitto' user that cannot write here
        if self.users:
            passwords = folder / "passwords"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True,
                               capture_output=True)
            passwords.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> Broker:
        self.proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        for port in filter(None, (self.port, self.tls_port)):
            self._wait_for(port, deadline)
        return self

    def _wait_for(self, port: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {port} within 10 s")

    def stop(self) -> None:
        """A clean stop (SIGTERM): mosquitto writes its persistence file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def broker(tmp_path):
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        pytest.fail("mosquitto is not installed: run `bash scripts/setup.sh --test` (apt-get install mosquitto)")
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


class Subscriber:
    """A paho client subscribed to ``topics``; ``messages`` is every (topic, payload text, retain) heard, in order.

    ``persistent=True`` keeps its session on the broker (clean_session false, a fixed id), so messages
    published while it is away are queued for it, as a subscriber that must not miss an event does."""

    def __init__(self, port: int, topics: list[str], *, client_id: str | None = None, persistent: bool = False,
                 username: str | None = None, password: str | None = None):
        self.messages: list[tuple[str, str, bool]] = []
        self._cond = threading.Condition()
        self.topics = topics
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"test-{time.time_ns()}",
                                  protocol=mqtt.MQTTv311, clean_session=not persistent)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the subscriber could not subscribe"

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client, userdata, message):
        with self._cond:
            self.messages.append((message.topic, message.payload.decode(), bool(message.retain)))
            self._cond.notify_all()

    def on(self, topic: str) -> list[str]:
        with self._cond:
            return [p for t, p, _ in self.messages if t == topic]

    def last(self, topic: str) -> str | None:
        found = self.on(topic)
        return found[-1] if found else None

    def wait(self, condition, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
            return True

    def publish(self, topic: str, payload: str, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it (openssl): (ca.pem, server.pem, server.key)."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=hallmonitor test CA")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    for name in ("server.key", "ca.key"):
        (folder / name).chmod(0o644)   # mosquitto may read it as another user
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"
