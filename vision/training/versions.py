"""The hall's own heads: every version fitted on the hall's labels, which one is switched on, who did what.

A version is a head file under ``storage.heads_dir`` (never the bundled ``models/`` folder) with its
entry in that folder's ``models.yaml``, and a row here with the numbers it was judged on: P/R/F1 on
the hall's held-back labels for the head that was running before (``before``) and for this one
(``after``). A new version is off until someone switches it on; switching on, off and rolling back
are each one transaction that also writes the audit row (who, when, from which version to which).
At most one version of a head is on (a partial unique index says so).

Training runs (started from the CLI or the dashboard's button) are rows too, so any process can show
a run's progress, and a run whose process died is reported as failed, not as running forever.

This module owns its tables (migration 7, numbered in vision/store/schema.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from vision.errors import InputError, NotFound
from vision.events import iso

if TYPE_CHECKING:
    from vision.store.database import Store

log = logging.getLogger(__name__)

AUDIT_ACTIONS = ("trained", "activated", "deactivated", "rolled_back")
RUN_STATUSES = ("running", "done", "failed")
HEAD_PREFIX = "hall-"
_REF = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)@v?(?P<version>\d+)$")


def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 7 (vision/store/schema.py numbers it): this module's tables."""
    for sql in (
        """CREATE TABLE head_versions (
            id           INTEGER PRIMARY KEY,
            head         TEXT NOT NULL,
            behaviour    TEXT NOT NULL,
            window_id    TEXT,
            version      INTEGER NOT NULL CHECK (version >= 1),
            model_name   TEXT NOT NULL,
            file         TEXT NOT NULL,
            sha256       TEXT NOT NULL,
            metrics      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
            trained_by   TEXT NOT NULL,
            trained_at   REAL NOT NULL,
            run_id       INTEGER,
            active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
            UNIQUE (head, version)
        )""",
        "CREATE UNIQUE INDEX head_versions_one_active ON head_versions (head) WHERE active = 1",
        """CREATE TABLE head_audit (
            id           INTEGER PRIMARY KEY,
            action       TEXT NOT NULL CHECK (action IN ('trained', 'activated', 'deactivated', 'rolled_back')),
            head         TEXT NOT NULL,
            version      INTEGER,
            from_version INTEGER,
            by           TEXT NOT NULL,
            at           REAL NOT NULL
        )""",
        """CREATE TABLE training_runs (
            id          INTEGER PRIMARY KEY,
            status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
            behaviours  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(behaviours)),
            started_by  TEXT NOT NULL,
            started_at  REAL NOT NULL,
            updated_at  REAL NOT NULL,
            finished_at REAL,
            progress    REAL NOT NULL DEFAULT 0,
            stage       TEXT NOT NULL DEFAULT '',
            message     TEXT,
            result      TEXT CHECK (result IS NULL OR json_valid(result)),
            pid         INTEGER
        )""",
        "CREATE UNIQUE INDEX training_runs_one_running ON training_runs (status) WHERE status = 'running'",
    ):
        conn.execute(sql)   # one statement each: executescript() would commit the migration's transaction


def head_name(behaviour: str, window_id: str | None = None) -> str:
    """``hall-phone_in_use``; a window's state heads are per window: ``hall-window_occupied-w01``."""
    return f"{HEAD_PREFIX}{behaviour}" + (f"-{window_id}" if window_id else "")


def model_name(head: str, version: int) -> str:
    """The head version's name in the hall's models.yaml (``hall-phone_in_use.v3``; no '@' in model names)."""
    return f"{head}.v{version}"


@dataclass(frozen=True)
class HeadVersion:
    id: int
    head: str
    behaviour: str
    window_id: str | None
    version: int
    model_name: str
    file: str
    sha256: str
    metrics: dict
    trained_by: str
    trained_at: float
    run_id: int | None
    active: bool

    @property
    def ref(self) -> str:
        return f"{self.head}@{self.version}"

    def to_json(self) -> dict:
        return {"head": self.head, "behaviour": self.behaviour, "window_id": self.window_id, "version": self.version,
                "ref": self.ref, "model_name": self.model_name, "file": self.file, "sha256": self.sha256,
                "metrics": self.metrics, "trained_by": self.trained_by, "trained_at": iso(self.trained_at),
                "run_id": self.run_id, "active": self.active}


def _version_of(row: sqlite3.Row) -> HeadVersion:
    return HeadVersion(row["id"], row["head"], row["behaviour"], row["window_id"], row["version"], row["model_name"],
                       row["file"], row["sha256"], json.loads(row["metrics"]), row["trained_by"], row["trained_at"],
                       row["run_id"], bool(row["active"]))


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class HallHeads:
    """Versions of the hall's heads and which are on, in the hall's store."""

    def __init__(self, store: Store):
        self.store = store

    # ---- versions ----

    def next_version(self, head: str) -> int:
        row = self.store.query("SELECT max(version) FROM head_versions WHERE head = ?", (head,)).fetchone()
        return (row[0] or 0) + 1

    def add_version(self, head: str, behaviour: str, window_id: str | None, version: int, file: str, sha256: str,
                    metrics: dict, by: str, run_id: int | None = None) -> HeadVersion:
        """Record a fitted head (off); the file and its manifest entry must already be written."""
        now = time.time()
        with self.store.write() as conn:
            try:
                vid = conn.execute(
                    """INSERT INTO head_versions (head, behaviour, window_id, version, model_name, file, sha256,
                                                  metrics, trained_by, trained_at, run_id)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                    (head, behaviour, window_id, version, model_name(head, version), file, sha256,
                     json.dumps(metrics, allow_nan=False), by, now, run_id)).fetchone()[0]
            except sqlite3.IntegrityError:
                raise InputError(f"{head} already has a version {version}") from None
            conn.execute("INSERT INTO head_audit (action, head, version, by, at) VALUES ('trained', ?, ?, ?, ?)",
                         (head, version, by, now))
            row = conn.execute("SELECT * FROM head_versions WHERE id = ?", (vid,)).fetchone()
        return _version_of(row)

    def versions(self, head: str | None = None) -> list[HeadVersion]:
        sql, params = "SELECT * FROM head_versions", cast(tuple[str, ...], ())
        if head is not None:
            sql, params = sql + " WHERE head = ?", (head,)
        return [_version_of(r) for r in self.store.query(sql + " ORDER BY head, version DESC", params)]

    def version(self, ref: str) -> HeadVersion:
        """``hall-phone_in_use@3`` (or ``phone_in_use@3``) -> that version."""
        m = _REF.match(ref.strip()) if isinstance(ref, str) else None
        if not m:
            raise InputError(f"{ref!r}: name a head version as NAME@VERSION, e.g. {head_name('phone_in_use')}@2 "
                             f"(see `hallmonitor heads list`)")
        name, version = m["name"], int(m["version"])
        if not name.startswith(HEAD_PREFIX):
            name = HEAD_PREFIX + name
        row = self.store.query("SELECT * FROM head_versions WHERE head = ? AND version = ?",
                                         (name, version)).fetchone()
        if row is None:
            known = ", ".join(v.ref for v in self.versions(name)) or "none"
            raise NotFound(f"no head version {name}@{version} (versions of {name}: {known})")
        return _version_of(row)

    def active(self) -> list[HeadVersion]:
        """The versions switched on, one per head at most."""
        rows = self.store.query("SELECT * FROM head_versions WHERE active = 1 ORDER BY head")
        return [_version_of(r) for r in rows]

    def active_of(self, head: str) -> HeadVersion | None:
        row = self.store.query("SELECT * FROM head_versions WHERE head = ? AND active = 1",
                                         (head,)).fetchone()
        return None if row is None else _version_of(row)

    def generation(self) -> int:
        """Changes whenever a head is switched on, off or rolled back: cheap to poll."""
        row = self.store.query(
            "SELECT max(id) FROM head_audit WHERE action != 'trained'").fetchone()
        return row[0] or 0

    # ---- switching ----

    def _switch(self, conn, head: str, version: int | None, action: str, by: str) -> int | None:
        current = conn.execute("SELECT version FROM head_versions WHERE head = ? AND active = 1", (head,)).fetchone()
        from_version = None if current is None else current["version"]
        conn.execute("UPDATE head_versions SET active = 0 WHERE head = ? AND active = 1", (head,))
        if version is not None:
            conn.execute("UPDATE head_versions SET active = 1 WHERE head = ? AND version = ?", (head, version))
        conn.execute("INSERT INTO head_audit (action, head, version, from_version, by, at) VALUES (?, ?, ?, ?, ?, ?)",
                     (action, head, version, from_version, by, time.time()))
        return from_version

    def activate(self, ref: str, by: str) -> HeadVersion:
        """Switch a version on (the head's other version, if any, goes off)."""
        target = self.version(ref)
        with self.store.write() as conn:
            self._switch(conn, target.head, target.version, "activated", by)
        return self.version(target.ref)

    def deactivate(self, head: str, by: str) -> None:
        """Switch the hall's head off: the bundled default (if any) judges again."""
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM head_versions WHERE head = ? AND active = 1", (head,)).fetchone() is None:
                raise InputError(f"{head}: no version of it is on")
            self._switch(conn, head, None, "deactivated", by)

    def rollback(self, head: str | None, by: str) -> dict:
        """Undo the last switch of ``head`` (default: the head switched most recently).

        Switches form a history per head; a rollback steps one back in it (two rollbacks after three
        switches are back at the first). Where nothing was on before, the hall's head goes off.
        Returns ``{head, from_version, to_version}``.
        """
        with self.store.write() as conn:
            if head is None:
                last = conn.execute("SELECT head FROM head_audit WHERE action != 'trained' "
                                    "ORDER BY id DESC LIMIT 1").fetchone()
                if last is None:
                    raise InputError("nothing to roll back: no hall head was ever switched on")
                head = last["head"]
            states: list[int | None] = [None]
            for r in conn.execute("SELECT action, version FROM head_audit WHERE head = ? AND action != 'trained' "
                                  "ORDER BY id", (head,)):
                if r["action"] == "rolled_back":
                    if len(states) > 1:
                        states.pop()
                else:
                    states.append(r["version"])
            if len(states) < 2:
                raise InputError(f"nothing to roll back for {head}: it is as it was before any switch")
            now_on, back_to = states[-1], states[-2]
            self._switch(conn, head, back_to, "rolled_back", by)
        return {"head": head, "from_version": now_on, "to_version": back_to}

    def audit(self, limit: int = 50) -> list[dict]:
        rows = self.store.query("SELECT * FROM head_audit ORDER BY id DESC LIMIT ?", (limit,))
        return [{**dict(r), "at": iso(r["at"])} for r in rows]

    # ---- training runs ----

    def start_run(self, behaviours: list[str], by: str) -> int:
        """A new run, or InputError while another one runs (a run whose process is gone is failed first)."""
        now = time.time()
        with self.store.write() as conn:
            row = conn.execute("SELECT id, pid, started_by, started_at FROM training_runs "
                               "WHERE status = 'running'").fetchone()
            if row is not None:
                if row["pid"] == os.getpid() or _pid_alive(row["pid"]):
                    raise InputError(f"training run {row['id']} (started by {row['started_by']} at "
                                     f"{iso(row['started_at'])}) is still running; wait for it to finish")
                conn.execute("UPDATE training_runs SET status = 'failed', finished_at = ?, updated_at = ?, "
                             "message = 'the process running it stopped' WHERE id = ?", (now, now, row["id"]))
            return conn.execute(
                "INSERT INTO training_runs (status, behaviours, started_by, started_at, updated_at, stage, pid) "
                "VALUES ('running', ?, ?, ?, ?, 'starting', ?) RETURNING id",
                (json.dumps(behaviours), by, now, now, os.getpid())).fetchone()[0]

    def progress(self, run_id: int, progress: float, stage: str) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE training_runs SET progress = ?, stage = ?, updated_at = ? WHERE id = ? "
                         "AND status = 'running'", (max(0.0, min(1.0, float(progress))), stage, time.time(), run_id))

    def finish_run(self, run_id: int, result: dict | None, message: str | None = None, failed: bool = False) -> None:
        now = time.time()
        with self.store.write() as conn:
            conn.execute("UPDATE training_runs SET status = ?, progress = CASE WHEN ? = 1 THEN progress ELSE 1 END, "
                         "finished_at = ?, updated_at = ?, message = ?, result = ?, stage = ? WHERE id = ?",
                         ("failed" if failed else "done", failed, now, now, message,
                          None if result is None else json.dumps(result, allow_nan=False),
                          "failed" if failed else "done", run_id))

    def run(self, run_id: int | None = None) -> dict | None:
        """A run (default: the latest) as JSON; a 'running' run whose process is gone shows as failed."""
        row = (self.store.query("SELECT * FROM training_runs WHERE id = ?", (run_id,)).fetchone() if run_id is not None
               else self.store.query("SELECT * FROM training_runs ORDER BY id DESC LIMIT 1").fetchone())
        if row is None:
            if run_id is not None:
                raise NotFound(f"no training run {run_id}")
            return None
        data: dict[str, Any] = dict(row)
        if data["status"] == "running" and data["pid"] != os.getpid() and not _pid_alive(data["pid"]):
            data["status"], data["message"] = "failed", "the process running it stopped"
        data["behaviours"] = json.loads(data["behaviours"])
        data["result"] = None if data["result"] is None else json.loads(data["result"])
        for k in ("started_at", "updated_at", "finished_at"):
            data[k] = iso(data[k])
        data.pop("pid", None)
        return data


# ---- at run time ----

class HeadSwitch:
    """Keeps the running heads in step with the hall's switches. A person head that is on replaces
    the analyzers' bundled head of its behaviour (or adds one); switched off, the bundled one is
    back. A window's state heads that are on are in ``zone`` (window id -> heads, read by each
    camera's ``CameraWatch`` with ``zone_backbone``). ``sync()`` is cheap when nothing changed
    (one indexed query), so the supervisor calls it every second."""

    def __init__(self, config, store: Store, analyzers: list):
        self.config, self.heads = config, HallHeads(store)
        self.analyzers = analyzers
        self.bundled = {id(a): list(a.heads) for a in analyzers}
        self.bundled_backbone = {id(a): a.backbone for a in analyzers}
        self.generation: int | None = None
        self.applied: list[str] = []
        self.zone: dict[str, list] = {}
        self.zone_backbone: Any = None   # a features adapter (vision.models.adapters.build), loaded on need

    def sync(self) -> bool:
        """Apply the switches if they changed since the last call; True when the heads were swapped."""
        generation = self.heads.generation()
        if generation == self.generation:
            return False
        self.generation = generation   # a switch that fails to load is reported once, not every second
        from vision.models.manifest import get_model
        from vision.perception.heads import load_head
        from vision.training.fit import hall_manifest, load_backbone

        active = self.heads.active()
        manifest = hall_manifest(self.config)
        on = [v for v in active if v.window_id is None]
        hall = {v.behaviour: load_head(get_model(v.model_name, manifest, task="classify")) for v in on}
        want = self.config.models.backbone
        for behaviour, head in list(hall.items()):
            if head.backbone != want:     # its features would not fit: refuse it rather than fail every frame
                log.warning("hall head %s reads %s features, the cameras' backbone is %s: not switched in",
                            head.name, head.backbone, want)
                del hall[behaviour]
        zone: dict[str, list] = {}
        for v in active:
            if v.window_id is not None:
                zone.setdefault(v.window_id, []).append(load_head(get_model(v.model_name, manifest, task="classify")))
        backbone = next((a.backbone for a in self.analyzers if a.backbone is not None), None)
        if zone and self.zone_backbone is None:
            self.zone_backbone = backbone or load_backbone(self.config, self.config.models.threads or 1)
        backbone = backbone or self.zone_backbone
        for a in self.analyzers:
            base = self.bundled[id(a)]
            merged = [hall.get(h.behaviour, h) for h in base]
            merged += [h for b, h in hall.items() if b not in {x.behaviour for x in base}]
            if merged and a.backbone is None:
                backbone = backbone or load_backbone(self.config, self.config.models.threads or 1)
                a.backbone = backbone
            a.heads = merged          # one reference swap: a frame in flight keeps the list it started with
            if not merged:
                a.backbone = self.bundled_backbone[id(a)]
        self.zone = zone              # a dict swap, read once per frame by each camera
        self.applied = [v.ref for v in active]
        return True
