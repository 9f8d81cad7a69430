"""Open boards over real HTTP against the real server (dashboard/server.py): many event streams at once
do not take the API's threads, a board that goes frees its place at once, a disabled user's stream ends."""

from __future__ import annotations

import re
import socket
import time

import pytest
import requests

from dashboard.accounts import Accounts
from dashboard.server import WebServer
from tests.test_dashboard import PASSWORD, Site, record


@pytest.fixture()
def served(tmp_path):
    site = Site(tmp_path)
    site.app.config.update(HM_SSE_POLL_S=0.1, HM_SSE_HEARTBEAT_S=0.5, HM_SSE_MAX_S=60)
    server = WebServer(site.app, "127.0.0.1", 0, threads=8).start()
    yield site, server, server.url.rstrip("/")
    server.stop()
    site.store.close()


def session_cookie(url: str, username: str) -> str:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{url}/login", timeout=5).text).group(1)
    resp = s.post(f"{url}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                  allow_redirects=False, timeout=5)
    assert resp.status_code == 302, resp.text
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


def open_stream(url: str, cookie: str, extra: str = "") -> socket.socket:
    """A raw HTTP/1.1 stream request (as a browser's EventSource sends it); the response is read by the caller."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(f"GET /events/stream HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                 f"Cookie: {cookie}\r\n{extra}\r\n".encode())
    return sock


def read_until(sock: socket.socket, needle: bytes, timeout: float = 5.0) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while needle not in data:
        assert time.monotonic() < deadline, f"{needle!r} not in the stream: {data[-400:]!r}"
        chunk = sock.recv(65536)
        assert chunk, f"the stream closed before {needle!r}: {data[-400:]!r}"
        data += chunk
    return data


def test_thirty_open_boards_leave_the_api_fast_and_each_gets_the_alert(served):
    site, server, url = served
    cookie = session_cookie(url, "viewer")
    streams = [open_stream(url, cookie) for _ in range(30)]
    for s in streams:
        head = read_until(s, b"event: board")
        assert b"200 OK" in head and b"text/event-stream" in head and b"retry: 2000" in head
    worst = 0.0
    for _ in range(20):
        t0 = time.monotonic()
        resp = requests.get(f"{url}/api/health", headers={"Cookie": cookie}, timeout=3)
        worst = max(worst, time.monotonic() - t0)
        assert resp.status_code == 200
    assert worst < 0.5, f"with 30 boards open /api/health took {worst:.2f} s"
    ev = record(site.store, "sleeping", "w01", time.time(), None, severity="high")
    for s in streams:
        text = read_until(s, ev.id.encode())
        assert re.search(rb"id: \d+\nevent: alert\ndata: \{[^\n]*" + ev.id.encode(), text)
    assert len(server.site.hub.boards) == 30
    for s in streams:
        s.close()
    deadline = time.monotonic() + 1.0           # well before the next heartbeat (0.5 s) would find out
    while server.site.hub.boards and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not server.site.hub.boards, f"{len(server.site.hub.boards)} closed boards still hold a place"


def test_a_board_that_goes_frees_its_place_at_once(served):
    site, server, url = served
    site.app.config.update(HM_SSE_HEARTBEAT_S=30)     # no heartbeat would find out
    sock = open_stream(url, session_cookie(url, "viewer"))
    read_until(sock, b"event: board")
    assert len(server.site.hub.boards) == 1
    sock.close()
    t0 = time.monotonic()
    while server.site.hub.boards:
        assert time.monotonic() - t0 < 1.0, "a closed board still holds its place"
        time.sleep(0.02)


def test_resume_and_refusal_and_a_disabled_users_stream(served):
    site, server, url = served
    cookie = session_cookie(url, "viewer")
    first = record(site.store, "eating", "w02", time.time() - 50, None)
    with site.store.read() as conn:
        first_log = conn.execute("SELECT max(id) FROM event_log").fetchone()[0]
    later = record(site.store, "phone_use", "w02", time.time(), None)
    sock = open_stream(url, cookie, f"Last-Event-ID: {first_log}\r\n")
    text = read_until(sock, later.id.encode())
    assert first.id.encode() not in text                          # exactly what it missed
    # no session: the Flask app answers as before (the login page for a browser, 401 for JSON)
    assert requests.get(f"{url}/events/stream", allow_redirects=False, timeout=3).status_code == 302
    assert requests.get(f"{url}/events/stream", headers={"Accept": "application/json"},
                        timeout=3).status_code == 401
    t0 = time.monotonic()
    Accounts(site.store).set_user("viewer", disabled=True)
    text = read_until(sock, b"\r\n0\r\n\r\n", timeout=3)          # the logout, then the chunked body ends
    assert b"event: logout" in text and b"session ended" in text and time.monotonic() - t0 < 2
    assert not server.site.hub.boards
    assert requests.get(f"{url}/events/stream", headers={"Cookie": cookie}, allow_redirects=False,
                        timeout=3).status_code == 302             # and cannot be opened again


def test_head_of_the_stream_answers_at_once_and_forwarded_for_is_not_the_client(served):
    site, server, url = served
    cookie = session_cookie(url, "viewer")
    t0 = time.monotonic()
    resp = requests.head(f"{url}/events/stream", headers={"Cookie": cookie}, timeout=3)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    assert time.monotonic() - t0 < 1 and not server.site.hub.boards
    # the address a login is throttled by is the peer's, whatever a client claims
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{url}/login", timeout=5).text).group(1)
    resp = s.post(f"{url}/login", data={"username": "viewer", "password": "wrong", "csrf_token": token},
                  headers={"X-Forwarded-For": "203.0.113.9"}, allow_redirects=False, timeout=3)
    assert resp.status_code == 401
    with site.store.read() as conn:
        failed = {r[0] for r in conn.execute("SELECT address FROM logins WHERE ok = 0")}
    assert failed == {"127.0.0.1"}


def test_the_stream_sends_the_apps_headers_as_the_flask_route_does(served):
    site, server, url = served
    cookie = session_cookie(url, "viewer")
    resp = requests.head(f"{url}/events/stream", headers={"Cookie": cookie}, timeout=3)
    flask = site.app.test_client()
    for part in cookie.split("; "):
        k, v = part.split("=", 1)
        flask.set_cookie(k, v)
    ref = flask.head("/events/stream")
    for name in ("Content-Type", "Cache-Control", "Content-Security-Policy", "X-Frame-Options",
                 "X-Content-Type-Options", "Referrer-Policy"):
        assert resp.headers.get(name) == ref.headers.get(name) is not None, name
    ref.close()


def test_a_board_resuming_far_back_gets_every_missed_alert_once_in_order(served):
    site, server, url = served
    cookie = session_cookie(url, "viewer")
    live = open_stream(url, cookie)                 # the poller runs and is ahead of the board below
    read_until(live, b"event: board")
    t = time.time() - 3600
    missed = [record(site.store, "eating", "w02", t + i, None) for i in range(450)]   # > two batches of 200
    time.sleep(0.3)
    sock = open_stream(url, cookie, "Last-Event-ID: 0\r\n")
    text = read_until(sock, missed[-1].id.encode(), timeout=10)
    got = [int(i) for i in re.findall(rb"id: (\d+)\nevent: alert\n", text)]
    assert len(got) == 450 and got == sorted(set(got))
    after = record(site.store, "sleeping", "w01", time.time(), None)
    text = read_until(sock, after.id.encode())
    assert missed[-1].id.encode() not in text       # then only what is new
