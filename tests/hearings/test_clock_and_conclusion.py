"""The hearing session's actual start and end drive the hearing and the 复核 clock; conclusion; publication; access."""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduling.session_state import change_state
from tests.factories import POLICY, SH, login
from tests.hearings.helpers import booking, decided
from vreception import clock
from vreception.models.scheduling import ReceptionSession, SessionState


def _run_session(db, session_id: int, live: datetime, ended: datetime) -> None:
    for state, at in ((SessionState.open, live), (SessionState.live, live), (SessionState.ended, ended)):
        clock.travel_to(at)
        with db.transaction() as session:
            change_state(db=session, booking=session.get(ReceptionSession, session_id), to=state, at=at, policy=POLICY)


def _held(client, org, db, *, recheck: bool):
    h = decided(client, org, db, recheck=recheck)
    start = datetime(2026, 3, 10, 9, 0, tzinfo=SH)
    booked = client.post(f"/api/v1/hearings/{h.id}/booking", headers=h.headers, json=booking(org, start))
    assert booked.status_code == 201, booked.text
    return h, booked.json()["session_id"], start


def test_the_session_of_a_recheck_hearing_keeps_its_days_out_of_the_period(client, org, db):
    h, session_id, start = _held(client, org, db, recheck=True)
    before = client.get(f"/api/v1/matters/{h.matter}", headers=h.headers).json()
    assert before["deadlines"]["recheck_decision"]["due"] == "2026-04-01"
    clock.travel_to(start)
    _run_session(db, session_id, start, start)  # opened and live
    live = client.get(f"/api/v1/hearings/{h.id}", headers=h.headers).json()
    assert live["state"] == "held"  # the helper ran it through; check the stamps below
    matter = client.get(f"/api/v1/matters/{h.matter}", headers=h.headers).json()
    assert matter["state"] == "recheck_requested"
    assert live["started_at"] and live["ended_at"] and live["excluded_days"] == 1
    # One hearing day does not count: 2026-04-01 → 04-02.
    assert matter["deadlines"]["recheck_decision"]["due"] == "2026-04-02"
    assert live["conclusion_due"] == "2026-03-25"
    actions = [e["action"] for e in matter["timeline"]]
    assert actions[-2:] == ["start_hearing", "end_hearing"]


def test_a_live_recheck_hearing_puts_the_matter_in_its_hearing(client, org, db):
    h, session_id, start = _held(client, org, db, recheck=True)
    clock.travel_to(start)
    with db.transaction() as session:
        booked = session.get(ReceptionSession, session_id)
        change_state(db=session, booking=booked, to=SessionState.live, at=start, policy=POLICY)
    hearing = client.get(f"/api/v1/hearings/{h.id}", headers=h.headers).json()
    assert hearing["state"] == "in_session" and hearing["started_at"].startswith("2026-03-10T01:00")
    assert client.get(f"/api/v1/matters/{h.matter}", headers=h.headers).json()["state"] == "hearing"


def test_conclusion_late_is_overdue_and_the_published_opinion_has_no_personal_data(client, org, db):
    h, session_id, start = _held(client, org, db, recheck=True)
    _run_session(db, session_id, start, start + timedelta(minutes=50))
    early = client.post(f"/api/v1/hearings/{h.id}/publication", headers=h.headers)
    assert early.status_code == 409  # not concluded yet
    clock.travel_to(datetime(2026, 3, 27, 10, 0, tzinfo=SH))  # past the conclusion's due day (03-25)
    waiting = client.get(f"/api/v1/hearings/{h.id}", headers=h.headers).json()
    assert waiting["overdue"] is True
    concluded = client.post(f"/api/v1/hearings/{h.id}/conclusion", headers=h.headers,
                            json={"conclusion": "听证员一致认为原处理意见事实清楚。"})
    assert concluded.status_code == 200, concluded.text
    out = concluded.json()
    assert out["state"] == "concluded" and out["overdue"] is True
    assert out["documents"][-1]["kind"] == "hearing_conclusion" and out["documents"][-1]["served_at"]
    nothing = client.post(f"/api/v1/hearings/{h.id}/publication", headers=h.headers)
    assert nothing.status_code == 422 and nothing.json()["code"] == "invalid"
    assert client.get(f"/api/v1/public/hearings/{h.id}").status_code == 404
    # 复核 is the province's, one level above the city's 复查.
    response = client.post(f"/api/v1/matters/{h.matter}/actions", headers=login(client, "coord.province"), json={
        "action": "recheck_reply", "outcome": "not_support",
        "reason": "经听证，张三（身份证580102197001010019，电话13800138000）的诉求不予支持。"})
    assert response.status_code == 200, response.text
    published = client.post(f"/api/v1/hearings/{h.id}/publication", headers=h.headers)
    assert published.status_code == 200 and published.json()["published_at"]
    page = client.get(f"/api/v1/public/hearings/{h.id}")
    assert page.status_code == 200
    body = page.json()
    assert body["opinion"] == "经听证，信访人（身份证***，电话***）的诉求不予支持。"
    assert "张三" not in page.text and "13800138000" not in page.text and body["categories"] == ["wages"]


def test_panel_members_see_their_hearing_but_not_the_matter_and_lose_it_when_withdrawn(client, org, db):
    h = decided(client, org, db)
    member = login(client, "hearing2")
    assert client.get(f"/api/v1/hearings/{h.id}", headers=member).status_code == 200
    # The panel reads the case file on the member's page (served documents only), not the matter itself;
    # the chair and the recorder, who run the hearing, read it.
    assert client.get(f"/api/v1/matters/{h.matter}", headers=member).status_code == 403
    assert client.get("/api/v1/matters", headers=member).json()["items"] == []
    assert client.get(f"/api/v1/matters/{h.matter}", headers=login(client, "clerk")).status_code == 200
    # A member who withdrew after a granted 回避 reads no more.
    rid = client.post(f"/api/v1/hearings/{h.id}/recusals", headers=h.headers, json={
        "against_id": org.people["hearing2"].id, "requested_by": "张三", "reason": "利害关系"}).json()["recusals"][0]["id"]
    client.post(f"/api/v1/hearings/{h.id}/recusals/{rid}/decision", headers=login(client, "leader.county"),
                json={"granted": True, "reason": "属实"})
    assert client.get(f"/api/v1/matters/{h.matter}", headers=member).status_code == 403
    assert client.get(f"/api/v1/hearings/{h.id}", headers=member).status_code == 403
    # Others outside the office see nothing of it.
    assert client.get(f"/api/v1/hearings/{h.id}", headers=login(client, "coord.county2")).status_code == 403
    assert client.post(f"/api/v1/hearings/{h.id}/conclusion", headers=login(client, "hearing"),
                       json={"conclusion": "x"}).status_code == 403
