"""zh-CN words and the API reference through the Flask client (the browser side is
tests/test_browser_language.py): labels on evidence, error pages, the offline API reference page."""

from __future__ import annotations

import re

import pytest

from dashboard.openapi import document
from tests.test_dashboard import Site
from vision.media.labels import say


@pytest.fixture()
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.store.close()


@pytest.mark.parametrize(("label", "zh"), [
    ("person", "人员"), ("staff: phone, eating", "工作人员：手机、进食"), ("cell phone 0.81", "手机 0.81"),
    ("staff: no badge", "工作人员：未佩戴工牌"), ("1号窗口 staff zone", "1号窗口 工作区"), ("", ""),
])
def test_labels_in_chinese(label, zh):
    assert say(label, "zh-CN") == zh
    assert say(label, "en") == label


def test_error_page_says_what_happened_in_chinese_and_keeps_the_detail(site):
    client = site.client("viewer")
    page = client.get("/events/evt_nope")
    assert page.status_code == 404 and "找不到该页面或内容" in page.text
    assert '<details><summary>技术细节</summary><p lang="en">' in page.text        # the detail, folded, marked English
    assert client.get("/settings").status_code == 403 and "没有权限" in client.get("/settings").text
    en = client.get("/events/evt_nope?lang=en")
    assert "Not found" in en.text and "no event" in en.text and "<details>" not in en.text


def test_api_reference_page_shows_every_operation_offline(site):
    assert site.app.test_client().get("/docs/api").status_code == 302           # a login first
    html = site.client("viewer").get("/docs/api").text
    doc = document(site.config)
    for path, item in doc["paths"].items():
        for method in item:
            anchor = f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")
            assert f'id="{anchor}"' in html and f'<code class="path">{path}</code>' in html, (method, path)
    assert 'id="schema-Event"' in html and "接口文档" in html
    # nothing from elsewhere: every src and stylesheet is this site's own
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html.split("</main>")[0].split("<main>")[1]
