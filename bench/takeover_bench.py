"""Takeover time: how long the cameras and the webhook dispatcher of a killed node go unwatched.

    python bench/takeover_bench.py [--runs 3] [--nodes 3] [--cameras 3] [--db-folder DIR]

Starts real RTSP cameras (vtest.avi, 480x270) and ``--nodes`` real `python -m hallmonitor run --node
NAME` processes on one database, then per run: ``kill -9`` the node that runs the dispatcher and time until every
camera is watched again by exactly one live node (its lease, and its worker in that node's process per
the node's own /api/cameras) and the dispatcher runs on a live node; restart it and time until it has
joined (the process's imports and models) and from then until the load is rebalanced (every node
within one camera of the others, no camera watched twice); then once a
clean stop (SIGTERM), which frees the leases at once. Prints a table of medians. A benchmark, not a
test: it never fails on a slow machine. Defaults: lease 10 s, renewed every 2 s (vision/runtime/node.py).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from dashboard.accounts import Accounts  # noqa: E402
from tests.node_drill import NodeProcess, Receiver, hall_yaml, holders, small_stream, wait_for, watched_once  # noqa: E402
from tests.node_fixtures import database_setting  # noqa: E402
from vision.media.footage import RtspServerProcess  # noqa: E402
from vision.runtime.node import RENEW_S, TTL_S  # noqa: E402
from vision.store.database import Store  # noqa: E402
from vision.store.leases import snapshot  # noqa: E402

NAMES = ("east", "west", "north", "south", "centre", "annex")


def balanced(store: Store, nodes: list[NodeProcess], cameras, token: str) -> bool:
    cams = holders(store, time.time())[0]
    counts = [sum(1 for h in cams.values() if h == n.name) for n in nodes]
    return max(counts) - min(counts) <= 1 and watched_once(store, nodes, cameras, token)


def joined_at(store: Store, name: str) -> float | None:
    """When the node's current run joined (its row's ``started_at``, written by that run's clock)."""
    return next((n.started_at for n in snapshot(store)[0] if n.name == name), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="kill -9 rounds (default 3)")
    ap.add_argument("--nodes", type=int, default=3, choices=range(2, len(NAMES) + 1))
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--db-folder", type=Path, help="where the database, media and node logs go (default: a temp dir)")
    args = ap.parse_args()
    folder = args.db_folder or Path(tempfile.mkdtemp(prefix="takeover-"))
    folder.mkdir(parents=True, exist_ok=True)
    cameras = [f"cam{i}" for i in range(1, args.cameras + 1)]
    receiver = Receiver()
    rows: dict[str, list[float]] = {"kill -9: cameras watched again": [], "kill -9: dispatcher running again": [],
                                    "restart: process start to joined": [], "restart: joined to rebalanced": [],
                                    "SIGTERM: cameras watched again": []}
    with RtspServerProcess({c: small_stream() for c in cameras}) as server:
        config = folder / "cameras.yaml"
        config.write_text(hall_yaml(folder, server.urls, receiver.url))
        store = Store(database_setting(folder))
        token = Accounts(store).create_token("takeover bench", "read")[1]
        nodes = {n: NodeProcess(n, config, folder) for n in NAMES[: args.nodes]}
        try:
            up = wait_for("nodes up and balanced", lambda: balanced(store, list(nodes.values()), cameras, token), 180,
                          nodes.values())
            print(f"{args.nodes} nodes up and balanced after {up:.1f} s; node logs in {folder}", file=sys.stderr)
            for run in range(args.runs):
                dispatcher_on = holders(store, time.time())[1].get("webhooks")
                victim = nodes[dispatcher_on] if dispatcher_on in nodes else nodes[NAMES[run % args.nodes]]
                had_dispatcher = dispatcher_on == victim.name
                survivors = [n for n in nodes.values() if n is not victim]
                t0 = time.monotonic()
                victim.proc.send_signal(signal.SIGKILL)
                victim.proc.wait(10)
                dispatcher_s = None
                while True:
                    cams, duties, live = holders(store, time.time())
                    if dispatcher_s is None and duties.get("webhooks") in live - {victim.name}:
                        dispatcher_s = time.monotonic() - t0
                    if dispatcher_s is not None and watched_once(store, survivors, cameras, token,
                                                                 not_by=victim.name):
                        break
                    assert time.monotonic() - t0 < 120, "no takeover within 120 s"
                    time.sleep(0.2)
                cameras_s = time.monotonic() - t0
                rows["kill -9: cameras watched again"].append(cameras_s)
                if had_dispatcher:
                    rows["kill -9: dispatcher running again"].append(dispatcher_s)
                print(f"run {run + 1}: killed {victim.name}{' (dispatcher)' if had_dispatcher else ''}: cameras "
                      f"{cameras_s:.1f} s, dispatcher {dispatcher_s:.1f} s", file=sys.stderr)
                old = joined_at(store, victim.name)
                nodes[victim.name] = NodeProcess(victim.name, config, folder)
                t1 = time.time()
                wait_for("restarted node joined", lambda name=victim.name, before=old: joined_at(store, name) != before,
                         300, nodes.values())
                joined = joined_at(store, victim.name)
                wait_for("rebalanced", lambda: balanced(store, list(nodes.values()), cameras, token), 120,
                         nodes.values())
                rows["restart: process start to joined"].append(joined - t1)
                rows["restart: joined to rebalanced"].append(time.time() - joined)
                print(f"run {run + 1}: {victim.name} restarted: joined after {joined - t1:.1f} s (imports, models), "
                      f"rebalanced {time.time() - joined:.1f} s after joining", file=sys.stderr)
            victim = nodes[NAMES[0]]
            survivors = [n for n in nodes.values() if n is not victim]
            t0 = time.monotonic()
            victim.proc.send_signal(signal.SIGTERM)
            took = wait_for("handover after SIGTERM",
                            lambda: watched_once(store, survivors, cameras, token, not_by=victim.name), 120, survivors)
            rows["SIGTERM: cameras watched again"].append(took)
        finally:
            for n in nodes.values():
                if n.proc.poll() is None:
                    n.proc.send_signal(signal.SIGTERM)
            for n in nodes.values():
                n.stop()
            store.close()
    print(f"\ntakeover, {args.nodes} nodes, {args.cameras} cameras, lease {TTL_S:g} s renewed every {RENEW_S:g} s "
          f"(SQLite, one machine)\n")
    width = max(len(k) for k in rows)
    print(f"{'what':<{width}}  runs  median_s  min_s  max_s")
    for what, values in rows.items():
        if values:
            print(f"{what:<{width}}  {len(values):>4}  {statistics.median(values):>8.1f}  {min(values):>5.1f}  "
                  f"{max(values):>5.1f}")
        else:
            print(f"{what:<{width}}  {0:>4}  {'-':>8}  {'-':>5}  {'-':>5}")


if __name__ == "__main__":
    main()
