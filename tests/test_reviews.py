"""Shared review (issue 14, items 1 and 2): the review history (处置记录) in the store, one transaction
with the event row and the outbox; the bulk review API with its errors and roles; the ``event.reviewed``
webhook at a real HTTP receiver; review messages on the boards' stream."""

from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from vision.errors import InputError, NotFound
from vision.store.database import Store
from vision.store.reviews import MAX_BULK
from vision.store.schema import LATEST_VERSION, migrate, schema_version

from .test_dashboard import Site, _read_until, login, record
from .test_webhook import ROOT, dispatchers, endpoint, receiver, wait_for  # noqa: F401 - fixtures


@pytest.fixture()
def site(tmp_path, store_target):
    """The dashboard on a store of either back-end (tests/pg_fixtures.py)."""
    s = Site(tmp_path, store_target)
    yield s
    s.store.close()


def ids_of(events) -> list[str]:
    return [e.id for e in events]


# ---- the store ----

def test_history_keeps_every_review_and_the_latest_comment(site):
    ev = record(site.store, "unattended", "w01", time.time() - 900, 5)
    site.store.set_review(ev.id, "acknowledged", "已电话提醒 2号窗口", "zhang", at=1000.0)
    row = site.store.set_review(ev.id, "resolved", None, "li", at=1060.0)      # from the board, no comment
    assert (row["review_status"], row["review_comment"], row["reviewed_by"]) == ("resolved", "已电话提醒 2号窗口", "li")
    row = site.store.set_review(ev.id, "false_positive", "  ", "wang", at=1090.0)  # blank is no comment
    assert row["review_comment"] == "已电话提醒 2号窗口"
    history = site.store.reviews(ev.id)
    assert [(r["status"], r["comment"], r["user"], r["at"]) for r in history] == [
        ("acknowledged", "已电话提醒 2号窗口", "zhang", "1970-01-01T00:16:40.000Z"),
        ("resolved", None, "li", "1970-01-01T00:17:40.000Z"),
        ("false_positive", None, "wang", "1970-01-01T00:18:10.000Z")]
    kinds = [m["type"] for m in site.store.outbox_after(0)]
    assert kinds == ["event.started", "event.ended"] + ["event.reviewed"] * 3
    with pytest.raises(NotFound):
        site.store.reviews("evt_nope")


def test_bulk_review_is_one_transaction_all_or_nothing(site):
    events = [record(site.store, "phone_use", "w02", time.time() - 600 + i, 1) for i in range(3)]
    outbox_before = len(site.store.outbox_after(0))
    with pytest.raises(NotFound, match="evt_missing.*nothing was reviewed"):
        site.store.review_events([*ids_of(events), "evt_missing"], "resolved", "批量", "zhang")
    assert all(site.store.get_event(e.id)["review_status"] == "new" and site.store.reviews(e.id) == [] for e in events)
    assert len(site.store.outbox_after(0)) == outbox_before
    done = site.store.review_events([*ids_of(events), events[0].id], "resolved", "批量", "zhang")
    assert [d["id"] for d in done] == ids_of(events)                       # a repeated id counts once
    assert all(len(site.store.reviews(e.id)) == 1 for e in events)
    assert len(site.store.outbox_after(0)) == outbox_before + 3
    for bad, words in (([], "at least one"), ("evt_x", "a list"), ([1], r"ids\[0\]"),
                       (["e"] * (MAX_BULK + 1), f"at most {MAX_BULK}")):
        with pytest.raises(InputError, match=words):
            site.store.review_events(bad, "resolved")
    with pytest.raises(InputError, match="review status"):
        site.store.review_events(ids_of(events), "done")


def test_a_version_8_file_is_upgraded_keeping_its_review_outbox_and_deliveries(tmp_path):
    """Migration 9 rebuilds the outbox (a message may now be a review): an old file keeps every message
    with its seq and id, every delivery, the dispatcher's cursor, and its last reviews become history."""
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    assert migrate(conn, target=8) == 8
    t = 1_790_000_000.0
    for i, eid in enumerate(("evt_a", "evt_b")):
        conn.execute("INSERT INTO events (id, type, camera_id, window_id, phase, severity, started_at, updated_at,"
                     " review_status, review_comment, reviewed_by, reviewed_at) VALUES (?, 'eating', 'cam-a', 'w01',"
                     " 'started', 'low', ?, ?, ?, ?, ?, ?)",
                     (eid, t + i, t + i, *(("acknowledged", "看过", "zhang", t + 50) if i == 0 else ("new", None, None, None))))
        log_id = conn.execute("INSERT INTO event_log (event_id, phase, at, severity, json) VALUES (?, 'started', ?,"
                              " 'low', '{}')", (eid, t + i)).lastrowid
        conn.execute("INSERT INTO outbox (id, log_id, event_id, type, payload, created_at) VALUES (?, ?, ?,"
                     " 'event.started', '{}', ?)", (f"msg_{i}", log_id, eid, t + i))
    conn.execute("INSERT INTO deliveries (outbox_id, endpoint_id, status, attempts, seq) VALUES ('msg_0', 'ep1',"
                 " 'delivered', 1, 1)")
    conn.execute("UPDATE webhook_cursor SET seq = 2")
    conn.close()

    with Store(db) as s:
        conn = s._conn()
        assert schema_version(conn) == LATEST_VERSION >= 9
        assert [(m["seq"], m["id"]) for m in s.outbox_after(0)] == [(1, "msg_0"), (2, "msg_1")]
        assert [tuple(r) for r in conn.execute("SELECT outbox_id, status, seq FROM deliveries")] == [("msg_0", "delivered", 1)]
        assert conn.execute("SELECT seq FROM webhook_cursor").fetchone()[0] == 2
        assert [(r["status"], r["comment"], r["user"]) for r in s.reviews("evt_a")] == [("acknowledged", "看过", "zhang")]
        assert s.reviews("evt_b") == []
        s.set_review("evt_b", "resolved", None, "li")
        msg = s.outbox_after(2)
        assert [(m["seq"], m["type"]) for m in msg] == [(3, "event.reviewed")]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.IntegrityError):   # a message is a transition or a review, never neither
            with s.write() as w:
                w.execute("INSERT INTO outbox (id, event_id, type, payload, created_at) VALUES"
                          " ('msg_x', 'evt_a', 'event.reviewed', '{}', 0)")


# ---- the API ----

def test_bulk_review_api_roles_errors_and_history(site):
    events = [record(site.store, "unattended", "w01", time.time() - 900 + i, 2) for i in range(4)]
    manager, viewer = site.client(), site.client()
    m_csrf, v_csrf = login(manager, "manager"), login(viewer, "viewer")
    body = {"ids": ids_of(events[:3]), "status": "acknowledged", "comment": "已巡查"}

    assert viewer.post("/api/events/review", json=body, headers={"X-CSRF-Token": v_csrf}).status_code == 403
    assert manager.post("/api/events/review", json=body).status_code == 403          # no CSRF token
    cases = [
        ({"status": "acknowledged"}, 400, "ids: required"),
        ({**body, "ids": []}, 400, "at least one"),
        ({**body, "ids": "evt_x"}, 400, "a list"),
        ({**body, "ids": [None]}, 400, r"ids\[0\]"),
        ({**body, "ids": ["evt_x"] * (MAX_BULK + 1)}, 400, f"at most {MAX_BULK}"),
        ({**body, "status": "new"}, 400, "status: unknown value"),
        ({**body, "comment": "x" * 2001}, 400, "at most 2000"),
        ({**body, "extra": 1}, 400, "unknown field 'extra'"),
        ({**body, "ids": [events[0].id, "evt_nope"]}, 404, "evt_nope"),
    ]
    for data, status, words in cases:
        resp = manager.post("/api/events/review", json=data, headers={"X-CSRF-Token": m_csrf})
        assert resp.status_code == status, (data, resp.text)
        assert re.search(words, resp.get_json()["error"]["message"]), resp.text
    assert all(site.store.reviews(e.id) == [] for e in events)                      # none of that wrote anything

    resp = manager.post("/api/events/review", json=body, headers={"X-CSRF-Token": m_csrf})
    assert resp.status_code == 200, resp.text
    out = resp.get_json()
    assert out["reviewed"] == 3 and [e["id"] for e in out["events"]] == body["ids"]
    assert all(e["review_status"] == "acknowledged" and e["reviewed_by"] == "manager" for e in out["events"])
    # then one of them is resolved from the board without a comment: the comment stays, the history has both
    resp = manager.post(f"/events/{events[0].id}/review", json={"status": "resolved"}, headers={"X-CSRF-Token": m_csrf})
    assert resp.status_code == 200
    one = viewer.get(f"/api/events/{events[0].id}").get_json()
    assert (one["review_status"], one["review_comment"]) == ("resolved", "已巡查")
    assert [(r["status"], r["comment"], r["user"]) for r in one["reviews"]] == [
        ("acknowledged", "已巡查", "manager"), ("resolved", None, "manager")]
    listed = viewer.get(f"/api/events/{events[0].id}/reviews").get_json()
    assert listed == {"event_id": events[0].id, "reviews": one["reviews"]}
    assert viewer.get(f"/api/events/{events[3].id}").get_json()["reviews"] == []
    assert viewer.get("/api/events/evt_nope/reviews").status_code == 404

    # the event page shows the history with who and when, and the neighbours in the list's order
    page = manager.get(f"/events/{events[1].id}").text
    assert "处置记录" in page and "已巡查" in page and 'id="next-event"' in page and 'id="prev-event"' in page
    assert f'href="/events/{events[3].id}"' in page          # next unreviewed: the only new one left


# ---- the webhook ----

def test_event_reviewed_reaches_a_real_receiver_signed_and_valid(site, receiver, dispatchers):  # noqa: F811
    event_schema = json.loads((ROOT / "docs/event.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(
        json.loads((ROOT / "docs/webhook.schema.json").read_text(encoding="utf-8")),
        registry=Registry().with_resource(event_schema["$id"], Resource.from_contents(event_schema)),
        format_checker=Draft202012Validator.FORMAT_CHECKER)
    endpoint(site.store, receiver, types=["event.reviewed"])      # only reviews: the transitions are not sent
    events = [record(site.store, "sleeping", "w01", time.time() - 300 + i, 1) for i in range(2)]
    site.store.review_events(ids_of(events), "false_positive", "是访客", "manager")
    dispatchers(site.store)
    wait_for(lambda: len(receiver.got) == 2, what="2 event.reviewed deliveries")
    bodies = [json.loads(g["body"]) for g in receiver.got]
    assert all(g["valid"] == [True] for g in receiver.got)
    for body, ev in zip(bodies, events):
        validator.validate(body)
        assert body["type"] == "event.reviewed" and body["data"]["id"] == ev.id and body["data"]["phase"] == "ended"
        assert {k: body["review"][k] for k in ("event_id", "status", "comment", "user")} == \
            {"event_id": ev.id, "status": "false_positive", "comment": "是访客", "user": "manager"}
        assert body["timestamp"] == body["review"]["at"]
    broken = {**bodies[0]}
    broken.pop("review")
    assert not validator.is_valid(broken)                        # event.reviewed without its review


# ---- the boards' stream ----

def test_a_review_reaches_an_open_stream_and_resume_replays_it(site):
    site.app.config.update(HM_SSE_POLL_S=0.05, HM_SSE_HEARTBEAT_S=0.2, HM_SSE_MAX_S=5)
    ev = record(site.store, "eating", "w02", time.time() - 100, 1)
    board = site.client("viewer")
    resp = board.get("/events/stream", buffered=False)
    chunks = iter(resp.response)
    _read_until(chunks, "event: board")
    site.store.set_review(ev.id, "acknowledged", "去看了", "manager")     # another session, or the API
    text = _read_until(chunks, "event: review")
    text = _read_until(chunks, "\n\n") if not text.endswith("\n\n") else text
    msg = re.search(r"id: (\d+)\nevent: review\ndata: (.*)\n\n", text)
    data = json.loads(msg.group(2))
    assert data["id"] == ev.id and data["review_status"] == "acknowledged" and data["review_comment"] == "去看了"
    assert data["review"]["user"] == "manager" and data["seq"] == int(msg.group(1))
    resp.close()
    resp = board.get("/events/stream", headers={"Last-Event-ID": str(int(msg.group(1)) - 1)}, buffered=False)
    assert "去看了" in _read_until(iter(resp.response), "event: review")
    resp.close()
