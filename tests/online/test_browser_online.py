"""In Chromium: a petitioner asks for a video reception from the lookup, reads the SMS code off the local SMSC (SMPP
on loopback), and the county's coordinator finds the request on the dashboard, approves it and books it."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.core.smpp_server import SmscServer
from tests.factories import NOW, add_plan, register_matter, sign_in_browser
from tests.online.helpers import protector_of
from vreception import clock
from vreception.sms import outbox
from vreception.sms.settings import SmsSettings
from vreception.sms.smpp import SmppGateway

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def texts_to(server: SmscServer, db, settings, phone: str, count: int) -> list[str]:
    """Run the SMS sender against the local SMSC until COUNT messages reached PHONE (polled, with a deadline)."""
    gateway = SmppGateway(host="127.0.0.1", port=server.port, system_id="vreception", password="secret",
                          source_addr="10612345", timeout=5)
    deadline = time.monotonic() + 20
    while True:
        outbox.send_due(db, gateway=gateway, protector=protector_of(settings), settings=SmsSettings(_env_file=None))
        received = [m.text for m in server.received() if m.destination.endswith(phone)]
        if len(received) >= count or time.monotonic() > deadline:
            return received
        time.sleep(0.2)


def test_petitioner_asks_for_a_reception_online_and_the_coordinator_books_it(app, org, settings, db, tmp_path):
    clock.travel_to(NOW)
    with db.transaction() as tx:
        matter, query = register_matter(tx, org, settings)
        add_plan(tx, org, rooms=("township",))
        number = matter.number
    server = SmscServer().start()
    try:
        texts_to(server, db, settings, "13800138000", 1)  # the registration's own message goes out first
        with live_server(app) as base, chromium(tmp_path) as browser:
            petitioner = browser.new_page()
            petitioner.goto(base + "/lookup")
            petitioner.fill("input[name=number]", number)
            petitioner.fill("input[name=code]", " ".join(query.lower()))  # as read aloud: spaces, lower case
            petitioner.click("button:has-text('查询')")
            petitioner.wait_for_selector("[data-lookup-result]")
            petitioner.click("[data-online-actions] button:has-text('网上预约视频接访')")
            petitioner.wait_for_selector("text=尾号8000")
            sms = texts_to(server, db, settings, "13800138000", 2)
            code = re.search(r"验证码(\d{6})", sms[-1]).group(1)
            petitioner.fill("input[name=day1]", "2026-03-04")
            petitioner.fill("input[name=day2]", "2026-03-05")
            petitioner.select_option("select[name=room_id]", label="桃源镇视频接访室")
            petitioner.fill("textarea[name=note]", "腿脚不便，希望上午接访")
            petitioner.fill("input[name=sms_code]", code)
            petitioner.click("button:has-text('提交预约申请')")
            petitioner.wait_for_selector("[data-reception-done]")
            screenshot(petitioner, "online-reception-asked")

            office_base = base.replace("127.0.0.1", "localhost")
            office = browser.new_page()
            sign_in_browser(office, office_base, "coord.county")
            office.wait_for_selector("[data-online-waiting='1']")
            office.click("[data-online-waiting]")
            office.click("[data-online-request] a")
            assert "2026-03-04、2026-03-05" in office.inner_text("[data-days]")
            screenshot(office, "online-request")
            office.click("[data-approve]")
            office.wait_for_url("**/book?**")
            assert office.locator("select[name=room_id] option:checked").inner_text() == "桃源镇视频接访室"
            office.select_option("select[name=leader_id]", label="测试leader_county · 副县长")
            office.click("text=查看空闲时段")
            office.click("label.slot:has(input[data-slot='2026-03-04 09:00'])")
            office.wait_for_selector("[data-check=ok]")
            office.click("text=确认预约")
            office.wait_for_url("**/sessions/*")
            assert "2026-03-04 09:00" in office.locator("[data-when]").inner_text()
            screenshot(office, "online-request-booked")
            office.goto(office_base + "/dashboard")
            office.wait_for_selector("[data-online-waiting='0']")
        booked = texts_to(server, db, settings, "13800138000", 3)
        assert "已预约接访" in booked[-1] and "3月4日 09:00" in booked[-1]
    finally:
        server.stop()
