"""In Chromium: after a call the kiosk shows the record, a signature is drawn with the mouse, the leader confirms,
and the issued PDF holds the record, the signers' names and the recording's manifest hash."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from tests.browser import chromium, live_server, screenshot
from tests.conftest import ARTIFACTS
from tests.factories import sign_in_browser
from tests.records.helpers import MANIFEST_SHA256, end_call, ended_call
from vreception import records
from vreception.models.records import RecordSignature
from vreception.models.scheduling import ReceptionSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _draw(page, canvas, strokes) -> None:
    """Draw STROKES (lists of points as fractions of the canvas) with mouse events."""
    box = canvas.bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=6)
        page.mouse.up()


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_kiosk_signature_leader_confirms_pdf_holds_names_and_manifest_hash(app, db, org, tmp_path):
    call = ended_call(db, org, recorder=False)
    with db.transaction() as s:
        booking = s.get(ReceptionSession, call.session)
        records.add_entry(db=s, booking=booking, text="信访人陈述：村里拖欠三个月工资，请求督促支付。", actor_id=call.leader)
        records.add_entry(db=s, booking=booking, text="领导答复：责成城东区人社局十日内核实并答复。", actor_id=call.leader)
    end_call(db, call)

    with live_server(app) as base, chromium(tmp_path, viewport={"width": 1024, "height": 1366}) as browser:
        kiosk = browser.new_page()
        sign_in_browser(kiosk, base, "room.township")
        kiosk.goto(f"{base}/kiosk/sessions/{call.session}/sign")
        shown = kiosk.inner_text("#record-text")
        assert "村里拖欠三个月工资" in shown and "测试leader_county（副县长）" in shown and MANIFEST_SHA256 in shown
        screenshot(kiosk, "record-kiosk-before-signing")

        for name, strokes in (("张三", [[(0.1, 0.6), (0.2, 0.3), (0.3, 0.7), (0.4, 0.35)], [(0.5, 0.5), (0.8, 0.5)]]),
                              ("李四", [[(0.2, 0.2), (0.3, 0.8), (0.6, 0.3)]])):
            card = kiosk.locator(f'.signer[data-participant="{call.signers[name]}"]')
            _draw(kiosk, card.locator("canvas.pad"), strokes)
            card.locator("[data-sign]").click()
            kiosk.wait_for_selector(f'.signer[data-participant="{call.signers[name]}"][data-state="signed"]')
        refusing = kiosk.locator(f'.signer[data-participant="{call.signers["王五"]}"]')
        refusing.locator("summary").click()
        refusing.locator("[data-reason]").fill("对答复内容有异议")
        refusing.locator("[data-refuse]").click()
        kiosk.wait_for_selector(f'.signer[data-participant="{call.signers["王五"]}"][data-state="refused"]')
        assert kiosk.is_visible("#record-waiting")
        screenshot(kiosk, "record-kiosk-signed")

        with db.transaction() as s:
            stored = s.scalars(select(RecordSignature).where(RecordSignature.name == "张三")).one()
            image = Image.open(io.BytesIO(stored.png)).convert("L")
        dark = sum(image.histogram()[:100])
        assert image.format is None and dark > 200, dark  # ink on the pad, not a blank canvas

        browser.clear_cookies()
        desk = browser.new_page()
        sign_in_browser(desk, base, "leader.county")
        desk.goto(f"{base}/sessions/{call.session}/record")
        desk.click("#record-confirm")
        desk.wait_for_selector("#record-document")
        screenshot(desk, "record-confirmed")
        document_url = desk.get_attribute("#record-document", "href")
        pdf = desk.request.get(base + document_url.replace(".html", ".pdf"))
        assert pdf.ok
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "record-signed.pdf").write_bytes(pdf.body())
        text = re.sub(r"\s", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages))
        for needle in ("接谈记录", "村里拖欠三个月工资", "责成城东区人社局", "张三", "李四", "王五", "拒签",
                       "对答复内容有异议", "记录人", "测试leader_county", MANIFEST_SHA256, stored.sha256):
            assert needle in text, needle
