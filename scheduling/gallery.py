"""Gallery seats (旁听席) of a public hearing: anonymous watch-only observers, capped, each with its own join token."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduling.policy import Policy
from vreception import audit
from vreception.auth import tokens
from vreception.errors import DomainError, Unauthenticated
from vreception.i18n import DEFAULT_LANGUAGE, translate
from vreception.models.hearings import Hearing
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind

GALLERY_ROLE = "observer"
JOIN_PURPOSE = "join"
SEAT_PURPOSE = "gallery_seat"
# A viewer who reloads the page keeps their seat this long (the page presents its seat token again).
SEAT_TTL = timedelta(hours=12)


class GalleryFull(DomainError):
    """Every gallery seat of the hearing is taken (settings.gallery_max_viewers) — or seats are asked too fast."""

    code = "gallery_full"
    status = 429


def is_gallery_seat(booking: ReceptionSession, participant: Participant) -> bool:
    """Whether PARTICIPANT is an anonymous gallery seat: a hearing's observer seated for nobody and no room."""
    return (booking.kind is SessionKind.hearing and participant.role == GALLERY_ROLE
            and participant.person_id is None and participant.room_id is None)


def seats_taken(booking: ReceptionSession, *, db: Session) -> int:
    """How many gallery seats BOOKING has given out."""
    return db.scalar(select(func.count(Participant.id)).where(
        Participant.session_id == booking.id, Participant.role == GALLERY_ROLE, Participant.person_id.is_(None),
        Participant.room_id.is_(None))) or 0


def kept_seat(secret: str, booking: ReceptionSession, seat_token: str, *, db: Session) -> Participant | None:
    """The gallery seat of BOOKING that SEAT_TOKEN names (a viewer reloading the page), if valid."""
    if not seat_token:
        return None
    try:
        claims = tokens.read(secret, seat_token, purpose=SEAT_PURPOSE)
    except Unauthenticated:
        return None
    if claims.get("session_id") != booking.id:
        return None
    seat = db.get(Participant, int(claims.get("participant_id", 0)))
    return seat if seat is not None and seat.session_id == booking.id and is_gallery_seat(booking, seat) else None


def take_seat(*, db: Session, hearing: Hearing, booking: ReceptionSession, max_viewers: int) -> Participant:
    """A fresh gallery seat, while fewer than MAX_VIEWERS were given out; GalleryFull beyond."""
    # Serialise seat creation per session so two viewers cannot both take the last seat.
    db.scalar(select(ReceptionSession.id).where(ReceptionSession.id == booking.id).with_for_update())
    taken = seats_taken(booking, db=db)
    if taken >= max_viewers:
        raise GalleryFull("error.gallery_full", max=max_viewers)
    seat = Participant(session_id=booking.id, role=GALLERY_ROLE, person_id=None, room_id=None,
                       name=translate("call.gallery.viewer_name", DEFAULT_LANGUAGE, n=taken + 1), node_path="")
    db.add(seat)
    db.flush()
    audit.record(db=db, action="hearing.gallery_seat", entity_type="hearing", entity_id=hearing.id, actor_id=None,
                 data={"session_id": booking.id, "participant_id": seat.id, "seats": taken + 1})
    return seat


def tokens_for(secret: str, policy: Policy, booking: ReceptionSession, seat: Participant) -> tuple[str, datetime, str]:
    """A join token for SEAT (its socket) and a seat token the page keeps to come back to the same seat."""
    join, expires = tokens.issue(secret, subject=str(seat.id), purpose=JOIN_PURPOSE, ttl=policy.join_ttl,
                                 session_id=booking.id, participant_id=seat.id, role=seat.role, gallery=True)
    keep, _ = tokens.issue(secret, subject=str(seat.id), purpose=SEAT_PURPOSE, ttl=SEAT_TTL, session_id=booking.id,
                           participant_id=seat.id)
    return join, expires, keep
