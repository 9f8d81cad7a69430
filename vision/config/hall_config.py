"""cameras.yaml: the hall, its cameras, their windows (zones), schedules and rule settings.

Over 400 lines because it is the one schema of one file: a pydantic model per section of the YAML,
in the file's order, so a reader finds a key where the YAML has it. Loading is in ``loading.py``.

Loaded with ruamel (so line numbers are known and comments survive an edit) and
validated with pydantic (``extra="forbid"``). Every error names the file, the
line and the key, e.g. ``cameras.yaml:14: cameras[0].windows[0].staff_zone:
a polygon needs at least 3 points``.

Zone coordinates are relative to the frame (0..1), so a camera's sub-stream and
main stream share the same zones.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, field_validator, model_validator

from vision.errors import ConfigError
from vision.perception.heads import DEFAULT_HEADS

Point = tuple[float, float]
# ids name files and URL paths (media/<camera>/...): a slug, never "." or ".." or a path
SLUG = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SLUG_HELP = "letters, digits, '-' and '_', starting with a letter or digit, at most 64"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _polygon(value: list[Point]) -> list[Point]:
    if len(value) < 3:
        raise ValueError("a polygon needs at least 3 points [x, y]")
    for x, y in value:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"point [{x}, {y}] is outside the frame: coordinates are relative, 0 to 1")
    return value


class Thresholds(Strict):
    """Per-frame judgement thresholds (observe). Distances are in shoulder widths unless noted."""

    person_score: float = Field(0.35, ge=0, le=1, description="minimum detector score for a person")
    person_confirm_score: float = Field(0.15, ge=0, le=1, description="a person scored from this up to person_score "
                                        "counts when the pose finds a head and shoulders in the box; set it to "
                                        "person_score to count only the detector's score")
    object_score: float = Field(0.30, ge=0, le=1, description="minimum score for cups, bottles, food")
    phone_score: float = Field(0.25, ge=0, le=1, description="minimum score for a cell phone")
    hand_phone_score: float = Field(0.30, ge=0, le=1, description="minimum score for a cell phone the hand zoom "
                                    "finds in a staff member's hand square (models.hand_zoom_every_s)")
    phone_head_score: float | None = Field(None, ge=0, le=1, description="probability from a phone_in_use head "
                                           "(models.heads) at or above which the staff member has a phone in use; "
                                           "None: the head's own threshold")
    keypoint_score: float = Field(0.30, ge=0, le=1, description="minimum score for a keypoint to be used")
    staff_zone_overlap: float = Field(0.5, gt=0, le=1, description="share of a person's box inside the staff zone to "
                                                                   "count as staff")
    citizen_zone_overlap: float = Field(0.5, gt=0, le=1)
    counter_overlap: float = Field(0.5, gt=0, le=1, description="share of an object's box on the counter polygon")
    hand_distance: float = Field(0.45, gt=0, description="phone centre to wrist, in shoulder widths, to count as held")
    ear_distance: float = Field(0.55, gt=0, description="phone centre to ear/eye, in shoulder widths, for phone at ear")
    mouth_distance: float = Field(0.5, gt=0, description="food/drink or wrist to mouth, in shoulder widths")
    eating_cue_score: float = Field(0.30, ge=0, le=1, description="minimum score for the pose's eating cues: the "
                                    "food/drink detection at the mouth, and the wrist and nose keypoints of a wrist "
                                    "at the mouth (the mouth stage, mouth_object, is judged apart)")
    mouth_object: float = Field(0.3, ge=0, le=1, description="probability of a mouth-held thing (cup, bottle, food) "
                                "around the face at or above which the staff member is eating or drinking")
    food_at_face: float = Field(0.6, ge=0, description="food/drink box to the mouth of the face found, in face widths")
    head_down_tilt: float = Field(0.15, ge=0, description="nose below the eye line by this many shoulder widths")
    pitch_is_head_down: bool = Field(False, description="a head pitched down (ears above the eyes) with the eyes "
                                     "not seen counts as head down; off: on public photos it fired on 6 of 60 people "
                                     "reading, writing or typing and on 1 of 70 sleepers (docs/models.md)")
    head_down_drop: float = Field(0.10, description="eyes below the shoulder line minus this many shoulder widths")
    min_shoulder_px: float = Field(24.0, gt=0, description="shoulder width in pixels below which the chest is too "
                                                           "small to judge")
    still_motion: float = Field(0.02, ge=0, le=1, description="changed-pixel share in a head-down person's box below "
                                                              "which they are still")
    face_score: float = Field(0.5, ge=0, le=1, description="face-landmark score below which the eyes are not judged "
                                                           "(unknown)")
    eye_min_px: float = Field(8.0, gt=0, description="eye width (corner to corner) in frame pixels below which the "
                                                     "eyes are unknown")
    eye_turned_ratio: float = Field(0.7, gt=0, le=1, description="narrower eye over the wider one below which the "
                                                                 "head is turned: eyes unknown")
    eye_closed_below: float = Field(0.20, ge=0, description="eyelid gap over eye width at or below which the eyes are "
                                                            "closed (chosen on public eye photos: docs/models.md, "
                                                            "Face and eyes)")
    eye_open_above: float = Field(0.24, ge=0, description="eyelid gap over eye width at or above which the eyes are "
                                                          "open (between: unknown)")


class BadgeProfile(Strict):
    """How this hall's work badge looks on the chest."""

    colors: list[str] = Field(default_factory=lambda: ["#ffffff"], description="card or lanyard colours, #rrggbb")
    hue_tolerance: int = Field(12, ge=1, le=90)
    min_saturation: int = Field(0, ge=0, le=255)
    max_saturation: int = Field(60, ge=0, le=255)
    min_value: int = Field(170, ge=0, le=255)
    min_area: float = Field(0.03, gt=0, le=1, description="badge area over chest region area, lower bound")
    max_area: float = Field(0.35, gt=0, le=1, description="upper bound: a bigger patch is a shirt, not a card")
    detector_labels: list[str] = Field(default_factory=lambda: ["badge"], description="detector classes that are a "
                                                                                      "badge when in the chest region")

    @field_validator("colors")
    @classmethod
    def _hex(cls, value: list[str]) -> list[str]:
        for c in value:
            if not re.fullmatch(r"#[0-9a-fA-F]{6}", c):
                raise ValueError(f"colour {c!r} must be #rrggbb")
        return value


class RuleSettings(Strict):
    enabled: bool = True
    dwell_s: float = Field(ge=0, description="seconds the condition must hold before the event starts")
    grace_s: float = Field(10.0, ge=0,
                           description="a gap shorter than this neither resets the dwell nor ends the event")
    cooldown_s: float = Field(120.0, ge=0, description="after an event ends, no new one of this kind for this long")
    on_ratio: float = Field(0.6, gt=0, le=1, description="share of samples over the dwell that must be positive "
                                                         "(hysteresis)")
    off_ratio: float = Field(0.2, ge=0, lt=1, description="the event ends when the share over the grace falls below "
                                                          "this")
    update_every_s: float = Field(60.0, gt=0, description="an active event sends an `updated` this often")
    severity: Literal["low", "medium", "high"] = "medium"


def _rule(dwell: float, severity: Literal["low", "medium", "high"] = "medium", **kw: Any):
    return Field(default_factory=lambda: RuleSettings(dwell_s=dwell, severity=severity, **kw))


class LateOpeningSettings(Strict):
    enabled: bool = True
    lead_s: float = Field(180.0, ge=0, description="staff must be at the window this long before opening")
    grace_s: float = Field(0.0, ge=0, description="tolerance after the lead time before the event starts")
    severity: Literal["low", "medium", "high"] = "medium"


class Rules(Strict):
    """Each rule's settings; a rule given in part keeps that rule's own defaults for the rest."""

    @model_validator(mode="before")
    @classmethod
    def _merge_with_rule_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            if field is not None and isinstance(value, dict) and field.default_factory is not None:
                merged[name] = {**field.default_factory().model_dump(), **value}  # type: ignore[call-arg]  # ours take no argument
        return merged

    unattended: RuleSettings = _rule(60, "medium", grace_s=10)
    phone_on_counter: RuleSettings = _rule(30, "low")
    phone_use: RuleSettings = _rule(30, "medium")
    long_call: RuleSettings = _rule(180, "high")
    badge_absent: RuleSettings = _rule(120, "low", grace_s=20)
    eating: RuleSettings = _rule(20, "low")
    sleeping: RuleSettings = _rule(90, "high", grace_s=15)
    extra_person: RuleSettings = _rule(120, "low", grace_s=20)
    late_opening: LateOpeningSettings = Field(default_factory=LateOpeningSettings)


# The one list of behaviours a window's rules watch with a dwell (vision/rules/window.py runs one
# machine each): the Rules fields that are RuleSettings, in their order. A new behaviour is a new
# field above, a condition in WindowRules.conditions and an entry in vision/events.EVENT_TYPES.
BEHAVIOURS: tuple[str, ...] = tuple(name for name, f in Rules.model_fields.items() if f.annotation is RuleSettings)


class Schedule(Strict):
    """Service hours per weekday in the hall's time zone; gaps between periods are breaks."""

    timezone: str = "Asia/Shanghai"
    hours: dict[str, list[str]] = Field(default_factory=lambda: {
        "mon-fri": ["09:00-12:00", "13:30-17:30"]})
    closed: list[date] = Field(default_factory=list, description="dates with no service")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for days, periods in value.items():
            expand_days(days)
            for p in periods:
                parse_period(p)
        return value

    def periods(self, weekday: int) -> list[tuple[time, time]]:
        """Service periods for weekday 0=Monday, sorted."""
        out: list[tuple[time, time]] = []
        for days, periods in self.hours.items():
            if weekday in expand_days(days):
                out.extend(parse_period(p) for p in periods)
        return sorted(out)


def expand_days(spec: str) -> list[int]:
    """'mon-fri' -> [0..4]; 'sat' -> [5]; 'mon,wed' -> [0, 2]."""
    days: list[int] = []
    for part in spec.lower().split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in WEEKDAYS or b not in WEEKDAYS:
                raise ValueError(f"weekday range {part!r}: use mon..sun, e.g. 'mon-fri'")
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            days.extend(range(i, j + 1))
        elif part in WEEKDAYS:
            days.append(WEEKDAYS.index(part))
        else:
            raise ValueError(f"weekday {part!r}: use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri")
    return days


def parse_period(spec: str) -> tuple[time, time]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", spec)
    if not m:
        raise ValueError(f"service period {spec!r} must look like '09:00-12:00'")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"service period {spec!r} has an impossible time")
    start, end = time(h1, m1), (time(23, 59, 59) if h2 == 24 else time(h2, m2))
    if end <= start:
        raise ValueError(f"service period {spec!r} ends before it starts")
    return start, end


class PauseSign(Strict):
    template: Path = Field(description="photo of the hall's '暂停服务' sign, cropped to the sign")
    threshold: float = Field(0.6, gt=0, le=1, description="match score above which the sign is seen")


def _patch_model(model: type[BaseModel]) -> type[BaseModel]:
    """The same fields as ``model``, all optional: a per-window override."""
    # every field of these models is annotated (f.annotation is never None)
    fields: dict[str, Any] = {name: (f.annotation | None, None)  # type: ignore[operator]
                              for name, f in model.model_fields.items()}
    return create_model(f"{model.__name__}Override", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


ThresholdsOverride = _patch_model(Thresholds)


class RuleOverride(Strict):
    enabled: bool | None = None
    dwell_s: float | None = Field(None, ge=0)
    grace_s: float | None = Field(None, ge=0)
    cooldown_s: float | None = Field(None, ge=0)
    on_ratio: float | None = Field(None, gt=0, le=1)
    off_ratio: float | None = Field(None, ge=0, lt=1)
    update_every_s: float | None = Field(None, gt=0)
    severity: Literal["low", "medium", "high"] | None = None
    lead_s: float | None = Field(None, ge=0)


_RULE_OVERRIDES: dict[str, Any] = {name: (RuleOverride | None, None) for name in Rules.model_fields}
RulesOverride = create_model("RulesOverride", __config__=ConfigDict(extra="forbid", frozen=True), **_RULE_OVERRIDES)


class Window(Strict):
    id: str = Field(pattern=SLUG, description=SLUG_HELP)
    name: str | None = None
    staff: int = Field(1, ge=1, le=10, description="how many staff serve at this window")
    staff_zone: list[Point]
    counter: list[Point]
    citizen_zone: list[Point] | None = None
    schedule: Schedule | None = None
    pause_sign: PauseSign | None = None
    # ThresholdsOverride is made by create_model at import time: mypy cannot use a variable as a type
    thresholds: ThresholdsOverride | None = None  # type: ignore[valid-type]
    rules: RulesOverride | None = None

    _poly = field_validator("staff_zone", "counter", "citizen_zone")(
        classmethod(lambda cls, v: v if v is None else _polygon(v)))


class ClipSettings(Strict):
    pre_s: float = Field(10.0, ge=0, le=120)
    post_s: float = Field(20.0, ge=0, le=600)


class Camera(Strict):
    id: str = Field(pattern=SLUG, description=SLUG_HELP)
    name: str | None = None
    url: str = Field(description="rtsp://user:pass@host/stream, or a video file path (looped)")
    enabled: bool = True
    analysis_fps: float = Field(1.0, gt=0, le=15)
    open_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(5.0, gt=0)
    stall_s: float = Field(10.0, gt=0, description="no frame for this long: the camera is offline, reconnect")
    clip: ClipSettings = Field(default_factory=ClipSettings)
    detect_on: Literal["auto", "zones", "frame"] = Field(
        "auto", description="where the detector looks: the windows' zones (padded), the whole frame, "
                            "or auto (zones when they cover less than 70 % of the frame)")
    windows: list[Window] = Field(min_length=1)


class Hall(Strict):
    name: str = "Service hall"
    language: Literal["zh-CN", "en"] = "zh-CN"


class ModelChoice(Strict):
    manifest: Path = Path("models/models.yaml")
    detector: str = "nanodet"
    pose: str | None = "movenet-lightning"
    threads: int = Field(0, ge=0, description="onnxruntime intra-op threads per session; 0 = 1 with several sessions, "
                                              "else all cores")
    sessions: int = Field(0, ge=0, le=16, description="model sessions shared by all cameras; 0 = one per core")
    crop_pass: bool = Field(True, description="a second detector pass on each staff member's crop: finds small "
                                              "phones and cups, costs about one more detection per staff member; "
                                              "it looks four times per dwell of the shortest rule it serves "
                                              "(phone, call, eating, badge) and its finds hold in between")
    counter_zoom_every_s: float = Field(10.0, ge=0, description="look at each counter in tiles of the detector's "
                                        "input size this often (flat phones, cups), when the counter changed; "
                                        "what it finds holds until the next look; 0 = off")
    hand_zoom_every_s: float = Field(0.0, ge=0, description="look at each staff member's hands in squares of the "
                                     "detector's input size this often (phones in hand or at the ear), e.g. 5; what "
                                     "it finds holds until the next look (the phone rule's dwell is 30 s); 0 = off "
                                     "(the default: with the bundled NanoDet it did not beat the geometry, "
                                     "docs/models.md)")
    backbone: str = Field("efficientnet-lite0", description="the crop backbone whose features the heads read")
    heads: list[str] = Field(default_factory=lambda: list(DEFAULT_HEADS),
                             description="behaviour heads (model names in the manifest) run on each staff "
                                         "member's crop; default: the shipped heads; [] switches them off")
    face_every_s: float = Field(5.0, ge=0, description="read the staff's faces and eyes this often per window "
                                "(when its staff zone changed; at least every 10 s); "
                                "between reads each person keeps the last reading of the person at the same "
                                "place (the sleeping rule's dwell is 90 s); 0 = every analysis")
    face: str | None = Field("blazeface-short", description="face detector on each staff member's head; None: no face "
                                                            "stage")
    landmarks: str | None = Field("facemesh", description="face landmarks on each face found; None: eyes unknown")
    eyes: str | None = Field("iris", description="eyelid and iris model on each eye; None: eyes unknown")
    mouth: str | None = Field("lite0-mouth-objects", description="what is held at each face's mouth (a cup, a "
                              "bottle, food): the backbone's ImageNet classes on the square around the face, "
                              "with the face stage; None: eating is judged by the detector's objects only")


class Storage(Strict):
    database: Path = Path("var/hallmonitor.db")
    media_dir: Path = Path("var/media")
    heads_dir: Path = Field(Path("var/heads"), description="the hall's own heads (`hallmonitor train`): "
                                                          "versioned files and their models.yaml")
    retention_days: float = Field(30, gt=0)
    max_media_gb: float = Field(20, gt=0)


STORE_URL_HELP = ("a PostgreSQL URL (postgresql://user:password@host:5432/database), or a SQLite file "
                  "(a path, or sqlite:///path); without it, storage.database")


class StoreLocation(Strict):
    """Where the hall's events live: the embedded SQLite file (the default) or a PostgreSQL database."""

    url: str | None = Field(None, description=STORE_URL_HELP)

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in ("", "sqlite", "postgresql", "postgres"):
            raise ValueError(f"the URL's scheme is {scheme!r}; give {STORE_URL_HELP}")
        if not value.strip():
            raise ValueError(f"empty; give {STORE_URL_HELP}")
        return value


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


class Dashboard(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    secret_key_file: Path = Field(Path("var/secret_key"), description="session signing key, made on first start")
    secure_cookies: bool = Field(False, description="served over HTTPS (behind a TLS proxy): cookies only over "
                                                    "TLS, and HSTS")
    public_url: str | None = Field(None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$",
                                   description="the dashboard's address as the staff's phones reach it, e.g. "
                                               "http://10.1.2.3:8080 (links in robot messages; default "
                                               "http://host:port)")

    def link_base(self) -> str:
        """The address robot messages link to (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self.port}"


class Privacy(Strict):
    """PIPL: whose faces are blurred in evidence that leaves the system (vision/privacy/blur.py)."""

    blur_faces: Literal["all_but_staff", "citizen_zone", "off"] = Field(
        "all_but_staff", description="all_but_staff: every face but those in a staff zone; citizen_zone: faces in "
                                     "a citizen zone; off: none")
    admins_see_originals: bool = Field(True, description="admins see unblurred snapshots and clips in the "
                                                         "dashboard (downloads are blurred for everyone)")


class Defaults(Strict):
    thresholds: Thresholds = Field(default_factory=Thresholds)
    rules: Rules = Field(default_factory=Rules)


class HallConfig(Strict):
    hall: Hall = Field(default_factory=Hall)
    models: ModelChoice = Field(default_factory=ModelChoice)
    storage: Storage = Field(default_factory=Storage)
    store: StoreLocation = Field(default_factory=StoreLocation, description="where the events live (default: "
                                 "the SQLite file storage.database)")
    schedule: Schedule = Field(default_factory=Schedule)
    badge: BadgeProfile = Field(default_factory=BadgeProfile)
    defaults: Defaults = Field(default_factory=Defaults)
    cameras: list[Camera] = Field(default_factory=list)
    webhooks: list[WebhookEndpoint] = Field(default_factory=list)
    notify: list[NotifyRobot] = Field(default_factory=list, description="WeCom / DingTalk group robots")
    dashboard: Dashboard = Field(default_factory=Dashboard)
    privacy: Privacy = Field(default_factory=Privacy)
    mqtt: Mqtt | None = Field(None, description="publish events and window states to an MQTT broker")
    base_dir: Path = Path(".")   # set by the loader: relative paths resolve against the config's folder

    def store_target(self) -> Path | str:
        """What ``Store()`` opens: ``store.url`` if given (a PostgreSQL URL as it is, a SQLite path resolved
        against the config's folder), else the file ``storage.database``."""
        url = self.store.url
        if url is None:
            return self.path(self.storage.database)
        if url.split("://", 1)[0].lower() in ("postgresql", "postgres"):
            return url
        if url.startswith("sqlite://"):
            url = url[len("sqlite://"):]
            url = url[1:] if url.startswith("/") else url
        return self.path(Path(url))

    def duplicate_ids(self) -> list[tuple[tuple, str]]:
        """(path in the YAML, message) for every camera or window id used twice."""
        out: list[tuple[tuple, str]] = []
        seen_cam, seen_win = set(), set()
        for i, cam in enumerate(self.cameras):
            if cam.id in seen_cam:
                out.append((("cameras", i, "id"), f"camera id {cam.id!r} is used twice"))
            seen_cam.add(cam.id)
            for j, win in enumerate(cam.windows):
                if win.id in seen_win:
                    out.append((("cameras", i, "windows", j, "id"),
                                f"window id {win.id!r} is used twice (window ids are unique across cameras)"))
                seen_win.add(win.id)
        return out

    def notify_problems(self) -> list[tuple[tuple, str]]:
        """Robots with a duplicate id or a window filter naming no window of this hall."""
        out: list[tuple[tuple, str]] = []
        seen = set()
        known = [w.id for cam in self.cameras for w in cam.windows]
        for i, robot in enumerate(self.notify):
            if robot.id in seen:
                out.append((("notify", i, "id"), f"robot id {robot.id!r} is used twice"))
            seen.add(robot.id)
            for j, win in enumerate(robot.windows):
                if win not in known:
                    out.append((("notify", i, "windows", j), f"no window {win!r} in this config "
                                                              f"(windows: {', '.join(known) or 'none'})"))
        return out

    def grace_problems(self) -> list[tuple[tuple, str]]:
        """Rules whose grace is shorter than the time between two analyses: every gap would reset them."""
        out = []
        for i, cam in enumerate(self.cameras):
            period = 1.0 / cam.analysis_fps
            for j, win in enumerate(cam.windows):
                rules = self.rules(win)
                for name in Rules.model_fields:
                    rule = getattr(rules, name)
                    if isinstance(rule, RuleSettings) and rule.enabled and rule.grace_s < period:
                        loc = (("cameras", i, "windows", j, "rules", name, "grace_s")
                               if win.rules is not None and getattr(win.rules, name, None) is not None
                               else ("defaults", "rules", name, "grace_s"))
                        out.append((loc, f"window {win.id}: {name}.grace_s {rule.grace_s:g} s is shorter than the "
                                         f"{period:g} s between two analyses of camera {cam.id} "
                                         f"(analysis_fps {cam.analysis_fps:g}): every gap would reset the rule. "
                                         f"Raise grace_s to at least {period:g} s or analysis_fps"))
        return out

    def clip_warnings(self) -> list[str]:
        """Rules whose dwell is longer than a camera's ring can hold: their clips would start late."""
        from vision.media.ring import MAX_RING_S, seconds_for_clip
        out = []
        for cam in self.cameras:
            for win in cam.windows:
                for kind in BEHAVIOURS:
                    rule = getattr(self.rules(win), kind)
                    need = seconds_for_clip(cam.clip.pre_s, rule.dwell_s, cam.clip.post_s)
                    if rule.enabled and need > MAX_RING_S:
                        out.append(f"camera {cam.id}, window {win.id}: {kind}.dwell_s {rule.dwell_s:g} s plus the "
                                   f"clip's pre_s/post_s needs {need:g} s of video, more than the {MAX_RING_S:g} s "
                                   f"a camera keeps: its clips will start {need - MAX_RING_S:g} s after the dwell "
                                   f"began")
        return out

    def missing_files(self) -> list[tuple[tuple, str]]:
        """Files the config names that cannot be read (checked at load, not on every frame)."""
        import cv2

        out: list[tuple[tuple, str]] = []
        tls = self.mqtt.tls if self.mqtt is not None else None
        for key in ("ca_file", "cert_file", "key_file"):
            name = getattr(tls, key, None)
            if name is not None and not self.path(name).is_file():
                out.append((("mqtt", "tls", key), f"no such file: {self.path(name)} (a PEM file; relative paths "
                                                  f"start at the config's folder)"))
        for i, cam in enumerate(self.cameras):
            for j, win in enumerate(cam.windows):
                if win.pause_sign is None:
                    continue
                path = self.path(win.pause_sign.template)
                loc = ("cameras", i, "windows", j, "pause_sign", "template")
                if not path.is_file():
                    out.append((loc, f"no such file: {path} (a photo of the hall's 暂停服务 sign, cropped to the "
                                     f"sign; relative paths start at the config's folder)"))
                elif cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) is None:
                    out.append((loc, f"{path} is not an image OpenCV can read (JPEG or PNG)"))
        return out

    def camera(self, camera_id: str) -> Camera:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        known = ", ".join(c.id for c in self.cameras) or "none"
        raise ConfigError(f"no camera {camera_id!r} in the config (cameras: {known})")

    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.base_dir / p)

    def thresholds(self, window: Window) -> Thresholds:
        over: dict[str, Any] = window.thresholds.model_dump(exclude_none=True) if window.thresholds else {}
        return self.defaults.thresholds.model_copy(update=over)

    def rules(self, window: Window) -> Rules:
        if not window.rules:
            return self.defaults.rules
        update = {}
        for name, over in window.rules:
            if over is not None:
                base = getattr(self.defaults.rules, name)
                fields = {k: v for k, v in over.model_dump(exclude_none=True).items() if k in type(base).model_fields}
                update[name] = base.model_copy(update=fields)
        return self.defaults.rules.model_copy(update=update)

    def schedule_for(self, window: Window) -> Schedule:
        return window.schedule or self.schedule


def single_window_config(width: int, height: int, counter_px: tuple[float, float, float, float] | None) -> HallConfig:
    """The config ``analyze`` uses without --config: the whole image is one window."""
    whole = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    if counter_px:
        x1, y1, x2, y2 = counter_px
        cx1, cx2 = sorted((min(max(x1 / width, 0), 1), min(max(x2 / width, 0), 1)))
        cy1, cy2 = sorted((min(max(y1 / height, 0), 1), min(max(y2 / height, 0), 1)))
        counter = [(cx1, cy1), (cx2, cy1), (cx2, cy2), (cx1, cy2)]
    else:
        counter = [(0.0, 1.0), (1.0, 1.0), (1.0, 1.0)]  # degenerate: nothing lies on it
    win = Window.model_construct(id="window", name=None, staff=1, staff_zone=whole, counter=counter,
                                 citizen_zone=None, schedule=None, pause_sign=None, thresholds=None, rules=None)
    cam = Camera.model_construct(id="image", name=None, url="", enabled=True, analysis_fps=1.0,
                                 open_timeout_s=5.0, read_timeout_s=5.0, stall_s=10.0,
                                 clip=ClipSettings(), detect_on="frame", windows=[win])
    return HallConfig(cameras=[cam])
