"""Layout defects a hall manager saw (issue 14, item 9), in a real headless Chromium: an unbroken long
comment stays inside its card on a 390 px phone, and no chart label of the English weekly report is cut."""

from __future__ import annotations

import time

import pytest

from dashboard.server import WebServer

from .test_browser import SHOTS, browser, log_in, shot, wait  # noqa: F401 - browser is a fixture
from .test_dashboard import Site, record

pytestmark = pytest.mark.slow

from selenium.webdriver.common.by import By  # noqa: E402

LONG = "https://example.invalid/" + "x" * 180 + "/整段没有空格的备注" * 6      # no place to break a line


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("polish"))
    now = time.time()
    ev = record(site.store, "extra_person", "w01", now - 600, 3, severity="high")
    record(site.store, "long_call", "w02", now - 900, 4)
    site.store.set_review(ev.id, "acknowledged", LONG, "manager")
    server = WebServer(site.app, "127.0.0.1", 0, threads=4).start()
    yield {"site": site, "url": server.url.rstrip("/"), "event": ev}
    server.stop()
    site.store.close()


OVERFLOW = """
const out = [];
for (const q of document.querySelectorAll(arguments[0])) {
  const box = q.closest(arguments[1]).getBoundingClientRect(), r = q.getBoundingClientRect();
  out.push([q.textContent.length, Math.round(r.right - box.right), Math.round(box.right)]);
}
return [out, document.documentElement.scrollWidth];
"""


def test_an_unbroken_long_comment_stays_in_its_card_on_a_phone(hall, browser):
    log_in(browser, hall["url"], "manager")
    browser.set_window_size(390, 844)
    try:
        width = browser.execute_script("return window.innerWidth")
        assert width <= 390
        browser.get(f"{hall['url']}/events/{hall['event'].id}")
        comments, page_w = browser.execute_script(OVERFLOW, "q", ".facts")
        assert len(comments) == 2                                    # the facts and the review history
        assert all(n > 200 and over <= 0 and right <= width for n, over, right in comments), comments
        assert page_w <= width, f"the event page is {page_w} px wide on a {width} px screen"
        browser.save_screenshot(str(SHOTS / "event-long-comment-390.png"))
        browser.get(hall["url"] + "/")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".a-comment"), 10, "the board shows no alert")
        comments, _ = browser.execute_script(OVERFLOW, ".a-comment", ".alert")
        assert any(n > 200 for n, _, _ in comments) and all(over <= 0 for _, over, _ in comments), comments
    finally:
        browser.set_window_size(1400, 1000)


LABELS = """
return Array.from(document.querySelectorAll('svg.chart > text')).map(t => {
  const b = t.getBBox(), svg = t.ownerSVGElement.viewBox.baseVal;
  return [t.textContent, t.querySelector('title') ? t.querySelector('title').textContent : null,
          b.x, b.x + b.width, svg.width];
});
"""


def test_english_report_chart_labels_are_whole_or_carry_their_full_title(hall, browser):
    log_in(browser, hall["url"], "viewer")
    browser.get(hall["url"] + "/report?lang=en")
    labels = browser.execute_script(LABELS)
    titles = [title for _, title, *_ in labels]
    assert "Extra person behind the counter" in titles and "Call longer than 3 minutes" in titles
    for _text, title, left, right, view_w in labels:
        assert left >= 0 and right <= view_w, f"label {title!r} drawn from x={left:.0f} to {right:.0f}"
    shot(browser, "report-en-labels")
