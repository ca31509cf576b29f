"""A group visit is registered from the page: the form grows to seven petitioners, five representatives."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser import chromium, live_server, screenshot
from tests.factories import id_number, sign_in_browser
from vreception.models import Matter

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_group_of_seven_with_five_representatives(app, org, db, tmp_path):
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        sign_in_browser(page, base, "coord.county")
        page.goto(base + "/matters/new")
        for _ in range(4):
            page.click("button[data-add=petitioner-row]")
        rows = page.locator(".petitioner-row")
        assert rows.count() == 7
        for i in range(7):
            rows.nth(i).locator("input[name=petitioner_name]").fill(f"群众{i + 1}")
            rows.nth(i).locator("input[name=petitioner_id]").fill(id_number(300 + i))
            if i < 5:
                rows.nth(i).locator("input[name=representative]").check()
        assert rows.nth(6).locator("input[name=representative]").get_attribute("value") == "6"
        page.fill("textarea[name=demand_summary]", "集体土地征收补偿标准过低")
        page.select_option("select[name=demand_category] >> nth=0", "land")
        page.locator("form button[type=submit]").last.click()
        page.wait_for_load_state()
        screenshot(page, "pages-group-registered")
    with db.transaction() as session:
        matter = session.scalars(select(Matter)).one()
        assert matter.is_group and len(matter.petitioner_links) == 7
        assert sum(link.representative for link in matter.petitioner_links) == 5
