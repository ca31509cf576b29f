"""One function moves a session's state: its claims, its history and the audit log move with it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from scheduling import booking as bookings
from scheduling.jobs import mark_no_shows
from scheduling.session_state import change_state
from tests.factories import POLICY, login
from tests.scheduling.conftest import at, reception
from vreception import audit
from vreception.models import AuditEvent
from vreception.models.scheduling import Claim, ReceptionSession, SessionEvent, SessionState

# To reach each end state the way a call, the no-show job and a coordinator do.
PATHS = {
    "ended": ((SessionState.open, SessionState.live, SessionState.ended), "state:ended"),
    "no_show": ((SessionState.no_show,), "no_show"),
    "cancelled": ((SessionState.cancelled,), "cancelled"),
}
# At 09:12 the session booked 09:00–09:30 keeps the quanta it used (09:00, 09:05) when it ends.
LEFT_AT_0912 = {"ended": {"09:00", "09:05"}, "no_show": {"09:00", "09:05"}, "cancelled": set()}


def _book(client, world) -> int:
    response = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _claimed(session, booking_id: int) -> set[str]:
    slots = session.scalars(select(Claim.slot).where(Claim.session_id == booking_id))
    return {slot.astimezone(at("2026-03-04").tzinfo).strftime("%H:%M") for slot in slots}


def _last_audit(session, booking_id: int) -> AuditEvent:
    return session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "session",
                                                    AuditEvent.entity_id == str(booking_id))
                           .order_by(AuditEvent.seq.desc()).limit(1)).one()


@pytest.mark.parametrize("state", list(PATHS))
def test_each_end_state_frees_time_writes_history_and_audits(client, world, db, state):
    booking_id = _book(client, world)
    steps, action = PATHS[state]
    moment = at("2026-03-04", "09:12")
    actor = world.org.people["coord_county"].id
    with db.transaction() as session:
        item = session.get(ReceptionSession, booking_id)
        for step in steps:
            assert change_state(db=session, booking=item, to=step, at=moment, policy=POLICY, actor_id=actor,
                                reason="测试", data={"note": "n"})
    with db.transaction() as session:
        item = session.get(ReceptionSession, booking_id)
        assert item.state is SessionState(state)
        assert _claimed(session, booking_id) == LEFT_AT_0912[state]
        event = session.scalars(select(SessionEvent).where(SessionEvent.session_id == booking_id)
                                .order_by(SessionEvent.id.desc()).limit(1)).one()
        assert (event.action, event.actor_id, event.reason) == (action, actor, "测试")
        assert event.at == moment and (event.starts_at, event.ends_at) == (item.starts_at, item.ends_at)
        audited = _last_audit(session, booking_id)
        assert (audited.action, audited.actor_id) == (f"session.{state}", actor)
        assert json.loads(audited.data) == {"from": steps[-2].value if len(steps) > 1 else "booked", "to": state,
                                            "note": "n"}
        assert audit.verify(db=session).ok
        counts = (session.scalar(select(func.count()).select_from(SessionEvent)),
                  session.scalar(select(func.count()).select_from(AuditEvent)))
        # Already there: nothing moves and nothing is written twice.
        assert change_state(db=session, booking=item, to=SessionState(state), at=moment, policy=POLICY) is False
        assert (session.scalar(select(func.count()).select_from(SessionEvent)),
                session.scalar(select(func.count()).select_from(AuditEvent))) == counts


def test_ending_without_the_policy_is_refused_before_anything_moves(client, world, db):
    booking_id = _book(client, world)
    with db.transaction() as session:
        item = session.get(ReceptionSession, booking_id)
        with pytest.raises(TypeError):
            change_state(db=session, booking=item, to=SessionState.no_show, at=at("2026-03-04", "09:20"))
        assert item.state is SessionState.booked


def test_cancel_and_the_no_show_job_go_through_the_same_rules(client, world, db):
    cancelled_id = _book(client, world)
    actor = world.org.people["coord_county"].id
    with db.transaction() as session:
        bookings.cancel(db=session, booking=session.get(ReceptionSession, cancelled_id), reason=" 改期 ", actor_id=actor)
    no_show_id = _book(client, world)  # the freed time can be booked again
    with db.transaction() as session:
        assert mark_no_shows(db=session, now=at("2026-03-04", "09:17"), policy=POLICY) == 1
    with db.transaction() as session:
        assert _claimed(session, cancelled_id) == set()
        assert json.loads(_last_audit(session, cancelled_id).data) == {"from": "booked", "to": "cancelled",
                                                                       "reason": "改期"}
        assert _claimed(session, no_show_id) == {"09:00", "09:05", "09:10"}
        assert json.loads(_last_audit(session, no_show_id).data) == {"from": "booked", "to": "no_show",
                                                                     "grace_minutes": 15}
        actions = {booking_id: [e.action for e in session.scalars(
            select(SessionEvent).where(SessionEvent.session_id == booking_id).order_by(SessionEvent.id))]
            for booking_id in (cancelled_id, no_show_id)}
    assert actions == {cancelled_id: ["booked", "cancelled"], no_show_id: ["booked", "no_show"]}


def test_the_database_states_agree_with_the_signaling_rooms():
    # signaling stays free of the database, so it spells the states as strings: they must not drift apart.
    from scheduling.states import ENDING, JOINABLE
    from signaling import rooms

    assert {state.value for state in JOINABLE} == set(rooms.JOINABLE)
    assert {state.value for state in ENDING} == {state for state, after in rooms.TRANSITIONS.items() if not after}
