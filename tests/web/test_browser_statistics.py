"""The statistics page in real Chromium: the province coordinator sees the cities ranked and switches the range."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.cases.helpers import at
from tests.cases.statistics_scene import build
from tests.factories import add_node, matter_row, sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_province_coordinator_ranks_the_cities_and_switches_the_range(app, org, db, tmp_path):
    build(db, org)
    with db.transaction() as s:
        second = add_node(s, org, "city2", "580200", "岚山市", "city", "province")
        matter = matter_row(s, origin=second, handling=second)
        matter.registered_at = at(2026, 3, 20)
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in_browser(page, base, "coord.province")
        page.goto(base + "/statistics")
        assert "青岚省" in page.locator("h1").inner_text()
        assert "2026-05 至 2026-05" in page.locator("[data-range]").inner_text()
        cities = page.locator("[data-ranking] tbody tr td:nth-child(2)").all_inner_texts()
        assert sorted(cities) == ["岚山市", "岚州市"]

        page.fill("input[name=from]", "2026-03")
        page.fill("input[name=to]", "2026-04")
        page.click("[data-range-form] button[type=submit]")
        page.wait_for_url("**from=2026-03**")
        assert "2026-03 至 2026-04（共 2 个月）" in page.locator("[data-range]").inner_text()
        registered = page.locator("[data-ranking] tbody tr", has_text="岚州市").locator("td").nth(10).inner_text()
        assert registered == "3"
        assert page.locator("svg[data-chart=trend-rates] title").first.text_content().startswith("青岚省")
        assert page.locator("svg[data-chart=trend-registered] rect[data-bar]").count() == 12
        screenshot(page, "statistics")

        page.click("[data-bulletin]")
        page.wait_for_selector("[data-bulletin-body]")
        assert "关于2026年4月" in page.locator("[data-bulletin-body] h1").inner_text()
        screenshot(page, "statistics-bulletin")
        assert not [e for e in errors if "Content Security Policy" in e], errors
