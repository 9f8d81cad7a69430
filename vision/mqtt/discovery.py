"""Home Assistant MQTT discovery: retained config messages, so every window appears as a device with
a state sensor, a binary sensor per behaviour and a pause switch, and every camera as a connectivity
sensor, without hand configuration (pure: the config in, topic -> JSON text out).

Topics follow Home Assistant's ``<discovery prefix>/<component>/<node id>/<object id>/config``; the
node id is the topic prefix made safe (``hallmonitor``), so two halls on one broker do not collide.
A behaviour switched off in cameras.yaml gets an empty config, which removes its entity.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import PackageNotFoundError, version

from vision.events import EVENT_TYPES
from vision.mqtt.topics import OFF, ON, WINDOW_BEHAVIOURS, WINDOW_STATES, Topics

_ICONS = {"unattended": "mdi:account-off", "late_opening": "mdi:clock-alert", "phone_on_counter": "mdi:cellphone",
          "phone_use": "mdi:cellphone-text", "long_call": "mdi:phone-alert", "badge_absent": "mdi:badge-account-alert",
          "eating": "mdi:food", "sleeping": "mdi:sleep", "extra_person": "mdi:account-multiple"}


def node_id(prefix: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", prefix)


def _origin() -> dict:
    try:
        sw = version("hallmonitor")
    except PackageNotFoundError:
        sw = "dev"
    return {"name": "hallmonitor", "sw_version": sw}


def _rule_enabled(config, window, kind: str) -> bool:
    return bool(getattr(config.rules(window), kind).enabled)


def discovery_messages(config, topics: Topics, discovery_prefix: str = "homeassistant") -> dict[str, str]:
    """Every discovery config topic and its payload ('' removes an entity)."""
    node = node_id(topics.prefix)
    origin = _origin()
    out: dict[str, str] = {}

    def put(component: str, object_id: str, body: dict | None) -> None:
        topic = f"{discovery_prefix}/{component}/{node}/{object_id}/config"
        if body is None:
            out[topic] = ""
            return
        body = {**body, "unique_id": f"{node}_{object_id}", "availability_topic": topics.available,
                "payload_available": "online", "payload_not_available": "offline", "origin": origin}
        out[topic] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    hall = config.hall.name
    for cam in config.cameras:
        cam_device = {"identifiers": [f"{node}_camera_{cam.id}"], "name": f"{hall} {cam.name or cam.id}",
                      "manufacturer": "hallmonitor", "model": "Camera"}
        put("binary_sensor", f"camera_{cam.id}", {
            "name": "Connection", "state_topic": topics.camera_status(cam.id), "payload_on": "online",
            "payload_off": "offline", "device_class": "connectivity", "device": cam_device})
        for win in cam.windows:
            device = {"identifiers": [f"{node}_window_{win.id}"], "name": f"{hall} {win.name or win.id}",
                      "manufacturer": "hallmonitor", "model": "Service window", "suggested_area": hall,
                      "via_device": f"{node}_camera_{cam.id}"}
            put("sensor", f"{win.id}_state", {
                "name": "State", "state_topic": topics.window_state(win.id),
                "json_attributes_topic": topics.window_attributes(win.id), "device_class": "enum",
                "options": list(WINDOW_STATES), "icon": "mdi:account-tie", "device": device})
            for kind in WINDOW_BEHAVIOURS:
                if not _rule_enabled(config, win, kind):
                    put("binary_sensor", f"{win.id}_{kind}", None)
                    continue
                put("binary_sensor", f"{win.id}_{kind}", {
                    "name": EVENT_TYPES[kind][0], "state_topic": topics.behaviour(win.id, kind), "payload_on": ON,
                    "payload_off": OFF, "device_class": "problem", "icon": _ICONS.get(kind), "device": device})
            put("switch", f"{win.id}_pause", {
                "name": "Pause (暂停服务)", "command_topic": topics.pause_set(win.id),
                "state_topic": topics.pause_state(win.id), "payload_on": ON, "payload_off": OFF,
                "state_on": ON, "state_off": OFF, "qos": 1, "icon": "mdi:pause-circle", "device": device})
    return out
