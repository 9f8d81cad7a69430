"""The zone editor's save: cameras.yaml is rewritten with only the polygons changed (comments and
layout kept), validated first (a bad polygon is refused with file:line: key), admins only."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from dashboard.zones import keep_spacing, set_zones, text_hash
from vision.config import load_config
from vision.errors import ConfigError, InputError

from .test_dashboard import HALL_YAML, Site, login

ROOT = Path(__file__).resolve().parent.parent


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


NEW_STAFF = [[0.1, 0.12], [0.4, 0.12], [0.42, 0.58], [0.08, 0.58], [0.05, 0.3]]


def test_only_the_polygon_lines_change():
    new_text, config = set_zones(HALL_YAML, "cam-a", {"w01": {"staff_zone": NEW_STAFF}})
    assert changed_lines(HALL_YAML, new_text) == [
        "-        staff_zone: [[0.05, 0.10], [0.45, 0.10], [0.45, 0.60], [0.05, 0.60]]   # keep me",
        "+        staff_zone: [[0.1, 0.12], [0.4, 0.12], [0.42, 0.58], [0.08, 0.58], [0.05, 0.3]]   # keep me",
    ]
    assert "# the staff zone follows the desk's edge" in new_text and new_text.startswith("# test hall")
    assert config.camera("cam-a").windows[0].staff_zone == [tuple(p) for p in NEW_STAFF]


def test_the_project_example_config_round_trips():
    text = (ROOT / "cameras.yaml").read_text(encoding="utf-8")
    win = load_config(ROOT / "cameras.yaml").camera("cam-a").windows[1]
    same = {"w02": {"counter": [list(p) for p in win.counter]}}
    new_text, _ = set_zones(text, "cam-a", same, base_dir=ROOT)
    # the numbers are re-written as Python floats (1.00 -> 1.0); the line's alignment and every comment stay
    assert changed_lines(text, new_text) == [
        "-        counter:    [[0.50, 0.62], [1.00, 0.62], [1.00, 0.80], [0.50, 0.80]]",
        "+        counter:    [[0.5, 0.62], [1.0, 0.62], [1.0, 0.8], [0.5, 0.8]]",
    ]


def test_citizen_zone_can_be_removed_and_added():
    text, config = set_zones(HALL_YAML, "cam-a", {"w01": {"citizen_zone": None},
                                                  "w02": {"citizen_zone": [[0.5, 0.8], [1, 0.8], [1, 1]]}})
    assert config.camera("cam-a").windows[0].citizen_zone is None
    assert config.camera("cam-a").windows[1].citizen_zone == [(0.5, 0.8), (1.0, 0.8), (1.0, 1.0)]
    assert "citizen_zone: [[0.5, 0.8], [1.0, 0.8], [1.0, 1.0]]" in text


@pytest.mark.parametrize("windows, error, message", [
    ({"w02": {"counter": [[0.1, 0.1], [0.5, 0.1]]}}, ConfigError,
     "cameras.yaml:26: cameras[0].windows[1].counter: a polygon needs at least 3 points"),
    ({"w01": {"staff_zone": [[0.1, 0.1], [0.5, 0.1], [1.5, 0.2]]}}, ConfigError,
     "cameras.yaml:20: cameras[0].windows[0].staff_zone: point [1.5, 0.2] is outside the frame"),
    ({"w01": {"staff_zone": [[0.1, "a"], [0.5, 0.1], [0.5, 0.2]]}}, InputError, "coordinates are numbers"),
    ({"w09": {"staff_zone": NEW_STAFF}}, InputError, "camera cam-a has no window 'w09'"),
    ({"w01": {"counter": None}}, InputError, "this zone is required"),
    ({"w01": {"desk": NEW_STAFF}}, InputError, "unknown zone 'desk'"),
])
def test_bad_zones_are_refused(windows, error, message):
    with pytest.raises(error) as info:
        set_zones(HALL_YAML, "cam-a", windows)
    assert message in str(info.value)


def test_keep_spacing_only_restores_whitespace():
    old = "a:    1   # c\nb:  [1, 2]\n"
    assert keep_spacing(old, "a: 1   # c\nb: [3, 4]\n") == "a:    1   # c\nb:  [3, 4]\n"


# ---- through the page ----

@pytest.fixture()
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.store.close()


def test_save_writes_the_file_and_keeps_comments(site):
    admin = site.app.test_client()
    token = login(admin, "admin")
    page = admin.get("/settings/cameras/cam-a").text
    assert "zone-svg" in page and text_hash(HALL_YAML) in page
    resp = admin.post("/settings/cameras/cam-a/zones", headers={"X-CSRF-Token": token},
                      json={"file_hash": text_hash(HALL_YAML), "windows": {"w01": {"staff_zone": NEW_STAFF}}})
    assert resp.status_code == 200, resp.text
    written = site.config_path.read_text(encoding="utf-8")
    assert resp.json["file_hash"] == text_hash(written)
    assert len(changed_lines(HALL_YAML, written)) == 2 and "# keep me" in written
    assert (site.config_path.parent / "cameras.yaml.bak").read_text(encoding="utf-8") == HALL_YAML
    assert load_config(site.config_path).camera("cam-a").windows[0].staff_zone[4] == (0.05, 0.3)
    # the page now shows the saved zones; an editor opened on the old file is told it changed
    assert "0.42" in admin.get("/settings/cameras/cam-a").text
    stale = admin.post("/settings/cameras/cam-a/zones", headers={"X-CSRF-Token": token},
                       json={"file_hash": text_hash(HALL_YAML), "windows": {"w01": {"staff_zone": NEW_STAFF}}})
    assert stale.status_code == 409


def test_save_refuses_a_bad_polygon_with_file_and_line(site):
    admin = site.app.test_client()
    token = login(admin, "admin")
    resp = admin.post("/settings/cameras/cam-a/zones", headers={"X-CSRF-Token": token},
                      json={"windows": {"w02": {"counter": [[0.1, 0.1], [0.5, 0.1]]}}})
    assert resp.status_code == 400
    assert resp.json["error"]["message"].startswith(
        "cameras.yaml:26: cameras[0].windows[1].counter: a polygon needs at least 3 points")
    assert site.config_path.read_text(encoding="utf-8") == HALL_YAML


def test_only_admins_save_and_csrf_is_required(site):
    body = {"windows": {"w01": {"staff_zone": NEW_STAFF}}}
    for role in ("viewer", "manager"):
        client = site.app.test_client()
        token = login(client, role)
        resp = client.post("/settings/cameras/cam-a/zones", json=body, headers={"X-CSRF-Token": token})
        assert resp.status_code == 403
    admin = site.app.test_client()
    login(admin, "admin")
    assert admin.post("/settings/cameras/cam-a/zones", json=body).status_code == 403
    assert admin.post("/settings/cameras/nope/zones", json=body).status_code in (403, 404)
    assert site.config_path.read_text(encoding="utf-8") == HALL_YAML


def test_a_refused_save_names_the_key_in_the_pages_language(site):
    admin = site.app.test_client()
    token = login(admin, "admin")
    bad = {"windows": {"w02": {"counter": [[0.1, 0.1], [0.5, 0.1]]},
                       "w01": {"staff_zone": [[0.1, 0.1], [0.5, 0.1], [1.5, 0.2]]}}}
    expected = {"zh-CN": ("多边形至少需要 3 个点", "有点超出画面"), "en": ("a polygon needs at least 3 points",
                                                                 "a point is outside the frame")}
    for lang, (short, outside) in expected.items():
        admin.get(f"/?lang={lang}")
        resp = admin.post("/settings/cameras/cam-a/zones", headers={"X-CSRF-Token": token}, json=bad)
        assert resp.status_code == 400
        problems = {p["key"]: p for p in resp.json["error"]["problems"]}
        assert problems["cameras[0].windows[1].counter"]["text"] == short
        assert problems["cameras[0].windows[1].counter"]["where"] == "cameras.yaml:26"
        assert problems["cameras[0].windows[0].staff_zone"]["text"].startswith(outside)
        assert resp.json["error"]["message"].startswith("cameras.yaml:")    # scripts keep the English lines
    assert site.config_path.read_text(encoding="utf-8") == HALL_YAML


def test_a_config_error_page_says_what_is_wrong_in_chinese(site):
    """A config error that reaches a page (not JSON): each key with what is wrong in zh-CN above the fold."""
    from vision.config import parse_config

    @site.app.get("/_broken-config")
    def _broken():
        parse_config(HALL_YAML.replace("Asia/Shanghai", "Mars/Base", 1), source="cameras.yaml")
        return "unreachable"

    client = site.app.test_client()
    login(client, "admin")
    assert "Asia/Shanghai" in HALL_YAML
    zh = client.get("/_broken-config?lang=zh-CN")
    assert zh.status_code == 400
    assert "配置未通过校验" in zh.text and "未知时区" in zh.text and "schedule.timezone</code>" in zh.text
    en = client.get("/_broken-config?lang=en")
    assert "unknown time zone" in en.text and "配置" not in en.text
