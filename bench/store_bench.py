"""Benchmark of vision.store.database: load N events (started + ended), then time the dashboard's list queries.

    python bench/store_bench.py [--events 100000] [--repeats 30] [--db PATH]

Prints a table of median and p95 milliseconds per query. A benchmark, not a test: it never fails on a
slow machine. The database goes in a temporary folder unless --db is given (an existing file is reused
as is, so a second run can skip the load).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from vision.events import EVENT_TYPES, SEVERITIES, Event, new_event_id  # noqa: E402
from vision.store.database import Store  # noqa: E402

HALL_TZ = timezone(timedelta(hours=8))
START = datetime(2026, 8, 3, 9, 0, tzinfo=HALL_TZ).timestamp()
DAYS = 90
CAMERAS = [f"cam{c}" for c in range(1, 5)]
WINDOWS = {cam: [f"{cam}-w{w}" for w in range(1, 5)] for cam in CAMERAS}


def events(n: int, seed: int = 7, still_open: int = 0):
    """n events spread over DAYS days, in start order, as (started, ended) transitions; the last
    ``still_open`` events have not ended (ended is None)."""
    rng = random.Random(seed)
    types = list(EVENT_TYPES)
    starts = sorted(START + rng.random() * DAYS * 86400 for _ in range(n))
    for i, at in enumerate(starts):
        cam = rng.choice(CAMERAS)
        kind = rng.choice(types)
        started = Event(id=new_event_id(at), type=kind, camera_id=cam,
                        window_id=None if kind == "camera_offline" else rng.choice(WINDOWS[cam]),
                        phase="started", severity=rng.choice(SEVERITIES), started_at=at, updated_at=at,
                        score=round(rng.random(), 3), evidence={"ratio": round(rng.random(), 3)},
                        snapshot=f"snapshots/{at:.0f}.jpg")
        ended = started.advance("ended", at + rng.uniform(20, 600), clip=f"clips/{at:.0f}.mp4")
        yield started, (None if i >= n - still_open else ended)


def load(store: Store, n: int, batch: int = 1000) -> float:
    t0 = time.perf_counter()
    pending: list[Event] = []
    done = 0
    for started, ended in events(n, still_open=12):
        pending += (started,) if ended is None else (started, ended)
        if len(pending) >= 2 * batch:
            store.record_many(pending)
            done += len(pending) // 2
            pending.clear()
            print(f"\rloading events: {done:,}/{n:,}", end="", file=sys.stderr, flush=True)
    if pending:
        store.record_many(pending)
    print(f"\rloading events: {n:,}/{n:,}", file=sys.stderr, flush=True)
    return time.perf_counter() - t0


def timed(fn, repeats: int) -> tuple[list[float], object]:
    result = fn()  # warm the cache once, as a dashboard in use would be
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, result


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


def single_commits(path: Path, synchronous: str, n: int) -> list[float]:
    """Milliseconds per record() (one transaction each) with the given synchronous mode."""
    samples = []
    with Store(path, synchronous=synchronous) as store:
        for started, ended in events(n, seed=len(synchronous)):
            for transition in (started, ended):
                t0 = time.perf_counter()
                store.record(transition)
                samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        path = args.db or Path(tmp) / "bench.db"
        fresh = not path.exists()
        with Store(path) as store:
            if fresh:
                seconds = load(store, args.events)
                print(f"loaded {args.events:,} events (~{2 * args.events:,} transitions, batches of 1,000) "
                      f"in {seconds:.1f} s: {2 * args.events / seconds:,.0f} transitions/s")
            total = store.count_events()
            newest, _ = store.list_events(limit=1)
            mid = datetime.fromisoformat(newest[0]["started_at"].replace("Z", "+00:00")) - timedelta(days=DAYS // 2)
            day = (mid.isoformat(), (mid + timedelta(days=1)).isoformat())
            week = (mid.isoformat(), (mid + timedelta(days=7)).isoformat())
            window = WINDOWS["cam2"][1]

            deep_cursor = None
            t0 = time.perf_counter()
            depth = min(total // 2, 50_000) // 500 * 500
            for _ in range(depth // 500):
                _, deep_cursor = store.list_events(limit=500, cursor=deep_cursor)
            walk_s = time.perf_counter() - t0
            some_id = newest[0]["id"]

            queries = [
                ("first page (50)", lambda: store.list_events()),
                ("window filter", lambda: store.list_events(window_id=window)),
                ("type filter", lambda: store.list_events(types="phone_use")),
                ("two types + high severity", lambda: store.list_events(types=["sleeping", "eating"], severity="high")),
                ("date range (1 day)", lambda: store.list_events(since=day[0], until=day[1])),
                ("window + type + week", lambda: store.list_events(window_id=window, types="unattended",
                                                                   since=week[0], until=week[1])),
                ("review_status=new", lambda: store.list_events(review_status="new")),
                ("open (phases=started)", lambda: store.list_events(phases="started")),
                (f"deep page (after {depth:,})", lambda: store.list_events(cursor=deep_cursor)),
                ("count all", lambda: store.count_events()),
                ("count window", lambda: store.count_events(window_id=window)),
                ("count type + week", lambda: store.count_events(types="unattended", since=week[0], until=week[1])),
                ("count review_status=new", lambda: store.count_events(review_status="new")),
                ("count open", lambda: store.count_events(phases=["started", "updated"])),
                ("open_events", lambda: store.open_events()),
                ("get_event", lambda: store.get_event(some_id)),
                ("timeline", lambda: store.timeline(some_id)),
            ]
            rows = []
            for name, fn in queries:
                samples, result = timed(fn, args.repeats)
                if isinstance(result, int):
                    n = result  # a count
                elif isinstance(result, tuple):
                    n = len(result[0])  # a page
                elif isinstance(result, dict):
                    n = 1  # one event
                else:
                    n = len(result)
                rows.append((name, n, statistics.median(samples), p95(samples)))

        print(f"\n{total:,} events in {path.name}; {args.repeats} repeats per query; times in ms")
        print(f"{'query':<28} {'rows':>8} {'median':>8} {'p95':>8}")
        for name, n, med, p in rows:
            print(f"{name:<28} {n:>8,} {med:>8.2f} {p:>8.2f}")
        print(f"{f'walk {depth:,} rows (500/page)':<28} {'':>8} {walk_s * 1000:>8.0f}")

        print("\nrecord() one transition per transaction (the worker's case):")
        for mode in ("FULL", "NORMAL"):
            samples = single_commits(Path(tmp) / f"commit-{mode}.db", mode, 100)
            print(f"  synchronous={mode:<6}  median {statistics.median(samples):6.2f} ms   p95 {p95(samples):6.2f} ms")


if __name__ == "__main__":
    main()
