"""vision.runtime.assignment: who should watch which camera, given the lease rows and the time (pure).

Scripted timelines: a fleet of nodes applies the plan to shared rows tick by tick, with the same
conditional take and the same stop-then-free hand-over as vision/runtime/node.py, and the tests
check after every step that no camera is held by two nodes and every camera is held by a live one.
"""

from __future__ import annotations

import math

import pytest

from vision.runtime.assignment import plan_cameras, take_duty
from vision.store.leases import LeaseRow, NodeRow, camera_lease

TTL = 10.0
CAMS = [f"cam{i}" for i in range(1, 7)]


def node(name: str, expires_at: float, instance: str | None = None) -> NodeRow:
    return NodeRow(name, instance or name, "host", 1, 0.0, expires_at - TTL, expires_at)


def lease(cam: str, holder: str | None, expires_at: float) -> tuple[str, LeaseRow]:
    return camera_lease(cam), LeaseRow(camera_lease(cam), holder, holder, expires_at)


@pytest.mark.parametrize("held, live, me, take, give", [
    # (camera -> holder), live nodes, me: what I take, what I give up
    ({}, ["a"], "a", CAMS, []),                                               # alone: everything
    ({}, ["a", "b", "c"], "a", CAMS[:2], []),                                  # three fresh nodes: two each
    ({c: "a" for c in CAMS}, ["a", "b"], "a", [], CAMS[3:]),                   # b came back: a gives 3 up
    ({c: "a" for c in CAMS}, ["a", "b"], "b", [], []),                         # ...and b waits for them
    ({c: "a" for c in CAMS[:3]} | {c: "b" for c in CAMS[3:]}, ["a", "b"], "a", [], []),   # balanced
    ({c: "a" for c in CAMS[:3]}, ["a", "b"], "b", CAMS[3:], []),               # free ones go to the poorer
    ({c: "a" for c in CAMS[:2]} | {c: "b" for c in CAMS[2:4]}, ["a", "b", "c"], "c", CAMS[4:], []),
])
def test_plan_table(held, live, me, take, give):
    now = 100.0
    rows = dict(lease(c, h, now + 5) for c, h in held.items())
    plan = plan_cameras(me, CAMS, rows, [node(n, now + 5) for n in live], now)
    assert (list(plan.take), list(plan.give_up)) == (take, give)
    assert plan.share == math.ceil(len(CAMS) / len(live))


def test_a_dead_nodes_leases_count_as_held_until_they_expire():
    now = 100.0
    rows = dict([lease("cam1", "dead", now + 3), lease("cam2", "dead", now - 0.1)])
    plan = plan_cameras("a", ["cam1", "cam2"], rows, [node("a", now + 9), node("dead", now - 1)], now)
    assert plan.take == ("cam2",)          # cam1's lease still runs: not taken, even though its node is gone


def test_a_richer_node_waits_for_the_poorer_one_then_takes_anyway():
    now = 100.0
    rows = dict([lease("cam1", "a", now + 9), lease("cam2", None, now - 1), lease("cam3", None, now - 1),
                 lease("cam4", None, now - 1)])
    nodes = [node("a", now + 9), node("b", now + 9)]
    assert plan_cameras("a", ["cam1", "cam2", "cam3", "cam4"], rows, nodes, now, patience_s=4).take == ()
    assert plan_cameras("b", ["cam1", "cam2", "cam3", "cam4"], rows, nodes, now, patience_s=4).take == \
        ("cam2", "cam3")
    # b did not take them (say it is stuck): after the patience a takes up to its share
    assert plan_cameras("a", ["cam1", "cam2", "cam3", "cam4"], rows, nodes, now + 4, patience_s=4).take == ("cam2",)


def test_under_the_floor_the_richest_hands_one_over():
    now = 100.0
    cams = CAMS[:4]
    rows = dict([lease("cam1", "a", now + 9), lease("cam2", "a", now + 9), lease("cam3", "b", now + 9),
                 lease("cam4", "b", now + 9)])
    nodes = [node("a", now + 9), node("b", now + 9), node("c", now + 9)]
    assert plan_cameras("a", cams, rows, nodes, now).give_up == ("cam2",)   # first by name among the richest
    assert plan_cameras("b", cams, rows, nodes, now).give_up == ()
    assert plan_cameras("c", cams, rows, nodes, now).take == ()             # nothing free yet


def test_duties_are_taken_only_when_free():
    now = 100.0
    assert take_duty("a", None, now)
    assert take_duty("a", LeaseRow("duty:webhooks", None, None, now - 5), now)
    assert take_duty("a", LeaseRow("duty:webhooks", "b", None, now - 0.01), now)       # b's ran out
    assert not take_duty("a", LeaseRow("duty:webhooks", "b", "b", now + 0.01), now)
    assert take_duty("a", LeaseRow("duty:webhooks", "a", "a", now + 3), now)


# ---- scripted timelines: a fleet applying the plans to shared rows ----

class Fleet:
    """Nodes ticking on shared rows; a hand-over stops the worker at once and frees the lease next tick."""

    def __init__(self, cameras):
        self.cameras = list(cameras)
        self.rows: dict[str, LeaseRow] = {}
        self.nodes: dict[str, NodeRow] = {}
        self.watching: dict[str, set[str]] = {}      # node -> cameras whose worker runs there
        self.stopped: dict[str, set[str]] = {}       # node -> workers stopped, lease not yet freed
        self.dead: set[str] = set()

    def tick(self, name: str, now: float) -> None:
        if name in self.dead:
            return
        self.nodes[name] = node(name, now + TTL)
        for key, row in list(self.rows.items()):          # free what was handed over last tick
            if row.holder == name and key[len("camera:"):] in self.stopped.get(name, set()):
                self.rows[key] = LeaseRow(key, None, None, now)
        self.stopped[name] = set()
        for key, row in list(self.rows.items()):          # renew
            if row.holder == name:
                self.rows[key] = LeaseRow(key, name, name, now + TTL)
        plan = plan_cameras(name, self.cameras, self.rows, list(self.nodes.values()), now)
        mine = self.watching.setdefault(name, set())
        for cam in plan.take:
            key = camera_lease(cam)
            row = self.rows.get(key)
            if row is None or not row.held(now):         # the conditional UPDATE
                self.rows[key] = LeaseRow(key, name, name, now + TTL)
                mine.add(cam)
        for cam in plan.give_up:
            mine.discard(cam)                            # the worker stops first ...
            self.stopped[name].add(cam)                  # ... the lease is freed after
        self.check(now)

    def kill(self, name: str) -> None:
        self.dead.add(name)
        self.watching[name] = set()                      # kill -9: its workers are gone, its rows stay

    def revive(self, name: str) -> None:
        self.dead.discard(name)

    def check(self, now: float) -> None:
        seen: dict[str, str] = {}
        for name, cams in self.watching.items():
            for cam in cams:
                assert cam not in seen, f"{cam} watched by {seen[cam]} and {name} at {now}"
                assert self.rows[camera_lease(cam)].holder == name
                seen[cam] = name

    def counts(self) -> dict[str, int]:
        return {n: len(c) for n, c in self.watching.items() if n not in self.dead}

    def run(self, start: float, seconds: float, step: float = 2.0, names=None) -> float:
        t = start
        while t < start + seconds:
            for i, name in enumerate(sorted(names or self.nodes or [])):
                self.tick(name, t + i * 0.01)
            t += step
        return t


@pytest.mark.parametrize("cameras, nodes", [(6, 3), (4, 3), (7, 2), (2, 3), (12, 5)])
def test_timeline_kill_one_node_then_bring_it_back(cameras, nodes):
    cams = [f"cam{i:02d}" for i in range(cameras)]
    fleet = Fleet(cams)
    names = [chr(ord("a") + i) for i in range(nodes)]
    t = fleet.run(0.0, 20.0, names=names)
    assert sum(fleet.counts().values()) == cameras
    assert max(fleet.counts().values()) - min(fleet.counts().values()) <= 1
    fleet.kill("a")
    killed_at = t
    taken_at = None
    while taken_at is None:
        t = fleet.run(t, 2.0, names=names)
        if sum(fleet.counts().values()) == cameras:
            taken_at = t
        assert t - killed_at < 30, f"not every camera watched {t - killed_at:.0f} s after the kill"
    assert max(fleet.counts().values()) <= math.ceil(cameras / (nodes - 1))
    fleet.revive("a")
    t = fleet.run(t, 30.0, names=names)
    counts = fleet.counts()
    assert sum(counts.values()) == cameras
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_timeline_a_node_that_is_late_loses_nothing_it_still_runs():
    """A node that misses renewals (a long pause) past its lease finds its cameras taken; until then
    nobody touches them."""
    fleet = Fleet(CAMS[:2])
    fleet.run(0.0, 10.0, names=["a", "b"])
    held_by_a = set(fleet.watching["a"])
    for t in (10.0, 12.0, 14.0, 16.0):              # a is silent for 8 s: still inside its lease
        fleet.tick("b", t)
        assert fleet.watching["b"].isdisjoint(held_by_a)
