"""A person signs in with real Chromium and sees the Chinese landing page."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sign_in_in_chromium(app, org, tmp_path):
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        page.goto(base + "/")
        assert page.url.endswith("/login")
        assert page.locator("h1").inner_text() == "登录"
        screenshot(page, "login")
        page.fill("input[name=username]", "leader.county")
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        assert "用户名或密码错误" in page.locator(".error").inner_text()
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        # The landing page sends each role to its main page: a leader to the agenda.
        page.wait_for_url(base + "/agenda")
        assert page.locator("h1").inner_text() == "我的接访日程"
        assert "测试leader_county，您好" in page.content()
        screenshot(page, "home")
