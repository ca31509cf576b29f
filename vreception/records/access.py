"""Who may write, sign at, or confirm a session's reception record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception.auth.access import Principal
from vreception.cases import access as matters
from vreception.errors import Forbidden
from vreception.models.people import Role
from vreception.models.scheduling import Participant, ReceptionSession
from vreception.records.hearing import chair_of, confirmers_of, hearing_of, is_hearing, recorder_id_of


def recorder_of(booking: ReceptionSession) -> Participant | None:
    """The participant booked as recorder (记录人) with an account, if any."""
    return next((p for p in booking.participants if p.role == "recorder" and p.person_id is not None), None)


def is_recorder(principal: Principal, booking: ReceptionSession) -> bool:
    """Whether the principal is the session's booked recorder."""
    recorder = recorder_of(booking)
    return recorder is not None and recorder.person_id == principal.person_id


def require_writer(principal: Principal, booking: ReceptionSession, *, db: Session) -> None:
    """The leader, the booked recorder, or a coordinator who may assign on the matter writes the record;
    a hearing's record only its recorder (记录员) and its chair."""
    if is_hearing(booking):
        hearing = hearing_of(booking, db=db)
        if principal.person_id not in (chair_of(booking, hearing), recorder_id_of(booking, hearing)):
            raise Forbidden()
        return
    if booking.leader_id == principal.person_id or is_recorder(principal, booking):
        return
    if booking.matter_id is None:
        raise Forbidden()
    matters.require_assigner(principal, matters.load(booking.matter_id, db=db), db=db)


def may_write(principal: Principal, booking: ReceptionSession, *, db: Session) -> bool:
    """Whether the principal writes the session's record (require_writer, as a yes or no for pages)."""
    try:
        require_writer(principal, booking, db=db)
    except Forbidden:
        return False
    return True


def require_confirmer(principal: Principal, booking: ReceptionSession) -> None:
    """Only the session's leader and its booked recorder confirm the record, with their own accounts; a hearing's
    record its handlers, panel members not withdrawn, recorder and chair."""
    if is_hearing(booking):
        if not is_confirmer(principal, booking):
            raise Forbidden()
        return
    if booking.leader_id != principal.person_id and not is_recorder(principal, booking):
        raise Forbidden()


def is_confirmer(principal: Principal, booking: ReceptionSession) -> bool:
    """Whether the principal confirms the session's hearing record in some role."""
    return is_hearing(booking) and any(c.person_id == principal.person_id
                                       for c in confirmers_of(booking, hearing_of(booking)))


def require_kiosk(principal: Principal, booking: ReceptionSession) -> None:
    """Signatures are taken on the kiosk of a room of the session."""
    rooms = {s.room_id for s in principal.scopes if s.role is Role.room and s.room_id is not None}
    if not any(p.room_id in rooms for p in booking.participants if p.room_id is not None):
        raise Forbidden()


def require_reader(principal: Principal, booking: ReceptionSession, *, db: Session) -> None:
    """The record is read by those who may read the matter, the leader, the recorder and the session's kiosk."""
    if booking.leader_id == principal.person_id or is_recorder(principal, booking) \
            or is_confirmer(principal, booking):
        return
    rooms = {s.room_id for s in principal.scopes if s.role is Role.room and s.room_id is not None}
    if any(p.room_id in rooms for p in booking.participants if p.room_id is not None):
        return
    if booking.matter_id is None or not matters.can_read(principal, matters.load(booking.matter_id, db=db), db=db):
        raise Forbidden()
