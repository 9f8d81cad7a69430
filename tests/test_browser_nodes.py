"""The board in a real browser (Chromium) names the node watching each camera, live over SSE: a lease
taken, given up and taken by another node changes the tiles without a reload, in zh-CN."""

from __future__ import annotations

import time

import pytest

from dashboard.server import WebServer
from vision.store import leases
from vision.store.leases import Me, camera_lease

from .test_browser import browser, log_in, shot, wait  # noqa: F401
from .test_dashboard import Site

pytestmark = pytest.mark.slow


def tile_text(driver, window: str) -> str:
    """The tile's camera line, read in one go (the board replaces its tiles on every change)."""
    return driver.execute_script(
        "const e = document.querySelector(`[data-window=\"${arguments[0]}\"] .tile-cam`);"
        " return e ? e.textContent : '';", window)


def test_board_shows_which_node_watches_each_camera_live(tmp_path, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    site = Site(tmp_path)
    site.app.config.update(HM_SSE_POLL_S=0.25, HM_SSE_HEARTBEAT_S=2, HM_SSE_MAX_S=60)
    server = WebServer(site.app, "127.0.0.1", 0, threads=4).start()
    east, west = Me("hall-east", "i-east", "h", 1), Me("hall-west", "i-west", "h", 2)
    try:
        url = server.url.rstrip("/")
        log_in(browser, url, "viewer")
        wait(browser, lambda d: d.find_element(By.ID, "stream-state").get_attribute("data-state") == "connected",
             message="the SSE stream did not connect")
        assert "节点" not in tile_text(browser, "w01")            # no nodes yet: nothing said
        now = time.time()
        with site.store.write() as conn:
            assert leases.join(conn, east, now, 60) is None
            assert leases.take(conn, east, camera_lease("cam-a"), now, 60)
            assert leases.take(conn, east, camera_lease("cam-b"), now, 60)
        wait(browser, lambda d: tile_text(d, "w01").endswith("· 节点 hall-east"), 8, "the node did not show")
        assert tile_text(browser, "w02").endswith("· 节点 hall-east")
        with site.store.write() as conn:                          # east gives cam-b up: nobody watches it
            leases.release(conn, east, [camera_lease("cam-b")], time.time())
        wait(browser, lambda d: tile_text(d, "w03").endswith("· 无节点监看"), 8, "the unwatched camera did not show")
        assert browser.execute_script(
            "return document.querySelector('[data-window=\"w03\"] .tile-node').classList.contains('unwatched')")
        with site.store.write() as conn:
            assert leases.join(conn, west, time.time(), 60) is None
            assert leases.take(conn, west, camera_lease("cam-b"), time.time(), 60)
        wait(browser, lambda d: tile_text(d, "w03").endswith("· 节点 hall-west"), 8, "the new node did not show")
        shot(browser, "board-nodes", full=False)
    finally:
        server.stop()
        site.store.close()
