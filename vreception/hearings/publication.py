"""Publishing the opinion made after a hearing: a public page without personal data."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.clock import now
from vreception.errors import Conflict, Invalid, NotFound
from vreception.hearings.procedure import S, matter_of, record, require_state
from vreception.models import Matter, MatterEvent
from vreception.models.hearings import Hearing, HearingStage

# The opinion that follows a hearing: the 复核 opinion after a hearing in 复核, the reply after one in handling.
OPINION = {HearingStage.recheck: "recheck_reply", HearingStage.handling: "reply"}
ANONYMOUS = "信访人"
# ID numbers (18 characters) and mainland phone numbers, whatever the opinion's text quotes.
_ID = re.compile(r"\d{17}[\dXx]")
_PHONE = re.compile(r"1\d{10}")


@dataclass(frozen=True)
class Published:
    """What the public sees: the matter's number and categories, the opinion's outcome and text, when published."""

    hearing_id: int
    matter_number: str
    categories: list[str]
    outcome: str
    opinion: str
    published_at: str


def opinion_after(hearing: Hearing, *, db: Session) -> MatterEvent | None:
    """The opinion the office made after the hearing ended, if any."""
    if hearing.ended_at is None:
        return None
    return db.scalars(select(MatterEvent).where(MatterEvent.matter_id == hearing.matter_id,
                                                MatterEvent.action == OPINION[hearing.stage],
                                                MatterEvent.at >= hearing.ended_at)
                      .order_by(MatterEvent.id.desc())).first()


def publish(*, db: Session, hearing: Hearing, actor_id: int | None) -> Hearing:
    """The office publishes the opinion made after the hearing."""
    require_state(hearing, S.concluded)
    if hearing.published_at is not None:
        raise Conflict("error.hearing_published", field="hearing_id")
    if opinion_after(hearing, db=db) is None:
        raise Invalid("error.hearing_no_opinion", field="hearing_id")
    hearing.published_at = now()
    db.flush()
    record(hearing, "published", actor_id, db=db)
    return hearing


def anonymised(matter: Matter, text: str) -> str:
    """TEXT with every petitioner's name replaced by 信访人 and ID and phone numbers removed."""
    names = sorted({link.petitioner.name for link in matter.petitioner_links if link.petitioner.name}, key=len,
                   reverse=True)
    for name in names:
        text = text.replace(name, ANONYMOUS)
    return _PHONE.sub("***", _ID.sub("***", text))


def published(hearing_id: int, *, db: Session) -> Published:
    """The published opinion of a hearing; NotFound when there is none (unpublished hearings are not known)."""
    hearing = db.get(Hearing, hearing_id)
    event = opinion_after(hearing, db=db) if hearing is not None and hearing.published_at is not None else None
    if hearing is None or event is None or hearing.published_at is None:
        raise NotFound("error.hearing_not_found", field="hearing_id", id=hearing_id)
    matter = matter_of(hearing, db=db)
    return Published(hearing_id=hearing.id, matter_number=matter.number,
                     categories=sorted({d.category for d in matter.demands}), outcome=matter.outcome or "",
                     opinion=anonymised(matter, event.reason), published_at=hearing.published_at.isoformat())
