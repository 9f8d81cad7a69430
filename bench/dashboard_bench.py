"""Benchmark of the dashboard's events list and weekly report over a store of 100,000 events.

    python bench/dashboard_bench.py [--events 100000] [--repeats 30] [--db PATH]

Loads the events the way bench/store_bench.py does (4 cameras x 4 windows, 90 days, every event
started and ended), then times, for the filters a hall manager uses, the list query (one page of 50,
keyset cursor), the count shown above the list, and the whole /events page through Flask (login,
query, count, template). Also the weekly report page and its CSV. Prints median and p95
milliseconds. A benchmark, not a test: it never fails; the last column says whether the list query
stays under the 100 ms goal.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))                      # run from a checkout without installing
sys.path.insert(0, str(ROOT / "bench"))

from store_bench import CAMERAS, HALL_TZ, START, WINDOWS, load  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from dashboard import create_app  # noqa: E402
from vision.config import parse_config  # noqa: E402
from vision.store.database import Store  # noqa: E402

GOAL_MS = 100.0
PASSWORD = "bench-password"


def hall_yaml(db: Path) -> str:
    lines = ["hall: {name: bench hall}", "storage:", f"  database: {db}", f"  media_dir: {db.parent / 'media'}",
             "cameras:"]
    for cam in CAMERAS:
        lines += [f"  - id: {cam}", f"    url: rtsp://127.0.0.1:9/{cam}", "    windows:"]
        for w in WINDOWS[cam]:
            lines += [f"      - id: {w}", "        staff_zone: [[0, 0], [1, 0], [1, 0.5]]",
                      "        counter: [[0, 0.5], [1, 0.5], [1, 0.7]]"]
    return "\n".join(lines) + "\n"


def timed(fn, repeats: int) -> list[float]:
    fn()                                   # warm the page cache and the statement cache
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--db", type=Path, help="database file (reused if it exists)")
    args = ap.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="hm-dashboard-bench-"))
    db = args.db or folder / "bench.db"
    fresh = not db.exists()
    store = Store(db, synchronous="NORMAL")
    if fresh:
        seconds = load(store, args.events)
        print(f"loaded {args.events:,} events in {seconds:.1f} s", file=sys.stderr)
        with store.write() as conn:         # some reviewed events, as after weeks of use
            conn.execute("UPDATE events SET review_status = 'resolved' WHERE rowid % 3 = 0")
            conn.execute("UPDATE events SET review_status = 'false_positive' WHERE rowid % 17 = 0")
    total = store.count_events()
    config = parse_config(hall_yaml(db), source="bench.yaml", base_dir=db.parent)
    app = create_app(config, store=store, testing=True, secret_key=b"b" * 32)
    with store.write() as conn:
        conn.execute("INSERT OR IGNORE INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                     ("bench", generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"), "viewer", time.time()))
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})

    day = lambda ts: datetime.fromtimestamp(ts, HALL_TZ).date().isoformat()  # noqa: E731
    week_lo, week_hi = START + 40 * 86400, START + 47 * 86400
    window = WINDOWS[CAMERAS[1]][2]
    cases = [
        ("newest first, no filter", {}, ""),
        ("one window", {"window_id": window}, f"window={window}"),
        ("one type", {"types": ["phone_use"]}, "type=phone_use"),
        ("not reviewed (status new)", {"review_status": ["new"]}, "status=new"),
        ("severity high", {"severity": ["high"]}, "severity=high"),
        ("one week (date range)", {"since": week_lo, "until": week_hi}, f"from={day(week_lo)}&to={day(week_hi - 1)}"),
        ("window + type + week", {"window_id": window, "types": ["unattended"], "since": week_lo, "until": week_hi},
         f"window={window}&type=unattended&from={day(week_lo)}&to={day(week_hi - 1)}"),
        ("type + status + severity", {"types": ["eating"], "review_status": ["new"], "severity": ["low"]},
         "type=eating&status=new&severity=low"),
    ]
    rows = []
    for name, filters, query in cases:
        first = timed(lambda: store.list_events(**filters, limit=50), args.repeats)  # noqa: B023 - timed here
        page, cursor = store.list_events(**filters, limit=50)
        for _ in range(19):                 # the 21st page: keyset paging costs the same deep down
            if cursor is None:
                break
            page, cursor = store.list_events(**filters, limit=50, cursor=cursor)
        deep = timed(lambda: store.list_events(**filters, limit=50, cursor=cursor), args.repeats) if cursor else []  # noqa: B023 - timed here
        count = timed(lambda: store.count_events(**filters), args.repeats)  # noqa: B023 - timed here
        page_ms = timed(lambda: client.get("/events?" + query).status_code == 200 or sys.exit("page failed"),  # noqa: B023 - timed here
                        max(5, args.repeats // 3))
        rows.append((name, first, deep, count, page_ms, store.count_events(**filters)))

    print(f"\nhallmonitor dashboard: {total:,} events, {args.repeats} runs each (median / p95 ms)\n")
    head = f"| {'filter':<26} | {'matches':>7} | {'list page 1':>13} | {'list page 21':>13} | {'count':>13} | " \
           f"{'/events page':>13} | {'< 100 ms':>8} |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    fmt = lambda v: f"{statistics.median(v):5.1f} / {p95(v):5.1f}" if v else f"{'-':>13}"  # noqa: E731
    for name, first, deep, count, page_ms, matches in rows:
        worst = max(p95(first), p95(deep) if deep else 0)
        print(f"| {name:<26} | {matches:>7} | {fmt(first):>13} | {fmt(deep):>13} | {fmt(count):>13} | "
              f"{fmt(page_ms):>13} | {'yes' if worst < GOAL_MS else 'NO':>8} |")

    week = datetime.fromtimestamp(week_lo, HALL_TZ).isocalendar()
    label = f"{week[0]}-W{week[1]:02d}"
    report = timed(lambda: client.get(f"/report?week={label}"), max(5, args.repeats // 3))
    csv_ms = timed(lambda: client.get(f"/report.csv?week={label}"), max(5, args.repeats // 3))
    print(f"\n| weekly report {label} | page {fmt(report)} | CSV {fmt(csv_ms)} |")
    store.close()


if __name__ == "__main__":
    main()
