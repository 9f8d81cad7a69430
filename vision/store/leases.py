"""Nodes and leases: which run of `hallmonitor run` watches which camera, and which one sends the outbox.

Two tables (migration 12, numbered in vision/store/schema.py):

- ``nodes``: one row per node name (``hallmonitor run --node NAME``). The run that holds the name
  writes its ``instance`` token (new for every start) and renews ``expires_at`` every few seconds;
  a row whose ``expires_at`` has passed is a node that died or stopped.
- ``leases``: one row per thing exactly one node may do at a time: ``camera:<id>`` (watch that
  camera) and ``duty:<name>`` (the webhook dispatcher, the group robots, the MQTT publisher). The
  ``holder`` is the holding run's instance token, ``node`` its name (for the board), ``expires_at``
  when it is free unless renewed. A lease given up has no holder and ``expires_at`` = when it was
  given up, so "free since" is ``expires_at`` either way.

Every change is a conditional ``UPDATE`` (``WHERE holder = me`` or ``WHERE the lease is free``)
inside one write transaction, so of two nodes taking the same lease one wins and the other's
update changes no row, on SQLite (one writer at a time) as on PostgreSQL (the second UPDATE waits
for the first and re-checks its WHERE). Times are computed in Python and passed in: the nodes'
clocks must agree to well under a second (NTP), since a lease's expiry written by one node is read
against another's clock.

Who should hold what is decided elsewhere (vision/runtime/assignment.py, pure); this module only
reads and writes the rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from vision.store.ddl import ddl

CAMERA = "camera:"
DUTY = "duty:"


def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 12: the nodes of the hall and their leases."""
    ddl(
        conn,
        """CREATE TABLE nodes (
            name       TEXT PRIMARY KEY,
            instance   TEXT NOT NULL,
            host       TEXT NOT NULL,
            pid        INTEGER NOT NULL,
            started_at REAL NOT NULL,
            seen_at    REAL NOT NULL,
            expires_at REAL NOT NULL,
            stopped_at REAL
        )""",
        """CREATE TABLE leases (
            name       TEXT PRIMARY KEY,
            holder     TEXT,
            node       TEXT,
            expires_at REAL NOT NULL DEFAULT 0,
            since      REAL,
            renewed_at REAL
        )""",
        "CREATE INDEX leases_holder ON leases (holder)",
    )


def camera_lease(camera_id: str) -> str:
    return CAMERA + camera_id


def duty_lease(duty: str) -> str:
    return DUTY + duty


@dataclass(frozen=True)
class NodeRow:
    """One node as the table has it."""

    name: str
    instance: str
    host: str
    pid: int
    started_at: float
    seen_at: float
    expires_at: float
    stopped_at: float | None = None

    def live(self, now: float) -> bool:
        return self.expires_at > now


@dataclass(frozen=True)
class LeaseRow:
    """One lease as the table has it; ``holder`` None (or an ``expires_at`` in the past) means free."""

    name: str
    holder: str | None
    node: str | None
    expires_at: float
    since: float | None = None

    def held(self, now: float) -> bool:
        return self.holder is not None and self.expires_at > now

    def held_by(self, instance: str, now: float) -> bool:
        return self.holder == instance and self.expires_at > now


@dataclass(frozen=True)
class Me:
    """This run of a node: its name and the token that tells it from the node's earlier runs."""

    name: str
    instance: str
    host: str
    pid: int


def _node(row) -> NodeRow:
    return NodeRow(row["name"], row["instance"], row["host"], int(row["pid"]), float(row["started_at"]),
                   float(row["seen_at"]), float(row["expires_at"]),
                   None if row["stopped_at"] is None else float(row["stopped_at"]))


def _lease(row) -> LeaseRow:
    return LeaseRow(row["name"], row["holder"], row["node"], float(row["expires_at"]),
                    None if row["since"] is None else float(row["since"]))


def read_nodes(conn) -> list[NodeRow]:
    return [_node(r) for r in conn.execute("SELECT * FROM nodes ORDER BY name")]


def read_leases(conn) -> dict[str, LeaseRow]:
    return {r["name"]: _lease(r) for r in conn.execute("SELECT * FROM leases ORDER BY name")}


def join(conn, me: Me, now: float, ttl_s: float) -> NodeRow | None:
    """Claim the node name for this run; returns None, or the other live run that holds the name."""
    conn.execute("INSERT INTO nodes (name, instance, host, pid, started_at, seen_at, expires_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                 (me.name, me.instance, me.host, me.pid, now, now, now + ttl_s))
    claimed = conn.execute(
        "UPDATE nodes SET instance = ?, host = ?, pid = ?, started_at = ?, seen_at = ?, expires_at = ?,"
        " stopped_at = NULL WHERE name = ? AND (instance = ? OR expires_at <= ?)",
        (me.instance, me.host, me.pid, now, now, now + ttl_s, me.name, me.instance, now)).rowcount
    if claimed:
        return None
    row = conn.execute("SELECT * FROM nodes WHERE name = ?", (me.name,)).fetchone()
    return _node(row)


def beat(conn, me: Me, now: float, ttl_s: float) -> bool:
    """Renew this run's node row and every lease it holds; False if another run took the name."""
    alive = conn.execute("UPDATE nodes SET seen_at = ?, expires_at = ? WHERE name = ? AND instance = ?",
                         (now, now + ttl_s, me.name, me.instance)).rowcount
    if not alive:
        return False
    conn.execute("UPDATE leases SET expires_at = ?, renewed_at = ? WHERE holder = ?", (now + ttl_s, now, me.instance))
    return True


def take(conn, me: Me, name: str, now: float, ttl_s: float) -> bool:
    """Take the lease ``name`` if it is free at ``now``; True if this run holds it afterwards."""
    conn.execute("INSERT INTO leases (name, expires_at) VALUES (?, 0) ON CONFLICT (name) DO NOTHING", (name,))
    return bool(conn.execute(
        "UPDATE leases SET holder = ?, node = ?, expires_at = ?, since = ?, renewed_at = ?"
        " WHERE name = ? AND (holder IS NULL OR expires_at <= ? OR holder = ?)",
        (me.instance, me.name, now + ttl_s, now, now, name, now, me.instance)).rowcount)


def release(conn, me: Me, names: Iterable[str], now: float) -> int:
    """Give up the leases ``names`` this run holds (free from ``now``); returns how many were given up."""
    given = 0
    for name in names:
        given += conn.execute("UPDATE leases SET holder = NULL, node = NULL, expires_at = ?, since = NULL,"
                              " renewed_at = ? WHERE name = ? AND holder = ?",
                              (now, now, name, me.instance)).rowcount
    return given


def leave(conn, me: Me, now: float) -> None:
    """This run stops: every lease it still holds is free now, and its node row says it stopped."""
    conn.execute("UPDATE leases SET holder = NULL, node = NULL, expires_at = ?, since = NULL, renewed_at = ?"
                 " WHERE holder = ?", (now, now, me.instance))
    conn.execute("UPDATE nodes SET expires_at = ?, stopped_at = ? WHERE name = ? AND instance = ?",
                 (now, now, me.name, me.instance))


def camera_nodes(store, now: float) -> dict[str, str]:
    """``{camera id: node name}`` for every camera a live lease says a node watches (the board's column)."""
    with store.read() as conn:
        rows = conn.execute("SELECT name, node FROM leases WHERE holder IS NOT NULL AND expires_at > ?"
                            " AND name LIKE ?", (now, CAMERA + "%")).fetchall()
    return {r["name"][len(CAMERA):]: r["node"] for r in rows}


def live_node_count(store, now: float) -> int:
    """How many nodes are running now (0: the hall runs without nodes, or none is up)."""
    with store.read() as conn:
        return conn.execute("SELECT COUNT(*) AS n FROM nodes WHERE expires_at > ?", (now,)).fetchone()["n"]


def snapshot(store) -> tuple[list[NodeRow], dict[str, LeaseRow]]:
    """Every node and lease row, read in one snapshot."""
    with store.read() as conn:
        return read_nodes(conn), read_leases(conn)
