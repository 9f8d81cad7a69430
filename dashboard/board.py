"""The board: one tile per window with its state (staffed, unattended, paused, late, closed, camera
offline, no data yet), since when, and the events now open. Built from the store, so it is the same
in the process that runs the cameras and in a separate `hallmonitor dashboard`."""

from __future__ import annotations

import time

from vision.config import HallConfig
from vision.events import iso
from vision.store.database import Store
from vision.store.leases import camera_nodes, live_node_count

# worst first: a tile shows the first that applies
STATES = ("offline", "unattended", "late", "paused", "staffed", "closed", "unknown")


def board_tiles(config: HallConfig, store: Store) -> list[dict]:
    """``[{window_id, name, camera_id, camera_name, node, unwatched, state, since, active_types, open_events, paused,
    pause_until, pause_source, staff}]`` in config order; ``staff`` ({name, number} or None) is who the window's
    latest open event names as on duty; a window with an active pause (API or board) is paused at
    once. ``node`` is the node watching the window's camera (`hallmonitor run --node`); ``unwatched`` says that
    nodes run but none holds the camera (a node died and its lease has not run out yet)."""
    rows = {r["window_id"]: r for r in store.window_states()}
    pauses: dict[str, dict] = {}
    for p in store.active_pauses(time.time()):     # a pause shows at once, before a worker applies it
        pauses.setdefault(p["window_id"], p)
    now = time.time()
    nodes = camera_nodes(store, now)
    any_node = bool(nodes) or live_node_count(store, now) > 0
    opened = store.open_events()
    offline_since: dict[str, float] = {}
    open_by_window: dict[str, list[str]] = {}
    on_duty: dict[str, dict] = {}      # the staff member named by the window's latest open event (rota)
    for ev in opened:
        if ev.type == "camera_offline":
            offline_since[ev.camera_id] = min(ev.started_at, offline_since.get(ev.camera_id, ev.started_at))
        elif ev.window_id:
            open_by_window.setdefault(ev.window_id, []).append(ev.type)
            if ev.staff:
                on_duty[ev.window_id] = ev.staff
    tiles = []
    for cam in config.cameras:
        for win in cam.windows:
            row = rows.get(win.id)
            if cam.id in offline_since:
                state, since = "offline", iso(offline_since[cam.id])
            elif row is not None:
                state, since = row["status"], row["since"]
                if state not in STATES:
                    state = "unknown"
            else:
                state, since = "unknown", None
            pause = pauses.get(win.id)
            if pause is not None and state not in ("offline", "paused"):
                state, since = "paused", pause["started_at"]
            if not cam.enabled:
                state, since = "closed", None
            active = sorted(set((row or {}).get("active_types", [])) | set(open_by_window.get(win.id, [])))
            tiles.append({
                "window_id": win.id, "name": win.name or win.id, "camera_id": cam.id,
                "camera_name": cam.name or cam.id, "node": nodes.get(cam.id),
                "unwatched": any_node and cam.enabled and cam.id not in nodes, "state": state, "since": since,
                "active_types": active, "open_events": len(open_by_window.get(win.id, [])),
                "paused": pause is not None, "pause_until": pause["until"] if pause else None,
                "pause_source": pause["source"] if pause else None, "staff": on_duty.get(win.id),
            })
    return tiles
