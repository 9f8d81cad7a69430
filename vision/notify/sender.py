"""The robot sender: the store's outbox -> each robot's queue -> one message per window and interval.

One thread per robot loops: take in the outbox after the robot's own cursor (queue.py), then send
every window whose batch is due. A window gets at most one message per ``min_interval_s``: the first
alert goes at once, the alerts that come within the interval wait and go together in the next message
(the newest as headline, the others listed). A robot also never posts more than ``max_per_minute``
requests (WeCom and DingTalk both stop a robot at 20 a minute).

A failed send (no answer, HTTP error, an ``errcode`` other than 0) keeps the batch and tries again on
:data:`vision.notify.queue.RETRY_S`; a "too fast" answer waits a minute. The SSRF guard of the webhooks
checks the address before every request. The robot's key, access token and secret never reach a log
line: errors name the robot's id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests

from vision.errors import ConfigError, InputError
from vision.notify import links, queue
from vision.notify.messages import (
    Alert,
    HallFacts,
    body_bytes,
    dingtalk_url,
    robot_messages,
)
from vision.privacy.evidence import SnapshotBlurrer
from vision.webhooks.address_guard import (
    Resolver,
    Unresolvable,
    check_url,
    http_session,
)

log = logging.getLogger(__name__)

TOO_FAST = {45009, 130101}   # WeCom "api freq out of limit", DingTalk "send too fast"
TOO_FAST_WAIT_S = 60.0
DEFAULT_SKIP = frozenset({"window_paused"})
# the outbox messages that start something a robot tells (never updates, ends or reviews)
NEW_ALERTS = frozenset({"event.started", "camera.offline", "window.paused"})


@dataclass(frozen=True)
class Robot:
    """One configured robot, as the sender uses it (see ``vision.config.NotifyRobot``)."""

    id: str
    kind: str
    url: str
    secret: str | None = None
    format: str = "markdown"
    types: frozenset[str] = frozenset()
    windows: frozenset[str] = frozenset()
    min_interval_s: float = 60.0
    max_per_minute: int = 20
    snapshot: bool = True
    allow_private: bool = False
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # the URL and secret are credentials
        return f"Robot(id={self.id!r}, kind={self.kind!r})"

    @classmethod
    def from_config(cls, item) -> Robot:
        return cls(id=item.id, kind=item.kind, url=item.url,
                   secret=item.secret.get_secret_value() if item.secret is not None else None,
                   format=item.format, types=frozenset(item.types), windows=frozenset(item.windows),
                   min_interval_s=item.min_interval_s, max_per_minute=item.max_per_minute, snapshot=item.snapshot,
                   allow_private=item.allow_private, timeout_s=item.timeout_s)

    def wants(self, message_type: str, data: dict, camera_windows: Mapping[str, Iterable[str]] | None = None) -> bool:
        """New alerts only (an event's start, a camera going offline), filtered by type and window; never a
        review (``event.reviewed`` carries the event too, often still in its started phase)."""
        if message_type not in NEW_ALERTS or data.get("phase") != "started" or "type" not in data:
            return False
        if self.types:
            if data["type"] not in self.types:
                return False
        elif data["type"] in DEFAULT_SKIP:
            return False
        if self.windows:
            window = data.get("window_id")
            if window is not None:
                return window in self.windows
            camera = data.get("camera_id")
            if camera is None:
                return False
            return bool(self.windows & set((camera_windows or {}).get(camera, ())))
        return True

    def scrub(self, text: str) -> str:
        """``text`` with the robot's credentials replaced by ***."""
        for _, value in parse_qsl(urlsplit(self.url).query):
            if len(value) >= 4:
                text = text.replace(value, "***")
        if self.secret:
            text = text.replace(self.secret, "***")
        return text


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None
    wait_s: float | None = None


class Notifier:
    """Sends every robot's messages; ``start()`` a thread per robot, ``stop()`` them.

    ``media_dir`` is where snapshots are (for WeCom image messages); ``poll_s`` how often the outbox is
    read when nothing is due sooner; ``schedule`` the retry delays and ``rate_window_s`` the window of
    ``max_per_minute`` (tests pass fractions of a second and a shorter window).
    """

    def __init__(self, store, robots: Sequence[Robot], facts: HallFacts, media_dir: Path | str | None = None, *,
                 poll_s: float = 0.5, schedule: Sequence[float] = queue.RETRY_S,
                 camera_windows: Mapping[str, Iterable[str]] | None = None, resolver: Resolver | None = None,
                 rate_window_s: float = 60.0, blurrer: SnapshotBlurrer | None = None):
        ids = [r.id for r in robots]
        if len(set(ids)) != len(ids):
            raise InputError(f"notify: robot ids must be unique, got {ids}")
        self.store = store
        self.robots = list(robots)
        self.facts = facts
        self.media_dir = Path(media_dir).resolve() if media_dir is not None else None
        self.poll_s = poll_s
        self.schedule = tuple(schedule)
        self.camera_windows = {k: list(v) for k, v in (camera_windows or {}).items()}
        self.resolver = resolver
        self.rate_window_s = rate_window_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sent: dict[str, deque] = {r.id: deque() for r in self.robots}
        now = time.time()
        with store.write() as conn:   # a new robot starts at the newest message, from now on
            for robot in self.robots:
                queue.start_cursor(conn, robot.id, now)
        self._share_key = links.share_key(store)
        self.blurrer = blurrer

    @classmethod
    def from_config(cls, store, config, **kw) -> Notifier:
        robots = []
        for i, item in enumerate(config.notify):
            if not item.enabled:
                continue
            try:   # refused at the start, like a webhook endpoint; an unresolvable name may resolve later
                check_url(item.url, allow_private=item.allow_private, resolver=kw.get("resolver"))
            except Unresolvable as exc:
                log.warning("notify[%d] (%s): %s", i, item.id, Robot.from_config(item).scrub(str(exc)))
            except InputError as exc:
                raise ConfigError(f"notify[{i}] (robot {item.id}): {Robot.from_config(item).scrub(str(exc))}") from None
            robots.append(Robot.from_config(item))
        camera_windows = {c.id: [w.id for w in c.windows] for c in config.cameras}
        kw.setdefault("blurrer", SnapshotBlurrer.from_config(config))   # a chat group is outside the hall
        return cls(store, robots, HallFacts.from_config(config), config.path(config.storage.media_dir),
                   camera_windows=camera_windows, **kw)

    # -- lifecycle --

    def start(self) -> Notifier:
        for robot in self.robots:
            thread = threading.Thread(target=self._run, args=(robot,), name=f"notify-{robot.id}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.robots:
            log.info("robot notifications started: %s", ", ".join(f"{r.id} ({r.kind})" for r in self.robots))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, robot: Robot) -> None:
        session = http_session(robot.allow_private)
        while not self._stop.is_set():
            wait = self.poll_s
            try:
                self.step(robot, session)
                wake = queue.next_wake(self.store, robot.id, robot.min_interval_s)
                if wake is not None:
                    wait = min(wait, max(0.01, wake - time.time()))
            except Exception:  # noqa: BLE001 - e.g. a busy database: log, wait, go on
                log.exception("robot %s: step failed; trying again", robot.id)
            self._stop.wait(wait)

    # -- one step --

    def step(self, robot: Robot, session: requests.Session | None = None) -> int:
        """Take in the outbox and send what is due; returns how many messages went out."""
        queue.take_in(self.store, robot.id, lambda kind, data: robot.wants(kind, data, self.camera_windows))
        session = session or http_session(robot.allow_private)
        sent = 0
        for batch in queue.due(self.store, robot.id, robot.min_interval_s, time.time()):
            if self._stop.is_set():
                break
            sent += self.send(robot, batch, session)
        return sent

    def _picture(self, alert: Alert) -> bytes | None:
        if not alert.snapshot or self.media_dir is None:
            return None
        path = (self.media_dir / alert.snapshot).resolve()
        if not path.is_relative_to(self.media_dir) or not path.is_file():
            return None
        try:
            if self.blurrer is not None:     # citizens' faces blurred (vision/privacy)
                path = self.blurrer.copy_of(path, alert.camera_id)
            return path.read_bytes()
        except (OSError, ValueError) as exc:
            log.warning("event %s: snapshot not sent: %s", alert.event_id, exc)
            return None

    def send(self, robot: Robot, batch: queue.Batch, session: requests.Session) -> bool:
        """Post one batch's message(s); the batch is told when the first (the text) is accepted."""
        last = batch.alerts[-1]
        picture = picture_url = None
        if robot.snapshot and last.snapshot:
            if robot.kind == "wecom" and robot.format == "markdown":
                picture = self._picture(last)
            else:
                picture_url = links.snapshot_link(self.facts.link_base, self._share_key, last.event_id)
        try:
            messages = robot_messages(robot.kind, robot.format, self.facts, batch.alerts, picture=picture,
                                      picture_url=picture_url)
        except ValueError as exc:   # e.g. a snapshot that is not a picture: tell the alert without it
            log.warning("robot %s: %s; sending the text alone", robot.id, exc)
            messages = robot_messages(robot.kind, robot.format, self.facts, batch.alerts)
        outcome = self.post(robot, messages[0], session)
        now = time.time()
        if not outcome.ok:
            delay = queue.failed(self.store, batch, now, outcome.error or "failed", outcome.wait_s, self.schedule)
            log.warning("robot %s, %s: sending %d alerts failed (%s); next try in %.0f s", robot.id,
                        batch.window_key, len(batch.alerts), outcome.error, delay)
            return False
        queue.told(self.store, batch, now)
        for extra in messages[1:]:
            more = self.post(robot, extra, session)
            if not more.ok:
                log.warning("robot %s, %s: the snapshot did not go (%s); the alert did", robot.id,
                            batch.window_key, more.error)
        return True

    def _throttle(self, robot: Robot) -> None:
        """Wait until this robot may post again (at most ``max_per_minute`` in any ``rate_window_s``)."""
        sent = self._sent[robot.id]
        while len(sent) >= robot.max_per_minute and not self._stop.is_set():
            wait = sent[0] + self.rate_window_s - time.monotonic()
            if wait <= 0:
                sent.popleft()
                continue
            self._stop.wait(min(wait, 1.0))
        sent.append(time.monotonic())

    def post(self, robot: Robot, message: dict, session: requests.Session) -> Outcome:
        """One request: the address checked, signed for DingTalk 加签, the answer's errcode read."""
        self._throttle(robot)
        try:
            check_url(robot.url, allow_private=robot.allow_private, resolver=self.resolver)
            url = robot.url
            if robot.kind == "dingtalk":
                url = dingtalk_url(robot.url, robot.secret, int(time.time() * 1000))
            response = session.post(url, data=body_bytes(message), timeout=robot.timeout_s, allow_redirects=False,
                                    headers={"content-type": "application/json; charset=utf-8"})
        except InputError as exc:
            return Outcome(False, robot.scrub(f"refused: {exc}"))
        except requests.Timeout:
            return Outcome(False, f"no answer within {robot.timeout_s:g} s")
        except requests.RequestException as exc:
            return Outcome(False, robot.scrub(f"{type(exc).__name__}: {_short(str(exc))}"))
        if response.status_code != 200:
            return Outcome(False, robot.scrub(f"HTTP {response.status_code}: {_short(response.text)}"),
                           TOO_FAST_WAIT_S if response.status_code == 429 else None)
        try:
            answer = response.json()
            code = int(answer.get("errcode", -1))
        except (ValueError, TypeError, AttributeError):
            return Outcome(False, robot.scrub(f"not the robot's JSON answer: {_short(response.text)}"))
        if code != 0:
            error = robot.scrub(f"errcode {code}: {_short(str(answer.get('errmsg', '')))}")
            return Outcome(False, error, TOO_FAST_WAIT_S if code in TOO_FAST else None)
        return Outcome(True)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
