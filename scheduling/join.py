"""Join tokens: a short-lived signed ticket for one participant of one session (checked at /ws/sessions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from scheduling.access import can_manage, room_ids_of
from scheduling.errors import NotJoinable
from scheduling.policy import Policy
from vreception import audit
from vreception.auth import tokens
from vreception.auth.access import Principal
from vreception.errors import Forbidden, NotFound
from vreception.i18n import Msg
from vreception.models.scheduling import Participant, ReceptionSession, SessionState

JOIN_PURPOSE = "join"
JOINABLE = (SessionState.booked, SessionState.open, SessionState.live)


def may_join_as(principal: Principal, booking: ReceptionSession, participant: Participant) -> bool:
    """The participant's own person, the session's leader, a coordinator over it, or the room's kiosk."""
    if participant.person_id is not None and participant.person_id == principal.person_id:
        return True
    if booking.leader_id == principal.person_id or can_manage(principal, booking):
        return True
    return participant.room_id is not None and participant.room_id in room_ids_of(principal)


def issue_join_token(session: Session, *, policy: Policy, secret: str, principal: Principal,
                     booking: ReceptionSession, participant_id: int) -> tuple[str, datetime, Participant]:
    """A signed join token for one participant; Forbidden for anybody else, NotJoinable once it is over."""
    participant = next((p for p in booking.participants if p.id == participant_id), None)
    if participant is None:
        raise NotFound("error.participant_not_found", field="participant_id", id=participant_id)
    if not may_join_as(principal, booking, participant):
        raise Forbidden()
    if booking.state not in JOINABLE:
        raise NotJoinable("error.not_joinable", field="session_id", state=Msg(f"session.state.{booking.state.value}"))
    token, expires = tokens.issue(secret, subject=str(participant.id), purpose=JOIN_PURPOSE, ttl=policy.join_ttl,
                                  session_id=booking.id, participant_id=participant.id, role=participant.role)
    audit.record(session, action="session.join_token", entity_type="session", entity_id=booking.id,
                 actor_id=principal.person_id, data={"participant_id": participant.id, "role": participant.role})
    return token, expires, participant
