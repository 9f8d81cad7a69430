"""PIPL: citizens' faces blurred in evidence that leaves the system, the staff member's kept; who looked
at which clip or snapshot, for the admins. Real photos (ultralytics, OpenCV, scikit-image), the real
BlazeFace model, real H.264 clips through PyAV, the Flask client on a real store."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest

from tests.test_dashboard import Site, record
from vision.privacy.blur import faces_to_blur
from vision.privacy.evidence import blur_clip, blur_image, blurred_path
from vision.privacy.faces import load_face_finder, tiles
from vision.store.audit import EvidenceAudit
from vision.store.schema import migrate, schema_version

# faces marked by hand on each photo (x1, y1, x2, y2: eyes to chin), independent of the detector
ZIDANE = {"zidane": (560, 270, 660, 420), "ancelotti": (930, 150, 1050, 290)}
BUS = {"left_man": (105, 415, 160, 475), "right_man": (255, 410, 310, 480)}
ASTRONAUT = {"astronaut": (180, 80, 265, 170)}
MESSI = {"messi": (225, 98, 256, 130)}


def _window(staff_zone, citizen_zone=None):
    return SimpleNamespace(staff_zone=staff_zone, citizen_zone=citizen_zone)


RIGHT_40 = [[0.62, 0.0], [1.0, 0.0], [1.0, 1.0], [0.62, 1.0]]
LEFT_MAN = [[0.0, 0.3], [0.24, 0.3], [0.24, 0.8], [0.0, 0.8]]


@pytest.fixture(scope="module")
def finder():
    return load_face_finder()


def _photo(media: Path, name: str) -> np.ndarray:
    if name == "astronaut":
        import skimage.data
        return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    path = {"zidane": "ultralytics/zidane.jpg", "bus": "ultralytics/bus.jpg", "messi5": "opencv/messi5.jpg"}[name]
    image = cv2.imread(str(media / path))
    assert image is not None, path
    return image


def _sharpness(image: np.ndarray, box) -> float:
    x1, y1, x2, y2 = box
    gray = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def _diff(a: np.ndarray, b: np.ndarray, box) -> float:
    x1, y1, x2, y2 = box
    return float(np.abs(a[y1:y2, x1:x2].astype(int) - b[y1:y2, x1:x2].astype(int)).mean())


CASES = [   # photo, windows (their zones), mode, faces blurred, faces kept
    ("zidane", [_window(RIGHT_40)], "all_but_staff", ["zidane"], ["ancelotti"]),
    ("bus", [_window(LEFT_MAN)], "all_but_staff", ["right_man"], ["left_man"]),
    ("bus", [_window(RIGHT_40, citizen_zone=LEFT_MAN)], "citizen_zone", ["left_man"], ["right_man"]),
    ("astronaut", [], "all_but_staff", ["astronaut"], []),
    ("messi5", [], "all_but_staff", ["messi"], []),
    ("zidane", [], "off", [], ["zidane", "ancelotti"]),
]


@pytest.mark.parametrize(("photo", "windows", "mode", "blurred", "kept"), CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_citizens_faces_are_blurred_and_the_staff_face_is_not(media, finder, photo, windows, mode, blurred, kept):
    image = _photo(media, photo)
    faces = {**ZIDANE, **BUS, **ASTRONAUT, **MESSI}
    out, boxes = blur_image(image, finder, windows, mode)
    assert out.shape == image.shape and len(boxes) >= len(blurred)
    for name in blurred:
        box = faces[name]
        assert _diff(out, image, box) > 6, f"{photo}: {name}'s face was not changed"
        assert _sharpness(out, box) < 0.25 * _sharpness(image, box), f"{photo}: {name}'s face is still sharp"
    for name in kept:
        assert _diff(out, image, faces[name]) == 0, f"{photo}: {name}'s face (staff) was changed"
    if photo == "zidane" and mode == "all_but_staff":
        side = np.concatenate([image, out], axis=1)
        cv2.imwrite(str(Path("test-artifacts") / "privacy-zidane.jpg"), cv2.resize(side, None, fx=0.5, fy=0.5))


def test_whose_faces_is_pure_geometry():
    faces = [(10, 10, 30, 30), (70, 10, 90, 30), (70, 70, 90, 90)]       # on a 100 x 100 frame
    staff = _window([[0.5, 0.0], [1.0, 0.0], [1.0, 0.5], [0.5, 0.5]], citizen_zone=[[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]])
    assert faces_to_blur(faces, [staff], 100, 100, "all_but_staff") == [faces[0], faces[2]]
    assert faces_to_blur(faces, [staff], 100, 100, "citizen_zone") == [faces[0]]
    assert faces_to_blur(faces, [staff], 100, 100, "off") == []
    with pytest.raises(ValueError, match="privacy.blur_faces: unknown mode 'some'"):
        faces_to_blur(faces, [staff], 100, 100, "some")


def test_tiles_cover_the_frame():
    regions = tiles(1280, 720)
    assert regions[0] == (0, 0, 1280, 720)
    covered = np.zeros((720, 1280), bool)
    for x1, y1, x2, y2 in regions[1:]:
        assert x2 - x1 == y2 - y1 and x2 <= 1280 and y2 <= 720
        covered[y1:y2, x1:x2] = True
    assert covered.all()


def write_clip(path: Path, image: np.ndarray, frames: int = 30, size=(640, 360), pan_px: int = 1) -> Path:
    """A real H.264 MP4 of ``image`` panning right ``pan_px`` per frame (scaled to ``size``)."""
    small = cv2.resize(image, size)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            frame = np.roll(small, i * pan_px, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as src:
        return [f.to_ndarray(format="bgr24") for f in src.decode(video=0)]


def test_clip_is_blurred_frame_by_frame_with_progress(media, finder, tmp_path):
    clip = write_clip(tmp_path / "evt_1.mp4", _photo(media, "zidane"))
    seen: list[tuple[int, int]] = []
    out = blur_clip(clip, finder, [_window(RIGHT_40)], "all_but_staff", progress=lambda d, t: seen.append((d, t)))
    assert out == blurred_path(clip) == tmp_path / "evt_1.blurred.mp4"
    assert out.stat().st_mtime == clip.stat().st_mtime              # retention still sees the event's age
    before, after = _frames(clip), _frames(out)
    assert len(after) == len(before) == 30
    assert seen[-1] == (60, 60) and all(d <= t for d, t in seen) and len(seen) == 60
    half = lambda b, i: (b[0] // 2 + i, b[1] // 2, b[2] // 2 + i, b[3] // 2)    # noqa: E731 - the pan moves the box
    for i, (a, b) in enumerate(zip(before, after)):
        citizen, staff = half(ZIDANE["zidane"], i), half(ZIDANE["ancelotti"], i)
        assert _sharpness(b, citizen) < 0.3 * _sharpness(a, citizen), f"frame {i}: citizen's face still sharp"
        assert _sharpness(b, staff) > 0.6 * _sharpness(a, staff), f"frame {i}: staff face lost its detail"
        assert _diff(a, b, staff) < 6          # H.264 again: close, not equal


def test_audit_migration_and_filters(tmp_path):
    import sqlite3
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(conn, target=11)
    conn.execute("INSERT INTO logins (at, username, address, ok, reason) VALUES (?, 'ann', '10.0.0.1', 1, NULL)",
                 (1000.0,))
    assert migrate(conn) == schema_version(conn) >= 14
    assert conn.execute("SELECT COUNT(*) FROM evidence_access").fetchone()[0] == 0
    conn.close()
    from vision.store.database import Store
    with Store(tmp_path / "old.db") as store:
        audit = EvidenceAudit(store)
        assert audit.record("ann", "evt_a", "clip", "view", "dashboard", True, "10.0.0.1", at=2000.0)
        assert not audit.record("ann", "evt_a", "clip", "view", "dashboard", True, at=2100.0)   # the same look
        assert audit.record("ann", "evt_a", "clip", "download", "dashboard", True, at=2100.0)
        assert audit.record("bob", "evt_b", "snapshot", "view", "api", True, at=3000.0)
        assert [a["user"] for a in audit.accesses()] == ["bob", "ann", "ann"]
        assert [a["action"] for a in audit.accesses(user="ann")] == ["download", "view"]
        assert [a["event_id"] for a in audit.accesses(event_id="evt_b")] == ["evt_b"]
        assert len(audit.accesses(since=2050.0, until=3000.0)) == 1
        assert audit.users() == ["ann", "bob"] and audit.logins(user="ann")[0]["address"] == "10.0.0.1"
        with pytest.raises(Exception, match="what: unknown value 'face'"):
            audit.record("ann", "evt_a", "face", "view", "dashboard", True)


from tests.pg_fixtures import backend, pg_server, store_target  # noqa: E402,F401 - shared fixtures: both back-ends


def test_audit_on_both_back_ends(store_target):
    from vision.store.database import Store
    with Store(store_target) as store:
        audit = EvidenceAudit(store)
        assert audit.record("ann", "evt_a", "clip", "view", "dashboard", True, "10.0.0.1", at=2000.0)
        assert not audit.record("ann", "evt_a", "clip", "view", "dashboard", True, at=2200.0)
        assert audit.record("bob", "evt_b", "snapshot", "download", "api", False, at=3000.0)
        assert [(a["user"], a["blurred"]) for a in audit.accesses()] == [("bob", False), ("ann", True)]
        assert [a["event_id"] for a in audit.accesses(user="ann", since=1000.0, until=2500.0)] == ["evt_a"]
        assert audit.users() == ["ann", "bob"]


# ---- through the dashboard ----

def _zidane_event(site: Site, media: Path, with_clip: bool = False):
    image = _photo(media, "zidane")
    snap = "cam-a/2026-11-10/evt_z.jpg"
    (site.media / snap).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(site.media / snap), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    clip = None
    if with_clip:
        clip = "cam-a/2026-11-10/evt_z.mp4"
        write_clip(site.media / clip, image, frames=20)
    return record(site.store, "unattended", "w01", time.time() - 120, 1, snapshot=snap, clip=clip), image


def _decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture()
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.store.close()


def test_snapshot_is_blurred_for_all_but_admins_and_every_look_is_recorded(site, media):
    ev, original = _zidane_event(site, media)
    viewer, admin = site.client("viewer"), site.client("admin")
    seen = _decode(viewer.get(f"/events/{ev.id}/snapshot.jpg").data)
    assert _sharpness(seen, ZIDANE["zidane"]) < 0.25 * _sharpness(original, ZIDANE["zidane"])
    assert _diff(seen, original, ZIDANE["ancelotti"]) < 3          # in w02's staff zone: the staff member
    assert _diff(_decode(admin.get(f"/events/{ev.id}/snapshot.jpg").data), original, ZIDANE["zidane"]) < 3
    download = admin.get(f"/events/{ev.id}/snapshot.jpg?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert _sharpness(_decode(download.data), ZIDANE["zidane"]) < 0.25 * _sharpness(original, ZIDANE["zidane"])
    thumb = _decode(viewer.get(f"/events/{ev.id}/snapshot.jpg?thumb=1").data)
    assert thumb.shape[1] == 320
    _, secret = site.app.extensions["hallmonitor.accounts"].create_token("erp", "read", "admin")
    api = site.app.test_client().get(f"/api/events/{ev.id}/snapshot.jpg", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200 and _diff(_decode(api.data), original, ZIDANE["zidane"]) > 6
    rows = EvidenceAudit(site.store).accesses()
    assert [(r["user"], r["what"], r["action"], r["via"], r["blurred"]) for r in rows] == [
        ("token:erp", "snapshot", "download", "api", True), ("admin", "snapshot", "download", "dashboard", True),
        ("admin", "snapshot", "view", "dashboard", False), ("viewer", "snapshot", "view", "dashboard", True)]


def test_clip_download_waits_for_the_blurred_copy_with_progress(site, media):
    ev, original = _zidane_event(site, media, with_clip=True)
    viewer = site.client("viewer")
    first = viewer.get(f"/events/{ev.id}/clip.mp4?download=1")
    assert first.status_code == 202 and "progress" in first.text and first.headers["Retry-After"] == "2"
    assert 'id="blur-wait"' in first.text and "正在模糊" in first.text
    deadline = time.time() + 60
    while (status := viewer.get(f"/events/{ev.id}/clip/export").json)["status"] != "ready":
        assert status["status"] == "preparing" and 0 <= status["done"] <= status["total"], status
        assert time.time() < deadline
        time.sleep(0.3)
    got = viewer.get(f"/events/{ev.id}/clip.mp4?download=1")
    assert got.status_code == 200 and got.headers["Content-Disposition"].startswith("attachment")
    path = site.media / "cam-a/2026-11-10/evt_z.blurred.mp4"
    assert got.data == path.read_bytes()
    frame = _frames(path)[0]
    small = cv2.resize(original, (640, 360))
    half = tuple(v // 2 for v in ZIDANE["zidane"])
    assert _sharpness(frame, half) < 0.3 * _sharpness(small, half)
    # the player's byte ranges: one look, not one per range
    for rng in ("bytes=0-", "bytes=1000-2000", "bytes=2001-"):
        assert viewer.get(f"/events/{ev.id}/clip.mp4", headers={"Range": rng}).status_code == 206
    admin = site.client("admin")
    assert admin.get(f"/events/{ev.id}/clip.mp4").data == (site.media / ev.clip).read_bytes()   # the original
    looks = [(r["user"], r["action"], r["blurred"]) for r in EvidenceAudit(site.store).accesses(event_id=ev.id)]
    assert looks == [("admin", "view", False), ("viewer", "view", True), ("viewer", "download", True)]


def test_audit_page_and_api_are_for_admins_only(site, media):
    ev, _ = _zidane_event(site, media)
    site.client("viewer").get(f"/events/{ev.id}/snapshot.jpg")
    admin = site.client("admin")
    html = admin.get("/audit").text
    assert "证据查看记录" in html and ev.id in html and "查看截图" in html and "viewer" in html
    assert "成功" in html                                            # the logins, from the login audit
    assert ev.id not in admin.get("/audit?user=manager").text
    assert ev.id in admin.get(f"/audit?event={ev.id}&from=2000-01-01&to=2999-12-31").text
    api = admin.get("/api/audit?user=viewer")
    assert api.status_code == 200 and api.json["accesses"][0]["event_id"] == ev.id
    assert {lg["user"] for lg in api.json["logins"]} == {"viewer"}
    assert admin.get("/api/audit?who=x").status_code == 400
    for role in ("viewer", "manager"):
        client = site.client(role)
        assert client.get("/audit").status_code == 403
        assert client.get("/api/audit").status_code == 403
    _, secret = site.app.extensions["hallmonitor.accounts"].create_token("erp", "read", "admin")
    assert site.app.test_client().get("/api/audit", headers={"Authorization": f"Bearer {secret}"}).status_code == 403
    assert "/audit" in admin.get("/").text and "/audit" not in site.client("manager").get("/").text


# ---- the teach panel's crops ----

def _in_crop(crop_shape, box, face, size) -> tuple[int, int, int, int]:
    """Where ``face`` (frame pixels) lands in the served crop of the person ``box``: a mask cut the same way."""
    from vision.perception.crops import person_crop
    mask = np.zeros((size[1], size[0], 3), np.uint8)
    x1, y1, x2, y2 = face
    mask[y1:y2, x1:x2] = 255
    cut = cv2.resize(person_crop(mask, box), (crop_shape[1], crop_shape[0]), interpolation=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(cut[:, :, 0] == 255)          # the padding is grey
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_teach_crops_follow_the_snapshot_policy_and_are_audited(site, media):
    """Nobody marked as staff: the panel offers every person. A manager's crop of Zidane (outside every
    staff zone) has his face blurred; Ancelotti (in w02's staff zone) stays sharp; an admin sees the clean frame."""
    from vision.media.event_frame import FramePerson, write_event_frame
    ev, original = _zidane_event(site, media)
    people = [(123, 197, 712, 714), (747, 41, 1141, 712)]            # zidane, ancelotti (person boxes)
    write_event_frame(site.media / ev.snapshot, original, [FramePerson(b, 0.9, False) for b in people], ev.started_at)
    manager, admin = site.client("manager"), site.client("admin")
    size = (original.shape[1], original.shape[0])
    for index, (name, blurred) in enumerate((("zidane", True), ("ancelotti", False))):
        seen = manager.get(f"/teach/events/{ev.id}/person/{index}.jpg")
        clean = admin.get(f"/teach/events/{ev.id}/person/{index}.jpg")
        assert seen.status_code == clean.status_code == 200
        seen_img, clean_img = _decode(seen.data), _decode(clean.data)
        face = _in_crop(seen_img.shape, people[index], ZIDANE[name], size)
        if blurred:
            assert _sharpness(seen_img, face) < 0.25 * _sharpness(clean_img, face)
        else:
            assert _diff(seen_img, clean_img, face) < 3
    rows = EvidenceAudit(site.store).accesses()
    assert sorted((r["user"], r["what"], r["action"], r["via"], r["blurred"]) for r in rows) == [
        ("admin", "snapshot", "view", "dashboard", False), ("manager", "snapshot", "view", "dashboard", True)]
