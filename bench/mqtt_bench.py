"""MQTT publishing on loopback: a backlog of transitions through the publisher to a real subscriber, and
the delay from recording one transition to a subscriber hearing it.

Starts Debian's mosquitto on a free port (as the tests do; ``max_queued_messages`` raised so the
subscriber's queue on the broker is not what is measured), the real store and publisher, and a paho
subscriber. Prints a table.

    python bench/mqtt_bench.py                 # 5000 queued transitions, 30 single ones
    python bench/mqtt_bench.py --backlog 20000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mqtt_fixtures import Broker, Subscriber  # noqa: E402
from tests.test_mqtt import hall_yaml, transition  # noqa: E402
from vision.config import parse_config  # noqa: E402
from vision.mqtt.publisher import Publisher  # noqa: E402
from vision.store.database import Store  # noqa: E402

TOPIC = "hallmonitor/events"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backlog", type=int, default=5000, help="transitions recorded at once (pairs started/ended)")
    ap.add_argument("--singles", type=int, default=30, help="single transitions timed one by one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Broker(folder / "broker", extra=["max_queued_messages 0"]).start()
        config = parse_config(hall_yaml(folder, broker.port), base_dir=folder)
        store = Store(folder / "hall.db")
        sub = Subscriber(broker.port, [TOPIC])
        pub = Publisher(config, store).start()
        rows = []
        try:
            while not pub.connected:
                time.sleep(0.05)
            events = []
            for i in range(args.backlog // 2):
                ev = transition("unattended", "w1", at=time.time() + i * 1e-2)
                events += [ev, ev.advance("ended", ev.updated_at + 5e-3)]
            t0 = time.perf_counter()
            store.record_many(events)
            t1 = time.perf_counter()
            pub.wake()
            heard = sub.wait(lambda: len(sub.on(TOPIC)) >= len(events), 300)
            t2 = time.perf_counter()
            rows.append((f"backlog of {len(events)} transitions", f"{len(events) / (t2 - t1):,.0f} msg/s",
                         f"all heard {t2 - t1:.1f} s after the commit (recording took {t1 - t0:.1f} s)"
                         + ("" if heard else f"; ONLY {len(sub.on(TOPIC))} heard")))
            for label, wake in (("one transition, publisher woken (hallmonitor run)", True),
                                ("one transition, found by the 0.5 s poll", False)):
                delays = []
                for _ in range(args.singles):
                    before = len(sub.on(TOPIC))
                    t = time.perf_counter()
                    store.record(transition("phone_use", "w2"))
                    if wake:
                        pub.wake()
                    sub.wait(lambda before=before: len(sub.on(TOPIC)) > before, 5)
                    delays.append((time.perf_counter() - t) * 1000)
                    time.sleep(0.07)
                delays.sort()
                rows.append((label, f"median {statistics.median(delays):.0f} ms",
                             f"p95 {delays[int(0.95 * (len(delays) - 1))]:.0f} ms, max {delays[-1]:.0f} ms"))
        finally:
            pub.stop()
            sub.close()
            store.close()
            broker.stop()
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'figure':<18}  detail")
    for case, figure, detail in rows:
        print(f"{case:<{width}}  {figure:<18}  {detail}")


if __name__ == "__main__":
    main()
