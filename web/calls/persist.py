"""What a call reads from the database (the ticket) and writes to it (its events)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select

from scheduling.gallery import is_gallery_seat
from scheduling.policy import Policy
from scheduling.session_state import change_state
from scheduling.states import JOINABLE
from signaling.events import AgendaChanged, Event, SessionStateChanged
from signaling.messages import AgendaStepName
from signaling.messages import SessionState as RoomState
from signaling.roles import Role
from vreception import audit
from vreception.db import Database
from vreception.hearings import agenda
from vreception.i18n import DEFAULT_LANGUAGE, translate
from vreception.models.hearings import AgendaStep
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState


@dataclass(frozen=True)
class Ticket:
    """What a participant's socket needs of the session: its state, roster and recording flag, and who they are."""

    state: RoomState
    joinable: bool
    role: Role
    name: str
    roster: tuple[tuple[int, Role, str], ...]
    matter_id: int | None
    recorded: bool
    # A hearing's room runs its order of proceedings (starting at the stored step); a gallery seat (旁听) is
    # admitted at once and sees roles instead of names.
    hearing: bool = False
    agenda_step: AgendaStepName | None = None
    gallery: bool = False


def load_ticket(session_id: int, participant_id: int, *, db: Database) -> Ticket | None:
    """The ticket of PARTICIPANT_ID in SESSION_ID, or None if they are not a participant."""
    with db.transaction() as tx:
        booking = tx.get(ReceptionSession, session_id)
        if booking is None:
            return None
        participant = next((p for p in booking.participants if p.id == participant_id), None)
        if participant is None:
            return None
        hearing = booking.kind is SessionKind.hearing
        held = agenda.of_session(booking.id, db=tx) if hearing else None
        step: AgendaStepName | None = held.agenda_step.value if held is not None and held.agenda_step else None
        # The database holds the roles as text; the room's pydantic models validate them again.
        return Ticket(state=booking.state.value, joinable=booking.state in JOINABLE,
                      role=cast(Role, participant.role), name=participant.name,
                      roster=tuple((p.id, cast(Role, p.role), p.name) for p in booking.participants),
                      matter_id=booking.matter_id, recorded=booking.recorded, hearing=hearing, agenda_step=step,
                      gallery=is_gallery_seat(booking, participant))


def agenda_refusal(session_id: int, step: AgendaStepName, sizes: Sequence[int], *, db: Database) -> str | None:
    """Why the hearing of SESSION_ID may not move to STEP (its panel is short), in words; None when it may."""
    with db.transaction() as tx:
        hearing = agenda.of_session(session_id, db=tx)
        refused = agenda.may_move(hearing, AgendaStep(step), sizes) if hearing is not None else None
        return translate(refused.message_key, DEFAULT_LANGUAGE, **refused.params) if refused is not None else None


def record_events(session_id: int, events: Sequence[Event], policy: Policy, *, db: Database) -> None:
    """Persist a step's events: a state change through the session-state rules, every other event as audit."""
    with db.transaction() as tx:
        booking = tx.scalars(select(ReceptionSession).where(ReceptionSession.id == session_id)
                             .with_for_update()).first()
        if booking is None:
            return
        for event in events:
            by = getattr(event, "by", None)
            actor = tx.get(Participant, by) if by is not None else None
            actor_id = actor.person_id if actor is not None else None
            if isinstance(event, SessionStateChanged):
                change_state(db=tx, booking=booking, to=SessionState(event.new), at=event.at, policy=policy,
                             actor_id=actor_id)
            elif isinstance(event, AgendaChanged):
                hearing = agenda.of_session(booking.id, db=tx)
                if hearing is not None:  # written with its recording offset, and audited, by the hearing
                    agenda.move(db=tx, hearing=hearing, step=AgendaStep(event.step), at=event.at, actor_id=actor_id)
            else:
                data = event.model_dump(mode="json", exclude={"kind", "session_id", "at"})
                audit.record(db=tx, action=f"call.{event.kind}", entity_type="session", entity_id=booking.id,
                             actor_id=actor_id, data=data)
