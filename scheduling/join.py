"""Join tokens: a short-lived signed ticket for one participant of one session (checked at /ws/sessions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from scheduling.access import may_join_as
from scheduling.errors import NotJoinable
from scheduling.policy import Policy
from scheduling.states import JOINABLE
from vreception import audit
from vreception.auth import tokens
from vreception.auth.access import Principal
from vreception.errors import Forbidden, NotFound
from vreception.i18n import Msg
from vreception.models.scheduling import Participant, ReceptionSession

JOIN_PURPOSE = "join"


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
