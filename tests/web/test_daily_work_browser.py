"""In Chromium: the API docs render with every request outside this server cut off; a walk-in from the dashboard."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.conftest import ARTIFACTS
from tests.factories import SH, add_plan, register_matter, sign_in_browser
from vreception import clock

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def _offline(page, base: str) -> tuple[list[str], list[str]]:
    """Cut PAGE off from everything but BASE; the URLs it tried elsewhere and the errors it logged."""
    outside: list[str] = []
    errors: list[str] = []

    def route(handle):
        if handle.request.url.startswith(base):
            handle.continue_()
        else:
            outside.append(handle.request.url)
            handle.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return outside, errors


def _viewport_shot(page, name: str) -> None:
    """A screenshot of what the window shows (the docs pages run to many screens)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_the_api_docs_render_without_the_internet(app, tmp_path):
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        outside, errors = _offline(page, base)
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        assert page.locator(".opblock").count() > 20
        assert "vreception" in page.locator(".info .title").inner_text()
        _viewport_shot(page, "docs-offline-swagger")
        page.goto(base + "/redoc")
        page.wait_for_selector("h1:has-text('vreception')", timeout=30_000)
        assert page.locator("[role=menuitem], .menu-content li").count() > 20
        _viewport_shot(page, "docs-offline-redoc")
        # ReDoc always shows its maker's logo from cdn.redoc.ly: the page's CSP stops it before any request leaves.
        logo = [e for e in errors if "cdn.redoc.ly" in e and "Content Security Policy" in e]
        assert outside == [] and [e for e in errors if e not in logo] == [], (outside, errors)


def test_a_coordinator_arranges_a_walk_in_from_the_dashboard(app, org, settings, db, tmp_path):
    clock.travel_to(datetime(2026, 3, 2, 10, 2, tzinfo=SH))
    with db.transaction() as session:
        add_plan(session, org)
        matter, _ = register_matter(session, org, settings)
        number = matter.number
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        _, errors = _offline(page, base)
        sign_in_browser(page, base, "coord.county")
        page.click("[data-walk-in-button]")
        page.wait_for_url(base + "/walk-in")
        page.click(f"tr:has-text('{number}') [data-walk-in-matter]")
        page.wait_for_selector("form[data-walk-in]")
        page.check("input[name=leader_present]")
        # The rules speak as the form changes: the city leader would be a level skip for a township's matter.
        assert "越级" in page.wait_for_selector("[data-check=level_skip]").inner_text()
        page.select_option("select[name=leader_id]", label="测试leader_county · 副县长")
        page.wait_for_selector("[data-check=ok]")
        page.check("input[name=when][value=later]")
        page.fill("input[name=at_time]", "14:00")
        page.locator("input[name=at_time]").dispatch_event("change")
        page.wait_for_selector("[data-check=ok]")
        screenshot(page, "walk-in-form")
        page.click("button[type=submit].primary")
        page.wait_for_url(lambda url: "/sessions/" in url)
        assert "2026-03-02 14:00" in page.content()
        screenshot(page, "walk-in-booked")
        assert errors == [], errors
