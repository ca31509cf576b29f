"""In real Chromium: an administrator makes a township coordinator's account and resets its password; the
coordinator signs in with the temporary password and is made to change it before anything else."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_admin_makes_a_coordinator_who_must_change_the_temporary_password(app, org, tmp_path):
    with live_server(app) as base, chromium(tmp_path / "admin") as browser:
        admin = browser.new_page()
        errors: list[str] = []
        admin.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in_browser(admin, base, "admin")
        admin.goto(base + "/admin/people")
        admin.click("[data-new-person]")
        admin.fill("input[name=name]", "周协调")
        admin.fill("input[name=title]", "信访办主任")
        admin.fill("input[name=username]", "zhou.xietiao")
        admin.select_option("select[name=node_id]", label="桃源镇")
        admin.select_option("select[name=role]", "coordinator")
        admin.click("button[type=submit].primary")
        first = admin.wait_for_selector("[data-temporary-password]").inner_text()
        assert "信访工作人员" in admin.locator("[data-assignment]").inner_text()
        screenshot(admin, "admin-people")

        admin.click("[data-reset]")
        admin.wait_for_selector("[data-temporary-password]")
        temporary = admin.locator("[data-temporary-password]").inner_text()
        assert temporary != first and len(temporary) == 14
        admin.reload()
        assert admin.locator("[data-temporary-password]").count() == 0  # shown once
        assert not [e for e in errors if "Content Security Policy" in e], errors

    with live_server(app) as base, chromium(tmp_path / "coordinator") as browser:  # a browser of their own
        coordinator = browser.new_page()
        coordinator.goto(base + "/login")
        coordinator.fill("input[name=username]", "zhou.xietiao")
        coordinator.fill("input[name=password]", first)
        coordinator.click("button[type=submit]")
        assert "用户名或密码错误" in coordinator.locator("[role=alert]").inner_text()  # the reset replaced it
        coordinator.fill("input[name=username]", "zhou.xietiao")
        coordinator.fill("input[name=password]", temporary)
        coordinator.click("button[type=submit]")
        coordinator.wait_for_url(base + "/account/password")
        coordinator.goto(base + "/dashboard")
        assert coordinator.url == base + "/account/password"  # nothing else until it is changed
        coordinator.fill("input[name=current_password]", temporary)
        coordinator.fill("input[name=new_password]", "password123")
        coordinator.fill("input[name=confirm_password]", "password123")
        coordinator.click("form[action='/account/password'] button[type=submit]")
        assert "太常见" in coordinator.locator("[role=alert]").inner_text()
        coordinator.fill("input[name=current_password]", temporary)
        coordinator.fill("input[name=new_password]", "Taoyuan-river-88")
        coordinator.fill("input[name=confirm_password]", "Taoyuan-river-88")
        coordinator.click("form[action='/account/password'] button[type=submit]")
        coordinator.wait_for_selector("[role=status]")
        coordinator.goto(base + "/dashboard")
        assert coordinator.url == base + "/dashboard"
