"""Who may see a recording: whoever may read its session's matter, and the leader who received it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception.auth.access import Principal
from vreception.cases import access as matters
from vreception.errors import Forbidden, NotFound
from vreception.models import Matter
from vreception.models.recordings import Recording
from vreception.models.scheduling import ReceptionSession


def may_see(principal: Principal, booking: ReceptionSession, *, db: Session) -> bool:
    """Those who may read the session's matter, and the leader who received it."""
    if booking.leader_id == principal.person_id:
        return True
    matter = db.get(Matter, booking.matter_id) if booking.matter_id else None
    return matter is not None and matters.can_read(principal, matter, db=db)


def load_visible(principal: Principal, recording_id: int, *, db: Session) -> Recording:
    """The recording if the principal may see it; NotFound or Forbidden otherwise."""
    recording = db.get(Recording, recording_id)
    if recording is None:
        raise NotFound("error.recording_not_found")
    booking = db.get(ReceptionSession, recording.session_id)
    if booking is None or not may_see(principal, booking, db=db):
        raise Forbidden()
    return recording
