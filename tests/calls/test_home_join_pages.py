"""Home links (手机视频接访) through the app: the API and the session page's button, the phone's pages, its seat in
the call (the same call page, token route and socket as every seat), and each refusal as a page in Chinese."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import SH, build_scene, csrf_of, extend_org, login, page_client
from vreception import clock
from vreception.models import AuditEvent
from vreception.models.home_join import HomeLink
from vreception.models.scheduling import ReceptionSession
from vreception.models.sms import SmsMessage

START = datetime(2026, 3, 4, 9, 0, tzinfo=SH)  # build_scene's session (30 minutes)


@pytest.fixture
def scene(db, org, settings):
    extend_org(db, org)
    return build_scene(db, org, settings)


@pytest.fixture
def api(client):
    return client


def seats(db, session_id) -> dict[str, int]:
    with db.transaction() as tx:
        return {p.role: p.id for p in tx.get(ReceptionSession, session_id).participants}


def last_sms(app, db, template: str) -> str:
    """The newest message of TEMPLATE as the phone receives it."""
    with db.transaction() as tx:
        message = tx.scalars(select(SmsMessage).where(SmsMessage.template == template)
                             .order_by(SmsMessage.id.desc())).first()
        return app.state.protector.decrypt(message.text_cipher)


def link_of(app, db) -> str:
    return re.search(r"(/home/[A-Za-z0-9_\-]+)", last_sms(app, db, "home_link")).group(1)


def phone(app) -> TestClient:
    """A phone's browser: nobody signed in."""
    return TestClient(app, headers={"accept": "text/html"}, follow_redirects=False)


def ask_code(app, db, browser, link) -> str:
    page = browser.get(link)
    assert page.status_code == 200, page.text
    sent = browser.post(f"{link}/code", data={"csrf_token": csrf_of(page.text)})
    assert sent.status_code == 200 and "验证码已发送至尾号8000的手机" in sent.text
    return re.search(r"验证码为(\d{6})", last_sms(app, db, "home_code")).group(1)


def verify(browser, link, code, agree=True, csrf=None):
    token = csrf or csrf_of(browser.get(link).text)
    return browser.post(f"{link}/verify", data={"csrf_token": token, "code": code, **({"agree": "yes"} if agree else {})})


def issue(api, scene, seat, who="coord.county"):
    return api.post(f"/api/v1/sessions/{scene.session}/home-links", headers=login(api, who),
                    json={"participant_id": seat})


def test_only_a_coordinator_managing_the_session_issues_a_link_for_a_petitioner_side_seat(api, db, org, scene):
    clock.travel_to(START - timedelta(hours=2))
    seat = seats(db, scene.session)
    for who in ("leader.county", "coord.county2", "handler", "room.township"):
        assert issue(api, scene, seat["petitioner"], who).status_code == 403, who
    refused = issue(api, scene, seat["room"])
    assert refused.status_code == 422 and refused.json()["code"] == "home_seat_not_eligible"
    assert "只能为信访人" in refused.json()["detail"]
    assert issue(api, scene, 999_999).status_code == 404
    made = issue(api, scene, seat["petitioner"])
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["state"], body["join_mode"], body["phone_tail"]) == ("issued", "home", "8000")
    assert "token" not in body and body["sms_id"]
    listed = api.get(f"/api/v1/sessions/{scene.session}/home-links", headers=login(api, "coord.county"))
    assert [link["id"] for link in listed.json()] == [body["id"]]
    assert api.get(f"/api/v1/sessions/{scene.session}/home-links",
                   headers=login(api, "leader.county")).status_code == 403


def test_from_the_session_page_to_the_call_on_the_phone_and_the_leaders_list(app, db, org, scene):
    clock.travel_to(START - timedelta(minutes=20))
    seat = seats(db, scene.session)
    office = page_client(app, "coord.county")
    session_page = office.get(f"/sessions/{scene.session}")
    assert "为张三（信访人）发送手机接入链接" in session_page.text
    sent = office.post(f"/sessions/{scene.session}/home-links",
                       data={"csrf_token": csrf_of(session_page.text), "participant_id": seat["petitioner"]})
    assert sent.status_code == 200 and "尾号8000" in sent.text
    link = link_of(app, db)
    browser = phone(app)
    landing = browser.get(link)
    assert landing.status_code == 200 and "本次接访全程录音录像" in landing.text  # the kiosk's consent notice
    code = ask_code(app, db, browser, link)
    assert verify(browser, link, code, agree=False).status_code == 422
    wrong = verify(browser, link, f"{(int(code) + 1) % 10 ** 6:06d}")
    assert wrong.status_code == 422 and "还可尝试 4 次" in wrong.text
    entered = verify(browser, link, code)
    assert entered.status_code == 303 and entered.headers["location"] == f"/calls/{scene.session}"
    call = browser.get(f"/calls/{scene.session}")
    assert call.status_code == 200 and 'class="call phone"' in call.text and "home-consent" in call.text
    assert '"facingMode": "user"' in call.text or '"facingMode":"user"' in call.text
    assert "call.file" not in call.text and "desk-petitioners" not in call.text  # no case file on the phone
    # The phone asks its join token like every call page, for its one seat; the socket takes it in the lobby.
    ticket = browser.post(f"/calls/{scene.session}/token", headers={"x-csrf-token": csrf_of(call.text)})
    assert ticket.status_code == 200, ticket.text
    with browser.websocket_connect(f"/ws/sessions/{scene.session}?token={ticket.json()['token']}") as socket:
        welcome = socket.receive_json()
        assert (welcome["type"], welcome["participant_id"], welcome["role"]) == ("welcome", seat["petitioner"],
                                                                                 "petitioner")
        assert "lobby" in [socket.receive_json()["type"] for _ in range(2)]
        socket.send_json({"type": "leave"})
    # The same browser may come back; another browser with the same link is refused.
    assert browser.get(link).headers["location"] == f"/calls/{scene.session}"
    replay = phone(app).get(link)
    assert replay.status_code == 403 and "该链接已在另一部手机或浏览器上使用" in replay.text
    # The leader's list says how this seat joins.
    leader = page_client(app, "leader.county")
    assert "在家接入 · 已短信验证" in leader.get(f"/calls/{scene.session}").text
    assert leader.get(f"/calls/{scene.session}/home-seats").json() == {str(seat["petitioner"]): "在家接入 · 已短信验证"}
    # The phone's credential opens this session only: not a page of another, nor a signed-in page.
    assert browser.get(f"/calls/{scene.session + 1}").status_code == 303
    assert browser.get("/dashboard").headers["location"] == "/login"
    with db.transaction() as tx:
        done = [e.action for e in tx.scalars(select(AuditEvent).where(AuditEvent.entity_type == "session")
                                             .order_by(AuditEvent.seq)) if e.action.startswith("home_join.")]
    assert done == ["home_join.issued", "home_join.opened", "home_join.code_sent", "home_join.refused",
                    "home_join.verified", "home_join.refused"]


def test_wrong_codes_lock_the_link_and_an_expired_link_is_refused(api, app, db, org, scene):
    clock.travel_to(START - timedelta(minutes=20))
    seat = seats(db, scene.session)
    assert issue(api, scene, seat["petitioner"]).status_code == 201
    link = link_of(app, db)
    browser = phone(app)
    code = ask_code(app, db, browser, link)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(4):
        assert verify(browser, link, wrong).status_code == 422
    locked = verify(browser, link, wrong)
    assert locked.status_code == 403 and "验证码错误次数过多，该链接已锁定" in locked.text
    again = browser.post(f"{link}/verify", data={"csrf_token": csrf_of(browser.get("/login").text), "code": code,
                                                  "agree": "yes"})
    assert again.status_code == 403 and "已锁定" in again.text  # the right code no longer helps
    # A new link works; once the session is over it is refused as expired.
    assert issue(api, scene, seat["petitioner"]).status_code == 201
    fresh = link_of(app, db)
    assert phone(app).get(fresh).status_code == 200
    assert phone(app).get(link).status_code == 403  # the locked one stays locked
    clock.travel_to(START + timedelta(minutes=31))
    expired = phone(app).get(fresh)
    assert expired.status_code == 410 and "该链接已过期" in expired.text
    unknown = phone(app).get("/home/not-a-link")
    assert unknown.status_code == 404 and "该链接无效" in unknown.text
    with db.transaction() as tx:
        assert [link.state.value for link in tx.scalars(select(HomeLink).order_by(HomeLink.id))] == ["locked",
                                                                                                     "issued"]


def test_the_link_before_the_call_opens_says_when(api, app, db, org, scene):
    clock.travel_to(START - timedelta(hours=3))
    assert issue(api, scene, seats(db, scene.session)["petitioner"]).status_code == 201
    early = phone(app).get(link_of(app, db))
    assert early.status_code == 409 and "视频接访尚未开始" in early.text and "08:30" in early.text
