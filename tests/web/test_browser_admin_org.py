"""The administrator in real Chromium: a new township under a county, its room with weekly hours, both in the tree."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_admin_adds_a_township_and_its_room_with_hours(app, org, tmp_path):
    county = org.nodes["county"].id
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in_browser(page, base, "admin")
        assert page.url == base + "/admin/org"
        node = page.locator(f"#node-{county}")
        node.locator(":scope > details > summary").click()
        form = node.locator(":scope > details form[data-add-child]")
        form.locator("input[name=code]").fill("580102005")
        form.locator("input[name=name]").fill("杏花镇")
        form.locator("select[name=kind]").select_option("region")
        form.locator("button[type=submit]").click()
        page.wait_for_url(lambda url: "#node-" in url)
        made = page.locator("[data-node-name]", has_text="杏花镇").locator("xpath=ancestor::li[1]")
        assert made.get_attribute("data-level") == "township"
        township = made.get_attribute("data-node")

        page.goto(f"{base}/admin/rooms?node_id={township}")
        new_room = page.locator("form[data-new-room]")
        assert new_room.locator("select[name=node_id]").input_value() == township
        new_room.locator("input[name=name]").fill("杏花镇视频接访室")
        new_room.locator("button[type=submit]").click()
        page.wait_for_url(lambda url: "/admin/rooms/" in url)
        assert page.locator("[data-room-name]").inner_text() == "杏花镇视频接访室"
        hours = page.locator("form[data-hours-form]")
        for day in (0, 2, 4):
            hours.locator(f"input[name=opens_{day}]").fill("09:00")
            hours.locator(f"input[name=closes_{day}]").fill("11:30")
        hours.locator("button[type=submit]").click()
        page.wait_for_load_state()
        page.wait_for_function("document.querySelector('input[name=closes_4]').value === '11:30'")
        assert page.locator("input[name=opens_1]").input_value() == ""

        page.goto(f"{base}/admin/org#node-{township}")
        row = page.locator(f"#node-{township}")
        assert "杏花镇" in row.inner_text() and "乡级" in row.inner_text()
        assert row.locator("[data-tree-room]").inner_text() == "杏花镇视频接访室"
        parent_row = page.locator(f"#node-{county}")
        assert "城东区" in parent_row.inner_text()
        row.scroll_into_view_if_needed()
        screenshot(page, "admin-org")
        assert not [e for e in errors if "favicon" not in e], errors
