"""GET /metrics: Prometheus text exposition, rendered by the official client (prometheus_client), behind
the same login or token as /api. The numbers are read at scrape time from the supervisor and the store."""

from __future__ import annotations

import time

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from vision.events import EVENT_TYPES
from vision.notify import queue as robot_queue
from vision.webhooks.endpoints import Endpoints

from .api_common import hall, query, store, supervisor
from .auth import require

bp = Blueprint("metrics", __name__)



class _Exposition:
    """The samples of one scrape, as families of the official client (prometheus_client renders them)."""

    def __init__(self):
        self.families = []

    def family(self, name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        labels = sorted({k for lab, _ in samples for k in lab})
        make = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
        fam = make(name, help_text, labels=labels)
        for lab, value in samples:
            fam.add_metric([str(lab.get(k, "")) for k in labels], float(value))
        self.families.append(fam)

    def collect(self):
        return iter(self.families)

    def text(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return generate_latest(registry)


@bp.get("/metrics")
@require("viewer")
def metrics():
    query(set())
    out = _Exposition()
    sup = supervisor()
    if sup is not None:
        status = sup.status()
        out.family("hallmonitor_frames_analysed_total", "counter",
                   "Frames analysed per camera since its worker started.",
                   [({"camera": s["camera_id"]}, s["frames_analysed"]) for s in status])
        out.family("hallmonitor_camera_up", "gauge", "1 while the camera delivers frames, 0 while it is offline.",
                   [({"camera": s["camera_id"]}, 1 if s["connected"] else 0) for s in status])
        out.family("hallmonitor_camera_analysis_fps", "gauge", "Analyses per second, per camera.",
                   [({"camera": s["camera_id"]}, s["fps"]) for s in status])
        out.family("hallmonitor_camera_reconnects_total", "counter", "Reconnects to the camera's stream.",
                   [({"camera": s["camera_id"]}, s["reconnects"]) for s in status])
        out.family("hallmonitor_camera_frame_drops_total", "counter", "Frames dropped because analysis was busy.",
                   [({"camera": s["camera_id"]}, s["drops"]) for s in status])
    counts = store().counts_by_type()
    paused = {p["window_id"] for p in store().active_pauses(time.time())}
    out.family("hallmonitor_events_total", "counter", "Events recorded, per type (from the store).",
               [({"type": t}, counts.get(t, 0)) for t in EVENT_TYPES])
    out.family("hallmonitor_window_paused", "gauge", "1 while the window is paused (API or sign).",
               [({"window": w.id}, 1 if w.id in paused else 0) for cam in hall().cameras for w in cam.windows])
    eps = Endpoints(store())
    endpoints = eps.list()
    backlog = eps.backlog()
    out.family("hallmonitor_webhook_endpoint_enabled", "gauge", "1 while the webhook endpoint is enabled.",
               [({"endpoint": e.id}, 1 if e.enabled else 0) for e in endpoints])
    out.family("hallmonitor_webhook_backlog", "gauge", "Deliveries waiting to be sent (pending), per endpoint.",
               [({"endpoint": e}, c["pending"]) for e, c in backlog.items()])
    out.family("hallmonitor_webhook_deliveries_failed", "gauge",
               "Deliveries that failed for good (retries exhausted), per endpoint.",
               [({"endpoint": e}, c["failed"]) for e, c in backlog.items()])
    out.family("hallmonitor_webhook_failed_attempts", "gauge",
               "Attempts that did not deliver (errors, timeouts, non-2xx) over the kept deliveries, per endpoint.",
               [({"endpoint": e}, c["failed_attempts"]) for e, c in backlog.items()])
    out.family("hallmonitor_webhook_delivered", "gauge", "Deliveries delivered, per endpoint.",
               [({"endpoint": e}, c["delivered"]) for e, c in backlog.items()])
    robots = [(r.id, robot_queue.status(store(), r.id)) for r in hall().notify]
    out.family("hallmonitor_robot_backlog", "gauge", "Alerts a group robot (WeCom/DingTalk) has still to tell.",
               [({"robot": rid}, st["untold"]) for rid, st in robots])
    out.family("hallmonitor_robot_failing_windows", "gauge", "Windows whose robot message keeps failing, per robot.",
               [({"robot": rid}, len(st["failing"])) for rid, st in robots])
    return Response(out.text(), content_type=CONTENT_TYPE_LATEST)
