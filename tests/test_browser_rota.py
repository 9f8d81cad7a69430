"""The rota (排班) in a real headless Chromium: an admin uploads a CSV with mistakes and sees each one by
line and column in Chinese, then a good one; the event page names who was on duty; the daily, weekly
and monthly reports show the per-person table and chart, with no English left on the zh-CN pages.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest

from dashboard.server import WebServer
from vision.rota import parse_csv

from .test_browser import SHOTS, browser, log_in, shot, wait  # noqa: F401 - browser is a fixture
from .test_dashboard import TZ, Site, record

pytestmark = pytest.mark.slow

from selenium.webdriver.common.by import By  # noqa: E402

# Latin words on a zh-CN page are English left over; these few are names, not words (a format, a file
# extension, the user who imported the rota)
ALLOWED_LATIN = {"CSV", "csv", "UTF", "admin"}


def english_left(driver) -> list[str]:
    text = driver.execute_script("return document.querySelector('main').innerText")
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in ALLOWED_LATIN})


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rota-browser")
    site = Site(folder)
    now = datetime.now(TZ)
    today = now.date()
    day = today.isoformat()
    rota = (f"窗口,姓名,工号,开始,结束\n"
            f"w01,张三,1001,{day} 00:00,{day} 12:00\n"
            f"w01,李四,1002,{day} 12:00,{(today + timedelta(days=1)).isoformat()} 00:00\n"
            f"w02,王五,1003,{day} 00:00,{day} 23:59\n")
    names = {"w01": "1号窗口", "w02": "2号窗口", "w03": "3号窗口"}
    site.store.import_rota(parse_csv(rota, names, TZ), TZ, user="admin")
    midnight = datetime(today.year, today.month, today.day, tzinfo=TZ).timestamp()
    events = [record(site.store, ty, w, midnight + h * 3600 + 60, 3)
              for ty, w, h in (("phone_use", "w01", 9), ("phone_use", "w01", 10), ("eating", "w01", 14),
                               ("sleeping", "w02", 11), ("unattended", "w03", 10))]
    server = WebServer(site.app, "127.0.0.1", 0, threads=4).start()
    yield {"site": site, "url": server.url.rstrip("/"), "events": events, "folder": folder, "today": today}
    server.stop()
    site.store.close()


def test_an_admin_uploads_a_rota_and_sees_its_mistakes_by_line_and_column(hall, browser):
    url, folder = hall["url"], hall["folder"]
    tomorrow = (hall["today"] + timedelta(days=1)).isoformat()
    bad = folder / "排班-有误.csv"
    bad.write_text(f"窗口,姓名,工号,开始,结束\n"
                   f"1号窗口,赵六,1004,{tomorrow} 08:30,{tomorrow} 12:00\n"
                   f"9号窗口,钱七,1005,{tomorrow} 08:30,{tomorrow} 12:00\n"
                   f"1号窗口,孙八,1006,{tomorrow} 11:00,{tomorrow} 13:00\n", encoding="utf-8-sig")
    log_in(browser, url, "admin")
    browser.get(url + "/rota?lang=zh-CN")
    before = len(hall["site"].store.rota())
    browser.find_element(By.CSS_SELECTOR, 'input[name="mode"][value="add"]').click()
    browser.find_element(By.CSS_SELECTOR, 'input[type="file"][name="rota"]').send_keys(str(bad))
    browser.find_element(By.CSS_SELECTOR, "#rota-form button[type=submit]").click()
    problems = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#rota-problems tbody tr"), 10,
                    "no problems listed")
    rows = [[c.text for c in r.find_elements(By.TAG_NAME, "td")] for r in problems]
    assert [r[:2] for r in rows] == [["3", "窗口"], ["4", "开始"]]
    assert "本厅没有窗口“9号窗口”" in rows[0][2]
    assert "孙八" in rows[1][2] and "赵六" in rows[1][2] and "时间重叠" in rows[1][2]
    assert "未做任何更改" in browser.find_element(By.ID, "rota-problems").text
    assert len(hall["site"].store.rota()) == before                    # nothing half-imported
    assert english_left(browser) == [], english_left(browser)
    shot(browser, "rota-upload-problems")

    good = folder / "排班.csv"
    good.write_text(f"窗口,姓名,工号,开始,结束\n"
                    f"1号窗口,赵六,1004,{tomorrow} 08:30,{tomorrow} 12:00\n"
                    f"w02,孙八,1006,{tomorrow} 11:00,{tomorrow} 13:00\n", encoding="utf-8")
    browser.find_element(By.CSS_SELECTOR, 'input[type="file"][name="rota"]').send_keys(str(good))
    browser.find_element(By.CSS_SELECTOR, "#rota-form button[type=submit]").click()
    result = wait(browser, lambda d: d.find_elements(By.ID, "rota-result"), 10, "no import result")[0]
    assert "已导入 2 个班次" in result.text
    assert len(hall["site"].store.rota()) == before + 2
    browser.get(f"{url}/rota?day={tomorrow}")
    cells = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#rota-table tbody tr")]
    assert len(cells) == 2 and "赵六" in cells[0] and "1004" in cells[0] and "08:30" in cells[0]
    assert english_left(browser) == []
    shot(browser, "rota-day")


def test_the_event_page_names_who_was_on_duty(hall, browser):
    log_in(browser, hall["url"], "viewer")
    morning, _, afternoon, _, camera_b = hall["events"]
    browser.get(f"{hall['url']}/events/{morning.id}?lang=zh-CN")
    assert browser.find_element(By.ID, "event-staff").text == "张三 · 工号 1001"
    assert english_left(browser) == [], english_left(browser)
    shot(browser, "event-on-duty")
    browser.get(f"{hall['url']}/events/{afternoon.id}")
    assert browser.find_element(By.ID, "event-staff").text == "李四 · 工号 1002"
    browser.get(f"{hall['url']}/events/{camera_b.id}")
    assert browser.find_element(By.ID, "event-staff").text == "排班表中无人"          # w03 is not on the rota
    browser.get(f"{hall['url']}/events")                                       # the list names them too
    assert "张三" in browser.find_element(By.CSS_SELECTOR, f'a[href="/events/{morning.id}"]').find_element(
        By.XPATH, "../..").text
    browser.get(f"{hall['url']}/events/{morning.id}?lang=en")
    assert browser.find_element(By.ID, "event-staff").text == "张三 · Staff no. 1001"
    browser.get(f"{hall['url']}/events/{morning.id}?lang=zh-CN")


PERSON_CHART = """
const fig = Array.from(document.querySelectorAll('figure')).find(f => f.querySelector('figcaption').textContent
  === arguments[0]);
return fig ? Array.from(fig.querySelectorAll('svg.chart > text')).map(t => t.querySelector('title') ? t.querySelector('title').textContent : t.textContent) : null;
"""


@pytest.mark.parametrize("path, title", [("/report/day", "日报"), ("/report", "周报"), ("/report/month", "月报")])
def test_reports_have_per_person_numbers_in_the_page_s_language(hall, browser, path, title):
    log_in(browser, hall["url"], "viewer")
    browser.get(f"{hall['url']}{path}?lang=zh-CN")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(title)
    rows = {r.get_attribute("data-staff"): [c.text for c in r.find_elements(By.TAG_NAME, "td")]
            for r in browser.find_elements(By.CSS_SELECTOR, "#people-table tbody tr")}
    head = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#people-table thead th")]
    assert head[0] == "值班人员" and "在岗时长（小时）" in head
    phone, eating = head.index("窗口使用手机") - 1, head.index("窗口进食") - 1
    assert rows["1001"][phone] == "2" and rows["1002"][eating] == "1"
    assert rows["1001"][head.index("在岗时长（小时）") - 1] == "12.0"
    assert rows[""][head.index("擅自离岗") - 1] == "1"                       # w03: nobody on the rota
    labels = browser.execute_script(PERSON_CHART, "每人事件数")
    assert labels and "张三 (1001)" in labels and "未排班" in labels
    assert english_left(browser) == [], english_left(browser)
    shot(browser, f"report-{path.strip('/').replace('/', '-')}-people")
    browser.get(f"{hall['url']}{path}?lang=en")
    assert browser.execute_script(PERSON_CHART, "Events per person")
    browser.get(f"{hall['url']}{path}?lang=zh-CN")


def test_the_board_names_who_is_on_duty_in_live_alerts_and_tiles(hall, browser):
    """Runs last: its open events would count in the reports above."""
    store = hall["site"].store
    log_in(browser, hall["url"], "viewer")
    browser.get(hall["url"] + "/?lang=zh-CN")
    wait(browser, lambda d: d.find_element(By.ID, "stream-state").get_attribute("data-state") == "connected",
         message="the SSE stream did not connect")
    now = time.time()
    name, number = ("张三", "1001") if datetime.now(TZ).hour < 12 else ("李四", "1002")
    named = record(store, "phone_use", "w01", now, None)
    nobody = record(store, "unattended", "w03", now, None)                        # w03 is not on the rota
    line = f"值班：{name}（工号 {number}）"
    item = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'li[data-id="{named.id}"] .a-staff'), 8,
                "the alert did not arrive")[0]
    assert item.text == line
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'li[data-id="{nobody.id}"]'), 8, "no w03 alert")
    assert not browser.find_element(By.CSS_SELECTOR, f'li[data-id="{nobody.id}"] .a-staff').is_displayed()
    tile = wait(browser, lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, '[data-window="w01"] .tile-staff')],
                8, "the w01 tile does not name who is on duty")
    assert tile == [line]
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-window="w03"] .tile-staff')
    shot(browser, "board-on-duty")
    for ev in (named, nobody):                                              # ended: the tile's line goes
        store.record(ev.advance("ended", now + 60))
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-window="w01"] .tile-staff'), 8,
         "the tile still names someone after its alert ended")
    browser.get(hall["url"] + "/?lang=en")
    assert f"On duty: {name} (no. {number})" in browser.find_element(
        By.CSS_SELECTOR, f'li[data-id="{named.id}"] .a-staff').text
