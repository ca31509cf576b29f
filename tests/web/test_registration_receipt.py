"""The petitioner's paper: the 登记回执 with its query code only right after registering, a reprint without it,
the 预约接访通知书, and the matter page's text messages with masked phones."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from tests.factories import build_scene, id_number, page_client, token


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return re.sub(r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def register_by_page(coord, org) -> tuple[int, str, str, str]:
    page = coord.post("/matters", data={
        "petitioner_name": ["王五", "", ""], "petitioner_id": [id_number(31), "", ""],
        "petitioner_phone": ["13812345678", "", ""], "demand_summary": ["工伤认定迟迟未作出", "", ""],
        "demand_category": ["wages", "wages", "wages"], "channel": "visit",
        "origin_node_id": org.nodes["township"].id, "handling_node_id": org.nodes["county"].id,
        "csrf_token": token(coord)})
    assert page.status_code == 200, page.text[:300]
    number = page.text.split("data-matter-number>")[1].split("<")[0]
    code = page.text.split("data-query-code>")[1].split("<")[0]
    matter_id = int(re.search(r'action="/matters/(\d+)/receipt.pdf"', page.text).group(1))
    return matter_id, number, code, page.text


def test_the_receipt_with_the_code_is_printed_from_the_registration_page_only(app, org, settings, db):
    coord = page_client(app, "coord.county")
    matter_id, number, code, page = register_by_page(coord, org)
    assert f'name="code" value="{code}"' in page  # the page posts the code it shows; nothing stores it

    receipt = coord.post(f"/matters/{matter_id}/receipt.pdf", data={"code": code.lower(), "csrf_token": token(coord)})
    assert receipt.status_code == 200 and receipt.headers["cache-control"] == "no-store"
    text = pdf_text(receipt.content)
    assert number in text and code in text and "登记回执" in text and "工伤认定迟迟未作出" in text
    assert "告知是否受理" in text  # the acceptance deadline

    reprint = coord.get(f"/matters/{matter_id}/receipt.pdf")
    assert reprint.status_code == 200
    assert number in pdf_text(reprint.content) and code not in pdf_text(reprint.content)

    wrong = coord.post(f"/matters/{matter_id}/receipt.pdf", data={"code": "ABCDEFGHJK", "csrf_token": token(coord)})
    assert wrong.status_code == 422
    no_token = coord.post(f"/matters/{matter_id}/receipt.pdf", data={"code": code})
    assert no_token.status_code in (400, 403)

    # The registration SMS is on the matter page: masked phone, masked code.
    matter_page = coord.get(f"/matters/{matter_id}")
    assert matter_page.status_code == 200
    assert "data-sms-messages" in matter_page.text and "*******5678" in matter_page.text
    assert 'data-sms-state="queued"' in matter_page.text and code not in matter_page.text
    section = matter_page.text.split("data-sms-messages")[1].split("</section>")[0]
    assert "13812345678" not in section  # the coordinator sees the number with the petitioner, not in the outbox


def test_the_reception_notice_names_the_time_room_and_leaders_title(app, org, settings, db):
    scene = build_scene(db, org, settings)
    coord = page_client(app, "coord.county")
    notice = coord.get(f"/sessions/{scene.session}/reception-notice.pdf")
    assert notice.status_code == 200
    text = pdf_text(notice.content)
    assert "预约接访通知书" in text and scene.number in text and "3月4日09:00" in text and "副县长" in text
    assert scene.code not in text
    matter_page = coord.get(f"/matters/{scene.matter}")
    assert f'data-reception-notice="{scene.session}"' in matter_page.text
    # Another county's coordinator reads neither the matter nor its notice.
    assert page_client(app, "coord.county2").get(f"/sessions/{scene.session}/reception-notice.pdf").status_code == 403
