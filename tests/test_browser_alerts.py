"""The board's sound and spoken alert, in a real headless Chromium: every new alert chimes (WebAudio,
no sound file) and, when turned on, is spoken with speechSynthesis in zh-CN ("2号窗口，窗口使用手机");
both toggles are remembered by the browser. The browser's own APIs are hooked to count the calls."""

from __future__ import annotations

import time

import pytest

from dashboard.server import WebServer
from vision.events import Event, new_event_id

from .test_browser import browser, log_in, shot, wait  # noqa: F401 - browser is a fixture
from .test_dashboard import Site

pytestmark = pytest.mark.slow

from selenium.webdriver.common.by import By  # noqa: E402

HOOKS = """
window.__calls = {speak: [], play: 0};
const speak = window.speechSynthesis.speak.bind(window.speechSynthesis);
window.speechSynthesis.speak = function (u) { window.__calls.speak.push([u.text, u.lang]); return speak(u); };
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () { window.__calls.play += 1; return play.call(this); };
"""


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("alerts"))
    site.app.config.update(HM_SSE_POLL_S=0.25, HM_SSE_HEARTBEAT_S=2, HM_SSE_MAX_S=120)
    server = WebServer(site.app, "127.0.0.1", 0, threads=8).start()
    yield {"site": site, "url": server.url.rstrip("/")}
    time.sleep(2.5)       # let the SSE streams notice the browser has gone
    server.stop()
    site.store.close()


def alert(store, type_: str, window: str, severity: str = "medium") -> Event:
    now = time.time()
    ev = Event(id=new_event_id(now), type=type_, camera_id="cam-a", window_id=window, phase="started",
               severity=severity, started_at=now, updated_at=now)
    store.record(ev)
    return ev


def open_board(browser, url: str) -> None:
    browser.get(url + "/")
    wait(browser, lambda d: d.find_element(By.ID, "stream-state").get_attribute("data-state") == "connected",
         message="the SSE stream did not connect")
    browser.execute_script(HOOKS)


def calls(browser) -> dict:
    return browser.execute_script("return window.__calls")


def arrived(browser, ev: Event) -> None:
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]'), 8, "the alert did not arrive")


def test_new_alerts_chime_and_are_spoken_per_window_with_toggles_remembered(hall, browser):
    url, store = hall["url"], hall["site"].store
    log_in(browser, url, "viewer")
    browser.execute_script("localStorage.clear()")
    open_board(browser, url)
    speech = browser.find_element(By.ID, "speech-toggle")
    assert speech.text == "播报：关" and speech.get_attribute("aria-pressed") == "false"   # off until chosen

    ev = alert(store, "eating", "w01", "low")               # a low alert chimes too; speech is off
    arrived(browser, ev)
    wait(browser, lambda d: calls(d)["play"] == 1, 5, "no chime for a new alert")
    assert calls(browser)["speak"] == []

    speech.click()
    assert browser.execute_script("return localStorage.getItem('hm-speech')") == "on"
    assert speech.text == "播报：开"
    time.sleep(1.6)                                          # a burst chimes once; this one is a new burst
    ev = alert(store, "phone_use", "w02", "high")
    arrived(browser, ev)
    wait(browser, lambda d: calls(d)["speak"], 5, "the alert was not spoken")
    assert calls(browser)["speak"] == [["2号窗口，窗口使用手机", "zh-CN"]]
    assert calls(browser)["play"] == 2
    shot(browser, "board-speech", full=False)

    # an update or end of a known alert says nothing
    store.record(ev.advance("ended", ev.started_at + 20))
    wait(browser, lambda d: "已结束" in d.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]').text, 8)
    time.sleep(0.5)
    assert len(calls(browser)["speak"]) == 1 and calls(browser)["play"] == 2

    # the choice survives a reload; turning sound off silences the chime, the speech stays
    open_board(browser, url)
    assert browser.find_element(By.ID, "speech-toggle").get_attribute("aria-pressed") == "true"
    browser.find_element(By.ID, "sound-toggle").click()
    assert browser.execute_script("return localStorage.getItem('hm-sound')") == "off"
    ev = alert(store, "sleeping", "w03")
    arrived(browser, ev)
    wait(browser, lambda d: calls(d)["speak"], 5, "the alert was not spoken after the reload")
    assert calls(browser)["speak"] == [["3号窗口，趴台打盹", "zh-CN"]] and calls(browser)["play"] == 0

    # both off: the alert still arrives, silently
    browser.find_element(By.ID, "speech-toggle").click()
    ev = alert(store, "unattended", "w01")
    arrived(browser, ev)
    time.sleep(0.5)
    assert len(calls(browser)["speak"]) == 1 and calls(browser)["play"] == 0
    assert browser.execute_script("return window.hmBoard.received") == 2   # since the reload
