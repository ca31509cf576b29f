"""Who may write, sign at, or confirm a session's reception record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception.auth.access import Principal
from vreception.cases import access as matters
from vreception.errors import Forbidden
from vreception.models.people import Role
from vreception.models.scheduling import Participant, ReceptionSession


def recorder_of(booking: ReceptionSession) -> Participant | None:
    """The participant booked as recorder (记录人) with an account, if any."""
    return next((p for p in booking.participants if p.role == "recorder" and p.person_id is not None), None)


def is_recorder(principal: Principal, booking: ReceptionSession) -> bool:
    """Whether the principal is the session's booked recorder."""
    recorder = recorder_of(booking)
    return recorder is not None and recorder.person_id == principal.person_id


def require_writer(db: Session, principal: Principal, booking: ReceptionSession) -> None:
    """The leader, the booked recorder, or a coordinator who may assign on the matter writes the record."""
    if booking.leader_id == principal.person_id or is_recorder(principal, booking):
        return
    if booking.matter_id is None:
        raise Forbidden()
    matters.require_assigner(db, principal, matters.load(db, booking.matter_id))


def require_confirmer(principal: Principal, booking: ReceptionSession) -> None:
    """Only the session's leader and its booked recorder confirm the record, with their own accounts."""
    if booking.leader_id != principal.person_id and not is_recorder(principal, booking):
        raise Forbidden()


def require_kiosk(principal: Principal, booking: ReceptionSession) -> None:
    """Signatures are taken on the kiosk of a room of the session."""
    rooms = {s.room_id for s in principal.scopes if s.role is Role.room and s.room_id is not None}
    if not any(p.room_id in rooms for p in booking.participants if p.room_id is not None):
        raise Forbidden()


def require_reader(db: Session, principal: Principal, booking: ReceptionSession) -> None:
    """The record is read by those who may read the matter, the leader, the recorder and the session's kiosk."""
    if booking.leader_id == principal.person_id or is_recorder(principal, booking):
        return
    rooms = {s.room_id for s in principal.scopes if s.role is Role.room and s.room_id is not None}
    if any(p.room_id in rooms for p in booking.participants if p.room_id is not None):
        return
    if booking.matter_id is None or not matters.can_read(db, principal, matters.load(db, booking.matter_id)):
        raise Forbidden()
