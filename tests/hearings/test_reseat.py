"""A 回避 granted after the booking: the withdrawn person's seat in the booked session goes at once; the place filled,
the seat (and the chair's claimed time) passes to the newcomer, who is noticed; once the session opened, refused."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from scheduling.session_state import change_state
from tests.factories import POLICY, add_person, book_session, login
from tests.hearings.helpers import FAR, booking, decided, members
from vreception import clock
from vreception.models import AuditEvent, Document
from vreception.models.scheduling import Claim, ReceptionSession, SessionState


def _post(client, headers, path, body=None, method="POST"):
    return client.request(method, f"/api/v1/{path}", headers=headers, json=body)


def _booked(client, org, db):
    with db.transaction() as session:
        add_person(session, org, "leader_county_b", "leader", "county", title="副区长", name="领导乙")
        add_person(session, org, "leader_county_c", "leader", "county", title="副区长", name="领导丙")
        add_person(session, org, "hearing4", "hearing_member", "county", name="听证员丁")
    h = decided(client, org, db)
    booked = _post(client, h.headers, f"hearings/{h.id}/booking", booking(org, FAR))
    assert booked.status_code == 201, booked.text
    return h, booked.json()["session_id"]


def _seats(db, session_id: int) -> dict[str, list[tuple[int, int | None]]]:
    """Role → [(participant id, person id)] of the session, and its leader and claimed resources."""
    with db.transaction() as session:
        held = session.get(ReceptionSession, session_id)
        out: dict = {"leader": held.leader_id,
                     "claims": set(session.scalars(select(Claim.resource).where(Claim.session_id == session_id)))}
        for p in held.participants:
            out.setdefault(p.role, []).append((p.id, p.person_id))
        return out


def _recuse(client, h, decider, against_id: int) -> None:
    asked = _post(client, h.headers, f"hearings/{h.id}/recusals",
                  {"against_id": against_id, "requested_by": "张三", "reason": "曾参与处理"})
    rid = asked.json()["recusals"][-1]["id"]
    granted = _post(client, decider, f"hearings/{h.id}/recusals/{rid}/decision", {"granted": True, "reason": "属实"})
    assert granted.status_code == 200, granted.text


def test_the_chair_seat_moves_to_the_new_chair_with_its_claim_and_a_notice(client, org, db):
    h, sid = _booked(client, org, db)
    old, busy, new = (org.people[k].id for k in ("leader_county", "leader_county_b", "leader_county_c"))
    recorder = org.people["clerk"].id
    before = _seats(db, sid)
    [(old_seat, _)] = before["chair"]
    assert before["leader"] == old and f"leader:{old}" in before["claims"]

    _recuse(client, h, h.headers, old)  # against the chair: the office decides
    hearing = client.get(f"/api/v1/hearings/{h.id}", headers=h.headers).json()
    assert hearing["state"] == "noticed" and hearing["chair"] is None
    assert "chair" not in _seats(db, sid)  # the recused chair's seat is gone at once

    # Only the empty place is filled, never by the recused chair, and not the recorder's in passing.
    again = _post(client, h.headers, f"hearings/{h.id}/chair", {"chair_id": old, "recorder_id": recorder}, "PUT")
    assert again.status_code == 422 and again.json()["code"] == "chair_conflict"
    swap = _post(client, h.headers, f"hearings/{h.id}/chair",
                 {"chair_id": new, "recorder_id": org.people["coord_county"].id}, "PUT")
    assert swap.status_code == 409 and swap.json()["code"] == "hearing_state"
    # A chair busy at that time is refused, and nothing changes.
    with db.transaction() as session:
        book_session(session, org, starts_at=FAR, kind="consultation", leader="leader_county_b", room="county",
                     invited=True)
    taken = _post(client, h.headers, f"hearings/{h.id}/chair", {"chair_id": busy, "recorder_id": recorder}, "PUT")
    assert taken.status_code == 409 and taken.json()["code"] == "conflict"
    assert client.get(f"/api/v1/hearings/{h.id}", headers=h.headers).json()["chair"] is None

    appointed = _post(client, h.headers, f"hearings/{h.id}/chair", {"chair_id": new, "recorder_id": recorder}, "PUT")
    assert appointed.status_code == 200, appointed.text
    after = _seats(db, sid)
    [(new_seat, person)] = after["chair"]
    assert person == new and new_seat != old_seat and after["leader"] == new
    assert f"leader:{new}" in after["claims"] and f"leader:{old}" not in after["claims"]
    assert after["recorder"] == before["recorder"] and after["room"] == before["room"]  # the others keep theirs
    with db.transaction() as session:
        reseated = session.scalars(select(AuditEvent).where(AuditEvent.action == "session.reseated")
                                   .order_by(AuditEvent.seq)).all()

    out = appointed.json()
    notices = [d for d in out["documents"] if d["kind"] == "hearing_notice"]
    with db.transaction() as session:
        latest = [session.get(Document, d["id"]).html for d in notices[-2:]]
    # The petitioner's copy (served: they may ask for the new chair's 回避) and the new chair's, naming them.
    assert notices[-2]["served_at"] and not notices[-1]["served_at"]
    assert all("主持人：领导丙" in html for html in latest) and "主持人 领导丙" in latest[1]
    # Audited twice: the recused chair's seat went, then the new chair's came (with the chair's time).
    went, came = (json.loads(e.data) for e in reseated)
    assert [r["person_id"] for r in went["removed"]] == [old] and went["leader_to"] == old
    assert (came["leader_from"], came["leader_to"]) == (old, new) and [a["person_id"] for a in came["added"]] == [new]

    # When the call opens, the new chair takes the chair's seat; the recused one has none (nor their old one).
    clock.travel_to(FAR - timedelta(minutes=1))
    assert _post(client, login(client, "leader.county.c"), f"sessions/{sid}/join", {}).status_code == 200
    old_chair = login(client, "leader.county")
    assert _post(client, old_chair, f"sessions/{sid}/join", {"participant_id": old_seat}).status_code == 404
    assert _post(client, old_chair, f"sessions/{sid}/join", {}).status_code == 403


def test_a_member_filling_a_withdrawn_place_after_the_notice_is_seated(client, org, db):
    h, sid = _booked(client, org, db)
    client.post("/api/v1/hearing-roster", headers=h.headers,
                json={"node_id": org.nodes["county"].id, "person_id": org.people["hearing4"].id})
    gone, coming = org.people["hearing3"].id, org.people["hearing4"].id
    _recuse(client, h, login(client, "leader.county"), gone)  # against a member: the chair decides
    seated = _seats(db, sid)
    assert gone not in [p for _, p in seated["hearing_member"]] and f"person:{gone}" not in seated["claims"]
    filled = _post(client, h.headers, f"hearings/{h.id}/panel", members(org, "hearing", "hearing2", "hearing4"), "PUT")
    assert filled.status_code == 200, filled.text
    seated = _seats(db, sid)
    assert sorted(p for _, p in seated["hearing_member"]) == sorted(
        [org.people["hearing"].id, org.people["hearing2"].id, coming])
    assert f"person:{coming}" in seated["claims"]
    with db.transaction() as session:
        last = session.get(Document, filled.json()["documents"][-1]["id"]).html
    assert "听证员 听证员丁" in last


def test_once_the_session_opened_its_seats_no_longer_move(client, org, db):
    h, sid = _booked(client, org, db)
    clock.travel_to(FAR)
    with db.transaction() as session:
        change_state(db=session, booking=session.get(ReceptionSession, sid), to=SessionState.open, at=FAR,
                     policy=POLICY)
    _recuse(client, h, h.headers, org.people["leader_county"].id)  # decided: the seat stays with the call
    assert _seats(db, sid)["chair"][0][1] == org.people["leader_county"].id
    refused = _post(client, h.headers, f"hearings/{h.id}/chair",
                    {"chair_id": org.people["leader_county_c"].id, "recorder_id": org.people["clerk"].id}, "PUT")
    assert refused.status_code == 409 and refused.json()["code"] == "hearing_session_started"
