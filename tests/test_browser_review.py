"""Shared and bulk review in two real headless Chromiums (Debian's chromium + chromium-driver, selenium), the
app under the real server: one manager reviews on the board, the other manager's board shows it live
without a reload; bulk selection and "mark all shown" in the events list; the event page's keyboard
shortcuts. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import shutil
import tempfile
import time

import pytest

from dashboard.server import WebServer

from .test_browser import CHROMEDRIVER, CHROMIUM, log_in, shot, wait
from .test_dashboard import Site, record

pytestmark = pytest.mark.slow

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


def chromium() -> tuple[webdriver.Chrome, str]:
    profile = tempfile.mkdtemp(prefix="hm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", f"--user-data-dir={profile}", "--window-size=1400,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver, profile


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("review"))
    site.app.config.update(HM_SSE_POLL_S=0.25, HM_SSE_HEARTBEAT_S=2, HM_SSE_MAX_S=120)
    now = time.time()
    kinds = ("unattended", "phone_use", "eating", "badge_absent", "sleeping")
    events = [record(site.store, kinds[i % 5], ("w01", "w02", "w03")[i % 3], now - 600 - i * 300, 2,
                     camera="cam-b" if i % 3 == 2 else "cam-a") for i in range(9)]
    server = WebServer(site.app, "127.0.0.1", 0, threads=8).start()
    yield {"site": site, "url": server.url.rstrip("/"), "events": events}
    time.sleep(2.5)       # the browsers have gone: let the streams notice on their next heartbeat and end
    server.stop()
    site.store.close()


@pytest.fixture(scope="module")
def two(hall):
    """Two browsers, two sessions: the manager and the admin, each on their own board."""
    made = [chromium(), chromium()]
    first, second = made[0][0], made[1][0]
    log_in(first, hall["url"], "manager")
    log_in(second, hall["url"], "admin")
    yield first, second
    for driver, profile in made:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def connected(driver) -> None:
    wait(driver, lambda d: d.find_element(By.ID, "stream-state").get_attribute("data-state") == "connected",
         message="the SSE stream did not connect")


def status_of(driver, event_id: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'li[data-id="{event_id}"] .a-status').text


def test_a_review_on_one_board_shows_on_the_other_live(hall, two):
    first, second = two
    for d in two:
        d.get(hall["url"] + "/")
        connected(d)
    ev = hall["events"][0]
    assert "未处理" in status_of(second, ev.id)
    item = first.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]')
    item.find_element(By.CSS_SELECTOR, ".act-acknowledged").click()
    item.find_element(By.NAME, "comment").send_keys("已电话提醒 1号窗口")
    item.find_element(By.CSS_SELECTOR, ".review-form button[type=submit]").click()
    started = time.monotonic()
    wait(second, lambda d: "已确认" in status_of(d, ev.id), 2.5, "the other board did not show the review within 2.5 s")
    took = time.monotonic() - started
    other = second.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]')
    assert "manager" in other.text and "已电话提醒 1号窗口" in other.text, other.text
    assert second.execute_script("return window.hmBoard.reviews") == 1
    shot(second, "review-shared-board", full=False)

    # the second manager resolves it from their board, without a comment: the first board shows it,
    # and the comment stays (the history keeps both reviews)
    item = second.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"]')
    item.find_element(By.CSS_SELECTOR, ".act-resolved").click()
    item.find_element(By.CSS_SELECTOR, ".review-form button[type=submit]").click()
    wait(first, lambda d: "已处理" in status_of(d, ev.id), 2.5, "the first board did not show the second review")
    assert "admin" in status_of(first, ev.id)
    assert "已电话提醒 1号窗口" in first.find_element(By.CSS_SELECTOR, f'li[data-id="{ev.id}"] .a-comment').text
    history = hall["site"].store.reviews(ev.id)
    assert [(r["status"], r["comment"], r["user"]) for r in history] == [
        ("acknowledged", "已电话提醒 1号窗口", "manager"), ("resolved", None, "admin")]
    print(f"review seen on the other board after {took:.2f} s")


def test_bulk_select_and_mark_all_shown_in_the_events_list(hall, two):
    first, second = two
    store = hall["site"].store
    second.get(hall["url"] + "/events?camera=cam-b")
    cam_b = [e.id for e in hall["events"] if e.camera_id == "cam-b"]
    rows = second.find_elements(By.CSS_SELECTOR, "table.events tbody tr[data-id]")
    assert sorted(r.get_attribute("data-id") for r in rows) == sorted(cam_b)     # the camera filter
    assert second.find_element(By.ID, "filter-camera").get_attribute("value") == "cam-b"
    assert "已选 0 条" in second.find_element(By.ID, "bulk-count").text
    picked = [r.get_attribute("data-id") for r in rows[:2]]
    for row in rows[:2]:
        row.find_element(By.CSS_SELECTOR, "input.pick").click()
    assert "已选 2 条" in second.find_element(By.ID, "bulk-count").text
    second.find_element(By.ID, "bulk-comment").send_keys("批量确认")
    shot(second, "review-bulk-select", full=False)
    second.find_element(By.CSS_SELECTOR, 'button.bulk-act[data-status="acknowledged"]').click()
    wait(second, lambda d: "已将 2 条事件标为已确认" in d.find_element(By.ID, "bulk-result").text, 5,
         "the bulk review did not answer")
    for eid in picked:
        assert store.get_event(eid)["review_status"] == "acknowledged"
        assert [(r["status"], r["comment"], r["user"]) for r in store.reviews(eid)] == [("acknowledged", "批量确认", "admin")]
        cell = second.find_element(By.CSS_SELECTOR, f'tr[data-id="{eid}"] .review-cell').text
        assert "已确认" in cell

    # "mark all shown": cancelling the confirm changes nothing; accepting resolves every row shown
    second.find_element(By.ID, "bulk-comment").clear()
    second.find_element(By.ID, "bulk-all").click()
    alert = wait(second, lambda d: d.switch_to.alert, 5, "no confirm dialog")
    assert "3 条" in alert.text or f"{len(cam_b)} 条" in alert.text
    alert.dismiss()
    assert all(len(store.reviews(eid)) == (1 if eid in picked else 0) for eid in cam_b)
    second.find_element(By.ID, "bulk-all").click()
    wait(second, lambda d: d.switch_to.alert, 5, "no confirm dialog").accept()
    wait(second, lambda d: f"已将 {len(cam_b)} 条事件标为已处理" in d.find_element(By.ID, "bulk-result").text, 5)
    assert all(store.get_event(eid)["review_status"] == "resolved" for eid in cam_b)
    assert store.get_event(picked[0])["review_comment"] == "批量确认"              # kept through the second review
    shot(second, "review-bulk-done", full=False)


def test_keyboard_shortcuts_on_the_event_page(hall, two):
    first, _ = two
    store = hall["site"].store
    events = hall["events"]                        # newest first, as the list shows them
    keys = ActionChains(first)
    first.get(f"{hall['url']}/events/{events[1].id}")
    help_box = first.find_element(By.ID, "keys-help")
    assert not help_box.is_displayed() and "快捷键" in first.find_element(By.ID, "keys-toggle").text
    keys.send_keys("?").perform()
    wait(first, lambda d: help_box.is_displayed(), 3, "? did not show the shortcuts")
    assert all(w in help_box.text for w in ("下一条", "上一条", "下一条未处理", "确认", "误报"))
    shot(first, "review-keys-help", full=False)
    keys.send_keys("?").perform()

    keys.send_keys("j").perform()
    wait(first, lambda d: d.current_url.endswith(f"/events/{events[2].id}"), 5, "j did not go to the next event")
    keys.send_keys("k").perform()
    wait(first, lambda d: d.current_url.endswith(f"/events/{events[1].id}"), 5, "k did not go back")

    # typing a comment is not a shortcut
    box = first.find_element(By.NAME, "comment")
    box.send_keys("jak 看过了")
    assert first.current_url.endswith(f"/events/{events[1].id}") and store.reviews(events[1].id) == []
    first.find_element(By.TAG_NAME, "h1").click()
    keys.send_keys("a").perform()
    wait(first, lambda d: "已确认" in d.find_element(By.ID, "review-status").text, 5, "a did not acknowledge")
    assert [(r["status"], r["comment"], r["user"]) for r in store.reviews(events[1].id)] == [
        ("acknowledged", "jak 看过了", "manager")]
    assert "jak 看过了" in first.find_element(By.ID, "reviews").text          # the history on the page

    new = [e.id for e in events if store.get_event(e.id)["review_status"] == "new"]
    target = next((i for i in new if [e.id for e in events].index(i) > 1), new[0])   # older first, then wrap
    keys.send_keys("n").perform()
    wait(first, lambda d: d.current_url.endswith(f"/events/{target}"), 5, "n did not go to the next unreviewed event")
    keys.send_keys("f").perform()
    wait(first, lambda d: "误报" in d.find_element(By.ID, "review-status").text, 5, "f did not mark a false positive")
    assert store.get_event(target)["review_status"] == "false_positive"
    shot(first, "review-event-page")
