"""The live view in a real headless Chromium, on a real RTSP camera (vtest.avi served by GStreamer)
analysed by the real supervisor and models: the tile says 实时 while frames come, a click enlarges it
to the camera's own resolution, full screen and Esc work, each staff zone on the frame is outlined in
its window's state colour from the store, and when the camera dies the tile shows 摄像头离线 /
画面已停止更新 with the last frame's time, never 实时. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import time

import cv2
import numpy as np
import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dashboard import create_app
from dashboard.server import WebServer
from tests.rtsp_fixtures import camera_stream, own_rtsp_server  # noqa: F401
from tests.test_live_pipeline import hall_yaml
from vision.config import parse_config
from vision.media.palette import STATES
from vision.runtime.supervisor import Supervisor

from .test_browser import browser, log_in, shot, wait  # noqa: F401
from .test_dashboard import CHEAP_HASH

pytestmark = pytest.mark.slow

STALE_S = 3.0
# the staff zones of hall_yaml's two windows: (window, x of the right edge, y from, y to)
EDGES = [("cam-w", 0.70, 0.15, 0.35), ("cam-busy", 0.46, 0.24, 0.56)]


@pytest.fixture()
def live_hall(own_rtsp_server, tmp_path, analyzer):  # noqa: F811
    config = parse_config(hall_yaml(tmp_path, {"cam": own_rtsp_server.urls["cam"]}, stall_s=3))
    sup = Supervisor(config, analyzer=analyzer).start()
    with sup.store.write() as conn:
        conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                     ("viewer", CHEAP_HASH, "viewer", time.time()))
    app = create_app(config, store=sup.store, supervisor=sup, testing=True, secret_key=b"t" * 32)
    app.config.update(HM_LIVE_STALE_S=STALE_S)
    server = WebServer(app, "127.0.0.1", 0, threads=8).start()
    try:
        yield {"url": server.url.rstrip("/"), "sup": sup, "rtsp": own_rtsp_server}
    finally:
        server.stop()
        sup.stop()


def tile_state(driver) -> dict:
    return driver.execute_script("""
        const f = document.querySelector('.cams .cam'), s = f.querySelector('.cam-stale');
        return {state: f.dataset.state || '', caption: f.querySelector('.cam-time').textContent,
                overlay: s.hidden ? '' : s.textContent, width: f.querySelector('img').naturalWidth};""")


def outline_matches(image: np.ndarray, x: float, y0: float, y1: float, colour) -> float:
    """The share of points along a staff zone's right edge whose colour is the state's (people
    walking across the edge cover a few)."""
    h, w = image.shape[:2]
    cx = round(x * w)
    ys = np.linspace(y0 * h + 12, y1 * h - 4, 24).round().astype(int)
    hits = [np.abs(np.median(image[y - 1:y + 2, cx - 1:cx + 2].reshape(-1, 3), axis=0) - colour).max() <= 45
            for y in ys]
    return float(np.mean(hits))


def test_live_tile_enlarges_goes_full_screen_draws_states_and_goes_stale(live_hall, browser):  # noqa: F811
    url, sup = live_hall["url"], live_hall["sup"]
    log_in(browser, url, "viewer")
    browser.get(url + "/live")
    wait(browser, lambda d: tile_state(d)["state"] == "live", 40, "the tile never showed a live frame")
    tile = tile_state(browser)
    assert tile["caption"].startswith("实时 ") and tile["overlay"] == "" and tile["width"] == 960
    shot(browser, "live-tile", full=False)

    # the windows' states the store keeps, drawn on the frame the page gets
    session = requests.Session()
    for c in browser.get_cookies():
        session.cookies.set(c["name"], c["value"])
    for _ in range(5):
        before = {r["window_id"]: r["status"] for r in sup.store.window_states()}
        resp = session.get(url + "/live/cam.jpg?width=1280", timeout=10)
        after = {r["window_id"]: r["status"] for r in sup.store.window_states()}
        if before == after and set(before) == {"cam-w", "cam-busy"}:
            break
        time.sleep(1)
    assert resp.status_code == 200 and resp.headers["X-Camera-Status"] == "online", resp.headers
    image = cv2.imdecode(np.frombuffer(resp.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (720, 1280)
    for window, x, y0, y1 in EDGES:
        share = outline_matches(image, x, y0, y1, np.array(STATES[after[window]]))
        assert share >= 0.6, (window, after[window], share)
    bad = session.get(url + "/live/cam.jpg?width=99999", timeout=10)
    assert bad.status_code == 400 and "160 to 1920" in bad.json()["error"]["message"]

    # click to enlarge: the camera's own 1280 px, then full screen, then Esc
    browser.find_element(By.CSS_SELECTOR, ".cams .cam-frame").click()
    wait(browser, lambda d: d.execute_script("return document.getElementById('live-big').open"), 5)
    wait(browser, lambda d: d.execute_script(
        "return document.querySelector('#live-big img').naturalWidth") == 1280, 10, "no enlarged frame")
    wait(browser, lambda d: d.execute_script(
        "return document.querySelector('#live-big .cam-time').textContent").startswith("实时 "), 5)
    shot(browser, "live-enlarged", full=False)
    browser.find_element(By.CSS_SELECTOR, "#live-big .live-big-full").click()
    wait(browser, lambda d: d.execute_script(
        "return document.fullscreenElement && document.fullscreenElement.matches('#live-big .cam-frame')"), 5,
        "the enlarged frame did not go full screen")
    shot(browser, "live-fullscreen", full=False)
    browser.execute_script("document.exitFullscreen()")   # what the browser does on the first Esc
    wait(browser, lambda d: d.execute_script("return document.fullscreenElement === null"), 5)
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait(browser, lambda d: not d.execute_script("return document.getElementById('live-big').open"), 5,
         "Esc did not close the enlarged view")

    # the camera dies: within stall + a few seconds the tile says so, with the last frame's time
    killed = time.time()
    live_hall["rtsp"].kill()
    wait(browser, lambda d: tile_state(d)["state"] in ("stale", "offline"), 15, "the tile stayed live")
    took = time.time() - killed
    tile = tile_state(browser)
    assert "实时" not in tile["caption"] and "实时" not in tile["overlay"]
    assert re.search(r"最后画面 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", tile["overlay"]), tile
    assert took <= STALE_S + 5, took
    wait(browser, lambda d: tile_state(d)["state"] == "offline", 15, "the camera was never shown offline")
    assert "摄像头离线" in tile_state(browser)["overlay"]
    shot(browser, "live-offline", full=False)
