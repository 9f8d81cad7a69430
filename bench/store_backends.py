"""Benchmark: how many event transitions a second each store back-end sustains, each written the way the
worker writes it (the event row, its timeline entry and its outbox row in one transaction).

    python bench/store_backends.py [--backend sqlite|postgresql|both] [--url postgresql://...]
                                   [--events 400] [--runs 5] [--writers 1,4]

Modes: ``record`` is one transaction per transition (what a hall does: events come one at a time);
``batch`` is ``record_many`` of 500 transitions per transaction (an import). ``writers`` threads
write at once, each on its own connection (cameras of one node). SQLite runs with its default
durability (``synchronous=FULL``, an fsync per commit); PostgreSQL on a scratch server with its
defaults (``fsync=on``, ``synchronous_commit=on``: a WAL flush per commit), on loopback, unless
``--url`` names another server. Prints a table of medians over ``--runs`` runs (each run a fresh
database). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from vision.events import Event, new_event_id  # noqa: E402
from vision.store.database import Store  # noqa: E402

T0 = 1_790_000_000.0


def transitions(n: int, writer: int) -> list[Event]:
    """n events (started, then ended) of one writer's windows: 2n transitions."""
    out = []
    for i in range(n):
        at = T0 + writer * 1e6 + i * 3.0
        started = Event(id=new_event_id(at), type="phone_use", camera_id=f"cam{writer}",
                        window_id=f"cam{writer}-w{i % 4}", phase="started", severity="medium", started_at=at,
                        updated_at=at, score=0.8, evidence={"ratio": 0.9, "phone": [0.1, 0.2, 0.3, 0.4]},
                        snapshot=f"snapshots/{at:.0f}.jpg")
        out += [started, started.advance("ended", at + 45.0, clip=f"clips/{at:.0f}.mp4")]
    return out


def one_run(target: Path | str, mode: str, writers: int, events: int) -> tuple[float, list[float]]:
    """(transitions per second, milliseconds per commit) for one fresh database."""
    work = [transitions(events, w) for w in range(writers)]
    latencies: list[float] = []
    lock = threading.Lock()
    with Store(target) as store:
        start = threading.Barrier(writers + 1)

        def write(batch: list[Event]) -> None:
            mine = []
            start.wait()
            if mode == "batch":
                for k in range(0, len(batch), 500):
                    t = time.perf_counter()
                    store.record_many(batch[k:k + 500])
                    mine.append((time.perf_counter() - t) * 1000)
            else:
                for e in batch:
                    t = time.perf_counter()
                    store.record(e)
                    mine.append((time.perf_counter() - t) * 1000)
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=write, args=(batch,)) for batch in work]
        for t in threads:
            t.start()
        start.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - t0
        assert store.count_events(phases="ended") == writers * events, "not every event was stored"
        assert len(store.outbox_after(0, limit=10_000)) == min(10_000, 2 * writers * events)
    return 2 * writers * events / seconds, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--url", help="a PostgreSQL database to use (default: a scratch server on loopback); "
                                      "its tables are emptied before each run")
    parser.add_argument("--events", type=int, default=400, help="events per writer per run (2 transitions each)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--writers", default="1,4", help="comma-separated thread counts")
    args = parser.parse_args()
    writer_counts = [int(w) for w in args.writers.split(",")]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    server = None
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="store-backends-") as tmp:
            runs = 0

            def fresh(backend: str) -> Path | str:
                nonlocal server, runs
                runs += 1
                if backend == "sqlite":
                    return Path(tmp) / f"run{runs}.db"
                if args.url:
                    import psycopg
                    with psycopg.connect(args.url, autocommit=True) as conn:
                        conn.execute("DROP SCHEMA IF EXISTS bench CASCADE")
                        conn.execute("CREATE SCHEMA bench")
                    sep = "&" if "?" in args.url else "?"
                    return f"{args.url}{sep}options=-csearch_path%3Dbench"
                if server is None:
                    from vision.store.pg_server import ScratchServer
                    server = ScratchServer(durable=True).start()
                return server.create_database(f"run{runs}")

            for backend in backends:
                for mode in ("record", "batch"):
                    for writers in writer_counts:
                        if mode == "batch" and writers > 1:
                            continue
                        rates, lat = [], []
                        for r in range(args.runs):
                            rate, ms = one_run(fresh(backend), mode, writers, args.events)
                            rates.append(rate)
                            lat.extend(ms)
                            print(f"\r{backend} {mode} x{writers}: run {r + 1}/{args.runs}", end="",
                                  file=sys.stderr, flush=True)
                        print(file=sys.stderr)
                        p95 = statistics.quantiles(lat, n=20, method="inclusive")[18] if len(lat) > 1 else lat[0]
                        rows.append((backend, mode, writers, statistics.median(rates), min(rates), max(rates),
                                     statistics.median(lat), p95))
    finally:
        if server is not None:
            server.stop()

    print(f"\n{'back-end':<11} {'mode':<7} {'writers':>7} {'transitions/s':>14} {'(min-max)':>15} "
          f"{'ms/commit':>10} {'p95':>7}")
    for backend, mode, writers, rate, lo, hi, med, p95 in rows:
        print(f"{backend:<11} {mode:<7} {writers:>7} {rate:>14,.0f} {f'{lo:,.0f}-{hi:,.0f}':>15} "
              f"{med:>10.2f} {p95:>7.2f}")
    print(f"\n{args.runs} runs each, medians; {args.events} events (started + ended) per writer per run; "
          "each transition = event row + timeline + outbox row in one transaction (record), or 500 "
          "transitions per transaction (batch).")


if __name__ == "__main__":
    main()
