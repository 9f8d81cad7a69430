"""The hall's labels and head versions on a real SQLite store: frames kept once, labels replaced with
their history, candidates confirmed into labels, one version on per head, rollback walks back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import cv2
import pytest

from vision.errors import InputError, NotFound
from vision.media.event_frame import (
    FramePerson,
    decode_jpeg,
    encode_jpeg,
    frame_paths,
    frame_persons,
    load_event_frame,
    write_event_frame,
)
from vision.observe.observations import PersonObservation, WindowObservation
from vision.store.database import Store
from vision.store.schema import MIGRATIONS
from vision.training.teaching import BEHAVIOURS, Teaching
from vision.training.versions import HallHeads, head_name


@pytest.fixture()
def store(store_target):
    with Store(store_target, synchronous="NORMAL") as s:
        yield s


@pytest.fixture(scope="module")
def bus_jpeg(media) -> bytes:
    image = cv2.imread(str(media / "ultralytics" / "bus.jpg"))
    return encode_jpeg(image)


def test_the_tables_come_with_the_store_whatever_is_imported_first(tmp_path: Path):
    import subprocess
    import sys
    db = tmp_path / "x.db"
    for first in ("vision.training.teaching", "vision.training.versions", "vision.store.database",
                  "vision.store.schema", "vision.store.accounts", "vision.webhooks.endpoints", "dashboard.accounts"):
        code = (f"import {first}; from vision.store.database import Store; "
                f"from vision.store.schema import schema_version; "
                f"s = Store({str(db)!r}); print(schema_version(s._conn()))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=Path(__file__).parent.parent)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == str(len(MIGRATIONS))          # every migration, the teaching ones too
    assert len(MIGRATIONS) >= 7


def test_a_frame_is_kept_once_per_event_and_per_pixels(store, bus_jpeg):
    teach = Teaching(store)
    a = teach.add_frame(bus_jpeg, 810, 1080, "cam-a", 1000.0, event_id="evt_1", persons=[{"box": [1, 2, 3, 4]}])
    assert teach.add_frame(bus_jpeg, 810, 1080, "cam-a", 1000.0, event_id="evt_1") == a
    assert teach.add_frame(bus_jpeg, 810, 1080, "cam-a", 1000.0, source="snapshot") == a   # same pixels
    assert teach.frame_id_of_event("evt_1") == a and teach.frame_id_of_event("evt_2") is None
    assert teach.frame_jpeg(a) == bus_jpeg
    assert decode_jpeg(teach.frame_jpeg(a)).shape == (1080, 810, 3)
    assert teach.frame(a)["persons"] == [{"box": [1, 2, 3, 4]}]
    with pytest.raises(InputError, match="JPEG"):
        teach.add_frame(b"GIF89a", 1, 1, "cam-a", 0.0)
    with pytest.raises(NotFound):
        teach.frame(999)


def test_a_label_is_replaced_and_its_history_kept(store, bus_jpeg):
    teach = Teaching(store)
    f = teach.add_frame(bus_jpeg, 810, 1080, "cam-a", 1000.0, event_id="evt_1")
    box = [48.2, 398.0, 245.6, 902.9]
    first = teach.label(f, "person", box, "phone_in_use", "yes", "li", window_id="w01", at=1001.0)
    assert (first.value, first.labelled_by, first.event_id, first.camera_id) == ("yes", "li", "evt_1", "cam-a")
    again = teach.label(f, "person", [48.4, 398.1, 245.5, 903.0], "phone_in_use", "no", "wang", window_id="w01")
    assert again.id == first.id and again.value == "no" and again.labelled_by == "wang"   # same box to the pixel
    teach.label(f, "person", box, "badge_worn", "yes", "li", window_id="w01")
    teach.label(f, "window", [[0, 0], [400, 0], [400, 600]], "window_state", "occupied", "li", window_id="w01")
    assert [lab.behaviour for lab in teach.labels(frame_id=f)] == ["phone_in_use", "badge_worn", "window_state"]
    counts = teach.counts()
    assert counts["phone_in_use"] == {"w01": {"no": 1}} and counts["window_state"] == {"w01": {"occupied": 1}}
    assert set(counts) == set(BEHAVIOURS)
    history = [(h["old_value"], h["new_value"], h["by"]) for h in reversed(teach.history())]
    assert history[:2] == [(None, "yes", "li"), ("yes", "no", "wang")]
    assert teach.label(f, "person", box, "phone_in_use", None, "li") is None     # cleared
    assert [lab.behaviour for lab in teach.labels("phone_in_use")] == []
    assert teach.history()[0]["new_value"] is None


@pytest.mark.parametrize("subject, region, behaviour, value, message", [
    ("person", [10, 10, 5, 50], "phone_in_use", "yes", "x2 > x1"),
    ("person", [10, 10, 50, 50], "phone_in_use", "maybe", "use one of yes, no"),
    ("person", [10, 10, 50, 50], "dancing", "yes", "behaviour 'dancing'"),
    ("person", [10, 10, 50, 50], "window_state", "vacant", "label of a window, not of a person"),
    ("window", [[0, 0], [1, 1]], "window_state", "vacant", "polygon of 3"),
    ("window", [[0, 0], [9, 0], [9, 9]], "asleep", "yes", "label of a person"),
])
def test_bad_labels_say_what_is_wrong(store, bus_jpeg, subject, region, behaviour, value, message):
    teach = Teaching(store)
    f = teach.add_frame(bus_jpeg, 810, 1080, "cam-a", 1000.0)
    with pytest.raises(InputError, match=message):
        teach.label(f, subject, region, behaviour, value, "li", window_id="w01")


def test_a_candidate_becomes_a_label_only_when_confirmed(store, bus_jpeg):
    teach = Teaching(store)
    f = teach.add_frame(bus_jpeg, 810, 1080, "cam-a", 1000.0, source="candidate")
    zone = [[0, 0], [400, 0], [400, 600], [0, 600]]
    assert teach.add_candidate(f, "w01", zone, "vacant", "closed hours")
    assert not teach.add_candidate(f, "w01", zone, "occupied", "detector")         # one per frame and window
    [cand] = teach.candidates("w01")
    assert cand["suggested"] == "vacant" and teach.labels("window_state") == []
    label = teach.resolve_candidate(cand["id"], "occupied", "li")                   # corrected
    assert label.value == "occupied" and label.region == [[0, 0], [400, 0], [400, 600], [0, 600]]
    assert teach.candidates() == []


def test_one_version_on_per_head_and_rollback_walks_back(store):
    heads = HallHeads(store)
    name = head_name("phone_in_use")
    for v in (1, 2, 3):
        assert heads.next_version(name) == v
        heads.add_version(name, "phone_in_use", None, v, f"{name}.v{v}.npz", "ab" * 32, {"after": {"f1": v / 4}}, "li")
    assert heads.active() == [] and heads.generation() == 0
    heads.activate(f"{name}@1", "admin")
    heads.activate("phone_in_use@3", "admin")            # the short name works too
    assert [v.version for v in heads.active()] == [3]
    g = heads.generation()
    with pytest.raises(sqlite3.IntegrityError):          # the database itself refuses two on
        with store.write() as conn:
            conn.execute("UPDATE head_versions SET active = 1 WHERE head = ?", (name,))
    assert heads.rollback(None, "admin") == {"head": name, "from_version": 3, "to_version": 1}
    assert heads.generation() > g
    assert heads.rollback(name, "admin") == {"head": name, "from_version": 1, "to_version": None}
    assert heads.active() == []
    with pytest.raises(InputError, match="nothing to roll back"):
        heads.rollback(name, "admin")
    actions = [(a["action"], a["version"], a["from_version"], a["by"]) for a in reversed(heads.audit())]
    assert actions[3:] == [("activated", 1, None, "admin"), ("activated", 3, 1, "admin"),
                           ("rolled_back", 1, 3, "admin"), ("rolled_back", None, 1, "admin")]
    with pytest.raises(NotFound, match="versions of hall-phone_in_use: hall-phone_in_use@3"):
        heads.version("phone_in_use@9")
    with pytest.raises(InputError, match="NAME@VERSION"):
        heads.version("phone_in_use")


def test_one_training_run_at_a_time(store):
    heads = HallHeads(store)
    run = heads.start_run(["phone_in_use"], "li")
    with pytest.raises(InputError, match="still running"):
        heads.start_run(["badge"], "wang")
    heads.progress(run, 0.5, "features")
    assert (heads.run()["progress"], heads.run()["stage"]) == (0.5, "features")
    heads.finish_run(run, {"rows": []})
    assert heads.run(run)["status"] == "done" and heads.run(run)["result"] == {"rows": []}
    # a run left 'running' by a process that is gone is failed when the next one starts
    with store.write() as conn:
        conn.execute("INSERT INTO training_runs (status, started_by, started_at, updated_at, pid) "
                     "VALUES ('running', 'x', 0, 0, 999999999)")
    assert heads.run()["status"] == "failed"
    second = heads.start_run(["badge"], "wang")
    assert heads.run(second)["status"] == "running"


def test_the_clean_frame_is_kept_beside_the_snapshot_and_read_back(tmp_path: Path, media):
    image = cv2.imread(str(media / "ultralytics" / "bus.jpg"))
    snap = tmp_path / "cam-a" / "2026-12-01" / "evt_abc.jpg"
    staff = PersonObservation(box=(48.0, 398.0, 245.0, 902.0), score=0.8, pose=None, staff=True)
    other = PersonObservation(box=(670.0, 380.0, 810.0, 878.0), score=0.6, pose=None, staff=False)
    observations = [WindowObservation("w01", persons=[staff, other]),
                    WindowObservation("w02", persons=[PersonObservation(staff.box, 0.8, None, staff=True), other])]
    persons = frame_persons(observations)
    assert persons == [FramePerson(staff.box, 0.8, True, ("w01", "w02")), FramePerson(other.box, 0.6, False, ())]
    write_event_frame(snap, image, persons, 1234.5)
    assert [p.name for p in frame_paths(snap)] == ["evt_abc.frame.jpg", "evt_abc.frame.json"]
    got = load_event_frame(tmp_path, {"id": "evt_abc", "snapshot": "cam-a/2026-12-01/evt_abc.jpg", "clip": None})
    assert got.source == "frame" and got.taken_at == 1234.5 and got.persons == persons
    assert got.image.shape == image.shape
    assert float(abs(got.image.astype(int) - image.astype(int)).mean()) < 3      # clean: no boxes drawn on it
    assert load_event_frame(tmp_path, {"id": "x", "snapshot": "../../etc/passwd", "clip": None}) is None
