"""Load of open boards and API clients on the dashboard server, on loopback, bounded in count and time.

    python bench/sse_load.py [--streams 200] [--api-clients 20] [--seconds 20] [--server uvicorn|waitress]

Starts the dashboard (dashboard/server.py, or the old waitress server with 8 threads for
comparison: `pip install waitress` first, it is no longer a dependency) in a child process on a free
loopback port, over a fresh hall and store. Opens
``--streams`` board streams (``/events/stream`` with a logged-in session, as the board's
EventSource does) and keeps them open, then runs ``--api-clients`` clients for ``--seconds``:
each in a loop calls what the queue caller and integrations call (``GET /api/health``,
``GET /api/windows``, ``POST /api/windows/w01/pause`` and ``/resume`` with a write token), with an
8 s timeout. Meanwhile one alert a second is written to the store, and each stream counts the
alerts it received. Prints a table: streams open (at the start and the end), API requests,
p50/p95/max latency, errors, alerts received per stream. A benchmark: it never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))                      # run from a checkout without installing

PASSWORD = "bench-password-1"
GOAL_P95_MS = 300.0
HALL = """hall: {{name: bench hall}}
storage: {{database: {db}, media_dir: {media}}}
dashboard: {{secret_key_file: {key}}}
cameras:
  - id: cam-a
    url: rtsp://127.0.0.1:9/none
    windows:
      - {{id: w01, staff_zone: [[0, 0], [1, 0], [1, 0.5]], counter: [[0, 0.5], [1, 0.5], [1, 0.7]]}}
      - {{id: w02, staff_zone: [[0, 0], [1, 0], [1, 0.5]], counter: [[0, 0.5], [1, 0.5], [1, 0.7]]}}
"""


def serve(folder: Path, kind: str) -> None:
    """Child process: the dashboard over ``folder``'s hall; prints its URL and serves until killed."""
    from dashboard import create_app
    from vision.config import load_config
    config = load_config(folder / "cameras.yaml")
    app = create_app(config, config_path=folder / "cameras.yaml")
    app.config.update(HM_SSE_POLL_S=1.0, HM_SSE_HEARTBEAT_S=15.0, HM_SSE_MAX_S=600.0)
    if kind == "waitress":
        from waitress.server import create_server
        server = create_server(app, host="127.0.0.1", port=0, threads=8, channel_timeout=120)
        print(f"http://127.0.0.1:{server.getsockname()[1]}", flush=True)
        server.run()
    else:
        from dashboard.server import WebServer
        web = WebServer(app, "127.0.0.1", 0).start()
        print(web.url.rstrip("/"), flush=True)
        web.thread.join()


def make_hall(folder: Path) -> str:
    """A fresh hall: the config, a store with an admin user; returns a write token."""
    from dashboard.accounts import Accounts
    from vision.store.database import Store
    (folder / "cameras.yaml").write_text(HALL.format(db=folder / "hm.db", media=folder / "media",
                                                     key=folder / "secret_key"), encoding="utf-8")
    store = Store(folder / "hm.db")
    accounts = Accounts(store)
    accounts.add_user("boss", PASSWORD, "admin")
    _, token = accounts.create_token("bench", "write", "boss")
    store.close()
    return token


async def http(port: int, method: str, path: str, headers: dict, body: bytes = b"", timeout: float = 8.0):
    """One HTTP/1.1 request on its own connection: (status, headers text, body)."""
    async def go():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     f"Content-Length: {len(body)}\r\n{head}\r\n".encode() + body)
        data = await reader.read()
        writer.close()
        top, _, rest = data.partition(b"\r\n\r\n")
        return int(top.split(b" ", 2)[1]), top.decode("latin-1"), rest
    return await asyncio.wait_for(go(), timeout)


async def login(port: int) -> str:
    status, head, body = await http(port, "GET", "/login", {})
    cookie = re.search(r"Set-Cookie: (session=[^;]+)", head, re.I).group(1)
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()
    form = f"username=boss&password={PASSWORD}&csrf_token={csrf}".encode()
    status, head, _ = await http(port, "POST", "/login", {"Cookie": cookie,
                                 "Content-Type": "application/x-www-form-urlencoded"}, form)
    assert status == 302, f"login failed: {status}"
    return re.search(r"Set-Cookie: (session=[^;]+)", head, re.I).group(1)


class Stream:
    def __init__(self):
        self.open = False
        self.alerts = 0
        self.task = None

    async def run(self, port: int, cookie: str, stop: asyncio.Event) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 8)
        except (TimeoutError, OSError):
            return
        writer.write(f"GET /events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                     f"Cookie: {cookie}\r\n\r\n".encode())
        buf = b""
        try:
            while not stop.is_set():
                chunk = await asyncio.wait_for(reader.read(65536), 30)
                if not chunk:
                    break
                buf += chunk
                if not self.open and b"retry: 2000" in buf:
                    self.open = True
                self.alerts += chunk.count(b"event: alert")
                buf = buf[-64:]
        except (TimeoutError, OSError):
            pass
        finally:
            self.open = False
            writer.close()


async def api_client(port: int, token: str, cookie: str, until: float, lat: list, errors: list) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    calls = [("GET", "/api/health", {"Cookie": cookie}, b""), ("GET", "/api/windows", auth, b""),
             ("POST", "/api/windows/w01/pause", {**auth, "Content-Type": "application/json"},
              json.dumps({"minutes": 5, "reason": "bench"}).encode()),
             ("POST", "/api/windows/w01/resume", {**auth, "Content-Type": "application/json"}, b"{}")]
    i = 0
    while time.monotonic() < until:
        method, path, headers, body = calls[i % len(calls)]
        i += 1
        t0 = time.perf_counter()
        try:
            status, _, _ = await http(port, method, path, headers, body)
            if status >= 400:
                errors.append(f"{method} {path}: {status}")
        except (TimeoutError, OSError, IndexError, ValueError) as exc:
            errors.append(f"{method} {path}: {type(exc).__name__}")
        lat.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.05)


async def load(port: int, folder: Path, token: str, n_streams: int, n_api: int, seconds: float) -> dict:
    from vision.events import Event, new_event_id
    from vision.store.database import Store
    cookie = await login(port)
    stop = asyncio.Event()
    streams = [Stream() for _ in range(n_streams)]
    for s in streams:
        s.task = asyncio.create_task(s.run(port, cookie, stop))
    deadline = time.monotonic() + 15
    while sum(s.open for s in streams) < n_streams and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    open_at_start = sum(s.open for s in streams)
    await asyncio.sleep(1.5)                       # every stream has had its first poll
    store = Store(folder / "hm.db")

    async def alerts():
        written = 0
        while time.monotonic() < until - 2:
            t = time.time()
            store.record(Event(id=new_event_id(t), type="sleeping", camera_id="cam-a", window_id="w02",
                               phase="started", severity="high", started_at=t, updated_at=t))
            written += 1
            await asyncio.sleep(1.0)
        return written

    lat, errors = [], []
    until = time.monotonic() + seconds
    writer = asyncio.create_task(alerts())
    await asyncio.gather(*(api_client(port, token, cookie, until, lat, errors) for _ in range(n_api)))
    written = await writer
    await asyncio.sleep(1.5)                       # the last alert reaches the streams
    open_at_end = sum(s.open for s in streams)
    got = [s.alerts for s in streams]
    stop.set()
    for s in streams:
        s.task.cancel()
    await asyncio.gather(*(s.task for s in streams), return_exceptions=True)
    store.close()
    ordered = sorted(lat) or [0.0]
    return {"streams": n_streams, "open_start": open_at_start, "open_end": open_at_end, "requests": len(lat),
            "p50": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "max": ordered[-1], "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
            "alerts_written": written, "alerts_min": min(got, default=0), "alerts_max": max(got, default=0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--api-clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--server", choices=("uvicorn", "waitress"), default="uvicorn")
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve, args.server)
    args.streams, args.api_clients = min(args.streams, 1000), min(args.api_clients, 100)   # bounded
    args.seconds = min(args.seconds, 120.0)
    folder = Path(tempfile.mkdtemp(prefix="hm-sse-load-"))
    token = make_hall(folder)
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(folder), "--server", args.server],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = child.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1])
        print(f"{args.server} on {url}: {args.streams} streams, {args.api_clients} API clients, "
              f"{args.seconds:.0f} s", file=sys.stderr)
        r = asyncio.run(load(port, folder, token, args.streams, args.api_clients, args.seconds))
    finally:
        child.terminate()
        child.wait(10)
    print("| server | streams open (start/end) | API requests | p50 ms | p95 ms | max ms | errors | "
          "alerts written | alerts per stream (min-max) |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.server} | {r['open_start']}/{r['open_end']} of {r['streams']} | {r['requests']} | "
          f"{r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['errors']} | {r['alerts_written']} | "
          f"{r['alerts_min']}-{r['alerts_max']} |")
    if r["error_kinds"]:
        print("errors:", "; ".join(r["error_kinds"]))
    ok = r["p95"] < GOAL_P95_MS and not r["errors"] and r["open_end"] == r["streams"]
    print(f"goal (all streams open, p95 < {GOAL_P95_MS:.0f} ms, no errors): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
