"""In Chromium: the kiosk's rating screen after a served reply, pages at tablet width, HTML error pages."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import act, login, register, sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_kiosk_rating_tablet_layout_and_error_page(app, client, org, tmp_path):
    office = login(client, "coord.county")
    rated, _ = register(client, org, headers=office, summary="路灯损坏三个月无人维修", category="other")
    code = rated["query_code"]
    for action, params in (("accept", {}), ("reply", {"outcome": "explain", "reason": "已报修。"}), ("serve", {})):
        act(client, office, rated["id"], action, **params)
    booked = client.post("/api/v1/sessions", headers=office, json={
        "kind": "reception", "leader_id": org.people["leader_county"].id, "room_ids": [org.rooms["township"].id],
        "matter_id": rated["id"], "ad_hoc": True, "reason": "回访"})
    assert booked.status_code == 201, booked.text
    target = booked.json()["id"]

    with live_server(app) as base, chromium(tmp_path, viewport={"width": 768, "height": 1024}) as browser:
        kiosk = browser.new_page()
        sign_in_browser(kiosk, base, "room.township")
        kiosk.goto(f"{base}/kiosk/sessions/{target}/rate")
        kiosk.fill("input[name=code]", code)
        kiosk.check("input[name=rating][value=satisfied]")
        kiosk.locator("form button[type=submit]").last.click()
        kiosk.wait_for_load_state()
        screenshot(kiosk, "pages-kiosk-rated")
        assert client.get(f"/api/v1/matters/{rated['id']}", headers=office).json()["rating"] == "satisfied"
        for path in ("/kiosk", f"/kiosk/sessions/{target}/consent"):
            kiosk.goto(base + path)
            assert kiosk.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 1, path

        # Tablet portrait: no page scrolls sideways.
        browser.clear_cookies()
        office_page = browser.new_page()
        sign_in_browser(office_page, base, "coord.county")
        for path in ("/dashboard", f"/matters/{rated['id']}", "/matters/new", "/tasks", f"/matters/{rated['id']}/book"):
            office_page.goto(base + path)
            overflow = office_page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, overflow)
        screenshot(office_page, "pages-tablet-booking")

        # A refused page is a page in Chinese, not JSON.
        browser.clear_cookies()
        outsider = browser.new_page()
        sign_in_browser(outsider, base, "coord.county2")
        response = outsider.goto(f"{base}/matters/{rated['id']}")
        assert response.status == 403
        assert "无权执行此操作" in outsider.inner_text("p.error")
