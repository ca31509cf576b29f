"""The online requests through the JSON API and the pages: codes, 复查 online, 网上预约 and 网上信访, the queue."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import NOW, build_org, csrf_of, id_number, login, page_client, register_matter
from tests.online.helpers import PNG, last_code, protector_of, served_matter
from vreception import clock
from vreception.models import Matter, MatterState
from vreception.models.online import OnlineCode, OnlineRequest
from vreception.models.sms import SmsMessage
from vreception.online import reception


@pytest.fixture
def org(db):
    clock.travel_to(NOW)
    return build_org(db)


def code_of(db, settings) -> str:
    with db.transaction() as tx:
        return last_code(tx, protector_of(settings))


def test_review_by_the_api_counts_wrong_codes_and_lands_at_the_city(db, org, settings, client):
    with db.transaction() as tx:
        matter, query = served_matter(tx, org, settings)
    wrong_number = client.post("/api/v1/public/online/codes", json={"purpose": "review", "number": "X-1", "code": query})
    wrong_code = client.post("/api/v1/public/online/codes",
                             json={"purpose": "review", "number": matter.number, "code": "AAAAAAAAAA"})
    assert wrong_number.status_code == wrong_code.status_code == 404
    assert wrong_number.json() == wrong_code.json()  # no telling which was wrong
    sent = client.post("/api/v1/public/online/codes",
                       json={"purpose": "review", "number": matter.number, "code": query.lower()})
    assert sent.status_code == 200 and sent.json()["phone_tail"] == "8000"
    body = {"number": matter.number, "code": query, "challenge": sent.json()["challenge"]}
    code = code_of(db, settings)
    bad = client.post("/api/v1/public/online/review", json={**body, "sms_code": "x" + code[1:]})
    assert (bad.status_code, bad.json()["code"]) == (422, "code_rejected") and "4" in bad.json()["detail"]
    with db.transaction() as tx:
        assert tx.scalars(select(OnlineCode.tries)).one() == 1  # the refused try was kept
    done = client.post("/api/v1/public/online/review", json={**body, "sms_code": code})
    assert done.status_code == 200, done.text
    assert done.json()["body_name"] == "岚州市" and done.json()["state"] == "review_requested"
    again = client.post("/api/v1/public/online/review", json={**body, "sms_code": code})
    assert again.status_code == 422 and again.json()["code"] == "code_rejected"


def test_review_code_is_not_sent_outside_the_window(db, org, settings, client):
    with db.transaction() as tx:
        matter, query = register_matter(tx, org, settings)
    refused = client.post("/api/v1/public/online/codes",
                          json={"purpose": "review", "number": matter.number, "code": query})
    assert refused.status_code == 409 and "复查" in refused.json()["detail"]
    with db.transaction() as tx:
        assert tx.scalars(select(OnlineCode)).all() == []


def test_reception_request_by_the_api_and_the_coordinators_queue(db, org, settings, client):
    with db.transaction() as tx:
        matter, query = register_matter(tx, org, settings)
    rooms = client.get("/api/v1/public/online/rooms", params={"number": matter.number, "code": query})
    assert [r["id"] for r in rooms.json()] == [org.rooms["township"].id]
    sent = client.post("/api/v1/public/online/codes",
                       json={"purpose": "reception", "number": matter.number, "code": query}).json()
    asked = client.post("/api/v1/public/online/reception", json={
        "number": matter.number, "code": query, "challenge": sent["challenge"], "sms_code": code_of(db, settings),
        "days": ["2026-03-04", "2026-03-05"], "room_id": org.rooms["township"].id, "note": "希望上午"})
    assert asked.status_code == 201, asked.text
    county, county2, leader = (login(client, u) for u in ("coord.county", "coord.county2", "leader.county"))
    listed = client.get("/api/v1/online-requests", headers=county).json()
    assert [r["id"] for r in listed["items"]] == [asked.json()["id"]] and listed["items"][0]["room_name"]
    assert client.get("/api/v1/online-requests", headers=county2).json()["items"] == []
    one = f"/api/v1/online-requests/{asked.json()['id']}"
    assert client.get(one, headers=county2).status_code == 403
    assert client.get(one, headers=leader).status_code == 403
    approved = client.post(one + "/approve", headers=county)
    assert approved.status_code == 200
    assert approved.json()["booking_url"].startswith(f"/matters/{matter.id}/book?room_id={org.rooms['township'].id}"
                                                     "&week=2026-03-04")
    assert client.post(one + "/refuse", headers=county, json={"reason": "x"}).status_code == 409


def test_online_petition_by_the_api_registered_by_the_county(db, org, settings, client):
    sent = client.post("/api/v1/public/online/intake/codes", json={"phone": "13900139000"}).json()
    form = {"challenge": sent["challenge"], "sms_code": code_of(db, settings), "name": "王五",
            "id_number": id_number(9), "phone": "13900139000", "county_id": str(org.nodes["county"].id),
            "address_node_id": str(org.nodes["township"].id), "about": "村道被占用", "demands": "恢复通行"}
    refused = client.post("/api/v1/public/online/intake", data=form,
                          files=[("files", ("a.html", b"<script>", "text/html"))])
    assert refused.status_code == 415
    made = client.post("/api/v1/public/online/intake", data=form, files=[("files", ("照片.png", PNG, "image/png"))])
    assert made.status_code == 201, made.text
    county = login(client, "coord.county")
    one = f"/api/v1/online-requests/{made.json()['id']}"
    draft = client.get(one, headers=county).json()
    assert draft["kind"] == "intake" and draft["files"][0]["filename"] == "照片.png"
    assert draft["id_number_masked"].endswith(id_number(9)[-4:]) and id_number(9) not in str(draft)
    assert client.get(f"{one}/files/{draft['files'][0]['sha256']}", headers=county).content == PNG
    registered = client.post(one + "/register", headers=county, json={"category": "wages"})
    assert registered.status_code == 201, registered.text
    with db.transaction() as tx:
        matter = tx.get(Matter, registered.json()["matter_id"])
        assert matter.channel.value == "online" and matter.state is MatterState.registered


def _form(client, url: str, data: dict, files=None):
    page = client.get("/lookup")
    return client.post(url, data={**data, "csrf_token": csrf_of(page.text)}, files=files)


def test_review_pages_send_a_code_refuse_a_wrong_one_and_confirm(db, org, settings, app):
    with db.transaction() as tx:
        matter, query = served_matter(tx, org, settings)
    browser = page_client(app, None)
    assert browser.get("/online/review").status_code == 200
    no_token = browser.post("/online/review/code", data={"number": matter.number, "code": query})
    assert no_token.status_code == 403
    step = _form(browser, "/online/review/code", {"number": matter.number, "code": query})
    assert step.status_code == 200 and "尾号8000" in step.text
    challenge = re.search(r'name="challenge" value="([^"]+)"', step.text).group(1)
    fields = {"number": matter.number, "code": query, "challenge": challenge}
    code = code_of(db, settings)
    wrong = _form(browser, "/online/review", {**fields, "sms_code": "x" + code[1:]})
    assert wrong.status_code == 422 and "还可尝试4次" in wrong.text
    done = _form(browser, "/online/review", {**fields, "sms_code": code})
    assert done.status_code == 200 and "data-review-done" in done.text and "岚州市" in done.text
    clock.travel_to(NOW + timedelta(days=60))
    late = _form(browser, "/online/review/code", {"number": matter.number, "code": query})
    assert late.status_code == 409 and "不能申请复查" in late.text


def test_intake_pages_and_the_coordinator_registers_from_the_queue(db, org, settings, app):
    public = page_client(app, None)
    step = _form(public, "/online/intake/code", {"phone": "13900139000"})
    assert step.status_code == 200 and "尾号9000" in step.text and "桃源镇" in step.text
    challenge = re.search(r'name="challenge" value="([^"]+)"', step.text).group(1)
    fields = {"phone": "13900139000", "challenge": challenge, "sms_code": code_of(db, settings), "name": "王五",
              "id_number": id_number(9), "county_id": org.nodes["county"].id,
              "address_node_id": org.nodes["township"].id, "about": "村道被占用三个月", "demands": "请求恢复通行"}
    done = _form(public, "/online/intake", fields, files=[("files", ("照片.png", PNG, "image/png"))])
    assert done.status_code == 200 and "data-intake-done" in done.text, done.text[-2000:]
    coordinator = page_client(app, "coord.county")
    assert 'data-online-waiting="1"' in coordinator.get("/online-requests/badge").text
    assert "/online-requests" in coordinator.get("/dashboard").text
    queue = coordinator.get("/online-requests")
    request_id = int(re.search(r'data-online-request="(\d+)"', queue.text).group(1))
    detail = coordinator.get(f"/online-requests/{request_id}")
    assert detail.status_code == 200 and id_number(9) in detail.text  # the office completes the registration
    assert page_client(app, "coord.county2").get(f"/online-requests/{request_id}").status_code == 403
    missing = _form(coordinator, f"/online-requests/{request_id}/register",
                    {"name": "王五", "id_number": id_number(9), "phone": "13900139000",
                     "origin_node_id": org.nodes["township"].id, "handling_node_id": org.nodes["county"].id,
                     "category": "", "summary": "请求恢复通行", "facts": "村道被占用三个月"})
    assert missing.status_code == 422 and "error" in missing.text
    registered = coordinator.post(f"/online-requests/{request_id}/register", follow_redirects=False, data={
        "csrf_token": csrf_of(coordinator.get("/lookup").text), "name": "王五", "id_number": id_number(9),
        "phone": "13900139000", "origin_node_id": org.nodes["township"].id,
        "handling_node_id": org.nodes["county"].id, "category": "wages", "summary": "请求恢复通行",
        "facts": "村道被占用三个月"})
    assert registered.status_code == 303 and registered.headers["location"].startswith("/matters/")
    with db.transaction() as tx:
        assert tx.scalars(select(OnlineRequest.state)).one().value == "approved"


def test_online_petitions_are_rate_limited_per_client_before_any_code_is_checked(db, org, settings, client):
    form = {"challenge": "x", "sms_code": "123456", "name": "王五", "id_number": id_number(9), "phone": "13900139000",
            "county_id": str(org.nodes["county"].id), "address_node_id": str(org.nodes["township"].id),
            "about": "村道被占用", "demands": "恢复通行"}
    answers = [client.post("/api/v1/public/online/intake", data=form).status_code for _ in range(11)]
    assert answers == [422] * 10 + [429]


def test_the_coordinator_refuses_a_reception_request_and_the_reason_goes_by_sms(db, org, settings, app):
    with db.transaction() as tx:
        matter, _ = register_matter(tx, org, settings)
        asked = reception.ask(db=tx, matter=matter, days=[date(2026, 3, 4)], room_id=org.rooms["township"].id, note="",
                              today=NOW.date()).id
    coordinator = page_client(app, "coord.county")
    empty = _form(coordinator, f"/online-requests/{asked}/refuse", {"reason": " "})
    assert empty.status_code == 422
    refused = coordinator.post(f"/online-requests/{asked}/refuse", follow_redirects=False,
                               data={"reason": "本月接访日已满", "csrf_token": csrf_of(coordinator.get("/lookup").text)})
    assert refused.status_code == 303
    assert "已处理" in _form(coordinator, f"/online-requests/{asked}/approve", {}).text
    with db.transaction() as tx:
        message = tx.scalars(select(SmsMessage).where(SmsMessage.template == "online_reception_refused")).one()
        assert "本月接访日已满" in message.text and matter.number in message.text
