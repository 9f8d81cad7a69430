"""Settings and the pause button in a real headless Chromium (Debian's chromium + chromedriver) against
the real server: a refused rule and service period show their error next to the field in the page's
language with what was typed kept, a fixed one is saved into cameras.yaml; the camera form shows the
password masked and its connection test opens a real RTSP stream with the real capture code and shows
the frame; a manager pauses a window from the board and another open board (another browser, another
user) sees it paused at once over SSE, then resumed. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import shutil
import tempfile
import time

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from dashboard.server import WebServer
from tests.rtsp_fixtures import camera_stream, rtsp_server  # noqa: F401
from vision.config import load_config

from .test_browser import CHROMEDRIVER, CHROMIUM, browser, click_live, log_in, shot, wait  # noqa: F401
from .test_dashboard import Site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("settings"))
    site.app.config.update(HM_SSE_POLL_S=0.25, HM_SSE_HEARTBEAT_S=2, HM_SSE_MAX_S=60)
    now = time.time()
    for wid, cam in (("w01", "cam-a"), ("w02", "cam-a"), ("w03", "cam-b")):
        site.store.set_window_state(wid, cam, "staffed", now - 600, now)
    server = WebServer(site.app, "127.0.0.1", 0, threads=8).start()
    yield {"site": site, "url": server.url.rstrip("/")}
    time.sleep(2.5)
    server.stop()
    site.store.close()


def second_browser():
    profile = tempfile.mkdtemp(prefix="hm-chromium-b-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1200,900", "--lang=en"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    return driver, profile


def field(driver, name: str):
    return driver.find_element(By.NAME, name)


def error_of(driver, name: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, f'.field-error[data-field="{name}"]')
    return " ".join(e.text for e in found)


def retype(driver, name: str, text: str) -> None:
    box = field(driver, name)
    box.clear()
    box.send_keys(text)


def test_rules_and_hours_forms(hall, browser):  # noqa: F811
    url, path = hall["url"], hall["site"].config_path
    log_in(browser, url, "admin")
    browser.get(url + "/settings/rules?lang=zh-CN")
    retype(browser, "w.w01.unattended.dwell_s", "-5")
    browser.find_element(By.CSS_SELECTOR, "#rules-form button[type=submit]").click()
    wait(browser, lambda d: error_of(d, "w.w01.unattended.dwell_s"), 5, "no error next to the field")
    assert error_of(browser, "w.w01.unattended.dwell_s") == "不能小于 0"
    assert field(browser, "w.w01.unattended.dwell_s").get_attribute("value") == "-5"
    # the error sits in the same cell as the field it is about
    assert browser.execute_script(
        "const e = document.querySelector('.field-error[data-field=\"w.w01.unattended.dwell_s\"]');"
        "return e.closest('label').querySelector('input').name") == "w.w01.unattended.dwell_s"
    shot(browser, "settings-rules-error")
    assert "dwell_s: -5" not in path.read_text(encoding="utf-8")
    retype(browser, "w.w01.unattended.dwell_s", "45")
    browser.find_element(By.CSS_SELECTOR, "#rules-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.saved"), 5, "not saved")
    assert load_config(path).rules(load_config(path).cameras[0].windows[0]).unattended.dwell_s == 45

    browser.get(url + "/settings/hours?lang=en")
    retype(browser, "periods_0", "9-12, 13:30-17:30")
    browser.find_element(By.CSS_SELECTOR, "#hours-form button[type=submit]").click()
    wait(browser, lambda d: error_of(d, "periods_0"), 5, "no error for the period")
    assert "a period looks like 09:00-12:00 (9-12)" == error_of(browser, "periods_0")
    assert field(browser, "periods_0").get_attribute("value") == "9-12, 13:30-17:30"
    shot(browser, "settings-hours-error")
    retype(browser, "periods_0", "09:00-12:00, 13:30-17:30")
    field(browser, "closed").send_keys("2026-10-01")
    browser.find_element(By.CSS_SELECTOR, "#hours-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.saved"), 5, "hours not saved")
    assert [d.isoformat() for d in load_config(path).schedule.closed] == ["2026-10-01"]
    browser.get(url + "/settings/changes?lang=zh-CN")
    rows = browser.find_elements(By.CSS_SELECTOR, "#changes tbody tr")
    assert len(rows) == 2 and "admin" in rows[0].text and "服务时间" in rows[0].text and "规则" in rows[1].text
    shot(browser, "settings-changes")


def test_camera_form_masks_the_password_and_tests_a_real_stream(hall, browser, rtsp_server):  # noqa: F811
    url, path = hall["url"], hall["site"].config_path
    text = path.read_text(encoding="utf-8").replace("url: rtsp://127.0.0.1:9/none", "url: rtsp://op:S3cret@127.0.0.1:9/none", 1)
    path.write_text(text, encoding="utf-8")
    hall["site"].app.config["HALL"] = load_config(path)
    log_in(browser, url, "admin")
    browser.get(url + "/settings/cameras/cam-a/edit?lang=zh-CN")
    assert field(browser, "url").get_attribute("value") == "rtsp://op:***@127.0.0.1:9/none"
    assert "S3cret" not in browser.page_source
    # a Hikvision main-stream address: the form offers its sub-stream
    assert not browser.find_element(By.ID, "use-substream").is_displayed()
    retype(browser, "url", "rtsp://op:***@127.0.0.1:9/Streaming/Channels/101")
    browser.find_element(By.ID, "use-substream").click()
    assert field(browser, "url").get_attribute("value") == "rtsp://op:***@127.0.0.1:9/Streaming/Channels/102"
    retype(browser, "url", "rtsp://op:***@127.0.0.1:9/none")
    browser.find_element(By.ID, "camera-test").click()
    wait(browser, lambda d: d.execute_script("return window.hmCameraTest.done") == 1, 15, "the test never answered")
    message = browser.find_element(By.CSS_SELECTOR, "#camera-test-result .msg").text
    assert message.startswith("无法取得画面: cannot open rtsp://op:***@127.0.0.1:9/none") and "S3cret" not in message
    # a new camera on the real RTSP server: the test shows its first frame
    browser.get(url + "/settings/cameras/new?lang=zh-CN")
    retype(browser, "url", rtsp_server.urls["cam1"])
    browser.find_element(By.ID, "camera-test").click()
    wait(browser, lambda d: d.execute_script("return window.hmCameraTest.done") == 1, 20, "the test never answered")
    assert browser.execute_script("return window.hmCameraTest.ok") is True
    assert browser.find_element(By.CSS_SELECTOR, "#camera-test-result .msg").text == "连接成功，画面 1280×720"
    img = browser.find_element(By.CSS_SELECTOR, "#camera-test-result img")
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", img) == 640, 5)
    shot(browser, "settings-camera-test")
    retype(browser, "id", "cam-c")
    retype(browser, "window_id", "w01")
    browser.find_element(By.CSS_SELECTOR, "#camera-form button[type=submit]").click()
    wait(browser, lambda d: error_of(d, "window_id"), 5, "a window id used twice was not refused")
    assert error_of(browser, "window_id") == "编号已被使用 (w01)"
    shot(browser, "settings-camera-error")
    retype(browser, "window_id", "w04")
    browser.find_element(By.CSS_SELECTOR, "#camera-form button[type=submit]").click()
    wait(browser, lambda d: "/settings/cameras/cam-c" in d.current_url, 5, "not sent to the zone editor")
    assert load_config(path).camera("cam-c").url == rtsp_server.urls["cam1"]
    browser.get(url + "/settings/cameras/cam-c/edit")
    shot(browser, "settings-camera")


def test_pause_from_the_board_reaches_another_board(hall, browser):  # noqa: F811
    url, store = hall["url"], hall["site"].store
    other, profile = second_browser()
    try:
        log_in(other, url, "viewer")
        other.get(url + "/?lang=en")
        wait(other, lambda d: d.find_element(By.ID, "stream-state").get_attribute("data-state") == "connected", 10)
        assert not other.find_elements(By.CSS_SELECTOR, "button.tile-pause")     # viewers cannot pause
        log_in(browser, url, "manager")
        browser.get(url + "/?lang=zh-CN")
        wait(browser, lambda d: d.find_element(By.ID, "stream-state").get_attribute("data-state") == "connected", 10)
        click_live(browser, 'button.tile-pause[data-window="w02"]')
        dialog = browser.find_element(By.ID, "pause-dialog")
        assert dialog.is_displayed()
        dialog.find_element(By.NAME, "reason").send_keys("窗口设备检修")
        shot(browser, "board-pause-dialog", full=False)
        t0 = time.monotonic()
        dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(other, lambda d: "state-paused" in d.find_element(By.CSS_SELECTOR, '.tile[data-window="w02"]')
             .get_attribute("class"), 5, "the other board did not see the pause")
        pushed_s = time.monotonic() - t0
        wait(other, lambda d: "Paused" in d.find_element(By.CSS_SELECTOR, '.tile[data-window="w02"]').text, 5,
             "the other board's tile does not say Paused")
        pause = store.active_pauses(time.time(), "w02")[0]
        assert pause["reason"] == "窗口设备检修" and pause["source"] == "api"
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'button.tile-resume[data-window="w02"]'), 5)
        wait(browser, lambda d: "暂停服务" in d.find_element(By.CSS_SELECTOR, '.tile[data-window="w02"]').text, 5,
             "the manager's tile does not say 暂停服务")
        shot(browser, "board-paused")
        click_live(browser, 'button.tile-resume[data-window="w02"]')
        wait(other, lambda d: "state-staffed" in d.find_element(By.CSS_SELECTOR, '.tile[data-window="w02"]')
             .get_attribute("class"), 5, "the other board did not see the resume")
        assert not store.active_pauses(time.time(), "w02")
        log_in(browser, url, "admin")
        browser.get(url + "/settings/changes?lang=zh-CN")
        rows = browser.find_elements(By.CSS_SELECTOR, "#changes tbody tr")
        assert "manager" in rows[0].text and "窗口恢复服务" in rows[0].text and "窗口暂停服务" in rows[1].text
        print(f"pause reached the other board in {pushed_s:.2f} s")
    finally:
        other.quit()
        shutil.rmtree(profile, ignore_errors=True)
