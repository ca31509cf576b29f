"""The room's device self-test in Chromium with fake devices: camera, microphone, network."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_self_test_passes_with_working_devices(app, org, tmp_path):
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        sign_in_browser(page, base, "room.township")
        page.goto(base + "/self-test")
        page.wait_for_selector("#camera-result[data-ok=yes]", timeout=15000)
        page.wait_for_selector("#network-result[data-ok=yes]", timeout=15000)
        # Chromium's fake microphone plays a beep: the level meter must move.
        page.wait_for_selector("#microphone-result[data-ok=yes]", timeout=15000)
        page.click("#play-tone")
        assert page.get_attribute("#speaker-result", "data-ok") == "yes"
        assert "毫秒" in page.inner_text("#network-result")
        screenshot(page, "self-test")
