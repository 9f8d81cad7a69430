"""A hall teaches its own heads, end to end in a real headless Chromium (Debian's chromium and
chromium-driver, selenium) against the real app under the real server (uvicorn): an event recorded by the worker's own
code from a real frame of vtest.avi, its staff crops labelled in the teach panel, a false positive
offering to teach, an older event taught from its clip, Train pressed with its progress, the
before/after table and chart, a version switched on and rolled back. After each step the store and
the hall's manifest are checked. Screenshots go to test-artifacts/screenshots/teach-*.png."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from dashboard.server import WebServer
from vision.events import Event, new_event_id
from vision.media.clips import write_overlay, write_snapshot
from vision.models.manifest import load_manifest
from vision.training.fit import hall_manifest
from vision.training.teaching import Teaching
from vision.training.versions import HallHeads, head_name, model_name

from .teach_data import OCCUPIED, VACANT, TeachHall, vtest_frames
from .test_browser import browser, cut_clip, log_in, shot, wait  # noqa: F401 - browser is a fixture
from .test_dashboard import TZ

pytestmark = pytest.mark.slow

from selenium.webdriver.common.by import By  # noqa: E402

OCC = head_name("window_occupied", "w01")


@pytest.fixture(scope="module")
def hall(tmp_path_factory, media, analyzer):
    site = TeachHall(tmp_path_factory.mktemp("browser-teach"))
    site.app.config.update(HM_SSE_POLL_S=0.25, HM_SSE_HEARTBEAT_S=1, HM_SSE_MAX_S=120)
    frames = vtest_frames(media, (560, 563, 777) + OCCUPIED + VACANT)
    now = time.time()
    ev, _ = site.real_event(analyzer, frames[560], now - 900)
    site.bulk_labels({i: im for i, im in frames.items() if i not in (560, 563, 777)}, now - 86400)

    # window-state candidates the worker kept on its own: one in service hours, one at night
    from vision.media.clips import ClipCutter
    from vision.perception.pipeline import AnalyzerPool
    from vision.runtime.worker import CameraWorker
    worker = CameraWorker(site.config, site.config.cameras[0], AnalyzerPool([analyzer]), site.store, ClipCutter())
    for image, when in ((frames[563], datetime(2026, 12, 1, 10, 0, tzinfo=TZ)),
                        (frames[777], datetime(2026, 12, 2, 3, 0, tzinfo=TZ))):
        ts = when.timestamp()
        assert worker._propose_states(ts, image, worker.watch.step(image, ts).observations) == 1

    # an event from before the clean frames: an annotated snapshot, a clip and its boxes only
    start = now - 2 * 86400
    day = datetime.fromtimestamp(start, TZ).strftime("%Y-%m-%d")
    old_id = new_event_id(start)
    clip_rel, snap_rel = f"cam-v/{day}/{old_id}.mp4", f"cam-v/{day}/{old_id}.jpg"
    clip, clip_frames = cut_clip(media, site.media / clip_rel, start)
    overlay = []
    for t, image in clip_frames[-2:]:
        found = analyzer.analyze(image)
        overlay.append({"t": t, "boxes": [{"box": list(p.box), "label": "staff", "color": [60, 180, 60]}
                                          for p in found.persons]})
    assert any(f["boxes"] for f in overlay), "the detector found nobody in the clip's last seconds"
    write_overlay(site.media / f"cam-v/{day}/{old_id}.boxes.json", overlay, 640, 360)
    write_snapshot(clip_frames[-1][1], site.media / snap_rel,
                   [(b["box"], b["label"], tuple(b["color"])) for b in overlay[-1]["boxes"]])
    old = Event(id=old_id, type="eating", camera_id="cam-v", window_id="w01", phase="started", severity="low",
                started_at=start, updated_at=start, snapshot=snap_rel, clip=clip_rel)
    site.store.record(old)

    server = WebServer(site.app, "127.0.0.1", 0, threads=8).start()
    yield {"site": site, "url": server.url.rstrip("/"), "event": ev, "old": old}
    time.sleep(2.5)       # the board's SSE stream (after each login) ends on its next heartbeat
    server.stop()
    site.store.close()


def labels(site, behaviour: str | None = None):
    return [(x.behaviour, x.value, x.labelled_by) for x in Teaching(site.store).labels(behaviour)
            if x.event_id is not None and not x.event_id.startswith("evt_v")]


def choice(fig, behaviour: str):
    return fig.find_element(By.CSS_SELECTOR, f'.choice[data-behaviour="{behaviour}"]')


def click_and_wait(browser, row, value: str, expect: str) -> None:
    row.find_element(By.CSS_SELECTOR, f'button[data-value="{value}"]').click()
    wait(browser, lambda d: row.get_attribute("data-saved") == expect, 8, f"label {value} not saved")


def test_label_staff_crops_on_a_real_event(hall, browser):
    site, ev = hall["site"], hall["event"]
    log_in(browser, hall["url"], "manager")
    browser.get(f"{hall['url']}/events/{ev['id']}?lang=zh-CN")
    panel = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#teach[data-ready="1"]'), 15,
                 "the teach panel did not load")
    people = panel.find_elements(By.CSS_SELECTOR, "figure.crop[data-person]")
    assert people, "no staff crop in the panel"
    wait(browser, lambda d: all(d.execute_script("return arguments[0].naturalWidth", img) > 0
                                for img in panel.find_elements(By.TAG_NAME, "img")), 10, "crops did not load")
    first = people[0]
    assert "使用手机" in first.text and "佩戴工牌" in first.text
    click_and_wait(browser, choice(first, "phone_in_use"), "yes", "yes")
    click_and_wait(browser, choice(first, "badge_worn"), "no", "no")
    window = panel.find_element(By.CSS_SELECTOR, 'figure.crop[data-window="w01"]')
    click_and_wait(browser, choice(window, "window_state"), "occupied", "occupied")
    assert sorted(labels(site)) == [("badge_worn", "no", "manager"), ("phone_in_use", "yes", "manager"),
                                    ("window_state", "occupied", "manager")]
    click_and_wait(browser, choice(first, "phone_in_use"), "yes", "")          # a second click clears it
    assert ("phone_in_use", "yes", "manager") not in labels(site)
    click_and_wait(browser, choice(first, "phone_in_use"), "no", "no")
    assert ("phone_in_use", "no", "manager") in labels(site)
    shot(browser, "teach-event")

    # a reload shows what was given, and who gave it
    browser.refresh()
    panel = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#teach[data-ready="1"]'), 15)
    on = panel.find_element(By.CSS_SELECTOR,
                            'figure.crop[data-person] .choice[data-behaviour="phone_in_use"] button.on')
    assert on.get_attribute("data-value") == "no" and "manager" in on.get_attribute("title")


def test_a_false_positive_opens_the_teach_panel(hall, browser):
    ev = hall["event"]
    browser.get(f"{hall['url']}/events/{ev['id']}")
    browser.find_element(By.CSS_SELECTOR, 'form.review button[value="false_positive"]').click()
    wait(browser, lambda d: "teach=fp" in d.current_url, 8, "the review did not land on the teach panel")
    assert "误报" in browser.find_element(By.ID, "teach-fp").text
    assert hall["site"].store.get_event(ev["id"])["review_status"] == "false_positive"


def test_an_older_event_is_taught_from_its_clip(hall, browser):
    # marked a false positive on the board, it offers at once to teach
    old = hall["old"]
    browser.get(f"{hall['url']}/")
    item = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'li[data-id="{old.id}"]'), 10)
    item.find_element(By.CSS_SELECTOR, ".act-false_positive").click()
    item.find_element(By.CSS_SELECTOR, ".review-form button[type=submit]").click()
    link = wait(browser, lambda d: item.find_element(By.CSS_SELECTOR, "a.teach-link"), 8, "no teach link after FP")
    assert hall["site"].store.get_event(old.id)["review_status"] == "false_positive"
    link.click()
    wait(browser, lambda d: "teach=fp" in d.current_url, 8)
    panel = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#teach[data-ready="1"]'), 30)
    img = panel.find_element(By.CSS_SELECTOR, "figure.crop[data-person] img")
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", img) > 0, 10)
    click_and_wait(browser, choice(panel.find_element(By.CSS_SELECTOR, "figure.crop[data-person]"), "eating"),
                   "no", "no")
    frame_id = Teaching(hall["site"].store).frame_id_of_event(old.id)
    assert Teaching(hall["site"].store).frame(frame_id)["width"] == 640       # decoded from the clip


def test_confirm_and_correct_window_state_candidates(hall, browser):
    site = hall["site"]
    browser.get(f"{hall['url']}/teach")
    figs = browser.find_elements(By.CSS_SELECTOR, "#candidates figure[data-candidate]")
    assert len(figs) == 2
    assert "建议\n有人\n检测到工作人员 0." in figs[0].text and "建议\n无人\n非服务时间" in figs[1].text
    wait(browser, lambda d: all(d.execute_script("return arguments[0].naturalWidth",
                                                 f.find_element(By.TAG_NAME, "img")) > 0 for f in figs), 10)
    shot(browser, "teach-candidates")
    before = Teaching(site.store).counts()["window_state"]["w01"]
    figs[0].find_element(By.CSS_SELECTOR, 'button[data-value="occupied"]').click()      # confirmed
    figs[1].find_element(By.CSS_SELECTOR, 'button[data-value=""]').click()              # dropped
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#candidates figure[data-candidate]"), 8)
    after = Teaching(site.store).counts()["window_state"]["w01"]
    assert after["occupied"] == before["occupied"] + 1 and after["vacant"] == before["vacant"]
    assert Teaching(site.store).candidates() == []


def test_train_and_see_before_and_after(hall, browser):
    site = hall["site"]
    browser.get(f"{hall['url']}/teach")
    assert browser.find_element(By.CSS_SELECTOR, '#label-counts tr[data-behaviour="window_state"]')
    browser.find_element(By.ID, "train").click()
    wait(browser, lambda d: d.execute_script("return window.hmTeach.polls") >= 1, 10, "no progress polled")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'#results tr[data-head="{OCC}"]'), 180,
         "the before/after table did not appear")
    row = browser.find_element(By.CSS_SELECTOR, f'#results tr[data-head="{OCC}"]')
    f1 = float(row.find_element(By.CSS_SELECTOR, 'td.after[data-metric="f1"]').text)
    assert f1 >= 0.9, row.text
    assert "–" in row.find_element(By.CSS_SELECTOR, "td.before").text        # no head judged this window before
    chart = browser.find_element(By.CSS_SELECTOR, "figure.teach-chart svg.chart")
    assert chart.size["height"] > 50
    assert browser.find_elements(By.CSS_SELECTOR, ".skipped")                 # too few labels for the others
    run = HallHeads(site.store).run()
    assert run["status"] == "done" and run["started_by"] == "manager"
    [version] = [v for v in HallHeads(site.store).versions() if v.head == OCC]
    assert version.version == 1 and not version.active
    assert model_name(OCC, 1) in load_manifest(hall_manifest(site.config))
    assert not browser.find_elements(By.CSS_SELECTOR, "button.switch-on")      # managers cannot switch
    shot(browser, "teach-trained")


def test_switch_on_and_roll_back(hall, browser):
    site = hall["site"]
    log_in(browser, hall["url"], "admin")
    browser.get(f"{hall['url']}/teach")
    row = browser.find_element(By.CSS_SELECTOR, f'#version-list tr[data-ref="{OCC}@1"]')
    assert row.get_attribute("class") == "off"
    row.find_element(By.CSS_SELECTOR, "button.switch-on").click()
    row = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#version-list tr[data-ref="{OCC}@1"].on'), 8)
    assert [v.ref for v in HallHeads(site.store).active()] == [f"{OCC}@1"]
    assert "admin" in browser.find_element(By.ID, "audit").text
    shot(browser, "teach-on")
    row.find_element(By.CSS_SELECTOR, "button.roll-back").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#version-list tr[data-ref="{OCC}@1"].off'), 8)
    assert HallHeads(site.store).active() == []
    assert [(a["action"], a["by"]) for a in HallHeads(site.store).audit()[:2]] == [("rolled_back", "admin"),
                                                                                 ("activated", "admin")]
    assert model_name(OCC, 1) in load_manifest(hall_manifest(site.config))     # the file stays, only off
    shot(browser, "teach-rolled-back")
    browser.get("about:blank")
