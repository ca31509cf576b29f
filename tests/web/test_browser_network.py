"""In Chromium: a room's kiosk page is open, and the coordinator's video network overview shows the room online
(the overview refreshes itself); the kiosk's self-test result appears beside it."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import sign_in_browser
from web.pages import network

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_an_open_kiosk_shows_online_on_the_network_overview(app, org, tmp_path, monkeypatch):
    monkeypatch.setattr(network, "REFRESH_SECONDS", 3)  # the overview refreshes itself, every 3 s instead of 15
    township = org.rooms["township"].id
    row = f"tr[data-room='{township}']"
    with live_server(app) as base, chromium(tmp_path) as browser:
        # Two signed-in browsers in one: the office on "localhost", the kiosk on 127.0.0.1 (cookies are per host).
        office_base = base.replace("127.0.0.1", "localhost")
        office = browser.new_page()
        sign_in_browser(office, office_base, "coord.county")
        office.goto(office_base + "/network")
        office.wait_for_selector(f"{row}[data-online=no]")  # no kiosk has spoken yet

        kiosk = browser.new_page()
        sign_in_browser(kiosk, base, "room.township")
        kiosk.goto(base + "/kiosk")
        kiosk.wait_for_selector("body[data-heartbeat=ok]", timeout=15000)

        # The overview polls: without a reload, the township's room turns online.
        office.wait_for_selector(f"{row}[data-online=yes]", timeout=20000)
        assert "在线" in office.inner_text(f"{row} .state")
        online = office.get_attribute("[data-totals]", "data-online")
        assert online == "1", online

        # The kiosk's self-test (fake devices) reports its outcome, which the overview shows.
        kiosk.goto(base + "/self-test")
        kiosk.wait_for_selector("#self-test[data-reported=yes]", timeout=30000)
        office.wait_for_selector(f"{row} td[data-self-test=ok]", timeout=20000)
        screenshot(office, "network")
