"""The coordinator's hearing forms on the matter page: each step through the page, its result on the page,
coded errors in Chinese, readers without forms, other counties refused."""

from __future__ import annotations

import re
from datetime import datetime

from scheduling.session_state import change_state
from tests.factories import POLICY, SH, act, csrf_of, page_client
from tests.hearings.helpers import accepted, roster
from vreception import clock
from vreception.models.scheduling import ReceptionSession, SessionState

START = datetime(2026, 3, 5, 9, 0, tzinfo=SH)  # three days after NOW: inside the seven days' notice


class Browser:
    """A signed-in page client that posts the matter page's forms with its CSRF token and follows back."""

    def __init__(self, app, username: str, matter_id: int):
        self.client, self.matter_id = page_client(app, username), matter_id

    def matter(self) -> str:
        response = self.client.get(f"/matters/{self.matter_id}")
        assert response.status_code == 200, response.text
        return response.text

    def post(self, path: str, data: dict) -> str:
        token = csrf_of(self.matter())
        response = self.client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith(f"/matters/{self.matter_id}") and location.endswith("#hearing")
        shown = self.client.get(location)
        assert shown.status_code == 200
        return shown.text


def _hearing_id(html: str) -> int:
    return int(re.search(r'data-hearing="(\d+)"', html).group(1))


def _section(html: str) -> str:
    return html[html.index('id="hearing"'):]


def _run(db, session_id: int) -> None:
    """The session goes live and ends: the hearing is held."""
    for state, at in ((SessionState.open, START), (SessionState.live, START),
                      (SessionState.ended, START.replace(hour=10))):
        clock.travel_to(at)
        with db.transaction() as session:
            change_state(db=session, booking=session.get(ReceptionSession, session_id), to=state, at=at,
                         policy=POLICY)


def test_the_coordinator_runs_a_hearing_from_the_matter_page(app, client, org, db):
    matter, headers = accepted(client, org, db)
    roster(client, org, headers)
    people = org.people
    browser = Browser(app, "coord.county", matter["id"])
    first = _section(browser.matter())
    assert "本事项尚无听证" in first and 'data-hearing-form="propose"' in first

    page = _section(browser.post(f"/matters/{matter['id']}/hearings", {"by_petitioner": "on", "reason": "事实争议较大"}))
    assert "已记录听证申请" in page and 'data-hearing-state="requested"' in page and "信访人申请" in page
    assert "事实争议较大" in page and "2026-03-17" in page  # the decision falls due in 15 days
    hid = _hearing_id(page)

    page = _section(browser.post(f"/hearings/{hid}/decision", {"hold": "yes"}))
    assert 'data-hearing-state="decided"' in page and 'data-hearing-document="hearing_decision"' in page
    assert re.search(r'href="/documents/\d+\.html" data-hearing-document="hearing_decision"', page)
    assert f'<option value="{people["leader_county"].id}"' in page  # the office's leaders offered as chair
    assert f'<option value="{people["leader_city"].id}"' not in page  # not the city's

    page = _section(browser.post(f"/hearings/{hid}/chair", {"chair_id": people["leader_county"].id,
                                                            "recorder_id": people["clerk"].id}))
    assert "已指定主持人和记录员" in page
    assert re.search(r"data-hearing-chair>测试leader_county<", page) and "data-hearing-recorder>记录员丁<" in page

    even = _section(browser.post(f"/hearings/{hid}/panel", {"member": [people["hearing"].id, people["hearing2"].id]}))
    assert "听证员人数须为单数：3、5人" in even and "data-hearing-error" in even
    assert 'data-member="' not in even  # nothing composed
    page = _section(browser.post(f"/hearings/{hid}/panel", {
        "member": [people["hearing"].id, people["hearing2"].id, people["hearing3"].id],
        "chosen": [people["hearing2"].id]}))
    assert "已组成听证员" in page and "听证员乙 (信访人选定)" in page and "听证员丙<" in page

    page = _section(browser.post(f"/hearings/{hid}/recusals", {"against_id": people["hearing3"].id,
                                                               "requested_by": "张三", "reason": "与对方有亲属关系"}))
    assert "已记录回避申请" in page and "张三申请听证员丙回避" in page and "与对方有亲属关系" in page
    recusal = int(re.search(r'data-recusal="(\d+)"', page).group(1))
    assert f'action="/hearings/{hid}/recusals/{recusal}/decision"' not in page  # against a member: the chair's
    chair = Browser(app, "leader.county", matter["id"])
    assert f'action="/hearings/{hid}/recusals/{recusal}/decision"' in _section(chair.matter())
    page = _section(chair.post(f"/hearings/{hid}/recusals/{recusal}/decision",
                               {"granted": "no", "reason": "经核实不存在亲属关系"}))
    assert 'data-hearing-form="panel"' not in page  # the chair is no office: no forms of the office
    assert "已作出回避决定" in page
    page = _section(browser.matter())
    assert "驳回回避申请" in page and "经核实不存在亲属关系" in page

    page = _section(browser.post(f"/hearings/{hid}/publicity", {"public": "no", "closed_reason": "privacy"}))
    assert 'data-hearing-public="no"' in page and "涉及个人隐私" in page
    wrong = _section(browser.post(f"/hearings/{hid}/publicity", {"public": "no", "closed_reason": "dislike"}))
    assert "不公开听证只能基于国家秘密、商业秘密或个人隐私" in wrong
    page = _section(browser.post(f"/hearings/{hid}/publicity", {"public": "yes"}))
    assert 'data-hearing-public="yes"' in page

    booking = {"room_id": org.rooms["township"].id, "start": "2026-03-05T09:00", "end": "2026-03-05T10:00",
               "handler_id": people["handler"].id, "petitioners": "张三", "record": "on"}
    late = _section(browser.post(f"/hearings/{hid}/booking", booking))
    assert "听证须至少提前7日通知" in late and "data-hearing-session" not in late
    page = _section(browser.post(f"/hearings/{hid}/booking", {**booking, "notice_waived": "on",
                                                              "waiver_note": "信访人书面放弃通知期限"}))
    assert "已预约听证会话并发出听证通知书" in page and 'data-hearing-state="noticed"' in page
    session_id = int(re.search(r'href="/calls/(\d+)" data-hearing-session', page).group(1))
    assert re.search(r'href="/gallery/[\w-]+" data-hearing-gallery', page)
    assert 'data-hearing-document="hearing_notice"' in page and "信访人书面放弃通知期限" in page

    _run(db, session_id)
    browser = Browser(app, "coord.county", matter["id"])  # signed in again: the clock moved on three days
    page = _section(browser.matter())
    assert 'data-hearing-state="held"' in page and 'data-hearing-form="conclusion"' in page
    page = _section(browser.post(f"/hearings/{hid}/conclusion", {"conclusion": "经听证，维持原处理意见。"}))
    assert "已作出听证结论并送达" in page and 'data-hearing-state="concluded"' in page
    assert 'data-hearing-document="hearing_conclusion"' in page and "data-hearing-overdue" not in page
    assert 'data-hearing-form="propose"' in page  # over: the office may propose another

    act(client, headers, matter["id"], "reply", outcome="explain", reason="经听证，张三的工资已结清。")
    page = _section(browser.post(f"/hearings/{hid}/publication", {}))
    assert "已公开听证后的意见" in page and f'href="/api/v1/public/hearings/{hid}"' in page
    assert 'data-hearing-form="publication"' not in page


def test_a_reader_sees_the_hearing_without_forms_and_another_county_is_refused(app, client, org, db):
    matter, headers = accepted(client, org, db)
    browser = Browser(app, "coord.county", matter["id"])
    page = browser.post(f"/matters/{matter['id']}/hearings", {"reason": ""})
    hid = _hearing_id(page)

    leader = Browser(app, "leader.county", matter["id"])
    seen = _section(leader.matter())
    assert 'data-hearing-state="requested"' in seen and "本机关提出" in seen
    assert "data-hearing-form" not in seen and 'action="/hearings/' not in seen
    refused = leader.client.post(f"/hearings/{hid}/decision", data={"hold": "yes", "csrf_token": csrf_of(
        leader.matter())}, follow_redirects=False)
    assert refused.status_code == 403

    other = page_client(app, "coord.county2")
    token = csrf_of(other.get("/matters").text)
    for path, data in ((f"/hearings/{hid}/decision", {"hold": "yes"}),
                       (f"/hearings/{hid}/conclusion", {"conclusion": "x"}),
                       (f"/matters/{matter['id']}/hearings", {"reason": "x"})):
        response = other.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code in (403, 404), (path, response.status_code)
    assert 'data-hearing-state="requested"' in _section(browser.matter())  # nothing changed
    booking = browser.client.get(f"/matters/{matter['id']}/book")
    assert booking.status_code == 200 and f'href="/matters/{matter["id"]}#hearing"' in booking.text
    assert "听证会话须从事项页面的听证部分预约" in booking.text


def test_a_flash_error_shows_only_with_its_signature(app, client, org, db):
    matter, _ = accepted(client, org, db)
    browser = Browser(app, "coord.county", matter["id"])
    forged = browser.client.get(f"/matters/{matter['id']}?hearing_error=请拨打电话&hearing_sig=0")
    assert forged.status_code == 200 and "请拨打电话" not in forged.text


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 0, 200)).save(out, format="PNG")
    return out.getvalue()


def test_the_booking_form_seats_representatives_witnesses_and_an_authorised_agent(app, client, org, db):
    from tests.hearings.helpers import FAR, decided

    h = decided(client, org, db)
    browser = Browser(app, "coord.county", h.matter)
    form = _section(browser.matter())
    assert 'enctype="multipart/form-data" data-hearing-form="booking"' in form
    assert 'name="representatives"' in form and 'name="witnesses"' in form and 'name="authorisation_file"' in form
    fields = {"room_id": org.rooms["township"].id, "start": FAR.strftime("%Y-%m-%dT%H:%M"),
              "end": FAR.replace(hour=10).strftime("%Y-%m-%dT%H:%M"), "handler_id": org.people["handler"].id,
              "petitioners": "张三", "representatives": "王五、赵六", "witnesses": "村会计钱七", "agent": "李律师",
              "record": "on"}
    # An agent without a written authorisation is refused, nothing booked.
    page = _section(browser.post(f"/hearings/{h.id}/booking", fields))
    assert "代理人李律师须提交书面授权委托书" in page and "data-hearing-session" not in page
    token = csrf_of(browser.matter())
    response = browser.client.post(f"/hearings/{h.id}/booking", data={**fields, "csrf_token": token},
                                   files={"authorisation_file": ("授权委托书.png", _png(), "image/png")},
                                   follow_redirects=False)
    assert response.status_code == 303 and "hearing_done=booked" in response.headers["location"]
    page = _section(browser.matter())
    assert "授权委托书：授权委托书.png" in page and "data-agent-authorisation" in page
    session_id = int(re.search(r'href="/calls/(\d+)" data-hearing-session', page).group(1))
    seats = client.get(f"/api/v1/sessions/{session_id}", headers=h.headers).json()["participants"]
    assert sorted((p["role"], p["name"]) for p in seats if p["person_id"] is None and p["role"] != "room") == [
        ("agent", "李律师"), ("petitioner", "张三"), ("representative", "王五"), ("representative", "赵六"),
        ("witness", "村会计钱七")]


def test_earlier_hearings_are_listed_under_the_current_one(app, client, org, db):
    matter, _ = accepted(client, org, db)
    browser = Browser(app, "coord.county", matter["id"])
    first = _hearing_id(browser.post(f"/matters/{matter['id']}/hearings", {"reason": "事实不清"}))
    browser.post(f"/hearings/{first}/decision", {"hold": "no", "reason": "事实已查清，无需听证"})
    page = _section(browser.post(f"/matters/{matter['id']}/hearings", {"by_petitioner": "on", "reason": "再次申请"}))
    second = _hearing_id(page)
    assert second != first and 'data-hearing-state="requested"' in page
    earlier = page[page.index("data-earlier-hearings"):]
    assert f'data-earlier-hearing="{first}"' in earlier and 'data-earlier-state="refused"' in earlier
    assert "事实已查清，无需听证" in earlier and "不予听证告知书" in earlier
    assert f'data-earlier-hearing="{second}"' not in earlier


def test_during_recheck_the_page_offers_the_hearing_to_the_province_only(app, client, org, db):
    from tests.hearings.helpers import province_staff

    matter, _ = accepted(client, org, db, recheck=True)
    province_staff(client, org, db)
    assert "data-hearing-form" not in _section(Browser(app, "coord.county", matter["id"]).matter())
    browser = Browser(app, "coord.province", matter["id"])
    assert 'data-hearing-form="propose"' in _section(browser.matter())
    page = _section(browser.post(f"/matters/{matter['id']}/hearings", {"reason": "复核中事实争议较大"}))
    hid = _hearing_id(page)
    assert f'data-hearing-body="{org.nodes["province"].id}">青岚省<' in page and "复核阶段" in page
    other = Browser(app, "coord.county", matter["id"])
    refused = other.client.post(f"/hearings/{hid}/decision",
                                data={"hold": "yes", "csrf_token": csrf_of(other.matter())}, follow_redirects=False)
    assert refused.status_code == 403
    page = _section(browser.post(f"/hearings/{hid}/decision", {"hold": "yes"}))
    chair = page[page.index('data-hearing-form="chair"'):]
    chair = chair[:chair.index("</form>")]
    assert f'<option value="{org.people["leader_province"].id}"' in chair
    assert f'<option value="{org.people["leader_county"].id}"' not in chair
    assert f'href="/hearing-roster?node_id={org.nodes["province"].id}"' in page
