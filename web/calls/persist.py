"""What a call's events change in the database: the session's state, its history, the audit log."""

from __future__ import annotations

from sqlalchemy import select

from scheduling import claims
from vreception import audit
from vreception.clock import now
from vreception.db import Database
from vreception.models.scheduling import Participant, ReceptionSession, SessionEvent, SessionState

JOINABLE = (SessionState.booked, SessionState.open, SessionState.live)


def load_ticket(db: Database, session_id: int, participant_id: int) -> dict | None:
    """The session's state and roster and the participant's role and name, or None if not a participant."""
    with db.transaction() as session:
        booking = session.get(ReceptionSession, session_id)
        if booking is None:
            return None
        participant = next((p for p in booking.participants if p.id == participant_id), None)
        if participant is None:
            return None
        return {
            "state": booking.state.value, "joinable": booking.state in JOINABLE, "role": participant.role,
            "name": participant.name, "roster": [(p.id, p.role, p.name) for p in booking.participants],
            "matter_id": booking.matter_id, "recorded": booking.recorded,
        }


def record_events(db: Database, session_id: int, events: list[dict], policy) -> None:
    """Persist a transition's domain events: state changes on the session, every event in the audit log."""
    with db.transaction() as session:
        booking = session.scalars(select(ReceptionSession).where(ReceptionSession.id == session_id)
                                  .with_for_update()).first()
        if booking is None:
            return
        for event in events:
            kind = event["kind"]
            actor = None
            if event.get("by") is not None:
                actor = session.get(Participant, event["by"])
            actor_id = actor.person_id if actor is not None else None
            if kind == "session_state_changed":
                new = SessionState(event["new"])
                if booking.state is not new:
                    booking.state = new
                    if new in (SessionState.ended, SessionState.no_show, SessionState.cancelled):
                        # What is left of the booked time is free again for the leader and the rooms.
                        claims.release_from(session, booking=booking, moment=now(), policy=policy)
                    session.add(SessionEvent(session_id=booking.id, actor_id=actor_id, action=f"state:{new.value}",
                                             reason=""))
                    audit.record(session, action=f"session.{new.value}", entity_type="session", entity_id=booking.id,
                                 actor_id=actor_id, data={"from": event["old"], "to": new.value})
                continue
            data = {k: v for k, v in event.items() if k not in ("kind", "session_id", "at")}
            audit.record(session, action=f"call.{kind}", entity_type="session", entity_id=booking.id,
                         actor_id=actor_id, data=data)
