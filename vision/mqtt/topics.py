"""The topics, and the retained state of the hall as topic -> payload (pure: rows in, messages out).

Under the topic prefix (``hallmonitor`` by default):

=================================  ===========================================  =========
topic                              payload                                      retained
=================================  ===========================================  =========
``<p>/available``                  ``online`` / ``offline`` (the Last Will)     yes
``<p>/events``                     one event transition: the event's JSON       no
``<p>/reviews``                    a review: ``{"review": ..., "event": ...}``  no
``<p>/<window>/state``             occupied, vacant, paused, closed, offline,   yes
                                   unknown
``<p>/<window>/attributes``        JSON: window_id, camera_id, status, since,   yes
                                   active_types
``<p>/<window>/<behaviour>``       ``ON`` while such an event is open, ``OFF``  yes
``<p>/<window>/pause/state``       ``ON`` / ``OFF``                             yes
``<p>/<window>/pause/set``         in: ``ON`` / ``OFF`` / JSON                  -
``<p>/<camera>/status``            ``online`` / ``offline``                     yes
=================================  ===========================================  =========
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vision.config.rules import BEHAVIOURS
from vision.events import Event

WINDOW_STATES = ("occupied", "vacant", "paused", "closed", "offline", "unknown")
# the worker's window status (vision.rules.window.STATUSES) as the hall says it
_STATE_OF_STATUS = {"staffed": "occupied", "unattended": "vacant", "late": "vacant", "paused": "paused",
                    "closed": "closed"}
# the rules of a window, each a yes/no about it (a pause has its own switch, a camera its status)
WINDOW_BEHAVIOURS = BEHAVIOURS + ("late_opening",)
ON, OFF = "ON", "OFF"


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Topics:
    prefix: str = "hallmonitor"

    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def reviews(self) -> str:
        return f"{self.prefix}/reviews"

    def window_state(self, window_id: str) -> str:
        return f"{self.prefix}/{window_id}/state"

    def window_attributes(self, window_id: str) -> str:
        return f"{self.prefix}/{window_id}/attributes"

    def behaviour(self, window_id: str, kind: str) -> str:
        return f"{self.prefix}/{window_id}/{kind}"

    def pause_state(self, window_id: str) -> str:
        return f"{self.prefix}/{window_id}/pause/state"

    def pause_set(self, window_id: str) -> str:
        return f"{self.prefix}/{window_id}/pause/set"

    @property
    def pause_set_filter(self) -> str:
        return f"{self.prefix}/+/pause/set"

    def camera_status(self, camera_id: str) -> str:
        return f"{self.prefix}/{camera_id}/status"

    def window_of_pause_set(self, topic: str) -> str | None:
        """The window a ``<p>/<window>/pause/set`` topic names, or None for any other topic."""
        head, tail = f"{self.prefix}/", "/pause/set"
        if topic.startswith(head) and topic.endswith(tail):
            window = topic[len(head):-len(tail)]
            if window and "/" not in window:
                return window
        return None


REVIEWED = "event.reviewed"      # vision/store/reviews.py: a manager's review, not a transition


def outbox_message(topics: Topics, kind: str, outbox_body: str) -> tuple[str, str]:
    """Topic and payload of one outbox message. A transition goes to ``<p>/events`` as its ``data``, the
    event's own JSON; a review to ``<p>/reviews`` as ``{"review": ..., "event": ...}``, so a review
    never looks like a second copy of a transition."""
    message = json.loads(outbox_body)
    if kind == REVIEWED:
        return topics.reviews, _compact({"review": message.get("review"), "event": message["data"]})
    return topics.events, _compact(message["data"])


def hall_state(config, topics: Topics, window_rows: Mapping[str, dict], open_events: Iterable[Event],
               paused_windows: Iterable[str]) -> dict[str, str]:
    """Every retained state topic of the hall and its payload now.

    ``window_rows`` are the store's window states by window id, ``open_events`` the events not yet
    ended, ``paused_windows`` the windows with a pause in force (from the API, MQTT or the sign).
    A camera is offline while its ``camera_offline`` event is open (or it is disabled); its windows
    then say ``offline``, as the dashboard's board does.
    """
    offline = set()
    active: dict[str, set[str]] = {}
    for ev in open_events:
        if ev.type == "camera_offline":
            offline.add(ev.camera_id)
        elif ev.window_id:
            active.setdefault(ev.window_id, set()).add(ev.type)
    paused = set(paused_windows)
    out: dict[str, str] = {}
    for cam in config.cameras:
        cam_offline = cam.id in offline or not cam.enabled
        out[topics.camera_status(cam.id)] = "offline" if cam_offline else "online"
        for win in cam.windows:
            row = window_rows.get(win.id)
            types = active.get(win.id, set())
            is_paused = win.id in paused or "window_paused" in types
            if not cam.enabled:
                state = "closed"
            elif cam_offline:
                state = "offline"
            elif is_paused:
                state = "paused"
            elif row is not None:
                state = _STATE_OF_STATUS.get(row["status"], "unknown")
            else:
                state = "unknown"
            out[topics.window_state(win.id)] = state
            out[topics.window_attributes(win.id)] = _compact({
                "window_id": win.id, "name": win.name or win.id, "camera_id": cam.id,
                "status": row["status"] if row else None, "since": row["since"] if row else None,
                "active_types": sorted(types | set(row["active_types"] if row else ())),
                "camera_online": not cam_offline, "as_of": None if row is None else row["updated_at"]})
            for kind in WINDOW_BEHAVIOURS:
                out[topics.behaviour(win.id, kind)] = ON if kind in types else OFF
            out[topics.pause_state(win.id)] = ON if is_paused else OFF
    return out


__all__ = ["ON", "OFF", "Topics", "WINDOW_BEHAVIOURS", "WINDOW_STATES", "outbox_message", "hall_state"]
