"""What a call writes: typed events go through the session-state rules or into the audit log as they are."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from scheduling.policy import Policy
from signaling.events import ParticipantAdmitted, SessionStateChanged
from tests.factories import book_walk_in
from vreception import clock
from vreception.models import AuditEvent
from vreception.models.scheduling import Claim, SessionEvent
from web.calls import persist


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_typed_events_move_the_session_and_land_in_the_audit_log(app, client, org, db):
    session = book_walk_in(client, org)
    sid = session["id"]
    leader = next(p for p in session["participants"] if p["role"] == "leader")
    room = next(p for p in session["participants"] if p["role"] == "room")
    ticket = persist.load_ticket(sid, room["id"], db=db)
    assert (ticket.state, ticket.joinable, ticket.role, ticket.recorded) == ("booked", True, "room", True)
    assert persist.load_ticket(sid, 10_000, db=db) is None
    moment = clock.now()
    steps = [SessionStateChanged(session_id=sid, at=moment, old="booked", new="open", by=room["id"]),
             ParticipantAdmitted(session_id=sid, at=moment, participant_id=room["id"], by=leader["id"]),
             SessionStateChanged(session_id=sid, at=moment, old="open", new="live", by=leader["id"]),
             SessionStateChanged(session_id=sid, at=moment, old="live", new="ended", by=leader["id"])]
    for event in steps:
        persist.record_events(sid, [event], Policy(), db=db)
    assert not persist.load_ticket(sid, room["id"], db=db).joinable
    with db.transaction() as s:
        history = [e.action for e in s.scalars(select(SessionEvent).where(SessionEvent.session_id == sid)
                                                  .order_by(SessionEvent.id))]
        audited = [(e.action, json.loads(e.data)) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "session", AuditEvent.entity_id == str(sid),
                                     AuditEvent.action != "session.join_token").order_by(AuditEvent.seq))]
        left = list(s.scalars(select(Claim.slot).where(Claim.session_id == sid)))
    assert history == ["booked", "state:open", "state:live", "state:ended"]
    assert audited[1:] == [("session.open", {"from": "booked", "to": "open"}),
                           ("call.participant_admitted", {"participant_id": room["id"], "by": leader["id"]}),
                           ("session.live", {"from": "open", "to": "live"}),
                           ("session.ended", {"from": "live", "to": "ended"})]
    assert all(slot <= moment for slot in left)  # the rest of the booked time is free again
