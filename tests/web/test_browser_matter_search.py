"""In real Chromium: a county coordinator finds matters by name and state and downloads them as Excel."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.browser import chromium, live_server, screenshot
from tests.cases.matter_search_scene import build_search_scene
from tests.factories import id_number, sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_county_coordinator_searches_and_downloads_the_excel(app, org, settings, db, tmp_path):
    scene = build_search_scene(db, org, settings)
    with live_server(app) as base, chromium(tmp_path, accept_downloads=True) as browser:
        page = browser.new_page()
        sign_in_browser(page, base, "coord.county")
        page.goto(base + "/matters")
        assert page.locator("[data-found-total]").get_attribute("data-found-total") == str(len(scene.county_a))
        page.fill("input[name=name]", "李")
        page.select_option("select[name=state]", ["registered"])
        page.click("#matter-search button[type=submit]")
        page.wait_for_url("**/matters?*name=*")
        assert page.locator("[data-found-total]").get_attribute("data-found-total") == "1"
        rows = page.locator("[data-results] tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-matter") == str(scene.ids["land"])
        assert rows.first.locator("[data-overdue]").count() == 1
        screenshot(page, "matters-search")

        with page.expect_download() as waiting:
            page.click("[data-export=xlsx]")
        download = waiting.value
        assert download.suggested_filename.startswith("信访事项清单_") and download.suggested_filename.endswith(".xlsx")
        path = tmp_path / "export.xlsx"
        download.save_as(path)
        values = list(load_workbook(path).active.iter_rows(values_only=True))
        assert values[2][:4] == ("编号", "登记日期", "信访人", "身份证号")
        body = values[3:]
        assert len(body) == 1 and body[0][2] == "李四"
        assert body[0][3] == "*" * 14 + id_number(2)[-4:] and id_number(2) not in str(values)

        # The petitioner's history, from the row.
        rows.first.locator("a[href^='/petitioners/']").click()
        page.wait_for_url("**/petitioners/*")
        assert page.locator(f"[data-matter='{scene.ids['land']}']").count() == 1
