"""The pages in real Chromium: registering and booking, reporting and verifying a task, the lookup, the kiosk."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import build_scene, id_number, sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def fill_matter(page, serial, demand):
    page.fill("input[name=petitioner_name] >> nth=0", "李四")
    page.fill("input[name=petitioner_id] >> nth=0", id_number(serial))
    page.fill("input[name=petitioner_phone] >> nth=0", "13900139000")
    page.select_option("select[name=demand_category] >> nth=0", "wages")
    page.fill("textarea[name=demand_summary] >> nth=0", demand)
    page.select_option("select[name=origin_node_id]", label="桃源镇 (乡级)")
    page.locator("textarea[name=demand_summary] >> nth=0").dispatch_event("change")


def test_coordinator_registers_sees_repeat_warning_and_books(app, org, settings, db, tmp_path):
    build_scene(db, org, settings)
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in_browser(page, base, "coord.county")
        assert page.url == base + "/dashboard"
        assert page.locator("[data-session]").count() >= 1
        page.wait_for_timeout(5600)  # one htmx poll of the live partial
        assert page.locator("#live [data-session]").count() >= 1
        screenshot(page, "pages-dashboard")

        page.goto(base + "/matters/new")
        fill_matter(page, 7, "工地拖欠农民工工资两个月未付")
        page.wait_for_selector("[data-repeat-none]")
        page.click("button[type=submit].primary")
        number = page.locator("[data-matter-number]").inner_text()
        assert len(page.locator("[data-query-code]").inner_text()) == 10
        screenshot(page, "pages-registered")

        page.goto(base + "/matters/new")
        fill_matter(page, 7, "工地拖欠农民工工资两个月仍未支付")
        warning = page.wait_for_selector("[data-repeat-warning]")
        assert number in warning.inner_text()
        screenshot(page, "pages-register-repeat-warning")
        page.click("button[type=submit].primary")
        page.click("text=预约领导接访")

        page.select_option("select[name=leader_id]", label="测试leader_city · 副市长")
        page.click("text=查看空闲时段")
        page.click("summary:has-text('约访')")
        page.fill("input[name=start_at]", "2026-03-05T10:00")
        page.check("input[name=invited]")
        refusal = page.wait_for_selector("[data-check=level_skip]")
        assert "越级" in refusal.inner_text()
        screenshot(page, "pages-booking-rule-violation")

        page.select_option("select[name=leader_id]", label="测试leader_county · 副县长")
        page.select_option("select[name=room_id]", label="桃源镇视频接访室")
        page.click("text=查看空闲时段")
        page.locator("label.slot").first.click()
        page.wait_for_selector("[data-check=ok]")
        screenshot(page, "pages-booking-week")
        page.click("text=确认预约")
        page.wait_for_url("**/sessions/*")
        assert page.locator("[data-state]").inner_text() == "已预约"
        assert "2026-03-03 09:00" in page.locator("[data-when]").inner_text()
        screenshot(page, "pages-session")
        assert not [e for e in errors if "Content Security Policy" in e], errors


def test_handler_reports_coordinator_verifies_petitioner_looks_up_kiosk_consents(app, org, settings, db, tmp_path):
    scene = build_scene(db, org, settings)
    upload = tmp_path / "核查报告.txt"
    upload.write_text("已督促支付全部工资。", encoding="utf-8")
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        sign_in_browser(page, base, "handler")
        assert page.url == base + "/tasks"
        page.click(f"[data-task='{scene.task}'] a")
        page.fill("textarea[name=text]", "经核实，企业已支付拖欠工资。")
        page.set_input_files("input[name=files]", str(upload))
        page.click("button:has-text('反馈')")
        page.wait_for_selector("[data-feedback]")
        assert "核查报告.txt" in page.content()
        screenshot(page, "pages-task-reported")

        browser.clear_cookies()
        sign_in_browser(page, base, "coord.county")
        page.goto(f"{base}/tasks/{scene.task}")
        page.click("[data-action=verify]")
        page.wait_for_selector("text=已核实")
        page.goto(f"{base}/matters/{scene.matter}")
        timeline = page.locator(".timeline").inner_text()
        assert "承办单位反馈" in timeline and "核实反馈" in timeline
        screenshot(page, "pages-matter")

        browser.clear_cookies()
        page.goto(base + "/lookup")
        page.fill("input[name=number]", scene.number)
        page.fill("input[name=code]", scene.code)
        page.click("button:has-text('查询')")
        page.wait_for_selector("[data-lookup-result]")
        assert page.locator("[data-state]").inner_text() == "办理中"
        assert "受理告知书" in page.content() or "已送达文书" in page.content()
        screenshot(page, "pages-lookup")

        sign_in_browser(page, base, "room.township")
        assert page.url == base + "/kiosk"
        assert page.locator(f"[data-session='{scene.session}']").count() == 1
        assert page.locator("a[href='/self-test']").count() >= 1
        screenshot(page, "pages-kiosk")
        page.click("text=进入接访")
        assert "录音录像" in page.locator("[data-consent-notice]").inner_text()
        screenshot(page, "pages-kiosk-consent")
        page.check("input[name=agree]")
        page.click("text=同意并进入接访")
        page.wait_for_url(f"**/calls/{scene.session}")
