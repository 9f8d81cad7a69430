"""What a robot posts: the documented JSON of 企业微信 and 钉钉 group robots, built from a batch of alerts.

Pure: alerts, the hall's facts and the time go in, dicts (and a URL) come out.

WeCom (developer.work.weixin.qq.com, 群机器人): POST the webhook address (``...webhook/send?key=KEY``)
with ``{"msgtype": "markdown", "markdown": {"content"}}`` (at most 4096 bytes, UTF-8),
``{"msgtype": "news", "news": {"articles": [{"title", "description", "url", "picurl"}]}}`` (title at
most 128 bytes, description 512) or ``{"msgtype": "image", "image": {"base64", "md5"}}`` (the md5 of
the picture before base64; JPG or PNG of at most 2 MB).

DingTalk (open.dingtalk.com, 自定义机器人): POST ``robot/send?access_token=TOKEN`` with
``{"msgtype": "markdown", "markdown": {"title", "text"}}`` or ``{"msgtype": "actionCard",
"actionCard": {"title", "text", "singleTitle", "singleURL", "btnOrientation"}}``. With 加签 the URL
also carries ``timestamp`` (milliseconds) and ``sign`` = base64(HmacSHA256(key=secret,
message=timestamp + "\\n" + secret)), URL-encoded.

Both answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; any other errcode is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from vision.events import parse_iso
from vision.notify.text import behaviour, say

WECOM_MARKDOWN_BYTES = 4096
WECOM_NEWS_TITLE_BYTES = 128
WECOM_NEWS_DESCRIPTION_BYTES = 512
WECOM_IMAGE_BYTES = 2 * 1024 * 1024
LISTED = 10  # earlier alerts listed one by one in a message; the rest are counted


@dataclass(frozen=True)
class Alert:
    """One new alert as a message tells it (from the outbox's ``data``: the event JSON)."""

    event_id: str
    type: str
    camera_id: str
    window_id: str | None
    severity: str
    started_at: float
    snapshot: str | None = None

    @classmethod
    def from_event_json(cls, data: dict) -> Alert:
        return cls(event_id=data["id"], type=data["type"], camera_id=data["camera_id"],
                   window_id=data.get("window_id"), severity=data.get("severity", "medium"),
                   started_at=parse_iso(data["started_at"]), snapshot=data.get("snapshot"))

    @property
    def window_key(self) -> str:
        """What messages are grouped by: the window, or the camera for camera-level alerts."""
        return self.window_id or f"camera:{self.camera_id}"


@dataclass(frozen=True)
class HallFacts:
    """What messages need to know of the hall: its language, time zone, dashboard address, names."""

    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    link_base: str = "http://127.0.0.1:8080"
    window_names: dict[str, str] = field(default_factory=dict)
    camera_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config) -> HallFacts:
        return cls(language=config.hall.language, timezone=config.schedule.timezone,
                   link_base=config.dashboard.link_base(),
                   window_names={w.id: (w.name or w.id) for c in config.cameras for w in c.windows},
                   camera_names={c.id: (c.name or c.id) for c in config.cameras})

    def local(self, ts: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return datetime.fromtimestamp(ts, ZoneInfo(self.timezone)).strftime(fmt)

    def where(self, alert: Alert) -> str:
        if alert.window_id:
            return self.window_names.get(alert.window_id, alert.window_id)
        return self.camera_names.get(alert.camera_id, alert.camera_id)

    def event_url(self, alert: Alert) -> str:
        return f"{self.link_base}/events/{alert.event_id}"

    def events_url(self, alert: Alert) -> str:
        if alert.window_id:
            return f"{self.link_base}/events?" + urlencode({"window": alert.window_id})
        return f"{self.link_base}/events?" + urlencode({"camera": alert.camera_id})


def _plain(text: str) -> str:
    """A name safe inside a markdown line: no line breaks, no link or emphasis syntax."""
    return " ".join(str(text).split()).translate({ord(c): " " for c in "[]()*_#`<>"}).strip()


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut at a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def title(facts: HallFacts, batch: Sequence[Alert]) -> str:
    """``2号窗口 · 趴台打盹`` for the newest alert, with the count when the batch holds more."""
    last = batch[-1]
    text = f"{_plain(facts.where(last))} · {behaviour(last.type, facts.language)}"
    if len(batch) > 1:
        text += say("count", facts.language, n=len(batch))
    return text


def _facts_lines(facts: HallFacts, alert: Alert, wecom: bool) -> list[str]:
    """One line per fact: quoted lines for WeCom (its examples), list items for DingTalk (whose markdown
    joins plain consecutive lines)."""
    lang = facts.language
    sev = say(f"severity_{alert.severity}", lang)
    if wecom and alert.severity == "high":
        sev = f'<font color="warning">{sev}</font>'
    pairs = [("time", facts.local(alert.started_at))]
    if alert.window_id:
        pairs.append(("window", _plain(facts.where(alert))))
    pairs += [("camera", _plain(facts.camera_names.get(alert.camera_id, alert.camera_id))), ("severity", sev)]
    sep = "：" if lang == "zh-CN" else ": "
    mark = "> " if wecom else "- "
    return [f"{mark}{say(k, lang)}{sep}{v}" for k, v in pairs]


def _earlier_lines(facts: HallFacts, batch: Sequence[Alert]) -> list[str]:
    earlier = list(batch[:-1])
    if not earlier:
        return []
    lang = facts.language
    key = "also" if batch[-1].window_id else "also_camera"
    lines = ["", f"**{say(key, lang, n=len(earlier))}**"]
    shown = earlier[-LISTED:]
    for a in shown:
        lines.append(f"- {facts.local(a.started_at, '%H:%M:%S')} {behaviour(a.type, lang)} "
                     f"[{say('open_event', lang)}]({facts.event_url(a)})")
    if len(earlier) > len(shown):
        lines.append(f"- [{say('hidden', lang, n=len(earlier) - len(shown))}]({facts.events_url(batch[-1])})")
    return lines


def markdown(facts: HallFacts, batch: Sequence[Alert], *, wecom: bool, picture_url: str | None = None) -> str:
    """The message text: headline, the newest alert's facts, its snapshot (DingTalk), link, earlier alerts."""
    last = batch[-1]
    lang = facts.language
    lines = [f"### {title(facts, batch)}", *_facts_lines(facts, last, wecom), ""]
    if picture_url and not wecom:            # WeCom markdown shows no pictures: the image follows separately
        lines += [f"![{say('snapshot', lang)}]({picture_url})", ""]
    lines.append(f"[{say('open_event', lang)}]({facts.event_url(last)})")
    lines += _earlier_lines(facts, batch)
    text = "\n".join(lines)
    if wecom and len(text.encode("utf-8")) > WECOM_MARKDOWN_BYTES:
        text = _cut(text, WECOM_MARKDOWN_BYTES)
    return text


# ---- WeCom ----

def wecom_markdown(facts: HallFacts, batch: Sequence[Alert]) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": markdown(facts, batch, wecom=True)}}


def wecom_news(facts: HallFacts, batch: Sequence[Alert], picture_url: str | None) -> dict:
    last = batch[-1]
    lang = facts.language
    sep = "：" if lang == "zh-CN" else ": "
    description = f"{say('time', lang)}{sep}{facts.local(last.started_at)}  " \
                  f"{say('camera', lang)}{sep}{facts.camera_names.get(last.camera_id, last.camera_id)}"
    if len(batch) > 1:
        earlier = ", ".join(f"{facts.local(a.started_at, '%H:%M:%S')} {behaviour(a.type, lang)}"
                            for a in batch[:-1][-LISTED:])
        description += "\n" + say("also" if last.window_id else "also_camera", lang, n=len(batch) - 1) + earlier
    article = {"title": _cut(title(facts, batch), WECOM_NEWS_TITLE_BYTES),
               "description": _cut(description, WECOM_NEWS_DESCRIPTION_BYTES),
               "url": facts.event_url(last)}
    if picture_url:
        article["picurl"] = picture_url
    return {"msgtype": "news", "news": {"articles": [article]}}


def wecom_image(picture: bytes) -> dict:
    """The picture itself (JPG/PNG, at most 2 MB: see ``fit_picture``), base64 and the md5 of the bytes."""
    if len(picture) > WECOM_IMAGE_BYTES:
        raise ValueError(f"a WeCom image is at most {WECOM_IMAGE_BYTES} bytes; this one has {len(picture)}")
    return {"msgtype": "image", "image": {"base64": base64.b64encode(picture).decode("ascii"),
                                          "md5": hashlib.md5(picture).hexdigest()}}


def fit_picture(jpeg: bytes, limit: int = WECOM_IMAGE_BYTES) -> bytes:
    """The snapshot as it is when it fits ``limit``, else re-encoded smaller until it does."""
    if len(jpeg) <= limit:
        return jpeg
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the snapshot is not a picture OpenCV can read")
    scale, quality = 1.0, 85
    while True:
        if scale < 1.0:
            h, w = image.shape[:2]
            small = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
        else:
            small = image
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(data) <= limit:
            return data.tobytes()
        scale *= 0.75
        quality = max(60, quality - 10)


# ---- DingTalk ----

def dingtalk_markdown(facts: HallFacts, batch: Sequence[Alert], picture_url: str | None) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"title": title(facts, batch), "text": markdown(facts, batch, wecom=False,
                                                                         picture_url=picture_url)}}


def dingtalk_action_card(facts: HallFacts, batch: Sequence[Alert], picture_url: str | None) -> dict:
    return {"msgtype": "actionCard",
            "actionCard": {"title": title(facts, batch),
                           "text": markdown(facts, batch, wecom=False, picture_url=picture_url),
                           "btnOrientation": "0", "singleTitle": say("button", facts.language),
                           "singleURL": facts.event_url(batch[-1])}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """base64(HmacSHA256(key=secret, timestamp + "\\n" + secret)), before URL encoding."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    """The robot's address with ``timestamp`` and ``sign`` added when it signs (加签)."""
    if not secret:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("timestamp", "sign")]
    query += [("timestamp", str(timestamp_ms)), ("sign", dingtalk_sign(secret, timestamp_ms))]
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---- the messages of one batch ----

def robot_messages(kind: str, style: str, facts: HallFacts, batch: Sequence[Alert], *,
                   picture: bytes | None = None, picture_url: str | None = None) -> list[dict]:
    """The bodies to post, in order, for one batch (the newest alert last): one message, and for WeCom
    markdown the snapshot as an image message after it."""
    if not batch:
        raise ValueError("a message needs at least one alert")
    if kind == "wecom":
        if style == "news":
            return [wecom_news(facts, batch, picture_url)]
        out = [wecom_markdown(facts, batch)]
        if picture:
            out.append(wecom_image(fit_picture(picture)))
        return out
    if kind == "dingtalk":
        if style == "actionCard":
            return [dingtalk_action_card(facts, batch, picture_url)]
        return [dingtalk_markdown(facts, batch, picture_url)]
    raise ValueError(f"unknown robot kind {kind!r}")


def test_message(kind: str, facts: HallFacts, hall_name: str, min_interval_s: float) -> dict:
    """What `hallmonitor notify test` posts: says the robot works, and how often it will speak."""
    head = say("test_title", facts.language, hall=_plain(hall_name))
    text = f"### {head}\n{say('test_text', facts.language, interval=f'{min_interval_s:g}')}\n\n" \
           f"[{say('app', facts.language)}]({facts.link_base}/)"
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "markdown", "markdown": {"title": head, "text": text}}


def body_bytes(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
