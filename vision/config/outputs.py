"""webhooks:, notify: and mqtt: where the hall's events go besides the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from vision.config.base import SLUG, SLUG_HELP, Strict


class WebhookEndpoint(Strict):
    """Where integrators receive events (Standard Webhooks: signed, retried, same webhook-id on retry)."""

    id: str = Field(pattern=SLUG, description=SLUG_HELP)
    url: str = Field(pattern=r"^https?://", description="the receiver's URL")
    secrets: list[str] = Field(min_length=1, description="whsec_... secrets; give two while rotating")
    types: list[str] = Field(default_factory=list, description="message types to send (empty: all), e.g. event.started")
    windows: list[str] = Field(default_factory=list, description="window ids to send (empty: all)")
    enabled: bool = True
    allow_private: bool = Field(False, description="allow loopback/link-local/private addresses (tests, on-site "
                                                   "receivers)")
    timeout_s: float = Field(15.0, gt=0, le=60)

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, value: list[str]) -> list[str]:
        for s in value:
            if not s.startswith("whsec_") or len(s) < 20:
                raise ValueError("a secret looks like whsec_ followed by base64 of 24-64 random bytes "
                                 "(make one with `hallmonitor webhooks secret`)")
        return value


class NotifyRobot(Strict):
    """A group robot that tells a chat group about new alerts: 企业微信 (WeCom) or 钉钉 (DingTalk).

    One message per window at most every ``min_interval_s``; the alerts that come meanwhile are summed
    up in the next one. The URL's key or access_token and the DingTalk ``secret`` are credentials: they
    are never logged and never shown in an API answer.
    """

    id: str = Field(pattern=SLUG, description=SLUG_HELP + "; names the robot in logs (keep it when the URL changes)")
    kind: Literal["wecom", "dingtalk"] = Field(description="wecom: 企业微信群机器人; dingtalk: 钉钉自定义机器人")
    url: str = Field(pattern=r"^https?://", repr=False,
                     description="the robot's webhook address as the chat app shows it: "
                                 "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=... or "
                                 "https://oapi.dingtalk.com/robot/send?access_token=...")
    secret: SecretStr | None = Field(None, repr=False,
                                     description="DingTalk only: the SEC... secret of 加签 (signed requests)")
    format: Literal["markdown", "news", "actionCard"] = Field(
        "markdown", description="wecom: markdown (followed by the snapshot as an image message) or news (a card "
                                "with the snapshot's link); dingtalk: markdown or actionCard (a card with a button)")
    types: list[str] = Field(default_factory=list, description="event types to tell (empty: every type but "
                                                               "window_paused), e.g. [phone_use, sleeping]")
    windows: list[str] = Field(default_factory=list, description="window ids to tell about (empty: all)")
    min_interval_s: float = Field(60.0, ge=0, le=86400, description="at most one message per window this often; "
                                  "alerts in between are summed up in the next message")
    max_per_minute: int = Field(20, ge=1, le=600, description="messages per minute this robot may send (both "
                                "platforms allow 20 per robot)")
    snapshot: bool = Field(True, description="send the event's snapshot with the message")
    enabled: bool = True
    allow_private: bool = Field(False, description="allow loopback/private addresses (tests, a relay in the hall's "
                                                   "own network)")
    timeout_s: float = Field(10.0, gt=0, le=60)

    @field_validator("types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        from vision.events import EVENT_TYPES
        unknown = [t for t in value if t not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("secret")
    @classmethod
    def _sec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("SEC"):
            raise ValueError("a DingTalk signing secret starts with SEC (copy it from the robot's 加签 setting)")
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> NotifyRobot:
        from urllib.parse import parse_qs, urlsplit
        query = parse_qs(urlsplit(self.url).query)
        need = "key" if self.kind == "wecom" else "access_token"
        if not query.get(need, [""])[0]:
            raise ValueError(f"url: a {self.kind} robot's address ends in ?{need}=... (copy the whole webhook "
                             f"address from the robot's settings)")
        if self.kind == "wecom" and self.secret is not None:
            raise ValueError("secret: WeCom robots have no signing secret; remove it (DingTalk only)")
        allowed = ("markdown", "news") if self.kind == "wecom" else ("markdown", "actionCard")
        if self.format not in allowed:
            raise ValueError(f"format: a {self.kind} robot sends {' or '.join(allowed)}, not {self.format}")
        return self


def _topic_prefix(value: str) -> str:
    """An MQTT topic prefix: levels joined by '/', none empty, no wildcards."""
    if not value or value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError("give topic levels joined by '/', none empty and none at the ends, "
                         "e.g. hallmonitor or halls/north")
    if any(c in value for c in "+#\0") or len(value.encode()) > 100:
        raise ValueError("a topic prefix has no '+', '#' or NUL and at most 100 bytes")
    return value


class MqttTls(Strict):
    """TLS to the broker; ``tls: true`` uses the system's certificate authorities."""

    ca_file: Path | None = Field(None, description="the broker's CA certificate (PEM); none: the system's CAs")
    cert_file: Path | None = Field(None, description="this client's certificate (PEM), for brokers that ask for one")
    key_file: Path | None = Field(None, description="the key of cert_file (PEM)")

    @model_validator(mode="after")
    def _pair(self) -> MqttTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give cert_file and key_file together (or neither)")
        return self


class Mqtt(Strict):
    """The MQTT broker events and window states go to (the convention of Frigate and Home Assistant);
    see docs/integration.md for the topics."""

    host: str = Field(min_length=1, description="the broker's host name or address")
    port: int | None = Field(None, ge=1, le=65535, description="default 1883, or 8883 with tls")
    username: str | None = Field(None, min_length=1)
    password: SecretStr | None = Field(None, description="never logged, never shown by the API")
    topic_prefix: str = Field("hallmonitor", description="first level(s) of every topic, e.g. hallmonitor/w01/state")
    client_id: str | None = Field(None, min_length=1, max_length=64,
                                  description="MQTT client id; default: the topic prefix and a random suffix")
    tls: MqttTls | None = Field(None, description="true, or {ca_file, cert_file, key_file}; default: no TLS")
    keepalive_s: int = Field(30, ge=5, le=3600, description="the broker declares us offline (Last Will) after "
                                                           "1.5 times this without a word")
    discovery: bool = Field(True, description="publish Home Assistant discovery configs (retained), so every "
                                              "window appears as a sensor without hand configuration")
    discovery_prefix: str = Field("homeassistant", description="Home Assistant's discovery prefix")
    pause_minutes: float = Field(1440, gt=0, le=1440, description="how long a plain ON on <prefix>/<window>/pause/set "
                                                                  "pauses the window (OFF ends it sooner)")

    _prefixes = field_validator("topic_prefix", "discovery_prefix")(classmethod(lambda cls, v: _topic_prefix(v)))

    @field_validator("tls", mode="before")
    @classmethod
    def _tls_flag(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is False:
            return None
        return value

    @model_validator(mode="after")
    def _login(self) -> Mqtt:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username (MQTT sends no password alone)")
        return self

    @property
    def broker_port(self) -> int:
        return self.port or (8883 if self.tls is not None else 1883)
