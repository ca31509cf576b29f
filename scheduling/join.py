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
from vreception.clock import now as clock_now
from vreception.errors import Conflict, Forbidden, NotFound
from vreception.i18n import Msg
from vreception.models.scheduling import Participant, ReceptionSession, SessionState

JOIN_PURPOSE = "join"


class NotOpenYet(Conflict):
    """The call opens only the policy's lead time before the session starts."""

    code = "session_not_open_yet"


def opens_at(policy: Policy, booking: ReceptionSession) -> datetime:
    """When BOOKING's call opens: its start less the lead time."""
    return booking.starts_at - policy.call_open_lead


def not_open_yet(policy: Policy, booking: ReceptionSession, now: datetime | None = None) -> bool:
    """Whether BOOKING is still booked and its call has not opened yet (joining it would change nothing but early)."""
    return booking.state is SessionState.booked and (now or clock_now()) < opens_at(policy, booking)


def require_open(policy: Policy, booking: ReceptionSession, now: datetime | None = None) -> None:
    """NotOpenYet before the call opens: nobody's page may open the session days before it is held."""
    if not_open_yet(policy, booking, now):
        raise NotOpenYet(
            "error.session_not_open_yet",
            field="session_id",
            opens=opens_at(policy, booking).astimezone(policy.zone).strftime("%Y-%m-%d %H:%M"),
            minutes=int(policy.call_open_lead.total_seconds() // 60),
        )


def sign_join_token(policy: Policy, secret: str, booking: ReceptionSession, participant: Participant,
                    **claims: object) -> tuple[str, datetime]:
    """The signed ticket /ws/sessions checks, for PARTICIPANT of BOOKING; the caller has checked who asks."""
    return tokens.issue(secret, subject=str(participant.id), purpose=JOIN_PURPOSE, ttl=policy.join_ttl,
                        session_id=booking.id, participant_id=participant.id, role=participant.role, **claims)


def issue_join_token(
    *,
    db: Session,
    policy: Policy,
    secret: str,
    principal: Principal,
    booking: ReceptionSession,
    participant_id: int,
) -> tuple[str, datetime, Participant]:
    """A signed join token for one participant; Forbidden for anybody else, NotJoinable once it is over,
    NotOpenYet before the call opens."""
    participant = next((p for p in booking.participants if p.id == participant_id), None)
    if participant is None:
        raise NotFound("error.participant_not_found", field="participant_id", id=participant_id)
    if not may_join_as(principal, booking, participant):
        raise Forbidden()
    if booking.state not in JOINABLE:
        raise NotJoinable("error.not_joinable", field="session_id", state=Msg(f"session.state.{booking.state.value}"))
    require_open(policy, booking)
    token, expires = sign_join_token(policy, secret, booking, participant)
    audit.record(
        db=db,
        action="session.join_token",
        entity_type="session",
        entity_id=booking.id,
        actor_id=principal.person_id,
        data={"participant_id": participant.id, "role": participant.role},
    )
    return token, expires, participant
