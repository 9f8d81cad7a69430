"""The teach panel, the Training page and /api/teach through the Flask test client, on a real event
recorded by the worker's own code from a real frame: roles, CSRF, labels kept with the clean frame,
a false positive offering to teach, training in the background with progress, switching on and back."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from dashboard.accounts import Accounts
from vision.media.event_frame import frame_paths
from vision.models.manifest import load_manifest
from vision.perception.crops import person_crop
from vision.training.fit import hall_manifest
from vision.training.teaching import Teaching
from vision.training.versions import HallHeads, head_name

from .teach_data import OCCUPIED, VACANT, TeachHall, vtest_frames

OCC = head_name("window_occupied", "w01")


@pytest.fixture(scope="module")
def hall(tmp_path_factory, media, analyzer):
    site = TeachHall(tmp_path_factory.mktemp("teach"))
    frames = vtest_frames(media, (560, 563) + OCCUPIED + VACANT)
    now = time.time()
    ev, step = site.real_event(analyzer, frames[560], now - 600)
    site.bulk_labels({i: im for i, im in frames.items() if i not in (560, 563)}, now - 86400)
    yield {"site": site, "event": ev, "step": step, "frame": frames[560], "unlabelled": frames[563],
           "vacant": frames[VACANT[0]]}
    site.store.close()


def post(client, url, body=None):
    return client.post(url, json=body or {}, headers={"X-CSRF-Token": client.csrf})


def test_the_worker_kept_the_clean_frame_and_who_was_staff(hall):
    site, ev = hall["site"], hall["event"]
    jpg, meta = frame_paths(site.media / ev["snapshot"])
    assert jpg.is_file() and meta.is_file()
    clean = cv2.imread(str(jpg))
    assert float(np.abs(clean.astype(int) - hall["frame"].astype(int)).mean()) < 3     # not the annotated one
    annotated = cv2.imread(str(site.media / ev["snapshot"]))
    assert float(np.abs(annotated.astype(int) - hall["frame"].astype(int)).mean()) > \
        float(np.abs(clean.astype(int) - hall["frame"].astype(int)).mean())


def test_the_panel_shows_the_staff_crops_and_the_window(hall):
    site, ev = hall["site"], hall["event"]
    view = site.client("manager").get(f"/api/teach/events/{ev['id']}").get_json()
    assert view["frame"]["source"] == "frame" and (view["frame"]["width"], view["frame"]["height"]) == (768, 576)
    assert view["persons"] and all(p["staff"] and p["windows"] == ["w01"] for p in view["persons"])
    staff_boxes = [p.box for obs in hall["step"].observations for p in obs.persons if p.staff]
    assert [p["box"] for p in view["persons"]] == [[round(v, 1) for v in b] for b in staff_boxes]
    assert view["windows"] == [{"window_id": "w01", "name": "Window 1", "label": None,
                                "polygon": [[150.0, 330.0], [460.0, 330.0], [460.0, 576.0], [150.0, 576.0]]}]
    assert [b["behaviour"] for b in view["behaviours"]] == ["phone_in_use", "badge_worn", "eating", "asleep"]
    crop = site.client("manager").get(f"/teach/events/{ev['id']}/person/{view['persons'][0]['index']}.jpg")
    assert crop.status_code == 200 and crop.mimetype == "image/jpeg"
    got = cv2.imdecode(np.frombuffer(crop.data, np.uint8), cv2.IMREAD_COLOR)
    want = person_crop(hall["frame"], view["persons"][0]["box"])
    assert got.shape[0] == got.shape[1] and abs(got.shape[0] - min(320, want.shape[0])) <= 1


@pytest.mark.parametrize("role, token, status", [("viewer", False, 403), (None, True, 403), (None, False, 401)])
def test_only_logged_in_managers_teach(hall, role, token, status):
    site, ev = hall["site"], hall["event"]
    client = site.client(role)
    headers = {}
    if token:
        _, secret = Accounts(site.store).create_token(f"t{time.time()}", "write")
        headers["Authorization"] = f"Bearer {secret}"
    assert client.get(f"/api/teach/events/{ev['id']}", headers=headers).status_code == status
    assert client.post(f"/api/teach/events/{ev['id']}/labels", headers=headers,
                       json={"person": 0, "behaviour": "eating", "value": "no"}).status_code == status


def test_a_label_is_kept_with_the_frame_and_attributed(hall):
    site, ev = hall["site"], hall["event"]
    client = site.client("manager")
    person = client.get(f"/api/teach/events/{ev['id']}").get_json()["persons"][0]["index"]
    url = f"/api/teach/events/{ev['id']}/labels"
    assert client.post(url, json={"person": person, "behaviour": "phone_in_use", "value": "yes"}).status_code == 403
    res = post(client, url, {"person": person, "behaviour": "phone_in_use", "value": "yes"}).get_json()
    assert res["label"]["labelled_by"] == "manager" and res["label"]["event_id"] == ev["id"]
    teach = Teaching(site.store)
    jpg, _ = frame_paths(site.media / ev["snapshot"])
    assert teach.frame_jpeg(res["frame_id"]) == jpg.read_bytes()              # the clean frame, in the store
    said_no = post(client, url, {"person": person, "behaviour": "phone_in_use", "value": "no"}).get_json()
    assert said_no["label"]["value"] == "no"
    assert post(client, url, {"person": person, "behaviour": "phone_in_use", "value": None}).get_json()["cleared"]
    win = post(client, url, {"window": "w01", "behaviour": "window_state", "value": "occupied"}).get_json()
    assert win["label"]["region"] == [[150.0, 330.0], [460.0, 330.0], [460.0, 576.0], [150.0, 576.0]]
    view = client.get(f"/api/teach/events/{ev['id']}").get_json()
    assert view["windows"][0]["label"]["value"] == "occupied" and view["windows"][0]["label"]["by"] == "manager"
    for body, message in [({"person": 99, "behaviour": "eating", "value": "no"}, "index of a person"),
                          ({"person": person, "behaviour": "eating", "value": "maybe"}, "unknown value 'maybe'"),
                          ({"window": "w09", "behaviour": "window_state", "value": "vacant"}, "not a window"),
                          ({"behaviour": "eating", "value": "no"}, "exactly one of person"),
                          ({"person": person, "behaviour": "eating", "colour": "red"}, "unknown field 'colour'")]:
        r = post(client, url, body)
        assert r.status_code == 400 and message in r.get_json()["error"]["message"], (body, r.get_json())
    assert post(client, "/api/teach/events/evt_nope/labels", {"person": 0, "behaviour": "eating"}).status_code == 404


def test_a_false_positive_offers_to_teach_at_once(hall):
    site, ev = hall["site"], hall["event"]
    client = site.client("manager")
    r = client.post(f"/events/{ev['id']}/review", data={"status": "false_positive", "csrf_token": client.csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/events/{ev['id']}?teach=fp#teach")
    page = client.get(f"/events/{ev['id']}?teach=fp").text
    assert 'id="teach-fp"' in page and 'id="teach"' in page
    assert 'id="teach"' not in site.client("viewer").get(f"/events/{ev['id']}").text


def test_train_in_the_background_then_switch_on_and_roll_back(hall):
    site = hall["site"]
    manager, admin = site.client("manager"), site.client("admin")
    r = post(manager, "/api/teach/train", {"behaviours": ["window_state"]})
    assert r.status_code == 202 and r.get_json()["run"]["status"] == "running"
    run_id = r.get_json()["run"]["id"]
    again = post(manager, "/api/teach/train")
    assert again.status_code == 400 and "still running" in again.get_json()["error"]["message"]
    seen, deadline = set(), time.time() + 120
    while time.time() < deadline:
        run = manager.get(f"/api/teach/runs/{run_id}").get_json()["run"]
        seen.add(round(run["progress"], 1))
        if run["status"] != "running":
            break
        time.sleep(0.2)
    assert run["status"] == "done", run
    assert len(seen) >= 2                                       # the progress moved while it ran
    [row] = run["result"]["rows"]
    assert row["ref"] == f"{OCC}@1" and row["after"]["f1"] >= 0.9 and row["n_held_back"] > 0
    page = manager.get("/teach").text
    assert f'data-head="{OCC}"' in page and "<svg" in page and "switch-on" not in page   # managers do not switch
    assert model_in_manifest(site, f"{OCC}.v1")

    assert post(manager, f"/api/teach/heads/{OCC}@1/activate").status_code == 403
    r = admin.post("/teach/heads/activate", data={"ref": f"{OCC}@1", "csrf_token": admin.csrf})
    assert r.status_code == 302
    assert [v.ref for v in HallHeads(site.store).active()] == [f"{OCC}@1"]
    page = admin.get("/teach").text
    assert f'data-ref="{OCC}@1" class="on"' in page and "roll-back" in page
    done = post(admin, f"/api/teach/heads/{OCC}/rollback").get_json()
    assert done == {"head": OCC, "from_version": 1, "to_version": None}
    assert HallHeads(site.store).active() == []
    audit = admin.get("/api/teach/heads").get_json()["audit"]
    assert [(a["action"], a["by"]) for a in audit[:3]] == [("rolled_back", "admin"), ("activated", "admin"),
                                                          ("trained", "manager")]


def model_in_manifest(site, name: str) -> bool:
    return name in load_manifest(hall_manifest(site.config))


def test_window_state_candidates_come_without_effort_and_count_once_confirmed(hall, analyzer):
    from datetime import datetime

    from vision.media.clips import ClipCutter
    from vision.perception.pipeline import AnalyzerPool
    from vision.runtime.worker import CANDIDATE_EVERY_S, CameraWorker

    from .test_dashboard import TZ

    site = hall["site"]
    worker = CameraWorker(site.config, site.config.cameras[0], AnalyzerPool([analyzer]), site.store, ClipCutter())
    open_ts = datetime(2026, 12, 1, 10, 0, tzinfo=TZ).timestamp()       # a Tuesday, in service hours
    closed_ts = datetime(2026, 12, 2, 3, 0, tzinfo=TZ).timestamp()      # the night after
    occupied, empty = hall["unlabelled"], hall["vacant"]   # the vacant frame is labelled already: stays one label
    step = worker.watch.step(occupied, open_ts)
    assert worker._propose_states(open_ts, occupied, step.observations) == 1
    assert worker._propose_states(open_ts + 60, occupied, step.observations) == 0         # not every frame
    night = worker.watch.step(empty, closed_ts)
    assert worker._propose_states(closed_ts, empty, night.observations) == 1
    assert worker._propose_states(closed_ts + CANDIDATE_EVERY_S, occupied,
                                  worker.watch.step(occupied, closed_ts + CANDIDATE_EVERY_S).observations) == 0
    manager = site.client("manager")
    found = manager.get("/api/teach/candidates").get_json()["candidates"]
    assert [(c["window_id"], c["suggested"]) for c in found] == [("w01", "occupied"), ("w01", "vacant")]
    assert found[0]["reason"].startswith("staff_detected:0.") and found[1]["reason"] == "closed_hours"
    page = manager.get("/teach").text
    assert page.count("data-candidate=") == 2 and "closed hours, nobody detected" in page
    assert manager.get(f"/teach/candidates/{found[0]['id']}.jpg").mimetype == "image/jpeg"
    before = Teaching(site.store).counts()["window_state"]["w01"]
    confirmed = post(manager, f"/api/teach/candidates/{found[0]['id']}", {"value": "occupied"}).get_json()
    assert confirmed["label"]["value"] == "occupied" and confirmed["label"]["labelled_by"] == "manager"
    assert post(manager, f"/api/teach/candidates/{found[1]['id']}", {"value": None}).get_json() == {"label": None}
    after = Teaching(site.store).counts()["window_state"]["w01"]
    assert after["occupied"] == before["occupied"] + 1 and after["vacant"] == before["vacant"]
    assert manager.get("/api/teach/candidates").get_json()["candidates"] == []
