"""The smaller defects a hall manager saw (issue 14, item 9), each through the Flask test client on a real
SQLite store: the report's trend when last week had none, plural forms, a malformed paging cursor,
unscored events, the event page's times, the favicon."""

from __future__ import annotations

import re

import pytest

from vision.events import Event, new_event_id

from .test_dashboard import Site, local_ts, record


@pytest.fixture()
def site(tmp_path) -> Site:
    return Site(tmp_path)


@pytest.mark.parametrize("lang, new", [("zh-CN", "新增"), ("en", "new")])
def test_a_trend_against_an_empty_week_says_new_not_infinity(site, lang, new):
    record(site.store, "phone_use", "w01", local_ts(2026, 11, 11, 10, 0), 2)     # 2026-W46 only
    html = site.client("viewer").get(f"/report?week=2026-W46&lang={lang}").text
    assert "∞" not in html
    row = re.search(r'<tr data-place="w01">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[0] == new      # the trend cell
    card = re.search(r'id="total-events">.*?<span class="trend">([^<]*)</span>', html, re.S).group(1)
    assert card.endswith(f" 0 ({new})")                                      # the total's card
    w02 = re.search(r'<tr data-place="w02">(.*?)</tr>', html, re.S).group(1)
    assert "—" in w02                                                        # none in either week: no trend


@pytest.mark.parametrize("n, en, zh", [(1, "1 event", "共 1 条事件"), (2, "2 events", "共 2 条事件")])
def test_counts_take_the_english_plural_and_chinese_has_none(site, n, en, zh):
    for i in range(n):
        record(site.store, "eating", "w01", local_ts(2026, 11, 11, 10, i), 1)
    client = site.client("viewer")
    assert re.search(r'id="events-total">([^<]*)<', client.get("/events?lang=en").text).group(1) == en
    assert re.search(r'id="events-total">([^<]*)<', client.get("/events?lang=zh-CN").text).group(1) == zh
    report = client.get("/report?week=2026-W46&lang=en").text
    card = re.search(r'id="total-events">\d+</span><span>([^<]*)<', report).group(1)
    assert card == ("event" if n == 1 else "events")


# base64 of garbage, of [1, 2, 3], of [1e500, "a"] (infinity), and a cursor cut short
BAD_CURSORS = ["garbage!", "WzEsMiwzXQ", "WzFlNTAwLCJhIl0", "WzE3NjMxN"]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_malformed_cursor_is_a_400_that_says_what_a_cursor_is(site, cursor):
    record(site.store, "eating", "w01", local_ts(2026, 11, 11, 10, 0), 1)
    client = site.client("viewer")
    for path, headers in (("/api/events", {}), ("/events", {"Accept": "application/json"})):
        resp = client.get(f"{path}?cursor={cursor}", headers=headers)
        assert resp.status_code == 400 and resp.is_json, (path, resp.status_code)
        message = resp.get_json()["error"]["message"]
        assert message.startswith("cursor: ") and "next_cursor" in message and "first page" in message
        assert "list_events" not in message and "Traceback" not in message
    page = client.get(f"/events?cursor={cursor}&lang=zh-CN")
    assert page.status_code == 400 and "翻页链接无效" in page.text and "cursor:" not in page.text
    assert 'href="/events"' in page.text                                   # the way back to the first page
    good = client.get("/api/events?limit=1").get_json()
    assert client.get(f"/api/events?cursor={good['next_cursor'] or ''}").status_code == 200


def test_an_unattended_window_has_no_score_in_the_api_or_the_page(site):
    start = local_ts(2026, 11, 11, 10, 0)
    empty = record(site.store, "unattended", "w01", start, 5)
    phone = Event(id=new_event_id(start), type="phone_use", camera_id="cam-a", window_id="w02", phase="started",
                  severity="medium", started_at=start, updated_at=start, score=0.87)
    site.store.record(phone)
    client = site.client("viewer")
    assert client.get(f"/api/events/{empty.id}").get_json()["score"] is None
    assert [e["score"] for e in client.get("/api/events").get_json()["events"] if e["id"] == empty.id] == [None]
    assert client.get(f"/api/events/{empty.id}/timeline").get_json()["timeline"][0]["event"]["score"] is None
    assert client.get(f"/api/events/{phone.id}").get_json()["score"] == 0.87
    score = re.compile(r'id="event-score">([^<]*)<')
    assert score.search(client.get(f"/events/{empty.id}").text).group(1) == "—"
    assert score.search(client.get(f"/events/{phone.id}").text).group(1) == "0.87"


def test_the_event_pages_timeline_and_header_give_the_same_start_and_end(site):
    # as the rules write it: dated from when the window emptied (09:58:00), reported after the grace
    # (10:00:30), ended when staff came back (10:04:10), reported once the return held (10:04:40)
    began, fired = local_ts(2026, 11, 11, 9, 58, 0), local_ts(2026, 11, 11, 10, 0, 30)
    ev = Event(id=new_event_id(began), type="unattended", camera_id="cam-a", window_id="w01", phase="started",
               severity="medium", started_at=began, updated_at=fired)
    site.store.record(ev)
    site.store.record(ev.advance("updated", local_ts(2026, 11, 11, 10, 2, 30)))
    site.store.record(ev.advance("ended", local_ts(2026, 11, 11, 10, 4, 40), ended_at=local_ts(2026, 11, 11, 10, 4, 10)))
    html = site.client("viewer").get(f"/events/{ev.id}?lang=en").text
    header = (re.search(r'id="event-started">([^<]*)<', html).group(1), re.search(r'id="event-ended">([^<]*)<', html).group(1))
    assert header == ("2026-11-11 09:58:00", "2026-11-11 10:04:10")          # the hall's zone, Asia/Shanghai
    steps = re.findall(r'<li class="phase-(\w+)"><time>([^<]*)</time>(.*?)</li>', html.split('class="timeline"')[1], re.S)
    assert [(phase, at) for phase, at, _ in steps] == [
        ("started", header[0]), ("updated", "2026-11-11 10:02:30"), ("ended", header[1])]
    assert "reported 10:00:30" in steps[0][2] and "reported 10:04:40" in steps[2][2] and "reported" not in steps[1][2]


def test_the_pages_link_a_favicon_that_is_served_without_a_login(site):
    anonymous = site.client()
    link = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', anonymous.get("/login").text).group(1)
    for path in (link, "/favicon.ico"):
        resp = anonymous.get(path)
        assert resp.status_code == 200 and resp.mimetype == "image/svg+xml", path
        assert resp.data.lstrip().startswith(b"<svg") and b"http" not in resp.data.replace(
            b'xmlns="http://www.w3.org/2000/svg"', b"")                   # nothing to fetch: it works offline
    assert link in site.client("viewer").get("/").text
