"""The hearing procedure through the API: request, decision, chair, panel, publicity, notice, 回避, conclusion."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.factories import SH, register
from tests.hearings.helpers import FAR, NOW, accepted, authorisation, booking, decided, members, roster
from vreception import clock
from vreception.models import AuditEvent, Document


def _post(client, headers, path, body=None, method="POST"):
    return client.request(method, f"/api/v1/{path}", headers=headers, json=body)


def test_a_hearing_is_asked_for_only_while_handled_or_under_second_review(client, org, db):
    clock.travel_to(NOW)
    matter, headers = register(client, org)
    refused = _post(client, headers, f"matters/{matter['id']}/hearings", {"reason": "x"})
    assert refused.status_code == 422 and refused.json()["code"] == "hearing_not_in_stage"


def test_request_and_decision_within_the_set_days_issue_the_notice(client, org, db):
    matter, headers = accepted(client, org, db)
    asked = _post(client, headers, f"matters/{matter['id']}/hearings", {"by_petitioner": True, "reason": "请求听证"})
    assert asked.status_code == 201
    body = asked.json()
    assert body["state"] == "requested" and body["stage"] == "handling" and body["requested_by_petitioner"]
    assert body["decision_due"] == "2026-03-17"  # 15 calendar days
    again = _post(client, headers, f"matters/{matter['id']}/hearings", {"reason": "再请求"})
    assert again.status_code == 409 and again.json()["code"] == "hearing_open"
    no_reason = _post(client, headers, f"hearings/{body['id']}/decision", {"hold": False})
    assert no_reason.status_code == 422
    refused = _post(client, headers, f"hearings/{body['id']}/decision", {"hold": False, "reason": "事实清楚，无需听证"})
    assert refused.status_code == 200
    out = refused.json()
    assert out["state"] == "refused" and out["decided_by"] == org.people["coord_county"].id
    assert [d["kind"] for d in out["documents"]] == ["hearing_refusal"] and out["documents"][0]["served_at"]
    with db.transaction() as session:
        html = session.get(Document, out["decision_document_id"]).html
    assert "不予听证告知书" in html and "事实清楚，无需听证" in html and "张三" in html
    # Refused is over: the office may propose again, and hold it this time.
    second = _post(client, headers, f"matters/{matter['id']}/hearings", {})
    held = _post(client, headers, f"hearings/{second.json()['id']}/decision", {"hold": True})
    assert held.json()["state"] == "decided" and held.json()["documents"][0]["kind"] == "hearing_decision"


def test_the_chair_must_be_a_leader_of_the_office_who_did_not_act_on_the_matter(client, org, db):
    matter, headers = accepted(client, org, db)
    hid = _post(client, headers, f"matters/{matter['id']}/hearings", {}).json()["id"]
    _post(client, headers, f"hearings/{hid}/decision", {"hold": True})
    recorder = org.people["clerk"].id
    # The county coordinator registered and accepted the matter; the owner leader owns it.
    not_leader = _post(client, headers, f"hearings/{hid}/chair",
                       {"chair_id": org.people["coord_county"].id, "recorder_id": recorder}, "PUT")
    assert not_leader.status_code == 422 and not_leader.json()["code"] == "chair_conflict"
    _post(client, headers, f"matters/{matter['id']}/actions",
          {"action": "set_owner", "leader_id": org.people["leader_county"].id})
    owner = _post(client, headers, f"hearings/{hid}/chair",
                  {"chair_id": org.people["leader_county"].id, "recorder_id": recorder}, "PUT")
    assert owner.status_code == 422 and owner.json()["code"] == "chair_conflict"
    other_office = _post(client, headers, f"hearings/{hid}/chair",
                         {"chair_id": org.people["leader_city"].id, "recorder_id": recorder}, "PUT")
    assert other_office.status_code == 422 and other_office.json()["code"] == "chair_conflict"


def test_a_task_handler_cannot_chair_or_sit(client, org, db):
    from tests.factories import add_task
    from vreception.models import Matter

    matter, headers = accepted(client, org, db)
    roster(client, org, headers)
    with db.transaction() as session:
        add_task(session, org, session.get(Matter, matter["id"]), title="核实", due_at=NOW + timedelta(days=5),
                 actor="hearing3")
    hid = _post(client, headers, f"matters/{matter['id']}/hearings", {}).json()["id"]
    _post(client, headers, f"hearings/{hid}/decision", {"hold": True})
    sat = _post(client, headers, f"hearings/{hid}/panel", members(org, "hearing", "hearing2", "hearing3"), "PUT")
    assert sat.status_code == 422 and sat.json()["code"] == "panel_conflict"


def test_the_panel_is_an_allowed_odd_number_from_the_roster(client, org, db):
    matter, headers = accepted(client, org, db)
    hid = _post(client, headers, f"matters/{matter['id']}/hearings", {}).json()["id"]
    _post(client, headers, f"hearings/{hid}/decision", {"hold": True})
    off_roster = _post(client, headers, f"hearings/{hid}/panel", members(org, "hearing", "hearing2", "hearing3"), "PUT")
    assert off_roster.status_code == 422 and off_roster.json()["code"] == "panel_not_on_roster"
    roster(client, org, headers)
    even = _post(client, headers, f"hearings/{hid}/panel", members(org, "hearing", "hearing2"), "PUT")
    assert even.status_code == 422 and even.json()["code"] == "panel_size"
    one = _post(client, headers, f"hearings/{hid}/panel", members(org, "hearing"), "PUT")
    assert one.status_code == 422 and one.json()["code"] == "panel_size"
    not_member = client.post("/api/v1/hearing-roster", headers=headers,
                             json={"node_id": org.nodes["county"].id, "person_id": org.people["handler"].id})
    assert not_member.status_code == 422
    _post(client, headers, f"hearings/{hid}/chair",
          {"chair_id": org.people["leader_county"].id, "recorder_id": org.people["clerk"].id}, "PUT")
    three = _post(client, headers, f"hearings/{hid}/panel",
                  members(org, "hearing", "hearing2", "hearing3", chosen=("hearing",)), "PUT")
    assert three.status_code == 200
    assert [(m["person_id"], m["chosen_by_petitioner"]) for m in three.json()["panel"]] == [
        (org.people["hearing"].id, True), (org.people["hearing2"].id, False), (org.people["hearing3"].id, False)]
    # A member taken off the roster cannot be named again.
    entry = next(r for r in client.get("/api/v1/hearing-roster", headers=headers,
                                       params={"node_id": org.nodes["county"].id}).json()
                 if r["person"]["id"] == org.people["hearing3"].id)
    assert client.delete(f"/api/v1/hearing-roster/{entry['id']}", headers=headers).status_code == 204
    again = _post(client, headers, f"hearings/{hid}/panel", members(org, "hearing", "hearing2", "hearing3"), "PUT")
    assert again.status_code == 422 and again.json()["code"] == "panel_not_on_roster"


def test_closed_only_for_the_listed_reasons(client, org, db):
    h = decided(client, org, db)
    bad = _post(client, h.headers, f"hearings/{h.id}/publicity", {"public": False, "closed_reason": "inconvenient"}, "PUT")
    assert bad.status_code == 422 and bad.json()["code"] == "closed_reason"
    none = _post(client, h.headers, f"hearings/{h.id}/publicity", {"public": False}, "PUT")
    assert none.status_code == 422 and none.json()["code"] == "closed_reason"
    closed = _post(client, h.headers, f"hearings/{h.id}/publicity", {"public": False, "closed_reason": "privacy"}, "PUT")
    assert closed.json()["public"] is False and closed.json()["closed_reason"] == "privacy"
    booked = _post(client, h.headers, f"hearings/{h.id}/booking", booking(org))
    assert booked.status_code == 201, booked.text
    assert booked.json()["gallery_key"] is None  # a closed hearing has no gallery
    with db.transaction() as session:
        html = session.get(Document, booked.json()["documents"][-1]["id"]).html
    assert "不公开举行" in html and "个人隐私" in html


def test_the_notice_period_with_time_travel_and_a_written_waiver(client, org, db):
    h = decided(client, org, db)
    soon = datetime(2026, 3, 6, 9, 0, tzinfo=SH)  # four days on
    late = _post(client, h.headers, f"hearings/{h.id}/booking", booking(org, soon))
    assert late.status_code == 422 and late.json()["code"] == "hearing_notice_too_late"
    unwritten = _post(client, h.headers, f"hearings/{h.id}/booking", booking(org, soon, notice_waived=True))
    assert unwritten.status_code == 422 and unwritten.json()["code"] == "hearing_notice_too_late"
    clock.travel_to(soon - timedelta(days=7, hours=1))  # a week and an hour before: in time
    in_time = _post(client, h.headers, f"hearings/{h.id}/booking", booking(org, soon))
    assert in_time.status_code == 201, in_time.text
    assert in_time.json()["notice_waived"] is False


def test_a_waived_notice_is_recorded_and_every_participant_is_noticed(client, org, db):
    h = decided(client, org, db)
    soon = datetime(2026, 3, 4, 9, 0, tzinfo=SH)
    body = booking(org, soon, notice_waived=True, waiver_note="信访人书面放弃七日通知期限，见附件。", agent="李律师")
    # An agent takes part only with a written authorisation attached to this matter.
    unauthorised = _post(client, h.headers, f"hearings/{h.id}/booking", body)
    assert unauthorised.status_code == 422 and unauthorised.json()["code"] == "agent_authorisation"
    other, _ = register(client, org, serial=2, name="李四")
    elsewhere = _post(client, h.headers, f"hearings/{h.id}/booking",
                      {**body, "agent_authorisation": authorisation(client, h.headers, other["id"])})
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "agent_authorisation"
    item = authorisation(client, h.headers, h.matter)
    booked = _post(client, h.headers, f"hearings/{h.id}/booking", {**body, "agent_authorisation": item})
    assert booked.status_code == 201, booked.text
    out = booked.json()
    assert out["agent_authorisation"]["item"] == item and out["agent_authorisation"]["filename"] == "授权委托书.png"
    assert out["state"] == "noticed" and out["notice_waived"] and out["gallery_key"]
    notices = [d for d in out["documents"] if d["kind"] == "hearing_notice"]
    # The petitioner (served), the chair, the recorder, three members, the handler, the agent.
    assert len(notices) == 8 and len({d["number"] for d in notices}) == 8
    assert [bool(d["served_at"]) for d in notices] == [True] + [False] * 7
    with db.transaction() as session:
        html = session.get(Document, notices[0]["id"]).html
        waived = session.query(AuditEvent).filter(AuditEvent.action == "hearing.noticed").one()
    assert "测试leader_county" in html and "听证员乙" in html and "公开举行" in html and "书面放弃" in html
    assert "信访人书面放弃" in waived.data
    session_out = client.get(f"/api/v1/sessions/{out['session_id']}", headers=h.headers).json()
    roles = sorted(p["role"] for p in session_out["participants"])
    assert roles == sorted(["chair", "room", "recorder", "hearing_member", "hearing_member", "hearing_member",
                            "handler", "petitioner", "agent"])


def test_the_generic_booking_refuses_a_hearing(client, org, db):
    h = decided(client, org, db)
    response = client.post("/api/v1/sessions", headers=h.headers, json={
        "kind": "hearing", "leader_id": org.people["leader_county"].id, "room_ids": [org.rooms["township"].id],
        "matter_id": h.matter, "start": FAR.isoformat(), "end": (FAR + timedelta(hours=1)).isoformat(),
        "invited": True})
    assert response.status_code == 422 and response.json()["code"] == "invalid"
    assert "/api/v1/hearings/{id}/booking" in response.json()["detail"]


def test_recusal_of_a_member_withdraws_them_until_the_panel_is_completed(client, org, db):
    h = decided(client, org, db)
    member = org.people["hearing2"].id
    asked = _post(client, h.headers, f"hearings/{h.id}/recusals",
                  {"against_id": member, "requested_by": "张三", "reason": "与承办人系亲属"})
    assert asked.status_code == 201
    rid = asked.json()["recusals"][0]["id"]
    # Pending: no booking; the office may not decide it, the chair does.
    assert _post(client, h.headers, f"hearings/{h.id}/booking", booking(org)).json()["code"] == "hearing_state"
    office = _post(client, h.headers, f"hearings/{h.id}/recusals/{rid}/decision", {"granted": True, "reason": "x"})
    assert office.status_code == 403
    from tests.factories import login

    chair = login(client, "leader.county")
    granted = _post(client, chair, f"hearings/{h.id}/recusals/{rid}/decision", {"granted": True, "reason": "属实"})
    assert granted.status_code == 200
    out = granted.json()
    assert out["recusals"][0]["granted"] is True and out["recusals"][0]["decided_by"] == org.people["leader_county"].id
    assert [m["withdrawn"] for m in out["panel"] if m["person_id"] == member] == [True]
    short = _post(client, h.headers, f"hearings/{h.id}/booking", booking(org))
    assert short.status_code == 422 and short.json()["code"] == "panel_size"
    back = _post(client, h.headers, f"hearings/{h.id}/panel", members(org, "hearing", "hearing2", "hearing3"), "PUT")
    assert back.status_code == 422 and back.json()["code"] == "panel_conflict"
    # Against the chair: the office decides, not the chair.
    chair_asked = _post(client, h.headers, f"hearings/{h.id}/recusals",
                        {"against_id": org.people["leader_county"].id, "requested_by": "张三", "reason": "曾接访"})
    cid = chair_asked.json()["recusals"][1]["id"]
    assert _post(client, chair, f"hearings/{h.id}/recusals/{cid}/decision",
                 {"granted": False, "reason": "不属实"}).status_code == 403
    refused = _post(client, h.headers, f"hearings/{h.id}/recusals/{cid}/decision", {"granted": False, "reason": "不属实"})
    assert refused.status_code == 200 and refused.json()["chair"]["id"] == org.people["leader_county"].id
