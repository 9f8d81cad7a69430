"""The settings forms through the Flask client on a real cameras.yaml: each writes through the zone
editor's round-trip writer (comments kept), is validated by the config's pydantic models (errors in
the page's language next to their field, what was typed kept, the file untouched), is logged with who
changed what, and never sends a camera password to the browser. The connection test opens a real
RTSP stream with the real capture code."""

from __future__ import annotations

import re

import pytest

from tests.rtsp_fixtures import camera_stream, rtsp_server  # noqa: F401
from vision.config import load_config

from .test_dashboard import Site, csrf_of


@pytest.fixture()
def site(tmp_path) -> Site:
    s = Site(tmp_path)
    # a camera with a password, as halls have them
    text = s.config_path.read_text(encoding="utf-8").replace(
        "url: rtsp://127.0.0.1:9/none\n    windows:\n      - id: w01",
        "url: rtsp://admin:Hik12345@127.0.0.1:9/Streaming/Channels/101   # the main stream\n    windows:\n"
        "      - id: w01", 1)
    s.config_path.write_text(text, encoding="utf-8")
    s.app.config["HALL"] = s.config = load_config(s.config_path)
    yield s
    s.store.close()


def admin(site: Site, lang: str = "zh-CN"):
    client = site.client("admin")
    client.get(f"/settings?lang={lang}")
    return client, csrf_of(client.get("/settings").text)


def field_errors(html: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, msg in re.findall(r'class="field-error" role="alert" data-field="([^"]+)">([^<]*)<', html):
        out.setdefault(name, []).append(msg)
    return out


def form_of(html: str) -> dict[str, str]:
    """The form's values as the page shows them (inputs, checked boxes, selected options, textareas)."""
    values = dict(re.findall(r'<input name="([^"]+)" value="([^"]*)"', html))
    values.update(re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', html))
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" value="1" checked', html):
        values[name] = "1"
    for name, body in re.findall(r'<select name="([^"]+)">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = chosen.group(1) if chosen else ""
    return {k: v.replace("&#34;", '"').replace("&amp;", "&") for k, v in values.items()}


@pytest.mark.parametrize("path", ["/settings/hours", "/settings/rules", "/settings/badge", "/settings/cameras/new",
                                  "/settings/cameras/cam-a/edit", "/settings/changes"])
def test_admins_only(site, path):
    assert site.client("manager").get(path).status_code == 403
    assert site.client("admin").get(path).status_code == 200


def test_service_hours_saved_with_comments_kept_and_logged(site):
    client, csrf = admin(site)
    values = form_of(client.get("/settings/hours").text)
    assert values["timezone"] == "Asia/Shanghai" and values["days_0"] == "mon-fri"
    values.update(csrf_token=csrf, days_0="mon-fri", periods_0="08:30-12:00, 13:00-17:00", days_1="sat",
                  periods_1="09:00-12:00", closed="2026-10-01\n2026-10-02")
    resp = client.post("/settings/hours", data=values)
    assert resp.status_code == 302, resp.text
    text = site.config_path.read_text(encoding="utf-8")
    assert "# the staff zone follows the desk's edge" in text and "# keep me" in text and "# the main stream" in text
    config = load_config(site.config_path)
    assert config.schedule.hours == {"mon-fri": ["08:30-12:00", "13:00-17:00"], "sat": ["09:00-12:00"]}
    assert [d.isoformat() for d in config.schedule.closed] == ["2026-10-01", "2026-10-02"]
    assert site.app.config["HALL"].schedule.hours["sat"] == ["09:00-12:00"]
    log = client.get("/settings/changes").text
    assert "admin" in log and "服务时间" in log and "+    sat: [09:00-12:00]" in log.replace("&#39;", "'")


def test_a_bad_period_is_refused_next_to_its_field_in_the_pages_language(site):
    before = site.config_path.read_text(encoding="utf-8")
    for lang, expect in (("zh-CN", "时段应写作 09:00-12:00"), ("en", "a period looks like 09:00-12:00")):
        client, csrf = admin(site, lang)
        values = form_of(client.get("/settings/hours").text)
        values.update(csrf_token=csrf, periods_0="9-12, 13:00-17:00", closed="2026-13-01")
        resp = client.post("/settings/hours", data=values)
        assert resp.status_code == 400
        errors = field_errors(resp.text)
        assert any(expect in m for m in errors["periods_0"]), errors
        assert form_of(resp.text)["periods_0"] == "9-12, 13:00-17:00"        # what was typed stays
        assert site.config_path.read_text(encoding="utf-8") == before
    values.update(periods_0="09:00-12:00")
    resp = client.post("/settings/hours", data=values)
    assert resp.status_code == 400 and field_errors(resp.text)["closed"] == ["a date looks like 2026-10-01"]
    assert site.config_path.read_text(encoding="utf-8") == before


def test_rules_per_window_and_default(site):
    client, csrf = admin(site)
    values = form_of(client.get("/settings/rules").text)
    assert values["d.unattended.dwell_s"] == "60" and values["d.eating.enabled"] == "1"
    values.update(csrf_token=csrf)
    values["w.w01.unattended.dwell_s"] = "-5"
    values["d.eating.dwell_s"] = "abc"
    resp = client.post("/settings/rules", data=values)
    assert resp.status_code == 400
    errors = field_errors(resp.text)
    assert errors["w.w01.unattended.dwell_s"] == ["不能小于 0"] and errors["d.eating.dwell_s"] == ["请输入数字"]
    assert form_of(resp.text)["d.eating.dwell_s"] == "abc"
    values.update({"w.w01.unattended.dwell_s": "45", "d.eating.dwell_s": "25", "w.w02.phone_use.enabled": "off"})
    values.pop("d.sleeping.enabled")          # the box unticked: sleeping off for the whole hall
    assert client.post("/settings/rules", data=values).status_code == 302
    config = load_config(site.config_path)
    w01, w02 = config.cameras[0].windows
    assert config.rules(w01).unattended.dwell_s == 45 and config.rules(w02).unattended.dwell_s == 60
    assert config.rules(w02).phone_use.enabled is False and config.rules(w01).phone_use.enabled is True
    assert config.defaults.rules.eating.dwell_s == 25 and config.defaults.rules.sleeping.enabled is False
    text = site.config_path.read_text(encoding="utf-8")
    assert "rules:\n          unattended: {dwell_s: 45}\n" in text and "phone_use: {enabled: false}" in text
    assert "counter:    [[0.50, 0.60]" in text and "long_call" not in text      # as people wrote it


def test_badge_profile(site):
    client, csrf = admin(site, "en")
    values = form_of(client.get("/settings/badge").text)
    values.update(csrf_token=csrf, colors="#ffffff, blue", max_saturation="300")
    resp = client.post("/settings/badge", data=values)
    errors = field_errors(resp.text)
    assert resp.status_code == 400 and errors["colors"] == ["a colour is #rrggbb (blue)"]
    assert errors["max_saturation"] == ["must be at most 255"]
    values.update(colors="#ffffff, #1e5bb8", max_saturation="80")
    assert client.post("/settings/badge", data=values).status_code == 302
    badge = load_config(site.config_path).badge
    assert badge.colors == ["#ffffff", "#1e5bb8"] and badge.max_saturation == 80


def test_camera_password_never_reaches_the_page_and_is_kept(site):
    client, csrf = admin(site)
    page = client.get("/settings/cameras/cam-a/edit").text
    assert "Hik12345" not in page and "rtsp://admin:***@127.0.0.1:9/Streaming/Channels/101" in page
    values = form_of(page)
    values.update(csrf_token=csrf, url="rtsp://admin:***@127.0.0.1:9/Streaming/Channels/102", name="A区（子码流）",
                  analysis_fps="0")
    resp = client.post("/settings/cameras/cam-a/edit", data=values)
    assert resp.status_code == 400 and field_errors(resp.text)["analysis_fps"] == ["必须大于 0"]
    assert "Hik12345" not in resp.text
    values["analysis_fps"] = "2"
    assert client.post("/settings/cameras/cam-a/edit", data=values).status_code == 302
    cam = load_config(site.config_path).camera("cam-a")
    assert cam.url == "rtsp://admin:Hik12345@127.0.0.1:9/Streaming/Channels/102" and cam.analysis_fps == 2
    assert "# the main stream" in site.config_path.read_text(encoding="utf-8")
    # a new password typed replaces it; it does not come back in the page or the change log
    values["url"] = "rtsp://admin:N3wSecret@127.0.0.1:9/Streaming/Channels/102"
    assert client.post("/settings/cameras/cam-a/edit", data=values).status_code == 302
    assert load_config(site.config_path).camera("cam-a").url.endswith("N3wSecret@127.0.0.1:9/Streaming/Channels/102")
    log = client.get("/settings/changes").text
    assert "Hik12345" not in log and "N3wSecret" not in log and "admin:***@" in log
    assert "N3wSecret" not in client.get("/settings/cameras/cam-a/edit").text


def test_add_and_remove_a_camera(site):
    client, csrf = admin(site)
    values = form_of(client.get("/settings/cameras/new").text)
    values.update(csrf_token=csrf, id="cam c", url="rtsp://u:pw@127.0.0.1:9/x", window_id="w04", window_name="4号窗口")
    resp = client.post("/settings/cameras/new", data=values)
    assert resp.status_code == 400 and "编号只能含字母" in field_errors(resp.text)["id"][0]
    assert "u:pw@" not in resp.text and form_of(resp.text)["window_id"] == "w04"
    values.update(id="cam-c", window_id="w01")
    resp = client.post("/settings/cameras/new", data=values)
    assert resp.status_code == 400 and field_errors(resp.text)["window_id"] == ["编号已被使用 (w01)"]
    values.update(window_id="w04")
    resp = client.post("/settings/cameras/new", data=values)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/settings/cameras/cam-c")
    config = load_config(site.config_path)
    assert config.camera("cam-c").windows[0].id == "w04" and config.camera("cam-c").url == "rtsp://u:pw@127.0.0.1:9/x"
    resp = client.post("/settings/cameras/cam-c/remove", data={"csrf_token": csrf})
    assert resp.status_code == 302
    assert [c.id for c in load_config(site.config_path).cameras] == ["cam-a", "cam-b"]
    assert "删除摄像头" in client.get("/settings/changes").text


def test_connection_test_opens_a_real_stream(site, rtsp_server):
    client, csrf = admin(site)
    resp = client.post("/settings/cameras/test", data={"url": rtsp_server.urls["cam1"]},
                       headers={"X-CSRF-Token": csrf})
    body = resp.get_json()
    assert body["ok"] and body["width"] == 1280 and body["height"] == 720 and body["image"].startswith("data:image/jpeg")
    # the stored password stands behind ***; the answer never carries it
    resp = client.post("/settings/cameras/test", data={"url": "rtsp://admin:***@127.0.0.1:9/Streaming/Channels/101",
                                                       "camera_id": "cam-a"}, headers={"X-CSRF-Token": csrf})
    body = resp.get_json()
    assert body["ok"] is False and "Hik12345" not in resp.text and "admin:***@127.0.0.1:9" in body["error"]
    assert "无法取得画面" == body["message"]
