"""The rota (排班) on a real SQLite store: parsing names the CSV line and column, an import is all or
nothing, overlaps are refused with what to fix, and events name who was on duty when they started."""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

import pytest

from vision.events import Event, new_event_id
from vision.rota import RotaError, parse_csv, parse_rows, parse_time
from vision.store.database import Store
from vision.store.schema import migrate

TZ = ZoneInfo("Asia/Shanghai")
WINDOWS = {"w01": "1号窗口", "w02": "2号窗口"}
CSV = """窗口,姓名,工号,开始,结束
1号窗口,张三,1001,2026-12-01 08:30,2026-12-01 12:00
w01,李四,1002,2026-12-01 13:00,2026-12-01 17:30
2号窗口,王五,1003,2026/12/1 8:30,2026/12/1 17:30
"""


def at(text: str) -> float:
    ts = parse_time(text, TZ)
    assert ts is not None
    return ts


@pytest.fixture()
def store(store_target):
    s = Store(store_target)     # both back-ends (tests/pg_fixtures.py)
    yield s
    s.close()


def event(store: Store, window: str | None, start: str, type_: str = "phone_use") -> Event:
    ts = at(start)
    ev = Event(id=new_event_id(ts), type=type_, camera_id="cam-a", window_id=window, phase="started",
               severity="medium", started_at=ts, updated_at=ts)
    store.record(ev)
    return ev


def test_a_csv_rota_reads_with_chinese_headers_window_names_and_slashed_dates():
    shifts = parse_csv(CSV.encode("utf-8-sig"), WINDOWS, TZ)
    assert [(s.window_id, s.staff_name, s.staff_number, s.line) for s in shifts] == [
        ("w01", "张三", "1001", 2), ("w01", "李四", "1002", 3), ("w02", "王五", "1003", 4)]
    assert shifts[0].starts_at == at("2026-12-01T08:30+08:00") == 1796085000.0
    assert shifts[2].ends_at - shifts[2].starts_at == 9 * 3600


@pytest.mark.parametrize("text, problems", [
    ("window,staff_name,staff_number,from\nw01,a,1,2026-12-01 08:00\n",
     ["line 1: no column to"]),
    ("window,staff_name,staff_number,from,to,colour\n",
     ["line 1, column colour: unknown column colour"]),
    ("window,staff_name,staff_number,from,to\nw09,a,1,2026-12-01 08:00,2026-12-01 09:00\n",
     ["line 2, column window: no window w09 in this hall"]),
    ("window,staff_name,staff_number,from,to\nw01,,1,2026-12-01 8:00,tomorrow\n",
     ["line 2, column staff_name: empty", "line 2, column to: tomorrow is not a date-time"]),
    ("window,staff_name,staff_number,from,to\nw01,a,1,2026-12-01 12:00,2026-12-01 08:00\n",
     ["line 2, column to: the shift ends (2026-12-01 08:00) before it starts"]),
    ("窗口,姓名,工号,开始,结束\nw01,a,1,2026-12-01 08:00,2026-12-02 09:00\n",
     ["line 2, column 结束: the shift is 25 hours long"]),
    ("window,staff_name,staff_number,from,to\nw01,a,1,2026-12-01 08:00,2026-12-01 12:00\n"
     "w01,b,2,2026-12-01 11:00,2026-12-01 13:00\n",
     ["line 3, column from: b (2026-12-01 11:00–2026-12-01 13:00) overlaps a (2026-12-01 08:00–2026-12-01 12:00) "
      "on line 2 at window w01"]),
    ("window,staff_name,staff_number,from,to\nw01,a,1,2026-12-01 08:00,2026-12-01 12:00\n"
     "w02,a,1,2026-12-01 11:00,2026-12-01 13:00\n",
     ["line 3, column from: a (工号 1) is on window w02"]),
    ("window,staff_name,staff_number,from,to\nw01,a,1,2026-12-01 08:00,2026-12-01 12:00\n"
     "\nw02,b,1,2026-12-02 08:00,2026-12-02 12:00\n",
     ["line 4, column staff_name: 工号 1 is b here but a on line 2"]),
    ("", ["the rota: the file has no shifts"]),
])
def test_csv_problems_name_the_line_and_the_column(text, problems):
    with pytest.raises(RotaError) as caught:
        parse_csv(text.encode(), WINDOWS, TZ)
    found = [p.message() for p in caught.value.problems]
    assert len(found) == len(problems), found
    for message, expected in zip(found, problems, strict=True):
        assert message.startswith(expected), (message, expected)


def test_json_problems_name_the_item_and_the_field():
    with pytest.raises(RotaError) as caught:
        parse_rows([{"window": "w01", "staff_name": "a", "staff_number": "1", "from": "2026-12-01 08:00",
                     "to": "2026-12-01 09:00"}, {"window": "w01", "staff_name": "b", "staff_number": "2",
                                                 "from": "x", "to": "2026-12-01 10:00"}], WINDOWS, TZ)
    [problem] = caught.value.problems
    assert problem.message().startswith("shifts[1].from: x is not a date-time")
    assert problem.to_json()["item"] == 1 and problem.to_json()["line"] is None


def test_an_event_names_who_was_on_duty_when_it_started_and_keeps_it(store):
    store.import_rota(parse_csv(CSV, WINDOWS, TZ), TZ, user="admin")
    morning = event(store, "w01", "2026-12-01 11:59")
    afternoon = event(store, "w01", "2026-12-01 13:00")
    lunch = event(store, "w01", "2026-12-01 12:30")
    whole_camera = event(store, None, "2026-12-01 10:00", "camera_offline")
    assert store.get_event(morning.id)["staff"] == {"name": "张三", "number": "1001"}
    assert store.get_event(afternoon.id)["staff"] == {"name": "李四", "number": "1002"}
    assert store.get_event(lunch.id)["staff"] is None and store.get_event(whole_camera.id)["staff"] is None
    # it ends after the shift: still the person on duty at its start, on the row, timeline and webhook body
    store.record(morning.advance("ended", at("2026-12-01 12:20")))
    assert store.get_event(morning.id)["staff"]["number"] == "1001"
    assert [s["event"]["staff"]["number"] for s in store.timeline(morning.id)] == ["1001", "1001"]
    assert all('"staff":{"name":"张三","number":"1001"}' in m["body"] for m in store.outbox_after(0)
               if m["event_id"] == morning.id)


def test_a_late_rota_attributes_the_past_events_that_name_nobody(store):
    early = event(store, "w01", "2026-12-01 09:00")
    other_window = event(store, "w02", "2026-12-01 09:00")
    outside = event(store, "w01", "2026-12-01 18:00")
    result = store.import_rota(parse_csv(CSV, WINDOWS, TZ), TZ, user="admin")
    assert result == {"mode": "add", "imported": 3, "replaced": 0, "attributed": 2}
    assert store.get_event(early.id)["staff"]["name"] == "张三"
    assert store.get_event(other_window.id)["staff"]["name"] == "王五"
    assert store.get_event(outside.id)["staff"] is None


def test_an_overlapping_import_is_refused_whole_and_says_what_to_fix(store):
    store.import_rota(parse_csv(CSV, WINDOWS, TZ), TZ)
    clash = ("window,staff_name,staff_number,from,to\n"
             "w02,赵六,1004,2026-12-02 08:30,2026-12-02 12:00\n"       # fine on its own
             "w01,赵六,1004,2026-12-01 11:00,2026-12-01 12:30\n")       # over 张三's morning
    with pytest.raises(RotaError) as caught:
        store.import_rota(parse_csv(clash, WINDOWS, TZ), TZ)
    [problem] = caught.value.problems
    assert problem.line == 3 and problem.code == "overlaps_stored"
    assert "张三 (2026-12-01 08:30–2026-12-01 12:00)" in problem.message() and "mode replace" in problem.message()
    assert len(store.rota()) == 3                                       # the good line was not imported either


def test_replace_corrects_the_rota_and_re_attributes_its_events(store):
    store.import_rota(parse_csv(CSV, WINDOWS, TZ), TZ)
    morning = event(store, "w01", "2026-12-01 10:00")
    kept = event(store, "w02", "2026-12-01 10:00")
    fix = "window,staff_name,staff_number,from,to\nw01,赵六,1004,2026-12-01 08:30,2026-12-01 12:00\n"
    result = store.import_rota(parse_csv(fix, WINDOWS, TZ), TZ, mode="replace", user="admin")
    assert result == {"mode": "replace", "imported": 1, "replaced": 1, "attributed": 1}
    assert store.get_event(morning.id)["staff"] == {"name": "赵六", "number": "1004"}
    assert store.get_event(kept.id)["staff"]["name"] == "王五"
    assert [(s["window_id"], s["staff_name"]) for s in store.rota()] == [
        ("w01", "赵六"), ("w02", "王五"), ("w01", "李四")]
    assert store.rota()[0]["imported_by"] == "admin"


def test_people_summary_counts_events_per_behaviour_and_time_on_duty(store):
    store.import_rota(parse_csv(CSV, WINDOWS, TZ), TZ)
    for t in ("09:00", "09:30"):
        event(store, "w01", f"2026-12-01 {t}")
    event(store, "w01", "2026-12-01 10:00", "eating")
    fp = event(store, "w01", "2026-12-01 10:30")
    store.set_review(fp.id, "false_positive")
    event(store, "w01", "2026-12-01 12:30", "unattended")              # nobody on the rota
    people = store.people_summary(at("2026-12-01 00:00"), at("2026-12-01 10:00"))   # cut at 10:00
    by = {p["number"]: p for p in people}
    assert by["1001"]["counts"] == {"phone_use": 2} and by["1001"]["duty_s"] == 1.5 * 3600
    assert by["1003"]["duty_s"] == 1.5 * 3600 and by["1003"]["events"] == 0
    day = {p["number"]: p for p in store.people_summary(at("2026-12-01 00:00"), at("2026-12-02 00:00"))}
    assert day["1001"]["counts"] == {"phone_use": 2, "eating": 1} and day["1002"]["duty_s"] == 4.5 * 3600
    assert day[None]["counts"] == {"unattended": 1} and list(day)[-1] is None


def test_migration_13_gives_old_events_an_empty_staff_member(tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, target=11) == 11
    conn.execute("INSERT INTO events (id, type, camera_id, window_id, phase, severity, started_at, updated_at)"
                 " VALUES ('evt_old', 'eating', 'cam-a', 'w01', 'started', 'low', 1796086800, 1796086800)")
    conn.close()
    with Store(db) as s:
        assert s.get_event("evt_old")["staff"] is None
        s.import_rota(parse_csv(CSV, WINDOWS, TZ), TZ)
        assert s.get_event("evt_old")["staff"] == {"name": "张三", "number": "1001"}
