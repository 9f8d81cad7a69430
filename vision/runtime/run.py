"""Start everything one hall needs on this box, run until a signal, stop in order.

The engine knows nothing of the dashboard: the caller passes ``serve``, which builds the web
front end on the supervisor (bound, not yet started), and gets the running engine back in
``on_started``. The `hallmonitor run` and `demo` commands wire the dashboard in this way.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from vision.config import HallConfig
from vision.mqtt.publisher import Publisher
from vision.notify.sender import Notifier
from vision.runtime.supervisor import Supervisor
from vision.webhooks.dispatcher import Dispatcher
from vision.webhooks.endpoints import camera_windows, sync_from_config

log = logging.getLogger("hallmonitor")


class Service(Protocol):
    """A front end the runtime starts after the cameras and stops first (the dashboard's web server)."""

    url: str

    def start(self) -> Any: ...

    def stop(self) -> None: ...


def run(config: HallConfig, *, serve: Callable[[Supervisor], Service] | None = None,
        on_started: Callable[[Supervisor], None] | None = None, publish=None,
        seconds: float | None = None, say: Callable[[str], None] | None = None, config_path=None) -> None:
    """Run every camera, the webhook dispatcher, the group robots, the MQTT publisher (with ``mqtt:``
    in the config) and ``serve``'s front end until SIGINT/SIGTERM (or ``seconds``). Bad webhook
    endpoints, unusable MQTT TLS files and a port in use stop it before any camera starts. With
    ``config_path`` the file is watched: edits apply to the running cameras (vision.runtime.reload)."""
    say = say or log.info
    consumers: list = []   # of the outbox: woken by each new transition instead of waiting for their poll

    def recorded(event) -> None:
        for consumer in consumers:
            consumer.wake()
        if publish is not None:
            publish(event)

    sup = Supervisor(config, publish=recorded, config_path=config_path)
    try:
        sync_from_config(sup.store, config)  # a refused webhook endpoint stops here, before any camera starts
        notifier = Notifier.from_config(sup.store, config)  # a new robot's cursor starts before the first event
        mqtt = Publisher(config, sup.store) if config.mqtt is not None else None   # connects once started
        # bind the front end's port before any camera starts: a port in use stops here with nothing recorded
        web = serve(sup) if serve else None
    except BaseException:
        sup.store.close()
        raise
    sup.start()
    dispatcher = Dispatcher(sup.store, camera_windows=camera_windows(config)).start()
    notifier.start()
    consumers.append(dispatcher)
    if mqtt is not None:
        consumers.append(mqtt.start())
        say(f"hallmonitor: MQTT to {mqtt.broker}, topics under {mqtt.settings.topic_prefix}/")
    if web is not None:
        web.start()
        say(f"hallmonitor: dashboard {web.url}")
        sup.web_url = web.url
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    say(f"hallmonitor: watching {len(sup.workers)} cameras; events in {sup.store.path}, "
        f"media in {config.path(config.storage.media_dir)}; Ctrl-C to stop")
    if on_started:
        on_started(sup)
    try:
        deadline = None if seconds is None else time.monotonic() + seconds
        while not done.wait(0.5):
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        say("hallmonitor: stopping (finishing clips)")
        if web is not None:
            web.stop()
        if mqtt is not None:
            mqtt.stop()
        dispatcher.stop()
        notifier.stop()
        sup.stop()
