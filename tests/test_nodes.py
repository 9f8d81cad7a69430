"""vision.runtime.node and vision.store.leases on a real database: nodes taking, renewing, handing over
and losing camera leases and duties, driven tick by tick on a scripted clock.

Each node opens the database on its own, as a separate process would. Its camera jobs write down
who runs what; the tests check that no camera ever runs on two nodes and every camera runs
somewhere once the leases allow. The three-process drill with real cameras is tests/test_node_drill.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.node_fixtures import hall_database  # noqa: F401
from vision.runtime.node import Job, Node, NodeTaken
from vision.store import leases
from vision.store.leases import Me, camera_lease, duty_lease

CAMS = ["cam1", "cam2", "cam3", "cam4", "cam5"]


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Hall:
    """What runs where: the camera jobs of every node write here, and complain about a double watch."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running: dict[str, str] = {}       # camera -> node running it
        self.duties: dict[str, str] = {}
        self.log: list[tuple[str, str, str]] = []
        self.double: list[str] = []             # every start of a camera that runs elsewhere (must stay empty)

    def job(self, node: str, cam: str, table: dict, stop_s: float = 0.0) -> Job:
        def start():
            with self.lock:
                if cam in table:
                    self.double.append(f"{cam} started on {node} while {table[cam]} runs it")
                table[cam] = node
                self.log.append(("start", node, cam))

        def stop():
            time.sleep(stop_s)                  # a worker finishing its frame
            with self.lock:
                if table.get(cam) == node:
                    del table[cam]
                self.log.append(("stop", node, cam))
        return Job(start, stop)

    def node(self, open_store, name: str, clock, cams=CAMS, duties=("webhooks",), stop_s=0.0, **timing) -> Node:
        return Node(open_store(), name, {c: self.job(name, c, self.running, stop_s) for c in cams},
                    {d: self.job(name, d, self.duties) for d in duties}, clock=clock,
                    **({"patience_s": 4.0} | timing))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.running.values():
            out[n] = out.get(n, 0) + 1
        return out


@pytest.fixture()
def hall() -> Hall:
    made = Hall()
    yield made
    assert made.double == []


def tick_all(nodes, clock: Clock, seconds: float, step: float = 2.0) -> None:
    end = clock.t + seconds
    while clock.t < end:
        for n in nodes:
            n.tick()
            n.wait_handovers()
        clock.t += step


def test_three_nodes_share_the_cameras_and_one_runs_the_dispatcher(hall, hall_database):
    clock = Clock()
    nodes = [hall.node(hall_database, n, clock).join() for n in ("a", "b", "c")]
    tick_all(nodes, clock, 12)
    assert sorted(hall.running) == CAMS
    assert sorted(hall.counts().values()) == [1, 2, 2]
    assert list(hall.duties) == ["webhooks"]
    with hall_database() as store:
        assert leases.camera_nodes(store, clock.t) == hall.running


def test_kill_9_one_node_the_others_take_its_cameras_within_the_lease(hall, hall_database):
    clock = Clock()
    nodes = [hall.node(hall_database, n, clock).join() for n in ("a", "b", "c")]
    tick_all(nodes, clock, 12)
    dispatcher_on = hall.duties["webhooks"]
    victim = next(n for n in nodes if n.name == dispatcher_on)
    theirs = sorted(c for c, n in hall.running.items() if n == victim.name)
    with hall.lock:                       # kill -9: its workers and its dispatcher are gone at once
        for c in theirs:
            del hall.running[c]
        del hall.duties["webhooks"]
    survivors = [n for n in nodes if n is not victim]
    killed_at = clock.t
    while sorted(hall.running) != CAMS or "webhooks" not in hall.duties:
        tick_all(survivors, clock, 2)
        assert clock.t - killed_at <= 30
    taken_after = clock.t - killed_at
    assert 10 <= taken_after <= 16          # the lease runs out (10 s), then the next tick takes it
    assert set(hall.running.values()) == {n.name for n in survivors}
    assert hall.duties["webhooks"] != victim.name


def test_a_node_that_comes_back_gets_its_share_without_a_double_watch(hall, hall_database):
    clock = Clock()
    a = hall.node(hall_database, "a", clock).join()
    tick_all([a], clock, 6)
    assert hall.counts() == {"a": 5}
    b = hall.node(hall_database, "b", clock).join()
    tick_all([a, b], clock, 16)
    assert sorted(hall.counts().values()) == [2, 3]
    # every hand-over stopped the camera on a before b started it (Hall.job asserts at each start)
    starts = [(n, c) for kind, n, c in hall.log if kind == "start" and n == "b"]
    for _, cam in starts:
        i_stop = hall.log.index(("stop", "a", cam))
        assert i_stop < hall.log.index(("start", "b", cam))


def test_a_clean_stop_frees_everything_at_once(hall, hall_database):
    clock = Clock()
    a, b = (hall.node(hall_database, n, clock).join() for n in ("a", "b"))
    tick_all([a, b], clock, 8)
    a.stop()
    tick_all([b], clock, 2)                 # one tick: no waiting for a's leases to run out
    assert hall.counts() == {"b": 5} and hall.duties == {"webhooks": "b"}


def test_the_same_node_name_twice_is_refused_while_the_first_runs(hall, hall_database):
    clock = Clock()
    first = hall.node(hall_database, "a", clock).join()
    first.tick()
    second = hall.node(hall_database, "a", clock)
    clock.t += 1
    first.tick()                            # the first keeps renewing: it is alive
    with pytest.raises(NodeTaken, match=r"node 'a' is already running \(host .*, pid \d+.*--node NAME"):
        second.join(wait_s=0.2)


def test_a_restarted_node_takes_its_name_once_the_dead_run_expires(hall, hall_database):
    clock = Clock()
    first = hall.node(hall_database, "a", clock).join()
    first.tick()
    clock.t += 10.5                         # the first was killed 10.5 s ago: its row ran out
    second = hall.node(hall_database, "a", clock).join(wait_s=0.2)
    assert second.joined_at == clock.t


def test_a_node_that_cannot_renew_stops_its_cameras_before_its_leases_run_out(hall, hall_database):
    clock = Clock()
    a = hall.node(hall_database, "a", clock).join()
    tick_all([a], clock, 4)
    assert hall.counts() == {"a": 5}
    a.store.close()                         # the database is gone for a
    clock.t += 4                            # the last renewal was 2 s before tick_all returned
    a.tick()
    assert hall.counts() == {"a": 5}        # 6 s: still inside ttl - margin (8 s)
    clock.t += 2.5
    a.tick()                                # 8.5 s: stops everything (in threads: wait for them)
    deadline = time.monotonic() + 5
    while hall.running or hall.duties:
        assert time.monotonic() < deadline, (hall.running, hall.duties)
        time.sleep(0.02)


def test_conditional_take_only_one_of_two_wins(hall_database):
    with hall_database() as one, hall_database() as two:
        a, b = Me("a", "ia", "h", 1), Me("b", "ib", "h", 2)
        now = 5000.0
        with one.write() as conn:
            assert leases.take(conn, a, camera_lease("cam1"), now, 10)
        with two.write() as conn:
            assert not leases.take(conn, b, camera_lease("cam1"), now + 9.9, 10)
            assert leases.take(conn, b, camera_lease("cam1"), now + 10, 10)        # a's ran out
        with one.write() as conn:
            assert leases.release(conn, a, [camera_lease("cam1")], now + 11) == 0  # not a's any more
            assert leases.take(conn, a, duty_lease("webhooks"), now, 10)
        nodes, rows = leases.snapshot(two)
        assert rows[camera_lease("cam1")].holder == "ib" and rows[duty_lease("webhooks")].node == "a"


# ---- the board and the API show which node watches each camera ----

BOARD_HALL = """
hall: {name: Node hall, language: LANG}
storage: {database: hall.db, media_dir: media}
cameras:
  - id: cam1
    url: rtsp://127.0.0.1:9/a
    windows:
      - id: w01
        staff_zone: [[0, 0], [0.5, 0], [0.5, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [0.5, 0.6], [0.5, 0.8], [0, 0.8]]
  - id: cam2
    url: rtsp://127.0.0.1:9/b
    windows:
      - id: w02
        staff_zone: [[0, 0], [1, 0], [1, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8], [0, 0.8]]
"""


@pytest.mark.parametrize("lang, watched, unwatched", [("zh-CN", "节点 hall-east", "无节点监看"),
                                                      ("en", "node hall-east", "no node watching")])
def test_board_and_api_name_the_node_watching_each_camera(hall, hall_database, tmp_path, lang, watched, unwatched):
    import time

    from dashboard import create_app
    from dashboard.accounts import Accounts
    from vision.config import parse_config
    config = parse_config(BOARD_HALL.replace("LANG", lang), base_dir=tmp_path)
    store = hall_database()
    accounts = Accounts(store)
    accounts.add_user("vic", "correct horse battery", "viewer")
    token = accounts.create_token("reader", "read")[1]
    east = hall.node(hall_database, "hall-east", time.time, cams=["cam1"], duties=()).join()
    east.joined_at -= 5                      # settled: takes at its first tick
    east.tick()
    with store.write() as conn:              # cam2's node died 20 s ago: its lease ran out, nobody took it yet
        leases.take(conn, Me("hall-west", "dead", "h", 9), camera_lease("cam2"), time.time() - 20, 10)
    app = create_app(config, store=store, testing=True, secret_key=b"s" * 32)
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    assert client.post("/login", data={"username": "vic", "password": "correct horse battery",
                                       "csrf_token": csrf}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    tiles = page.split('data-window="')[1:]
    assert watched in next(t for t in tiles if t.startswith("w01"))
    assert unwatched in next(t for t in tiles if t.startswith("w02"))
    cameras = app.test_client().get("/api/cameras", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {c["id"]: c["node"] for c in cameras["cameras"]} == {"cam1": "hall-east", "cam2": None}
    east.stop()
    cameras = app.test_client().get("/api/cameras", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {c["id"]: c["node"] for c in cameras["cameras"]} == {"cam1": None, "cam2": None}


def test_a_clean_stop_keeps_renewing_until_its_slow_workers_have_stopped(hall, hall_database):
    """Real time, short leases: a's worker takes 3 s to stop, longer than the lease; b must not start
    the camera before a's worker has stopped, and gets it right after."""
    timing = {"ttl_s": 1.5, "renew_s": 0.2, "margin_s": 0.4, "patience_s": 0.0}
    a = hall.node(hall_database, "a", time.time, cams=["cam1"], duties=(), stop_s=3.0, **timing).join()
    a.joined_at -= 1
    a.start()
    deadline = time.monotonic() + 5
    while hall.running != {"cam1": "a"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    b = hall.node(hall_database, "b", time.time, cams=["cam1"], duties=(), **timing).join()
    b.start()
    try:
        stopped_at = time.monotonic()
        a.stop()
        took = time.monotonic() - stopped_at
        assert took >= 3.0
        while hall.running != {"cam1": "b"}:
            assert time.monotonic() - stopped_at < 6
            time.sleep(0.05)
        assert hall.log.index(("stop", "a", "cam1")) < hall.log.index(("start", "b", "cam1"))
    finally:
        b.stop()


@pytest.mark.parametrize("name", ["two words", "", "x" * 101, "tab\there"])
def test_run_refuses_a_node_name_it_cannot_show(tmp_path, name):
    from click.testing import CliRunner

    from hallmonitor.cli import main
    result = CliRunner().invoke(main, ["run", "--config", str(tmp_path / "none.yaml"), "--node", name])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"error: --node {name!r}: give a name of 1 to 100 characters without spaces" in result.output


def test_cameras_yaml_edited_while_running_a_removed_camera_stops_a_new_one_is_leased(hall, hall_database):
    clock = Clock()
    a = hall.node(hall_database, "a", clock, cams=["cam1", "cam2"]).join()
    tick_all([a], clock, 4)
    assert sorted(hall.running) == ["cam1", "cam2"]
    a.set_cameras({c: hall.job("a", c, hall.running) for c in ("cam1", "cam9")})   # cam2 removed, cam9 added
    assert sorted(hall.running) == ["cam1"]
    with hall_database() as store:
        assert camera_lease("cam2") not in {n for n, r in leases.snapshot(store)[1].items() if r.held(clock.t)}
    tick_all([a], clock, 2)
    assert sorted(hall.running) == ["cam1", "cam9"]
