"""Stored XSS on the call page, in real Chromium: hostile names stay text and run nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.browser import chromium, live_server, screenshot
from tests.factories import SH, sign_in_browser
from tests.web.test_xss import hostile_call
from vreception import clock

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_hostile_names_on_the_call_page_run_no_script(app, org, settings, db, tmp_path):
    call = hostile_call(db, org, settings)
    clock.travel_to(datetime(2026, 3, 5, 8, 30, tzinfo=SH))  # the call opens 30 minutes before the session
    with live_server(app) as base, chromium(tmp_path) as browser:
        page = browser.new_page()
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        sign_in_browser(page, base, "leader.county")
        page.goto(f"{base}/calls/{call.session}")
        page.wait_for_load_state("networkidle")
        screenshot(page, "call-hostile-names")
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert not [url for url in requests if "/attachments/" in url], requests
        assert not [e for e in errors if "pageerror" in e or "Content Security Policy" in e or "JSON" in e], errors
        names = page.evaluate("Object.values(JSON.parse(document.getElementById('call-config').textContent).names)")
        assert set(call.names.values()) <= set(names)
        assert call.names["leader"] in page.locator(".call-head .muted").inner_text()
        # The roster comes over the signaling socket once the page has parsed its config and joined.
        page.wait_for_selector("#participants li", timeout=15_000)
        assert call.names["leader"] in page.locator("#participants").inner_text()
        assert page.locator("script[src*='/attachments/']").count() == 0
