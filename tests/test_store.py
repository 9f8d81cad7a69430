"""vision.store (the Store) on both back-ends, a real SQLite file and a real PostgreSQL database (tests/pg_fixtures.py):
migrations, the event lifecycle, the outbox, paging, durability. Tests that take ``db`` are about the SQLite file
itself (pragmas, permissions, WAL); those that take ``store`` or ``store_target`` run on both."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

import vision.store.schema as store_module
from tests.pg_fixtures import BACKENDS, count_rows, fresh_database, fresh_schema
from vision.errors import InputError, NotFound
from vision.events import EVENT_TYPES, PHASES, SEVERITIES, Event, iso
from vision.store.connection import StoreError
from vision.store.database import Store
from vision.store.events import MESSAGE_TYPES, REVIEW_STATUSES, message_type
from vision.store.schema import LATEST_VERSION, migrate, schema_version

ROOT = Path(__file__).resolve().parents[1]
HALL_TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=HALL_TZ).timestamp()  # a Monday, 09:00 in the hall


def eid(n: int, at: float = T0) -> str:
    return f"evt_{int(at * 1000):012x}{n:010x}"


def make(n: int = 1, *, type: str = "unattended", at: float = T0, camera: str = "cam1",
         window: str | None = "w1", severity: str = "medium", **kw) -> Event:
    return Event(id=eid(n, at), type=type, camera_id=camera, window_id=window, phase="started",
                 severity=severity, started_at=at, updated_at=at, score=0.8,
                 evidence={"ratio": 0.9}, details={"note": "窗口无人"}, **kw)


def table_count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def table_names(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "hallmonitor.db"


@pytest.fixture
def store(store_target):
    with Store(store_target) as s:
        yield s


@pytest.fixture
def sqlite_store(db: Path):
    with Store(db) as s:
        yield s


# ---- opening, pragmas, migrations ----

def test_new_database_is_migrated_to_latest_with_wal_and_foreign_keys(sqlite_store: Store, db: Path):
    conn = sqlite_store._conn()
    assert schema_version(conn) == LATEST_VERSION == len(store_module.MIGRATIONS) >= 4
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert {"events", "event_log", "outbox", "deliveries", "window_state", "pauses"} <= table_names(db)


def test_database_and_its_wal_files_are_owner_only(db: Path):
    import os
    old = os.umask(0o022)                      # the usual umask would give 0644
    try:
        with Store(db) as s:
            s.record(make(1))
            for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                assert p.exists(), p
                assert p.stat().st_mode & 0o777 == 0o600, (p, oct(p.stat().st_mode))
        os.chmod(db, 0o644)                    # an older, world-readable database is tightened on open
        with Store(db):
            assert db.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_older_database_is_upgraded_and_keeps_its_rows(db: Path):
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, target=1) == 1
    assert "window_state" not in table_names(db)
    conn.execute("INSERT INTO events (id, type, camera_id, window_id, phase, severity, started_at, updated_at) "
                 "VALUES (?, 'eating', 'cam1', 'w2', 'started', 'low', ?, ?)", (eid(7), T0, T0 + 5))
    conn.close()

    with Store(db) as store:
        assert schema_version(store._conn()) == LATEST_VERSION
        row = store.get_event(eid(7))
        assert row["type"] == "eating" and row["window_id"] == "w2" and row["review_status"] == "new"
        assert row["updated_at"] == iso(T0 + 5)
        store.add_pause("w2", "api", "lunch", T0, T0 + 60)  # tables from migration 2 work
    assert {"window_state", "pauses", "deliveries"} <= table_names(db)


def test_database_from_a_newer_hallmonitor_is_refused_and_left_alone(db: Path):
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError) as err:
        Store(db)
    assert str(err.value) == (
        f"{db}: the database has schema version 99, but this hallmonitor knows versions up to {LATEST_VERSION}; it was "
        f"written by a newer hallmonitor. Upgrade hallmonitor, or point store.url (or storage.database) at another "
        f"database.")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99


def test_a_failing_migration_is_rolled_back_whole(db: Path, monkeypatch):
    Store(db).close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration 4 failed")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, (LATEST_VERSION + 1, broken)])
    with pytest.raises(RuntimeError, match="migration 4 failed"):
        Store(db)
    assert "half_done" not in table_names(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION


def test_migrations_must_be_registered_in_order():
    with pytest.raises(RuntimeError, match=f"claims version 7, but the next one is {LATEST_VERSION + 1}"):
        store_module.migration(7)(lambda conn: None)


def test_a_file_that_is_not_a_database_gives_a_clear_error(db: Path):
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is a config file, not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the database .* hallmonitor database"):
        Store(db)


# ---- the event lifecycle ----

def test_lifecycle_started_updated_ended(store: Store):
    started = make()
    updated = started.advance("updated", T0 + 60, score=0.9, snapshot="snap/1.jpg")
    ended = updated.advance("ended", T0 + 95)
    assert [store.record(e) for e in (started, updated, ended)] == [True, True, True]

    row = store.get_event(started.id)
    assert row == {**ended.to_json(), "review_status": "new", "review_comment": None, "reviewed_by": None,
                   "reviewed_at": None, "keep": False}
    assert row["duration_s"] == 95.0 and row["title_zh"] == "擅自离岗"
    assert store.event(started.id) == ended
    assert store.open_events() == []

    timeline = store.timeline(started.id)
    assert [(t["phase"], t["at"]) for t in timeline] == [
        ("started", iso(T0)), ("updated", iso(T0 + 60)), ("ended", iso(T0 + 95))]
    assert timeline[1]["event"] == updated.to_json()

    out = store.outbox_after(0)
    assert [o["type"] for o in out] == ["event.started", "event.updated", "event.ended"]
    assert all(o["id"].startswith("msg_") and o["event_id"] == started.id for o in out)
    assert len({o["id"] for o in out}) == 3
    assert json.loads(out[2]["body"]) == {"type": "event.ended", "timestamp": iso(T0 + 95), "data": ended.to_json()}


def test_recording_the_same_transition_twice_adds_nothing(store: Store, store_target):
    started = make()
    assert store.record(started) is True
    assert store.record(started) is False
    later = started.advance("updated", T0 + 60)
    store.record(later)
    with_clip = later.advance("updated", T0 + 60, clip="clips/1.mp4")  # same key, content filled in
    assert store.record(with_clip) is False
    assert store.get_event(started.id)["clip"] == "clips/1.mp4"
    assert count_rows(store_target, "event_log") == 2 and count_rows(store_target, "outbox") == 2
    assert store.record_many([started, later, with_clip]) == 0


def test_nothing_moves_an_ended_event_back(store: Store, store_target):
    started = make()
    ended = started.advance("ended", T0 + 30, clip="clips/a.mp4")
    store.record(started)
    store.record(ended)
    assert store.record(started.advance("updated", T0 + 40)) is False
    assert store.record(started.advance("ended", T0 + 50)) is False
    assert store.record(started.advance("started", T0 + 60)) is False
    assert store.event(started.id) == ended
    assert count_rows(store_target, "event_log") == 2 and count_rows(store_target, "outbox") == 2


def test_stale_or_repeated_start_is_ignored(store: Store):
    started = make()
    store.record(started)
    store.record(started.advance("updated", T0 + 60))
    assert store.record(started.advance("updated", T0 + 30)) is False   # older than the stored state
    assert store.record(started.advance("started", T0 + 90)) is False   # already started
    assert store.event(started.id).updated_at == T0 + 60
    assert [e.id for e in store.open_events()] == [started.id]


def test_media_paths_are_not_lost_by_a_later_transition_without_them(store: Store):
    started = make(snapshot="snap/a.jpg")
    store.record(started)
    store.record(Event(**{**started.__dict__, "phase": "updated", "updated_at": T0 + 5, "snapshot": None}))
    assert store.get_event(started.id)["snapshot"] == "snap/a.jpg"


@pytest.mark.parametrize("type, phase, expected", [
    ("unattended", "started", "event.started"),
    ("unattended", "updated", "event.updated"),
    ("phone_use", "ended", "event.ended"),
    ("camera_offline", "started", "camera.offline"),
    ("camera_offline", "updated", "event.updated"),
    ("camera_offline", "ended", "camera.online"),
    ("window_paused", "started", "window.paused"),
    ("window_paused", "ended", "window.resumed"),
])
def test_message_types(type, phase, expected):
    event = make(type=type)
    if phase != "started":
        event = event.advance(phase, T0 + 1)
    assert message_type(event) == expected
    assert expected in MESSAGE_TYPES


def outbox_down(target, down: bool) -> None:
    """A trigger that makes every outbox insert fail (SQLite: RAISE(ABORT); PostgreSQL: a check_violation)."""
    if isinstance(target, Path):
        with sqlite3.connect(target) as conn:
            conn.execute("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox "
                         "BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END" if down else "DROP TRIGGER outbox_down")
        return
    import psycopg
    with psycopg.connect(target, autocommit=True) as conn:
        if down:
            conn.execute("CREATE OR REPLACE FUNCTION outbox_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                         "RAISE EXCEPTION 'outbox unavailable' USING ERRCODE = 'check_violation'; END $$")
            conn.execute("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_down()")
        else:
            conn.execute("DROP TRIGGER outbox_down ON outbox")


def test_outbox_row_is_written_in_the_same_transaction_as_the_event(store: Store, store_target):
    outbox_down(store_target, True)   # the outbox insert fails, for real, inside the database
    started = make()
    with pytest.raises(sqlite3.IntegrityError, match="outbox unavailable"):
        store.record(started)
    assert store.get_event(started.id) is None
    assert count_rows(store_target, "event_log") == 0

    outbox_down(store_target, False)
    store.record(started)
    outbox_down(store_target, True)
    with pytest.raises(sqlite3.IntegrityError):
        store.record(started.advance("ended", T0 + 10))
    assert store.event(started.id) == started  # still open: the end will be recorded again
    assert [t["phase"] for t in store.timeline(started.id)] == ["started"]
    with pytest.raises(sqlite3.IntegrityError):   # a batch is one transaction too
        store.record_many([make(2), make(3)])
    assert store.count_events() == 1


def test_outbox_after_pages_by_seq(store: Store):
    events = [make(n, at=T0 + n) for n in range(5)]
    store.record_many(events)
    first = store.outbox_after(0, limit=2)
    rest = store.outbox_after(first[-1]["seq"], limit=100)
    assert [o["event_id"] for o in first + rest] == [e.id for e in events]
    assert store.outbox_after(rest[-1]["seq"]) == []


def test_record_rejects_an_inconsistent_end(store: Store):
    bad = Event(**{**make().__dict__, "phase": "ended", "updated_at": T0 + 5})
    with pytest.raises(InputError, match="ended_at must be set exactly when the phase is 'ended'"):
        store.record(bad)


@pytest.mark.parametrize("call", [
    lambda s: s.event("evt_missing"),
    lambda s: s.timeline("evt_missing"),
    lambda s: s.set_review("evt_missing", "resolved", None, "li"),
    lambda s: s.set_keep("evt_missing", True),
    lambda s: s.end_pause("w1", T0),
])
def test_unknown_ids_are_not_found(store: Store, call):
    with pytest.raises(NotFound):
        call(store)
    assert store.get_event("evt_missing") is None


# ---- review, keep, windows, pauses ----

def test_review_and_keep(store: Store):
    a, b = make(1), make(2, at=T0 + 10)
    store.record_many([a, b])
    row = store.set_review(a.id, "false_positive", "a customer, not staff", "manager.li", at=T0 + 3600)
    assert (row["review_status"], row["review_comment"], row["reviewed_by"], row["reviewed_at"]) == (
        "false_positive", "a customer, not staff", "manager.li", iso(T0 + 3600))
    store.record(a.advance("ended", T0 + 20))  # the rule's transitions leave the review alone
    assert store.get_event(a.id)["review_status"] == "false_positive"
    assert [r["id"] for r in store.list_events(review_status="false_positive")[0]] == [a.id]
    assert store.count_events(review_status="new") == 1
    with pytest.raises(InputError, match="review status: unknown value 'done'; known: new, acknowledged"):
        store.set_review(a.id, "done", None, "li")

    assert store.kept_event_ids() == set()
    store.set_keep(b.id, True)
    assert store.kept_event_ids() == {b.id} and store.get_event(b.id)["keep"] is True
    store.set_keep(b.id, False)
    assert store.kept_event_ids() == set()


def test_window_states(store: Store):
    store.set_window_state("w1", "cam1", "staffed", T0, T0 + 1)
    store.set_window_state("w2", "cam1", "unattended", T0 + 5, T0 + 6, ["unattended"])
    store.set_window_state("w1", "cam1", "paused", T0 + 9, T0 + 9, ["window_paused", "phone_on_counter"])
    assert store.window_states() == [
        {"window_id": "w1", "camera_id": "cam1", "status": "paused", "since": iso(T0 + 9), "updated_at": iso(T0 + 9),
         "active_types": ["phone_on_counter", "window_paused"]},
        {"window_id": "w2", "camera_id": "cam1", "status": "unattended", "since": iso(T0 + 5),
         "updated_at": iso(T0 + 6), "active_types": ["unattended"]},
    ]
    with pytest.raises(InputError, match="active_types: unknown value 'napping'"):
        store.set_window_state("w1", "cam1", "staffed", T0, T0, ["napping"])


def test_pauses(store: Store):
    lunch = store.add_pause("w1", "api", "午休", T0, T0 + 3600)
    sign = store.add_pause("w2", "sign", None, T0 + 60)
    assert lunch == {"id": lunch["id"], "window_id": "w1", "source": "api", "reason": "午休",
                     "started_at": iso(T0), "until": iso(T0 + 3600), "ended_at": None}
    assert [p["window_id"] for p in store.active_pauses(T0 + 120)] == ["w1", "w2"]
    assert store.active_pauses(T0 + 30, window_id="w2") == []
    assert store.active_pauses(T0 + 3600) == [sign]  # lunch ran out at `until`
    ended = store.end_pause("w2", T0 + 4000)
    assert [p["ended_at"] for p in ended] == [iso(T0 + 4000)]
    assert store.active_pauses(T0 + 4000) == []
    with pytest.raises(NotFound, match="window 'w2' has no active pause"):
        store.end_pause("w2", T0 + 5000)
    with pytest.raises(InputError, match="pause source: unknown value 'phone'"):
        store.add_pause("w1", "phone", None, T0)
    with pytest.raises(InputError, match="must be after started_at"):
        store.add_pause("w1", "api", None, T0, T0 - 1)


# ---- listing: filters and keyset paging ----

@pytest.fixture(scope="module", params=BACKENDS)
def hall(tmp_path_factory, request):
    """2,000 events over a week (40 share one start time): a third started, a third updated, a third ended.
    On PostgreSQL 700 (each statement is a round trip to the server; the same filters all still match)."""
    rng = random.Random(20261102)
    types = [t for t in EVENT_TYPES if t != "camera_offline"]
    events: list[Event] = []
    transitions: list[Event] = []
    for n in range(2000 if request.param == "sqlite" else 700):
        at = T0 + (1800.0 if n < 40 else rng.randrange(0, 7 * 24 * 60) * 60.0)
        e = make(n, type=rng.choice(types), at=at, camera=f"cam{n % 3 + 1}", window=f"w{rng.randrange(8)}",
                 severity=rng.choice(SEVERITIES))
        transitions.append(e)
        if n % 3:
            e = e.advance("updated" if n % 3 == 1 else "ended", at + 90)
            transitions.append(e)
        events.append(e)
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("hall") / "hall.db"
    else:
        path = fresh_database(request.getfixturevalue("pg_server"))
    acknowledged = {e.id for e in events[::7]}
    with Store(path, synchronous="NORMAL") as s:
        assert s.record_many(transitions) == len(transitions)
        for event_id in acknowledged:
            s.set_review(event_id, "acknowledged", None, "li")
    return path, events, acknowledged


def _expected(events: list[Event], acknowledged: set[str], f: dict) -> list[str]:
    """The ids a filter should return, newest first, computed the slow, obvious way."""
    def wanted(key: str, value: str | None) -> bool:
        return key not in f or value in ([f[key]] if isinstance(f[key], str) else f[key])

    matching = [
        e for e in events
        if f.get("since_s", -1e18) <= e.started_at < f.get("until_s", 1e18)
        and wanted("window_id", e.window_id) and wanted("camera_id", e.camera_id) and wanted("types", e.type)
        and wanted("phases", e.phase) and wanted("severity", e.severity)
        and wanted("review_status", "acknowledged" if e.id in acknowledged else "new")
    ]
    return [e.id for e in sorted(matching, key=lambda e: (e.started_at, e.id), reverse=True)]


DAY2 = datetime(2026, 11, 3, tzinfo=HALL_TZ)
FILTERS = [
    {},
    {"window_id": "w3"},
    {"types": ["phone_use", "eating"]},
    {"since": DAY2.isoformat(), "until": (DAY2 + timedelta(days=2)).isoformat(),
     "since_s": DAY2.timestamp(), "until_s": (DAY2 + timedelta(days=2)).timestamp()},
    {"severity": "high", "phases": ["started", "updated"]},
    {"camera_id": ["cam1", "cam2"], "types": "unattended", "window_id": ["w1", "w2", "w5"]},
    {"review_status": "acknowledged", "phases": "ended"},
    {"since": T0 + 1800, "until": T0 + 1801, "since_s": T0 + 1800, "until_s": T0 + 1801},  # the tie group
]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: ",".join(k for k in f if not k.endswith("_s")) or "all")
def test_filters_and_keyset_paging_match_a_plain_scan(hall, f):
    path, events, acknowledged = hall
    expected = _expected(events, acknowledged, f)
    assert expected, "the case should match something"
    query = {k: v for k, v in f.items() if not k.endswith("_s")}
    with Store(path) as store:
        seen: list[str] = []
        cursor = None
        while True:
            rows, cursor = store.list_events(**query, limit=37, cursor=cursor)
            assert len(rows) <= 37
            seen.extend(r["id"] for r in rows)
            if cursor is None:
                break
        assert seen == expected  # same order, nothing twice, nothing skipped
        assert store.count_events(**query) == len(expected)


def test_paging_is_stable_while_new_events_arrive(store: Store):
    store.record_many([make(n, at=T0 + n * 10) for n in range(100)])
    page1, cursor = store.list_events(limit=30)
    store.record_many([make(1000 + n, at=T0 + 5000 + n) for n in range(20)])  # newer than everything
    seen = [r["id"] for r in page1]
    while cursor:
        rows, cursor = store.list_events(limit=30, cursor=cursor)
        seen.extend(r["id"] for r in rows)
    assert seen == [eid(n, T0 + n * 10) for n in reversed(range(100))]


def test_open_events_by_camera(store: Store):
    a, b, c = make(1, camera="cam1"), make(2, camera="cam2"), make(3, camera="cam1", at=T0 + 1)
    store.record_many([a, b, c, c.advance("ended", T0 + 9)])
    assert store.open_events("cam1") == [a]
    assert {e.id for e in store.open_events()} == {a.id, b.id}


@pytest.mark.parametrize("kwargs, message", [
    ({"types": ["nope"]}, "types: unknown value 'nope'; known: unattended, late_opening"),
    ({"phases": "open"}, "phases: unknown value 'open'; known: started, updated, ended"),
    ({"severity": "extreme"}, "severity: unknown value 'extreme'; known: low, medium, high"),
    ({"review_status": ["new", "done"]}, "review_status: unknown value 'done'"),
    ({"window_id": 3}, "window_id: expected a string or a list of strings, got int"),
    ({"camera_id": [""]}, "camera_id: expected non-empty strings"),
    ({"since": "yesterday"}, "since: 'yesterday' is not a time with a zone"),
    ({"until": "2026-11-03T09:00:00"}, "until: '2026-11-03T09:00:00' is not a time with a zone"),
    ({"since": datetime(2026, 11, 3)}, "since: 2026-11-03T00:00:00 has no time zone"),
    ({"since": T0 + 10, "until": T0}, "since (2026-11-02T01:00:10.000Z) is after until"),
    ({"limit": 0}, "limit: expected a whole number from 1 to 500, got 0"),
    ({"limit": "50"}, "limit: expected a whole number from 1 to 500, got '50'"),
    ({"cursor": "garbage!"}, "cursor: not a paging cursor from this server"),
    ({"cursor": "WzEsMiwzXQ"}, "cursor: not a paging cursor from this server"),  # base64 of [1,2,3]
])
def test_bad_filters_are_input_errors(store: Store, kwargs, message):
    with pytest.raises(InputError) as err:
        store.list_events(**kwargs)
    assert message in str(err.value)


# ---- the dashboard's reads: live feed, counts, the week ----

def test_the_live_feed_reads_the_timeline_after_an_id_with_the_review_state_of_now(store: Store):
    assert store.last_log_id() == 0 and store.log_after(0, 10) == []
    started = make(1)
    store.record(started)
    store.record(started.advance("ended", T0 + 40))
    store.record(make(2, type="eating", at=T0 + 5))
    store.set_review(eid(1), "false_positive", "a shadow", "li")
    feed = store.log_after(0, 10)
    assert [(event["id"], event["phase"]) for _, event in feed] == [(eid(1), "started"), (eid(1), "ended"),
                                                                    (eid(2, T0 + 5), "started")]
    assert [log_id for log_id, _ in feed] == sorted(log_id for log_id, _ in feed)
    assert feed[-1][0] == store.last_log_id()
    assert feed[0][1]["review_status"] == "false_positive" and feed[0][1]["review_comment"] == "a shadow"
    assert feed[2][1]["review_status"] == "new" and feed[2][1]["reviewed_by"] is None
    assert store.log_after(feed[0][0], 1) == [feed[1]]
    assert store.counts_by_type() == {"unattended": 1, "eating": 1}
    assert store.counts_by_type(since=T0 + 1) == {"eating": 1}
    assert store.counts_by_type(without_false_positives=True) == {"eating": 1}


def test_the_week_summary_cuts_durations_at_the_week_end_and_sets_false_positives_apart(store: Store):
    day = 86400.0
    midnights = [T0 - 9 * 3600 + k * day for k in range(8)]          # Monday 00:00 in the hall, then each day
    store.record(make(1, at=T0))                                      # Monday, just started (0 s so far)
    store.record(make(2, type="eating", at=T0 + 2 * day, window="w2").advance("ended", T0 + 2 * day + 90))
    late = make(3, at=midnights[7] - 60)                              # Sunday 23:59, still open on Monday:
    store.record(late)
    store.record(late.advance("updated", midnights[7] + 600))        # its duration is cut at the week end
    store.record(make(4, at=T0 + day))
    store.set_review(eid(4, T0 + day), "false_positive")
    store.record(make(5, at=midnights[7] + 10))                       # next week
    week = store.week_summary(midnights, top=2)
    cells = {(c["place"], c["type"]): c for c in week["cells"]}
    assert set(cells) == {("w1", "unattended"), ("w2", "eating")}
    assert cells[("w1", "unattended")]["n"] == 2 and cells[("w2", "eating")]["total"] == 90
    assert week["per_day"] == {0: 1, 2: 1, 6: 1}
    assert week["false_positives"] == 1
    assert [e["id"] for e in week["longest"]] == [eid(2, T0 + 2 * day), eid(3, midnights[7] - 60)]
    assert week["longest"][1]["seconds"] == 60 and week["longest"][0]["started_at"] == iso(T0 + 2 * day)
    with pytest.raises(InputError, match="8 midnights"):
        store.week_summary(midnights[:7], top=2)


# ---- the JSON Schemas in docs/ ----

@pytest.fixture(scope="module")
def validators():
    event_schema = json.loads((ROOT / "docs/event.schema.json").read_text(encoding="utf-8"))
    webhook_schema = json.loads((ROOT / "docs/webhook.schema.json").read_text(encoding="utf-8"))
    for schema in (event_schema, webhook_schema):
        Draft202012Validator.check_schema(schema)
    assert event_schema["$id"].endswith("/v1/event.schema.json")
    registry = Registry().with_resource(event_schema["$id"], Resource.from_contents(event_schema))
    checker = Draft202012Validator.FORMAT_CHECKER
    return (Draft202012Validator(event_schema, format_checker=checker),
            Draft202012Validator(webhook_schema, registry=registry, format_checker=checker), event_schema)


def test_event_schema_lists_the_code_s_types_phases_and_severities(validators):
    _, _, schema = validators
    props = schema["properties"]
    assert props["type"]["enum"] == list(EVENT_TYPES)
    assert props["phase"]["enum"] == list(PHASES)
    assert props["severity"]["enum"] == list(SEVERITIES)
    assert set(schema["required"]) == set(make().to_json())


def test_every_event_and_webhook_payload_validates(validators, store: Store):
    event_validator, webhook_validator, _ = validators
    for n, type in enumerate(EVENT_TYPES):
        window = None if type == "camera_offline" else "w1"
        e = make(n, type=type, window=window, at=T0 + n)
        for step in (e, e.advance("updated", T0 + n + 30), e.advance("ended", T0 + n + 60, clip="c.mp4")):
            event_validator.validate(step.to_json())
            store.record(step)
        store.set_review(e.id, "acknowledged", "看过了" if n % 2 else None, "manager", at=T0 + n + 90)
    payloads = [json.loads(o["body"]) for o in store.outbox_after(0, limit=1000)]
    assert len(payloads) == 4 * len(EVENT_TYPES)
    for payload in payloads:
        webhook_validator.validate(payload)
    assert {p["type"] for p in payloads} == set(MESSAGE_TYPES)


@pytest.mark.parametrize("change", [
    lambda j: j.update(ended_at=None, phase="ended"),
    lambda j: j.update(ended_at=j["updated_at"]),          # ended_at while still started
    lambda j: j.update(type="dancing"),
    lambda j: j.update(started_at="yesterday"),
    lambda j: j.update(extra=1),
    lambda j: j.pop("evidence"),
    lambda j: j.update(id="42"),
])
def test_event_schema_rejects_broken_events(validators, change):
    event_validator, _, _ = validators
    data = make().to_json()
    change(data)
    with pytest.raises(ValidationError):
        event_validator.validate(data)


@pytest.mark.parametrize("type, event", [
    ("event.started", make(type="camera_offline")),      # a camera going offline is camera.offline
    ("camera.online", make(type="camera_offline")),      # ... and comes back online only when it ends
    ("window.paused", make(type="unattended")),
    ("event.ended", make()),
])
def test_webhook_schema_rejects_a_type_that_contradicts_the_data(validators, type, event):
    _, webhook_validator, _ = validators
    with pytest.raises(ValidationError):
        webhook_validator.validate({"type": type, "timestamp": iso(T0), "data": event.to_json()})


# ---- concurrency and durability ----

def test_concurrent_writer_threads_and_a_reader(store: Store, store_target):
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(k: int) -> None:
        try:
            for n in range(10):
                e = make(k * 100 + n, at=T0 + k * 1000 + n, window=f"w{k}")
                store.record(e)
                store.record(e.advance("updated", e.started_at + 1))
                store.record(e.advance("ended", e.started_at + 2))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                rows, _ = store.list_events(limit=20)
                assert store.count_events() >= len(rows)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    read = threading.Thread(target=reader)
    read.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    read.join()
    assert errors == []
    assert store.count_events() == 40 and store.count_events(phases="ended") == 40
    assert count_rows(store_target, "event_log") == 120
    out = store.outbox_after(0, limit=1000)
    assert len(out) == 120 and len({o["id"] for o in out}) == 120
    assert [o["seq"] for o in out] == sorted(o["seq"] for o in out)


def _python(code: str, *args: str) -> subprocess.Popen:
    prelude = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    return subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_reader_process_sees_a_writer_process(store: Store, store_target):
    writer = _python("""
        import json
        from vision.events import Event
        from vision.store.database import Store
        first = Event.from_json(json.loads(sys.argv[2]))
        with Store(sys.argv[1]) as s:
            for n in range(25):
                e = first.advance("started", first.started_at + n, id=f"{first.id[:-3]}{n:03x}",
                                  started_at=first.started_at + n)
                s.record(e)
                s.record(e.advance("ended", e.started_at + 5))
        print("done", flush=True)
    """, str(store_target), json.dumps(make().to_json()))
    counts = []
    while writer.poll() is None:
        counts.append(store.count_events(phases="ended"))
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err
    assert out.strip() == "done"
    assert counts == sorted(counts)  # the reader never saw a half-written state go backwards
    assert store.count_events() == store.count_events(phases="ended") == 25


def test_kill_9_right_after_reporting_loses_nothing(db: Path):
    Store(db).close()
    event = make(type="sleeping", severity="high")
    proc = _python("""
        import time
        from vision.store.database import Store
        import json
        from vision.events import Event
        store = Store(sys.argv[1])
        store.record(Event.from_json(json.loads(sys.argv[2])))
        print("reported", flush=True)
        time.sleep(60)
    """, str(db), json.dumps(event.to_json()))
    try:
        assert proc.stdout.readline().strip() == "reported", proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert Path(f"{db}-wal").stat().st_size > 0  # the commit sits in the WAL, never checkpointed
    with Store(db) as store:
        assert store.event(event.id) == event
        assert [o["type"] for o in store.outbox_after(0)] == ["event.started"]


def test_closed_store_refuses_work(db: Path):
    store = Store(db)
    store.close()
    with pytest.raises(StoreError, match="the store is closed"):
        store.count_events()


def test_memory_databases_are_refused():
    with pytest.raises(InputError, match="give a file path"):
        Store(":memory:")


def test_review_statuses_match_the_table_check(store: Store, store_target):
    store.record(make())
    for status in REVIEW_STATUSES:
        assert store.set_review(eid(1), status, None, "li")["review_status"] == status
