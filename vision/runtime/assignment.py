"""Which node should watch which camera, and who sends the outbox: a pure decision on the lease rows.

:func:`plan_cameras` is asked by each node, every few seconds, with the rows it just read and the
time; it answers which cameras this node should take, which it should give up and which it keeps.
The node (vision/runtime/node.py) does the I/O: a take is a conditional UPDATE that only one node
can win; a give-up stops the camera's worker first and frees the lease after, so a camera is never
watched by two nodes at once.

The rules, each node applying them to itself:

1. **Live nodes** are those whose node row has not expired, this node always among them. The fair
   share is ``ceil(cameras / live nodes)``; the floor is ``cameras // live nodes``.
2. **Take** free cameras (no holder, or its lease expired: a dead node's) while this node has fewer
   than its share. When several nodes could, the one with the fewest cameras goes first: a node with
   more than the poorest live node takes a free camera only once it has been free ``patience_s``
   (so a starved node gets it, and a camera is still taken if that node does not).
3. **Give up** what is over the share (a node came back, so the share fell). And when a live node
   has fewer than the floor while none is free, the richest node (the first by name among equals)
   gives up one camera (4 cameras on 3 nodes: 2, 2, 0 becomes 2, 1, 1); not while a dead run's
   lease is still running out (that camera will be free in a moment).
4. A lease held by a run that is not live still counts as held until it expires: the dead run may
   only have been slow, and the lease's expiry is the one promise every node can check.

:func:`take_duty` answers the same for a duty only one node may do (the webhook dispatcher, the
group robots, the MQTT publisher): take it when it is free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vision.store.leases import LeaseRow, NodeRow, camera_lease


@dataclass(frozen=True)
class CameraPlan:
    """What one node should do with the cameras now (camera ids, in the hall's order)."""

    take: tuple[str, ...]
    give_up: tuple[str, ...]
    keep: tuple[str, ...]
    share: int
    live_nodes: int


def plan_cameras(me: str, cameras: Sequence[str], leases: Mapping[str, LeaseRow], nodes: Sequence[NodeRow],
                 now: float, *, patience_s: float = 4.0) -> CameraPlan:
    """The plan for the run whose instance token is ``me``; ``leases`` by lease name (``camera:<id>``)."""
    live = sorted({n.instance: n.name for n in nodes if n.live(now)}.items(), key=lambda kv: (kv[1], kv[0]))
    names = dict(live)
    names.setdefault(me, me)
    counts = {instance: 0 for instance in names}
    holder: dict[str, str] = {}
    for cam in cameras:
        row = leases.get(camera_lease(cam))
        if row is not None and row.held(now):
            holder[cam] = row.holder or ""
            if row.holder in counts:
                counts[row.holder] += 1
    mine = [c for c in cameras if holder.get(c) == me]
    free = [c for c in cameras if c not in holder]
    share = math.ceil(len(cameras) / len(names)) if cameras else 0
    floor = len(cameras) // len(names)

    give: list[str] = []
    if len(mine) > share:
        give = mine[share - len(mine):]
    elif (not free and len(mine) > floor and all(h in counts for h in holder.values())
          and any(n < floor for i, n in counts.items() if i != me)):
        most = max(counts.values())
        richest = min((i for i, n in counts.items() if n == most), key=lambda i: (names[i], i))
        if richest == me:
            give = mine[-1:]

    take: list[str] = []
    room = share - len(mine) if not give else 0
    if room > 0 and free:
        poorest = min(counts.values())
        if counts[me] > poorest:
            free = [c for c in free if now - _free_since(leases.get(camera_lease(c))) >= patience_s]
        take = free[:room]
    keep = tuple(c for c in mine if c not in give)
    return CameraPlan(tuple(take), tuple(give), keep, share, len(names))


def _free_since(row: LeaseRow | None) -> float:
    return float("-inf") if row is None else row.expires_at


def take_duty(me: str, row: LeaseRow | None, now: float) -> bool:
    """Should the run ``me`` try to take this duty's lease now? (It keeps one it holds by renewing it.)"""
    return row is None or not row.held(now) or row.holder == me
