"""The public gallery (旁听) of a hearing: which hearing a gallery key opens, and what is shown in it now."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.errors import NotFound
from vreception.models.audit import AuditEvent
from vreception.models.hearings import Hearing, HearingState
from vreception.models.scheduling import ReceptionSession, SessionState

# The gallery is open from the notice until the hearing session ends.
OPEN_STATES = frozenset({HearingState.noticed, HearingState.in_session})
JOINABLE = frozenset({SessionState.booked, SessionState.open, SessionState.live})
# The events that change what a gallery viewer may see of the shown evidence (audited by the call).
_SHOWN, _ENDED, _DELIBERATION = ("call." + kind for kind in ("evidence_shown", "evidence_ended", "deliberation_changed"))


def open_hearing(key: str, *, db: Session) -> tuple[Hearing, ReceptionSession]:
    """The public hearing whose gallery KEY this is, and its session, while it can be watched; NotFound otherwise
    (an unknown key, a closed hearing and one that is over look the same)."""
    if not key or len(key) > 64:
        raise NotFound("error.gallery_not_found")
    hearing = db.scalar(select(Hearing).where(Hearing.gallery_key == key))
    if hearing is None or not hearing.public or hearing.session_id is None or hearing.state not in OPEN_STATES:
        raise NotFound("error.gallery_not_found")
    booking = db.get(ReceptionSession, hearing.session_id)
    if booking is None or booking.state not in JOINABLE:
        raise NotFound("error.gallery_not_found")
    return hearing, booking


def shown_now(session_id: int, *, db: Session) -> tuple[str, int] | None:
    """The item and page shown to everyone in SESSION_ID now, unless nothing is shown or the panel deliberates."""
    latest = db.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "session", AuditEvent.entity_id == str(session_id),
        AuditEvent.action.in_((_SHOWN, _ENDED, _DELIBERATION))).order_by(AuditEvent.seq.desc()).limit(20)).all()
    deliberation_seen = False
    for event in latest:
        data = json.loads(event.data or "{}")
        if event.action == _DELIBERATION:
            # Only the latest start or end of the deliberation counts.
            if data.get("active") and not deliberation_seen:
                return None
            deliberation_seen = True
            continue
        if event.action == _ENDED:
            return None
        return str(data.get("item", "")), int(data.get("page", 1))
    return None
