"""The statutory clock through the whole life of a matter, with time travel over holidays and 调休."""

from __future__ import annotations

from sqlalchemy import select

from tests.cases.helpers import at, travel
from tests.factories import act, register
from vreception import audit
from vreception.models import AuditEvent, MatterEvent


def test_acceptance_deadline_moves_off_national_day(client, org):
    travel(2026, 9, 20)  # a Sunday worked for National Day (调休)
    matter, headers = register(client, org)
    assert matter["deadlines"]["acceptance"]["due"] == "2026-10-08"  # 10-05 is a holiday
    assert matter["deadlines"]["acceptance"]["provisional"] is False
    # Transferred the same day: 5 working days 09-21..24, then 09-25 is Mid-Autumn Festival and 26-27 a weekend.
    m = act(client, headers, matter["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    assert m["deadlines"]["remit_objection"]["due"] == "2026-09-28"


def test_deadline_stays_on_holiday_when_configured(client, org, settings):
    settings.deadline_moves_off_holidays = False
    travel(2026, 9, 20)
    matter, _ = register(client, org)
    assert matter["deadlines"]["acceptance"]["due"] == "2026-10-05"


def test_deadline_into_2027_is_provisional_until_the_year_is_loaded(client, org, db, tmp_path):
    travel(2026, 12, 20)
    matter, headers = register(client, org)
    assert matter["deadlines"]["acceptance"] == {**matter["deadlines"]["acceptance"], "due": "2027-01-04",
                                                 "provisional": True}
    path = tmp_path / "2027.json"
    path.write_text('{"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"},'
                    ' {"date": "2027-01-04", "name": "调休"}], "workdays": []}', encoding="utf-8")
    from vreception.cases.deadlines import recompute_provisional
    from vreception.workdays import load_year_file

    with db.transaction() as session:
        load_year_file(path, db=session)
        assert recompute_provisional(db=session) >= 1
    again = client.get(f"/api/v1/matters/{matter['id']}", headers=headers).json()
    assert again["deadlines"]["acceptance"]["due"] == "2027-01-05"
    assert again["deadlines"]["acceptance"]["provisional"] is False


def _hearing_clock(db, matter_id: int, action: str) -> None:
    """The hearing session's actual start or end, as vreception.hearings.clock moves the matter."""
    from vreception import clock
    from vreception.cases import actions
    from vreception.models import Matter

    with db.transaction() as session:
        actions.act_by_hearing(db=session, matter=session.get(Matter, matter_id), action=action, at=clock.now())


def test_full_life_with_review_and_second_review(client, org, db):
    from tests.factories import FreshHeaders, extend_org

    extend_org(db, org)
    city, province = FreshHeaders(client, "coord.city"), FreshHeaders(client, "coord.province")
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    mid = matter["id"]
    travel(2026, 3, 10)
    m = act(client, headers, mid, "accept")
    assert m["state"] == "accepted"
    assert m["deadlines"]["acceptance"]["state"] == "met"
    # 03-10 + 60 = 05-09, a Saturday, but a make-up workday (调休) for Labour Day: it stays.
    assert m["deadlines"]["handling"]["due"] == "2026-05-09"
    assert [d["kind"] for d in m["documents"]] == ["acceptance_notice"]
    travel(2026, 4, 20)
    m = act(client, headers, mid, "reply", outcome="explain", reason="经核查，工资已于四月结清。")
    assert m["state"] == "replied" and m["deadlines"]["handling"]["state"] == "met"
    travel(2026, 4, 22)
    m = act(client, headers, mid, "serve")
    assert m["state"] == "served" and m["deadlines"]["review_request"]["due"] == "2026-05-22"
    travel(2026, 5, 20)
    m = act(client, headers, mid, "request_review")
    # 05-20 + 30 = 06-19, the Dragon Boat Festival: moved to Monday 06-22.
    assert m["state"] == "review_requested" and m["deadlines"]["review_decision"]["due"] == "2026-06-22"
    # 复查 by the body one level up (the city), 复核 by the one above it (the province).
    m = act(client, city, mid, "review_reply", outcome="not_support", reason="维持原处理意见。")
    m = act(client, city, mid, "serve")
    assert m["state"] == "review_served"
    travel(2026, 6, 1)
    m = act(client, headers, mid, "request_recheck")
    assert m["deadlines"]["recheck_decision"]["due"] == "2026-07-01"
    travel(2026, 6, 10)
    _hearing_clock(db, mid, "start_hearing")
    travel(2026, 6, 12)
    _hearing_clock(db, mid, "end_hearing")
    m = client.get(f"/api/v1/matters/{mid}", headers=headers).json()
    # Three hearing days (10th–12th) do not count: 06-01 + 33 = 07-04, a Saturday → Monday 07-06.
    assert m["deadlines"]["recheck_decision"]["due"] == "2026-07-06"
    m = act(client, province, mid, "recheck_reply", outcome="not_support", reason="复核维持。")
    m = act(client, province, mid, "serve")
    assert m["state"] == "final"
    kinds = [d["kind"] for d in m["documents"]]
    assert kinds == ["acceptance_notice", "reply_opinion", "review_opinion", "recheck_opinion"]
    assert all(d["served_at"] for d in m["documents"][1:])
    assert [e["action"] for e in m["timeline"]] == [
        "register", "accept", "reply", "serve", "request_review", "review_reply", "serve", "request_recheck",
        "start_hearing", "end_hearing", "recheck_reply", "serve"]

    # A new matter on the same facts after the second review: a person decides not to accept it again (不再受理),
    # with a reason; similar text alone only flags it.
    travel(2026, 8, 1)
    again, _ = register(client, org, headers=headers)
    assert again["possible_repeat"]
    act(client, headers, again["id"], "refuse_repeat", expect=422)  # no reason
    closed = act(client, headers, again["id"], "refuse_repeat", reason="与已终结事项事实和理由相同。")
    assert closed["state"] == "closed" and closed["outcome"] == "not_reaccepted"
    assert closed["documents"][-1]["kind"] == "repeat_refusal"


def test_review_asked_after_30_days_is_window_closed(client, org):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    act(client, headers, matter["id"], "reply", outcome="support", reason="支持。")
    act(client, headers, matter["id"], "serve")
    travel(2026, 4, 2)  # served 03-02; the window ended 04-01
    response = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=headers, json={"action": "request_review"})
    assert response.status_code == 422 and response.json()["code"] == "window_closed"
    assert "2026-04-01" in response.json()["detail"]
    closed = act(client, headers, matter["id"], "close")
    assert closed["state"] == "closed"


def test_close_before_the_review_window_ends_is_refused(client, org):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    act(client, headers, matter["id"], "reply", outcome="support", reason="支持。")
    act(client, headers, matter["id"], "serve")
    act(client, headers, matter["id"], "close", expect=409)


def test_extensions_of_at_most_30_days_in_all(client, org):
    travel(2026, 3, 10)
    matter, headers = register(client, org)
    head = org.people["leader_county"].id
    act(client, headers, matter["id"], "accept")
    act(client, headers, matter["id"], "extend", expect=422, days=31, reason="案情复杂", approved_by=head)
    act(client, headers, matter["id"], "extend", expect=422, days=30, approved_by=head)  # no reason
    m = act(client, headers, matter["id"], "extend", days=30, reason="需多部门会商", approved_by=head)
    assert m["deadlines"]["handling"]["due"] == "2026-06-08" and m["extended"]  # 03-10 + 90
    assert m["documents"][-1]["kind"] == "extension_notice"
    second = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=headers,
                         json={"action": "extend", "days": 5, "reason": "再延", "approved_by": head})
    assert second.status_code == 422 and second.json()["code"] == "window_closed"


def test_late_acceptance_is_recorded_as_missed(client, org):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    travel(2026, 3, 20)
    m = act(client, headers, matter["id"], "accept")
    assert m["deadlines"]["acceptance"]["state"] == "missed"


def test_remit_objection_within_five_working_days_of_the_transfer_only(client, org):
    from tests.factories import FreshHeaders

    county2 = FreshHeaders(client, "coord.county2")
    travel(2026, 9, 30)  # 5 working days run past National Day: 09-30 → 10-13
    matter, headers = register(client, org)
    m = act(client, headers, matter["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    assert m["deadlines"]["remit_objection"]["due"] == "2026-10-13"
    travel(2026, 10, 14)
    response = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=county2,
                           json={"action": "object_remit", "reason": "不属本机关职责"})
    assert response.json()["code"] == "window_closed"
    travel(2026, 9, 30)
    other, _ = register(client, org, headers=headers, serial=7, summary="另一事项")
    act(client, headers, other["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    travel(2026, 10, 13)
    back = act(client, county2, other["id"], "object_remit", reason="不属本机关职责")
    assert back["state"] == "registered"  # back to the transferring office for checking (核实)


def test_transitions_out_of_order_are_409_and_write_nothing(client, org, db):
    matter, headers = register(client, org)
    with db.transaction() as session:
        events_before = session.query(AuditEvent).count()
    for action in ("reply", "serve", "request_review", "close"):
        response = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=headers, json={"action": action})
        assert response.status_code == 409 and response.json()["code"] == "illegal_transition"
    assert "已登记" in response.json()["detail"]
    unknown = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=headers, json={"action": "teleport"})
    assert unknown.status_code == 422
    # The hearing's start and end come from its session, never from a typed action.
    for action in ("start_hearing", "end_hearing"):
        typed = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=headers, json={"action": action})
        assert typed.status_code == 422 and typed.json()["code"] == "invalid"
    with db.transaction() as session:
        assert session.query(AuditEvent).count() == events_before
        assert [e.action for e in session.scalars(select(MatterEvent))] == ["register"]


def test_not_accepted_matter_gets_its_notice_and_legal_channel(client, org):
    matter, headers = register(client, org, summary="不服县法院一审判决", category="court_judgment")
    m = act(client, headers, matter["id"], "not_accept", reason="属于诉讼事项，依法导入司法程序。")
    assert m["state"] == "closed" and m["documents"][0]["kind"] == "rejection_notice"
    html = client.get(m["documents"][0]["html_url"], headers=headers).text
    assert "诉讼" in html and "不予受理告知书" in html and "张三" in html


def test_owner_leader_sees_the_matter(client, org):
    from tests.factories import login

    matter, headers = register(client, org)
    # A county office names only its own leaders; the city leader is named by an office over the city.
    act(client, headers, matter["id"], "set_owner", expect=403, leader_id=org.people["leader_city"].id)
    headers = login(client, "coord.province")
    act(client, headers, matter["id"], "set_owner", leader_id=org.people["leader_city"].id)
    leader = login(client, "leader.city")
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=leader).json()["owner_leader_id"] == \
        org.people["leader_city"].id
    act(client, headers, matter["id"], "set_owner", expect=422, leader_id=org.people["handler"].id)
    outsider = login(client, "coord.county2")
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=outsider).status_code == 403


def test_every_action_is_audited_and_chain_holds(client, org, db):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    with db.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert audit.verify(db=session).ok
    assert "matter.registered" in actions and "matter.accept" in actions and "document.issued" in actions
    assert at(2026, 3, 2)  # the helper is importable for other tests


def test_second_review_asked_late_is_window_closed_and_a_late_review_is_missed(client, org, db):
    from tests.factories import FreshHeaders, extend_org

    extend_org(db, org)
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    act(client, headers, matter["id"], "reply", outcome="explain", reason="解释。")
    act(client, headers, matter["id"], "serve")
    act(client, headers, matter["id"], "request_review")  # review decision due 04-01
    travel(2026, 4, 10)
    m = act(client, FreshHeaders(client, "coord.city"), matter["id"], "review_reply", outcome="not_support",
            reason="维持。")
    assert m["deadline_history"][-1]["kind"] == "review_decision" and m["deadline_history"][-1]["state"] == "missed"
    act(client, headers, matter["id"], "serve")  # second-review window: 04-10 + 30 = 05-10, a Sunday → 05-11
    travel(2026, 5, 12)
    late = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=headers, json={"action": "request_recheck"})
    assert late.status_code == 422 and late.json()["code"] == "window_closed"
    assert "2026-05-11" in late.json()["detail"]
    assert act(client, headers, matter["id"], "close")["state"] == "closed"
