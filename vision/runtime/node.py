"""One node of a hall: holds its name and its leases in the database, and runs what its leases allow.

`hallmonitor run --node NAME` makes a :class:`Node` (vision/runtime/run.py). Every ``renew_s`` it does
one write transaction: renew its node row and every lease it holds, read all the rows, ask
:func:`vision.runtime.assignment.plan_cameras` what to take and give up, and take (conditional UPDATEs;
on a race only one node wins). Then, outside the transaction:

- a camera lease won starts that camera's worker (``watch``); one found lost (another node holds it:
  this node was too slow to renew) stops it at once;
- a camera to give up stops its worker first and frees the lease only after it has stopped (in a
  thread of its own, while the lease keeps being renewed), so no two nodes ever watch one camera;
- a duty (the webhook dispatcher, the group robots, the MQTT publisher: whatever reads the outbox and
  must run once per database) is started when its lease is won, and stopped when it is lost.

If the database cannot be reached, the node keeps what it runs until ``ttl_s - margin_s`` after its
last renewal (by its own clock), then stops everything: by then another node may take the leases.
``stop()`` stops every worker and duty and frees the leases at once, so the others take over within
one ``renew_s`` instead of waiting for the leases to run out; after a ``kill -9`` they wait ``ttl_s``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vision.errors import HallmonitorError
from vision.runtime.assignment import CameraPlan, plan_cameras, take_duty
from vision.store import leases
from vision.store.leases import Me, camera_lease, duty_lease

log = logging.getLogger(__name__)

TTL_S = 10.0        # a lease not renewed for this long is free
RENEW_S = 2.0       # how often a node renews its leases and looks for work
MARGIN_S = 2.0      # a node that could not renew stops its work this long before its leases run out


class NodeTaken(HallmonitorError):
    """Another running `hallmonitor run` already uses this node name."""


@dataclass(frozen=True)
class Job:
    """What a lease lets this node run: how to start it and how to stop it (stop waits until it has stopped)."""

    start: Callable[[], Any]
    stop: Callable[[], Any]


class Duty:
    """A job made anew each time its lease is won (a stopped dispatcher cannot be started again)."""

    def __init__(self, make: Callable[[], Any]):
        self.make = make
        self.running: Any = None

    def start(self) -> None:
        self.running = self.make()

    def stop(self) -> None:
        running, self.running = self.running, None
        if running is not None:
            running.stop()

    def wake(self) -> None:
        running = self.running
        if running is not None and hasattr(running, "wake"):
            running.wake()

    def job(self) -> Job:
        return Job(self.start, self.stop)


def check_name(name: str) -> str:
    """``name`` if it can name a node (what the board shows beside each camera), else a HallmonitorError."""
    if not name or len(name) > 100 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise HallmonitorError(f"--node {name!r}: give a name of 1 to 100 characters without spaces, e.g. "
                               f"--node hall-a-2")
    return name


def default_name() -> str:
    """The node name when `--node` is not given: the host's name."""
    return socket.gethostname() or "node"


class Node:
    """This run's node; see the module docstring. ``cameras`` and ``duties`` map names to their jobs."""

    def __init__(self, store, name: str, cameras: Mapping[str, Job], duties: Mapping[str, Job] | None = None, *,
                 ttl_s: float = TTL_S, renew_s: float = RENEW_S, margin_s: float = MARGIN_S,
                 patience_s: float | None = None, clock: Callable[[], float] = time.time):
        check_name(name)
        if not 0 < renew_s < ttl_s - margin_s:
            raise HallmonitorError(f"node leases: renew_s ({renew_s:g}) must be above 0 and below ttl_s - "
                                   f"margin_s ({ttl_s - margin_s:g})")
        self.store = store
        self.me = Me(name, secrets.token_hex(8), socket.gethostname(), os.getpid())
        self.cameras = dict(cameras)
        self.duties = dict(duties or {})
        self.ttl_s, self.renew_s, self.margin_s = ttl_s, renew_s, margin_s
        self.patience_s = 2 * renew_s if patience_s is None else patience_s
        self.clock = clock
        self.watching: set[str] = set()       # cameras whose worker this node runs
        self.leaving: set[str] = set()        # cameras being handed over: worker stopping, lease still ours
        self.doing: set[str] = set()          # duties this node runs
        self.last_plan: CameraPlan | None = None
        self.joined_at: float | None = None
        self._deadline = float("-inf")        # by our clock: stop everything if not renewed by then
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closing = threading.Event()     # stopping: renew what is held, take nothing
        self._thread: threading.Thread | None = None
        self._handovers: list[threading.Thread] = []

    @property
    def name(self) -> str:
        return self.me.name

    # ---- lifecycle ----

    def join(self, wait_s: float | None = None) -> Node:
        """Claim the node name. A previous run of this node that died (``kill -9``) still holds it until
        its row runs out (at most ``ttl_s``): wait that long; a run that keeps renewing it is another
        live process, and this one stops with a message."""
        wait_s = self.ttl_s + self.renew_s if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        said = False
        first_seen: float | None = None
        while True:
            now = self.clock()
            with self.store.write() as conn:
                other = leases.join(conn, self.me, now, self.ttl_s)
            if other is None:
                self.joined_at = now
                self._deadline = now + self.ttl_s - self.margin_s
                log.info("node %s: joined (instance %s)", self.name, self.me.instance)
                return self
            first_seen = other.seen_at if first_seen is None else first_seen
            if other.seen_at > first_seen or time.monotonic() >= deadline:
                raise NodeTaken(
                    f"node {self.name!r} is already running (host {other.host}, pid {other.pid}, last seen "
                    f"{max(0.0, now - other.seen_at):.1f} s ago): give this run another name with --node NAME, "
                    f"or stop the other one")
            if not said:
                log.info("node %s: waiting up to %.0f s for the previous run of this node to expire",
                         self.name, other.expires_at - now)
                said = True
            time.sleep(min(0.5, max(0.05, other.expires_at - now)))

    def start(self) -> Node:
        if self.joined_at is None:
            self.join()
        self._thread = threading.Thread(target=self._run, name=f"node-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop every worker and duty of this node, then free its leases for the other nodes. The ticks
        go on renewing (and take nothing) until everything has stopped, so no lease runs out while a
        worker is still finishing."""
        self._closing.set()
        for t in list(self._handovers):
            t.join(15)
        with self._lock:
            cameras, duties = sorted(self.watching), sorted(self.doing)
            self.watching.clear()
            self.doing.clear()
        self._stop_all(cameras, duties, wait=True)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.ttl_s)
        try:
            with self.store.write() as conn:
                leases.leave(conn, self.me, self.clock())
        except Exception as exc:  # noqa: BLE001 - the leases run out by themselves within ttl_s
            log.warning("node %s: leases not freed on stop (%s); the other nodes take them within %.0f s",
                        self.name, exc, self.ttl_s)

    def set_cameras(self, cameras: Mapping[str, Job]) -> None:
        """The hall's cameras changed (cameras.yaml edited while running): plan with the new ones from the
        next tick; a camera that is gone is stopped here (if it ran here) and its lease freed."""
        with self._lock:
            old = self.cameras
            gone = sorted(c for c in self.watching | self.leaving if c not in cameras)
            self.watching -= set(gone)
            self.cameras = dict(cameras)
        for cam in gone:
            self._run_job(old[cam].stop, f"camera {cam}: stop")
        if gone:
            self._release(gone)

    def wait_handovers(self, timeout: float = 15.0) -> None:
        """Return once every camera being handed over has stopped and been freed."""
        for t in list(self._handovers):
            t.join(timeout)

    # ---- one look at the rows ----

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.renew_s)

    def tick(self) -> CameraPlan | None:
        """Renew, read, plan, take; then start and stop what changed. Returns the plan (None if the
        database could not be reached)."""
        now = self.clock()
        try:
            with self.store.write() as conn:
                if not leases.beat(conn, self.me, now, self.ttl_s):
                    raise NodeTaken(f"node {self.name!r}: another run took this node name")
                if self._closing.is_set():
                    self._deadline = now + self.ttl_s - self.margin_s
                    return None
                nodes, rows = leases.read_nodes(conn), leases.read_leases(conn)
                settled = self.joined_at is not None and now >= self.joined_at + self.renew_s
                plan = plan_cameras(self.me.instance, list(self.cameras), rows, nodes, now,
                                    patience_s=self.patience_s)
                won = [c for c in plan.take if settled and leases.take(conn, self.me, camera_lease(c), now, self.ttl_s)]
                duties_won = [d for d in self.duties if d not in self.doing
                              and take_duty(self.me.instance, rows.get(duty_lease(d)), now)
                              and leases.take(conn, self.me, duty_lease(d), now, self.ttl_s)]
        except Exception as exc:  # noqa: BLE001 - a database away for a moment: keep working until the deadline
            self._missed(exc)
            return None
        self._deadline = now + self.ttl_s - self.margin_s
        held = {c for c in self.cameras if rows.get(camera_lease(c)) is not None
                and rows[camera_lease(c)].holder == self.me.instance} | set(won)
        held_duties = {d for d in self.duties if rows.get(duty_lease(d)) is not None
                       and rows[duty_lease(d)].holder == self.me.instance} | set(duties_won)
        self.last_plan = plan
        self._apply(held, held_duties, [c for c in plan.give_up if c in held])
        return plan

    def _apply(self, held: set[str], held_duties: set[str], give_up: Sequence[str]) -> None:
        with self._lock:
            lost = sorted(self.watching - held)
            lost_duties = sorted(self.doing - held_duties)
            self.watching -= set(lost)
            self.doing -= set(lost_duties)
            handover = [c for c in give_up if c in self.watching and c not in self.leaving]
            release_now = [c for c in give_up if c not in self.watching and c not in self.leaving]
            self.leaving |= set(handover)
            start = sorted(held - self.watching - self.leaving - set(give_up))
            start_duties = sorted(held_duties - self.doing)
            self.watching |= set(start)
            self.doing |= set(start_duties)
        if lost or lost_duties:
            log.warning("node %s: leases lost to another node: %s; stopping them", self.name,
                        ", ".join(lost + lost_duties))
            self._stop_all(lost, lost_duties, wait=False)
        for cam in start:
            log.info("node %s: watching camera %s", self.name, cam)
            self._run_job(self.cameras[cam].start, f"camera {cam}: start")
        for duty in start_duties:
            log.info("node %s: running the %s", self.name, duty)
            if not self._run_job(self.duties[duty].start, f"{duty}: start"):
                with self._lock:                  # let another node (or the next tick) try
                    self.doing.discard(duty)
                self._release([duty], kind=duty_lease)
        if release_now:
            self._release(release_now)
        for cam in handover:
            t = threading.Thread(target=self._hand_over, args=(cam,), name=f"handover-{cam}", daemon=True)
            self._handovers = [h for h in self._handovers if h.is_alive()] + [t]
            t.start()

    def _hand_over(self, cam: str) -> None:
        """Stop the camera's worker, and only then free its lease (renewed meanwhile by the ticks)."""
        log.info("node %s: handing camera %s over (share %s)", self.name, cam,
                 self.last_plan.share if self.last_plan else "?")
        self._run_job(self.cameras[cam].stop, f"camera {cam}: stop")
        with self._lock:
            self.watching.discard(cam)
        try:
            self._release([cam])
        finally:
            with self._lock:
                self.leaving.discard(cam)

    def _release(self, cams: Iterable[str], kind: Callable[[str], str] = camera_lease) -> None:
        names = [kind(c) for c in cams]
        try:
            with self.store.write() as conn:
                leases.release(conn, self.me, names, self.clock())
        except Exception as exc:  # noqa: BLE001 - not freed now: the lease runs out within ttl_s
            log.warning("node %s: %s not freed (%s); it runs out within %.0f s", self.name, ", ".join(names), exc,
                        self.ttl_s)

    def _missed(self, exc: Exception) -> None:
        if isinstance(exc, NodeTaken):
            log.error("%s; stopping this node's cameras and duties", exc)
            self._deadline = float("-inf")
        else:
            log.warning("node %s: leases not renewed (%s: %s)", self.name, type(exc).__name__, exc)
        if self.clock() < self._deadline:
            return
        with self._lock:
            cameras, duties = sorted(self.watching), sorted(self.doing)
            self.watching.clear()
            self.doing.clear()
        if cameras or duties:
            log.error("node %s: leases not renewed for %.0f s; stopping %s before another node takes them",
                      self.name, self.ttl_s - self.margin_s, ", ".join(cameras + duties))
            self._stop_all(cameras, duties, wait=False)

    def _stop_all(self, cameras: Sequence[str], duties: Sequence[str], wait: bool) -> None:
        jobs = [(self.cameras[c].stop, f"camera {c}: stop") for c in cameras]
        jobs += [(self.duties[d].stop, f"{d}: stop") for d in duties]
        threads = [threading.Thread(target=self._run_job, args=job, daemon=True) for job in jobs]
        for t in threads:
            t.start()
        if wait:
            for t in threads:
                t.join(15)

    def _run_job(self, fn: Callable[[], Any], what: str) -> bool:
        try:
            fn()
            return True
        except Exception:  # noqa: BLE001 - one camera or duty failing to start or stop must not stop the node
            log.exception("node %s: %s failed", self.name, what)
            return False

    # ---- what the board and the status line show ----

    def status(self) -> dict:
        with self._lock:
            return {"node": self.name, "instance": self.me.instance, "cameras": sorted(self.watching),
                    "handing_over": sorted(self.leaving), "duties": sorted(self.doing),
                    "share": self.last_plan.share if self.last_plan else None,
                    "live_nodes": self.last_plan.live_nodes if self.last_plan else None}
