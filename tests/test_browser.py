"""End to end in a real headless Chromium (Debian's chromium + chromium-driver, driven by selenium):
the app under the real server (uvicorn) on a free port, a real H.264 clip cut from real footage with the project's
own clip writer, boxes from the real detector. Log in, see an alert arrive over SSE, acknowledge it
with a comment, play the event's clip with its boxes, render the weekly report, move a zone corner.
Screenshots of each page go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import pytest

from dashboard.server import WebServer
from vision.events import Event, new_event_id
from vision.media.clips import write_clip, write_overlay, write_snapshot
from vision.media.footage import prepare_stream_file
from vision.media.ring import CodecInfo, PacketRecord

from .test_dashboard import PASSWORD, TZ, Site, record

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SHOTS = ROOT / "test-artifacts" / "screenshots"
FPS, CLIP_S = 15, 8

# No skip: a browser test that silently does not run proves nothing. scripts/setup.sh --test installs both.
assert CHROMIUM.exists() and CHROMEDRIVER.exists(), \
    ("needs Debian's chromium and chromium-driver: run `bash scripts/setup.sh --test` "
     "(apt-get install chromium chromium-driver)")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def cut_clip(media: Path, dst: Path, start_wall: float):
    """A real H.264 MP4 of vtest.avi (8 s, 640x360): the stream a camera sends, remuxed by write_clip."""
    stream = prepare_stream_file(media / "opencv" / "vtest.avi",
                                 ROOT / ".cache" / "test-streams" / "vtest-640x360-gop1-8s.h264",
                                 width=640, height=360, fps=FPS, gop_s=1.0, min_s=CLIP_S, max_s=CLIP_S)
    packets, frames = [], []
    with av.open(str(stream), format="h264") as container:
        video = container.streams.video[0]
        info = CodecInfo("h264", 640, 360, Fraction(1, FPS), float(FPS),
                         bytes(video.codec_context.extradata or b"") or None)
        for i, packet in enumerate(container.demux(video)):
            if packet.size == 0:
                continue
            packets.append(PacketRecord(bytes(packet), i, i, 1, packet.is_keyframe, start_wall + i / FPS, info))
            for frame in packet.decode():
                if i % FPS == 0:                       # one analysed frame a second, as a worker does
                    frames.append((i / FPS, frame.to_ndarray(format="bgr24")))
    clip = write_clip(packets, info, dst, start_wall, start_wall + CLIP_S)
    return clip, frames


@pytest.fixture(scope="module")
def hall(tmp_path_factory, media, analyzer):
    site = Site(tmp_path_factory.mktemp("browser"))
    site.app.config.update(HM_SSE_POLL_S=0.25, HM_SSE_HEARTBEAT_S=2, HM_SSE_MAX_S=120)
    now = time.time()
    start = now - 3 * 3600
    day = datetime.fromtimestamp(start, TZ).strftime("%Y-%m-%d")
    clip_rel, snap_rel = f"cam-a/{day}/clip.mp4", f"cam-a/{day}/snap.jpg"
    clip, frames = cut_clip(media, site.media / clip_rel, start)
    overlay = []
    for t, image in frames:
        found = analyzer.analyze(image)
        overlay.append({"t": t, "boxes": [{"box": list(p.box), "label": f"person {p.score:.2f}",
                                           "color": [60, 180, 60]} for p in found.persons]})
    assert sum(len(f["boxes"]) for f in overlay) > 0, "the detector found nobody in vtest.avi"
    write_overlay(site.media / f"cam-a/{day}/clip.boxes.json", overlay, 640, 360)
    write_snapshot(frames[0][1], site.media / snap_rel, [(b["box"], b["label"], tuple(b["color"]))
                                                         for b in overlay[0]["boxes"]])
    clip_event = record(site.store, "extra_person", "w01", start, 2, severity="low", snapshot=snap_rel, clip=clip_rel)
    # some history: this week and the week before, for the list and the report
    kinds = ("unattended", "phone_use", "eating", "badge_absent", "sleeping")
    for i in range(24):
        t = now - (i + 1) * 7.3 * 3600
        record(site.store, kinds[i % 5], ("w01", "w02", "w03")[i % 3], t, 1 + (i * 7) % 25,
               camera="cam-b" if i % 3 == 2 else "cam-a", severity=("medium", "high", "low")[i % 3],
               snapshot=snap_rel)
    site.store.set_window_state("w01", "cam-a", "staffed", now - 5400, now)
    site.store.set_window_state("w03", "cam-b", "paused", now - 300, now)
    server = WebServer(site.app, "127.0.0.1", 0, threads=8).start()
    yield {"site": site, "url": server.url.rstrip("/"), "clip_event": clip_event, "clip": clip}
    time.sleep(2.5)       # the browser has gone: let the SSE streams notice on their next heartbeat and end
    server.stop()
    site.store.close()


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="hm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={profile}",
                 "--window-size=1400,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def shot(driver, name: str, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    if full:
        height = driver.execute_script("return Math.max(document.body.scrollHeight, 1000)")
        driver.set_window_size(1400, min(int(height) + 40, 3000))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(1400, 1000)


def wait(driver, condition, timeout: float = 10.0, message: str = ""):
    # a tile the live stream re-renders between find and read is stale: look again, as for one not there yet
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)


def click_live(driver, css: str, timeout: float = 5.0) -> None:
    """Click what `css` finds on a page the live stream re-renders: a tile replaced between the find and the
    click is found again, as a reader's next click would be."""
    def press(d):
        d.find_element(By.CSS_SELECTOR, css).click()
        return True
    wait(driver, press, timeout, f"could not click {css}")


def log_in(browser, url: str, username: str) -> None:
    browser.get(url + "/login")
    browser.delete_all_cookies()                   # logout is a POST from the page; a new user starts clean
    browser.get(url + "/login")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait(browser, lambda d: "/login" not in d.current_url, 10, "login failed")


def test_login_and_alert_arrives_live(hall, browser):
    url, store = hall["url"], hall["site"].store
    browser.get(url + "/")
    assert "/login" in browser.current_url
    shot(browser, "login", full=False)
    browser.find_element(By.NAME, "username").send_keys("manager")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait(browser, lambda d: d.find_element(By.ID, "stream-state").get_attribute("data-state") == "connected",
         message="the SSE stream did not connect")
    origin = url
    browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": origin, "permissions": ["notifications"]})
    assert browser.execute_script("return document.querySelectorAll('#alerts li.alert').length") == 25

    sleeping_today = int(browser.find_element(By.CSS_SELECTOR, '#today li[data-type="sleeping"] b').text)
    now = time.time()
    ev = Event(id=new_event_id(now), type="sleeping", camera_id="cam-a", window_id="w02", phase="started",
               severity="high", started_at=now, updated_at=now, snapshot=hall["clip_event"].snapshot)
    store.record(ev)
    store.set_window_state("w02", "cam-a", "unattended", now - 95, now, ["unattended", "sleeping"])
    item = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]'), 8,
                "the alert did not arrive over SSE")[0]
    assert "趴台打盹" in item.text and "2号窗口" in item.text and "高" in item.text
    assert browser.execute_script("return document.querySelector('#alerts li').dataset.id") == ev.id
    wait(browser,
         lambda d: "state-unattended" in d.find_element(By.CSS_SELECTOR, '[data-window="w02"]').get_attribute("class"),
         8, "the w02 tile did not turn unattended")
    assert re.search(r"已持续 1分\d+秒", browser.find_element(By.CSS_SELECTOR, '[data-window="w02"]').text)
    wait(browser, lambda d: d.execute_script("return window.hmAlarm.played") >= 1, 5, "no alarm sound for a high alert")
    assert browser.execute_script("return window.hmBoard.received") == 1
    assert browser.execute_script("return window.hmAlarm.notified") == 1          # a desktop notification too
    assert int(browser.find_element(By.CSS_SELECTOR, '#today li[data-type="sleeping"] b').text) == sleeping_today + 1
    shot(browser, "board")

    # an update of the same event changes the item in place, no second item
    store.record(ev.advance("ended", now + 30))
    wait(browser, lambda d: "已结束" in d.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]').text, 8)
    assert len(browser.find_elements(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]')) == 1
    hall["live_event"] = ev


def test_acknowledge_with_comment(hall, browser):
    ev = hall["live_event"]
    item = browser.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]')
    item.find_element(By.CSS_SELECTOR, ".act-acknowledged").click()
    form = item.find_element(By.CSS_SELECTOR, ".review-form")
    form.find_element(By.NAME, "comment").send_keys("已电话提醒 2号窗口")
    shot(browser, "board-review", full=False)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: "已确认" in d.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"] .a-status').text, 5)
    stored = hall["site"].store.get_event(ev.id)
    assert (stored["review_status"], stored["review_comment"], stored["reviewed_by"]) == \
        ("acknowledged", "已电话提醒 2号窗口", "manager")
    assert "已电话提醒" in browser.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]').text


def test_event_clip_plays_with_boxes(hall, browser):
    ev, clip = hall["clip_event"], hall["clip"]
    browser.get(f"{hall['url']}/events/{ev.id}")
    video = browser.find_element(By.ID, "clip")
    # a manager sees citizens' faces blurred (dashboard/privacy.py): the page shows the blurring's progress,
    # then plays the blurred copy (its frames and duration are the clip's)
    assert browser.find_element(By.ID, "blur-wait").is_displayed()
    wait(browser, lambda d: d.execute_script("return arguments[0].readyState", video) == 4, 90,
         "the clip did not reach readyState 4")
    assert not browser.find_element(By.ID, "blur-wait").is_displayed()
    assert video.get_attribute("src").endswith(f"/events/{ev.id}/clip.mp4")
    duration = browser.execute_script("return arguments[0].duration", video)
    assert abs(duration - clip.duration_s) < 0.1, (duration, clip.duration_s)
    assert browser.execute_script("return [arguments[0].videoWidth, arguments[0].videoHeight]", video) == [640, 360]
    browser.execute_script("arguments[0].play()", video)
    wait(browser, lambda d: d.execute_script("return arguments[0].currentTime", video) > 1.5, 10, "the clip does not "
                                                                                                  "play")
    browser.execute_script("arguments[0].pause(); arguments[0].currentTime = 3.2", video)
    wait(browser, lambda d: d.execute_script("return window.hmPlayer.boxesDrawn", video) > 0, 5, "no boxes drawn")
    time.sleep(0.3)
    # the canvas has box pixels where the overlay says a person is
    painted = browser.execute_script("""
        const c = document.getElementById('overlay'), ctx = c.getContext('2d');
        const d = ctx.getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;""")
    assert painted > 500
    assert "3.0 秒" in browser.find_element(By.ID, "boxes-state").text
    shot(browser, "event")


def test_events_list_with_thumbnails(hall, browser):
    browser.get(f"{hall['url']}/events")
    wait(browser, lambda d: d.execute_script(
        "const i = document.querySelector('table.events img'); return i && i.complete && i.naturalWidth > 0"), 10)
    assert "共 26 条事件" in browser.find_element(By.ID, "events-total").text
    shot(browser, "events")


def test_weekly_report_renders_and_prints(hall, browser):
    browser.get(f"{hall['url']}/report")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 3 and all(c.size["height"] > 50 for c in charts)
    assert browser.find_elements(By.CSS_SELECTOR, "#report-table tbody tr")
    shot(browser, "report")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.find_element(By.CSS_SELECTOR, "header.top").is_displayed()
    shot(browser, "report-print")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    last_week = (datetime.now(TZ) - timedelta(days=7)).isocalendar()
    browser.get(f"{hall['url']}/report?week={last_week[0]}-W{last_week[1]:02d}")
    assert f"W{last_week[1]:02d}" in browser.find_element(By.TAG_NAME, "h1").text


def test_live_view_and_zone_editor(hall, browser):
    log_in(browser, hall["url"], "viewer")
    browser.get(f"{hall['url']}/live")
    assert "hallmonitor run" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    wait(browser, lambda d: d.execute_script(
        "const i = document.querySelector('.cam img'); return i.complete && i.naturalWidth > 0"), 10)
    shot(browser, "live")

    # log in as admin and move a corner of window 1's staff zone
    log_in(browser, hall["url"], "admin")
    browser.get(f"{hall['url']}/settings/cameras/cam-a")
    wait(browser, lambda d: d.execute_script("return document.getElementById('zone-image').naturalWidth") > 0, 10)
    handle = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#zone-svg circle.handle"))[2]
    ActionChains(browser).click_and_hold(handle).move_by_offset(-60, 40).release().perform()
    moved = browser.execute_script("return window.hmZones.windows.w01.staff_zone[2]")
    assert moved != [0.45, 0.6] and moved[0] < 0.45 and moved[1] > 0.6
    shot(browser, "zones", full=False)
    # a counter of two points is refused: the key and what is wrong in the page's language (zh-CN)
    counter = browser.execute_script("const w = window.hmZones.windows.w01; const c = w.counter;"
                                     " w.counter = c.slice(0, 2); return c")
    browser.find_element(By.ID, "zone-save").click()
    refused = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#zone-message.error li"), 5, "not refused")
    assert "多边形至少需要 3 个点" in refused[0].text
    assert refused[0].find_element(By.TAG_NAME, "code").text.endswith("cameras[0].windows[0].counter")
    shot(browser, "zones-refused", full=False)
    browser.execute_script("window.hmZones.windows.w01.counter = arguments[0]", counter)
    browser.find_element(By.ID, "zone-save").click()
    wait(browser, lambda d: "zone-message ok" in d.find_element(By.ID, "zone-message").get_attribute("class"), 5,
         "the zones were not saved")
    text = hall["site"].config_path.read_text(encoding="utf-8")
    assert "# keep me" in text and f"[{moved[0]}, {moved[1]}]" in text
    browser.get(f"{hall['url']}/settings/users")
    shot(browser, "users", full=False)
    browser.get(f"{hall['url']}/settings")
    shot(browser, "settings", full=False)
