"""Start everything one hall needs on this box, run until a signal, stop in order.

The engine knows nothing of the dashboard: the caller passes ``serve``, which builds the web
front end on the supervisor (bound, not yet started), and gets the running engine back in
``on_started``. The `hallmonitor run` and `demo` commands wire the dashboard in this way.

With ``node`` (`hallmonitor run --node NAME`; the command always gives one, the host's name by
default) the box is one node of the hall (vision/runtime/node.py): it watches the cameras whose
leases it wins, and runs the webhook dispatcher, the group robots and the MQTT publisher only while
it holds their lease, so each runs once per database however many nodes share it. Without ``node``
every camera and every sender runs here (the library's and the tests' single-box use).
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
from vision.runtime.node import Duty, Node
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
        seconds: float | None = None, say: Callable[[str], None] | None = None, config_path=None,
        node: str | None = None, node_timing: dict | None = None) -> None:
    """Run every camera, the webhook dispatcher, the group robots, the MQTT publisher (with ``mqtt:``
    in the config) and ``serve``'s front end until SIGINT/SIGTERM (or ``seconds``). Bad webhook
    endpoints, unusable MQTT TLS files and a port in use stop it before any camera starts. With
    ``config_path`` the file is watched: edits apply to the running cameras (vision.runtime.reload).
    With ``node``, the cameras and senders this node's leases give it (``node_timing``: the Node's
    ``ttl_s`` / ``renew_s`` / ``margin_s``)."""
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
    hall_node: Node | None = None
    if node is not None:
        try:
            hall_node, duties = _node(config, sup, node, notifier, mqtt, node_timing or {})
            hall_node.join()
        except BaseException:
            sup.store.close()
            raise
        sup.node = hall_node
        sup.start(cameras=False)
        hall_node.start()
        consumers.extend(duties)
        dispatcher = None
        say(f"hallmonitor: node {hall_node.name}: {len(hall_node.cameras)} cameras in the hall, watching its "
            f"share; the webhooks, robots and MQTT run on whichever node holds their lease")
    else:
        sup.start()
        dispatcher = Dispatcher(sup.store, camera_windows=camera_windows(config)).start()
        notifier.start()
        consumers.append(dispatcher)
        if mqtt is not None:
            consumers.append(mqtt.start())
    if mqtt is not None:
        say(f"hallmonitor: MQTT to {mqtt.broker}, topics under {mqtt.settings.topic_prefix}/")
    if web is not None:
        web.start()
        say(f"hallmonitor: dashboard {web.url}")
        sup.web_url = web.url
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    say(f"hallmonitor: {'node ' + hall_node.name + ': ' if hall_node else ''}watching "
        f"{len(sup.workers) if hall_node is None else 'its share of the'} cameras; events in {sup.store.where}, "
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
        if hall_node is not None:
            hall_node.stop()      # its cameras and duties, then its leases: the other nodes take over at once
        else:
            if mqtt is not None:
                mqtt.stop()
            if dispatcher is not None:
                dispatcher.stop()
            notifier.stop()
        sup.stop()


def _node(config: HallConfig, sup: Supervisor, name: str, notifier: Notifier, mqtt: Publisher | None,
          timing: dict) -> tuple[Node, list[Duty]]:
    """The node: a job per enabled camera (its worker) and per duty that reads the outbox. The
    notifier and publisher made (and checked) before start are the first runs of their duties."""
    cameras = sup.camera_jobs()
    first: dict[str, Any] = {"robots": notifier, "mqtt": mqtt}

    def made(duty: str, build: Callable[[], Any]) -> Callable[[], Any]:
        def make():
            ready = first.pop(duty, None)
            return (ready if ready is not None else build()).start()
        return make

    duties = {"webhooks": Duty(made("webhooks", lambda: Dispatcher(sup.store, camera_windows=camera_windows(config))))}
    if config.notify:
        duties["robots"] = Duty(made("robots", lambda: Notifier.from_config(sup.store, config)))
    if config.mqtt is not None:
        duties["mqtt"] = Duty(made("mqtt", lambda: Publisher(config, sup.store)))
    hall_node = Node(sup.store, name, cameras, {d: duty.job() for d, duty in duties.items()}, **timing)
    return hall_node, list(duties.values())
