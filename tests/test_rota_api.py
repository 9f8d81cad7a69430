"""/api/rota over real HTTP (the real server on a free port, a write token): JSON and CSV imports, the
400 that lists every problem by line and column with nothing imported, replace re-attributing past
events, and the event JSON (API and webhook body) naming who was on duty."""

from __future__ import annotations

import json

import pytest
import requests

from dashboard.accounts import Accounts
from dashboard.server import WebServer
from vision.events import Event, new_event_id

from .test_dashboard import Site, local_ts


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("rota-api"))
    _, token = Accounts(site.store).create_token("hr-system", "write")
    _, read = Accounts(site.store).create_token("reader", "read")
    server = WebServer(site.app, "127.0.0.1", 0, threads=4).start()
    yield {"site": site, "url": server.url.rstrip("/"), "auth": {"Authorization": f"Bearer {token}"},
           "read": {"Authorization": f"Bearer {read}"}}
    server.stop()
    site.store.close()


def shift(window, name, number, start, end) -> dict:
    return {"window": window, "staff_name": name, "staff_number": number, "from": start, "to": end}


def test_json_import_then_events_name_the_staff_member_on_duty(served):
    url, auth, store = served["url"], served["auth"], served["site"].store
    start = local_ts(2026, 11, 2, 9, 15)
    ev = Event(id=new_event_id(start), type="phone_use", camera_id="cam-a", window_id="w01", phase="started",
               severity="medium", started_at=start, updated_at=start)
    store.record(ev)                                        # recorded before the rota arrived
    r = requests.post(f"{url}/api/rota", headers=auth, timeout=10, json={"shifts": [
        shift("w01", "张三", "1001", "2026-11-02 08:30", "2026-11-02 12:00"),
        shift("2号窗口", "李四", "1002", "2026-11-02 08:30", "2026-11-02 12:00")]})
    assert r.status_code == 201, r.text
    assert r.json() == {"mode": "add", "imported": 2, "replaced": 0, "attributed": 1}
    got = requests.get(f"{url}/api/events/{ev.id}", headers=auth, timeout=10).json()
    assert got["staff"] == {"name": "张三", "number": "1001"}
    later = local_ts(2026, 11, 2, 10, 0)
    ev2 = Event(id=new_event_id(later), type="eating", camera_id="cam-a", window_id="w02", phase="started",
                severity="low", started_at=later, updated_at=later)
    store.record(ev2)                                       # recorded with the rota in place
    body = json.loads(store.outbox_after(0)[-1]["body"])
    assert body["data"]["staff"] == {"name": "李四", "number": "1002"}           # the webhook's data
    listed = requests.get(f"{url}/api/rota", headers=served["read"], timeout=10,
                          params={"since": "2026-11-02T00:00:00+08:00", "until": "2026-11-03T00:00:00+08:00",
                                  "window": "w02"}).json()
    assert [(s["staff_name"], s["from"]) for s in listed["shifts"]] == [("李四", "2026-11-02T00:30:00.000Z")]


def test_a_bad_csv_is_refused_whole_with_its_lines_and_columns(served):
    url, auth = served["url"], served["auth"]
    before = requests.get(f"{url}/api/rota", headers=auth, timeout=10, params={"since": 0}).json()["shifts"]
    csv_text = ("窗口,姓名,工号,开始,结束\n"
                "w03,王五,1003,2026-11-03 08:30,2026-11-03 12:00\n"        # fine
                "w01,赵六,1004,2026-11-02 11:00,2026-11-02 13:00\n"        # over 张三's stored morning
                "w02,钱七,1005,2026-11-03 14:00,2026-11-03 13:00\n")       # ends before it starts
    r = requests.post(f"{url}/api/rota", headers={**auth, "Content-Type": "text/csv; charset=utf-8"},
                      data=csv_text.encode("utf-8"), timeout=10)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["message"].startswith("the rota was not imported, nothing changed")
    where = [(p["line"], p["column"], p["heading"], p["code"]) for p in error["problems"]]
    assert where == [(4, "to", "结束", "end_before_start")]                          # the file's own problems first
    # fixed, the overlap with what is stored is next, naming the stored shift
    r = requests.post(f"{url}/api/rota", headers={**auth, "Content-Type": "text/csv"}, timeout=10,
                      data=csv_text.replace("2026-11-03 13:00", "2026-11-03 17:00").encode())
    [problem] = r.json()["error"]["problems"]
    assert (problem["line"], problem["code"]) == (3, "overlaps_stored") and "张三" in problem["message"]
    after = requests.get(f"{url}/api/rota", headers=auth, timeout=10, params={"since": 0}).json()["shifts"]
    assert after == before                                   # not the good lines either


def test_replace_by_csv_re_attributes_and_bad_requests_are_4xx_json(served):
    url, auth, store = served["url"], served["auth"], served["site"].store
    ev = store.list_events(window_id="w01")[0][0]
    assert ev["staff"]["number"] == "1001"
    fix = "window,staff_name,staff_number,from,to\nw01,赵六,1004,2026-11-02 08:30,2026-11-02 12:00\n"
    r = requests.post(f"{url}/api/rota?mode=replace", headers={**auth, "Content-Type": "text/csv"},
                      data=fix.encode(), timeout=10)
    assert r.status_code == 201 and r.json()["replaced"] == 1 and r.json()["attributed"] == 1
    assert store.get_event(ev["id"])["staff"] == {"name": "赵六", "number": "1004"}
    for kwargs, status in [
        ({"json": {"shifts": [], "mode": "add"}}, 400),
        ({"json": {"shifts": [shift("w01", "a", "1", "x", "y")], "mode": "merge"}}, 400),
        ({"json": {"rows": []}}, 400),
        ({"data": b"window\n", "headers": {"Content-Type": "application/xml"}}, 415),
        ({"data": b"a" * (2 * 1024 * 1024), "headers": {"Content-Type": "text/csv"}}, 413),
    ]:
        headers = {**auth, **kwargs.pop("headers", {})}
        r = requests.post(f"{url}/api/rota", headers=headers, timeout=10, **kwargs)
        assert r.status_code == status, (kwargs, r.text)
        assert r.json()["error"]["status"] == status
    r = requests.post(f"{url}/api/rota", headers=served["read"], json={"shifts": []}, timeout=10)
    assert r.status_code == 403                                              # a read token cannot import
