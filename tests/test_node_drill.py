"""The three-node drill: three real `python -m hallmonitor run --node ...` processes share one database
and watch three real RTSP cameras; one is killed with SIGKILL.

Within 30 s every camera must be watched by exactly one live node (its lease in the database, and
its worker running in that node's process, as the node's own /api/cameras says), the webhook
dispatcher must have moved to a live node, and the events must all have arrived: every outbox
message the store holds reaches the webhook receiver (same ``webhook-id``), and no event is started
twice, in the store or at the receiver. The victim is the node running the dispatcher, so its
takeover is tested too.

The database comes from tests/node_fixtures.py (a SQLite file now; the PostgreSQL URL goes there).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node_drill import NodeProcess, Receiver, hall_yaml, holders, small_stream, wait_for, watched_once
from vision.media.footage import RtspServerProcess
from vision.store.database import Store

NODES = ("east", "west", "north")
CAMERAS = ("cam1", "cam2", "cam3")
TAKEOVER_S = 30.0

pytestmark = pytest.mark.slow


@pytest.fixture()
def cameras() -> Iterator[RtspServerProcess]:
    with RtspServerProcess({c: small_stream() for c in CAMERAS}) as server:
        yield server


def test_three_nodes_one_killed_every_camera_watched_once_no_event_lost_or_doubled(cameras, tmp_path, pg_server):
    """On one real PostgreSQL (tests/pg_fixtures.py), as a hall on several nodes runs."""
    from dashboard.accounts import Accounts
    from tests.pg_fixtures import fresh_database
    receiver = Receiver()
    config = tmp_path / "cameras.yaml"
    url = fresh_database(pg_server)
    config.write_text(hall_yaml(tmp_path, cameras.urls, receiver.url, store=url))
    store = Store(url)
    token = Accounts(store).create_token("drill", "read")[1]
    nodes = {n: NodeProcess(n, config, tmp_path) for n in NODES}
    try:
        def balanced():
            cams = holders(store, time.time())[0]
            return sorted(cams.values()) == sorted(NODES) and watched_once(store, list(nodes.values()), CAMERAS, token)
        up = wait_for("three nodes, one camera each", balanced, 90, nodes.values())

        def events_on_every_camera():
            with store.read() as conn:
                have = {r["camera_id"] for r in conn.execute("SELECT DISTINCT camera_id FROM events")}
            return set(CAMERAS) <= have
        first_events = wait_for("an event on every camera", events_on_every_camera, 40, nodes.values())

        _, duties, _ = holders(store, time.time())
        victim = nodes[duties["webhooks"]]            # the node that runs the dispatcher
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        survivors = [n for n in nodes.values() if n is not victim]

        took = wait_for("every camera watched by one live node",
                        lambda: watched_once(store, survivors, CAMERAS, token, not_by=victim.name), TAKEOVER_S,
                        survivors)
        print(f"\ndrill: balanced after {up:.1f} s, events on every camera {first_events:.1f} s later, "
              f"takeover after kill -9: {took:.1f} s")

        def delivered():
            with store.read() as conn:
                outbox = {r["id"] for r in conn.execute("SELECT id FROM outbox")}
            return outbox <= set(receiver.ids())
        time.sleep(3)                                  # events go on on the taken-over cameras
        wait_for("every outbox message at the receiver", delivered, 20, survivors)
    finally:
        t_stop = time.monotonic()
        for n in nodes.values():
            if n.proc.poll() is None:
                n.proc.send_signal(signal.SIGTERM)       # all at once: they stop in parallel
        for n in nodes.values():
            n.stop()
        print(f"drill: stopped in {time.monotonic() - t_stop:.1f} s")
        # (an event recorded during the stop goes out on the next start, from the dispatcher's cursor)

    with store.read() as conn:
        outbox = {r["id"]: (r["type"], r["event_id"]) for r in conn.execute("SELECT id, type, event_id FROM outbox")}
        cursor = conn.execute("SELECT seq FROM webhook_cursor").fetchone()["seq"]
        undelivered = {r["id"] for r in conn.execute(
            "SELECT o.id FROM outbox o LEFT JOIN deliveries d ON d.outbox_id = o.id"
            " WHERE (d.status IS NULL AND o.seq > ?) OR d.status = 'pending'", (cursor,))}
        starts = conn.execute("SELECT event_id, COUNT(*) AS n FROM event_log WHERE phase = 'started'"
                              " GROUP BY event_id").fetchall()
        on_victims_cameras = conn.execute("SELECT COUNT(*) AS n FROM events").fetchone()["n"]
    store.close()
    got = receiver.messages()
    received = {i for i, _ in got}
    # nothing lost: every message was received, or (written during the stop) still waits for the next start
    assert set(outbox) - received <= undelivered, sorted(set(outbox) - received)
    assert received <= set(outbox)
    # nothing doubled: each event started once in the store, and one started message per event arrived
    assert all(r["n"] == 1 for r in starts)
    started_at_receiver: dict[str, set[str]] = {}
    for wid, body in got:
        if body["type"] == "event.started":
            started_at_receiver.setdefault(body["data"]["id"], set()).add(wid)
    assert all(len(ids) == 1 for ids in started_at_receiver.values()), started_at_receiver
    assert on_victims_cameras >= 3 and len(received) >= 3
