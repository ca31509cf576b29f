"""What a hearing member (听证员) reads: their hearings, the case file of one they sit on, their opinion."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.cases.access import HEARING_FILE_OPEN
from vreception.cases.queries import document_out
from vreception.cases.views import DemandOut, DocumentOut
from vreception.errors import Forbidden, NotFound
from vreception.models import Document, Matter, Person
from vreception.models.hearings import AgendaStep, Hearing, HearingState, PanelMember
from vreception.models.records import ReceptionRecord
from vreception.models.scheduling import ReceptionSession, SessionState

# A hearing whose session is over: the panel may still write down what it said in deliberation.
OVER = (HearingState.held, HearingState.concluded)


class MemberHearingOut(BaseModel):
    """One hearing as a panel member sees it in their list."""

    id: int
    matter_id: int
    matter_number: str
    state: str
    stage: str
    public: bool
    session_id: int | None
    session_state: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    chair: str
    withdrawn: bool
    opinion: str
    opinion_at: datetime | None
    may_give_opinion: bool


class CaseFileOut(BaseModel):
    """The case file a sitting panel member may read before and during the hearing: no personal data."""

    hearing: MemberHearingOut
    received_at: datetime
    demands: list[DemandOut]
    documents: list[DocumentOut]


def load(hearing_id: int, *, db: Session) -> Hearing:
    """A hearing by id, or NotFound."""
    hearing = db.get(Hearing, hearing_id)
    if hearing is None:
        raise NotFound("error.hearing_not_found", field="hearing_id", id=hearing_id)
    return hearing


def seat_of(hearing: Hearing, person_id: int | None) -> PanelMember | None:
    """PERSON_ID's place on the panel, unless withdrawn after 回避."""
    return next((m for m in hearing.panel if m.person_id == person_id and not m.withdrawn), None)


def require_member(hearing: Hearing, person_id: int | None) -> PanelMember:
    """The sitting panel member's place; Forbidden for anyone else (a withdrawn member included)."""
    member = seat_of(hearing, person_id)
    if member is None:
        raise Forbidden()
    return member


def member_document(hearing: Hearing, person_id: int | None, document_id: int, *, db: Session) -> Document:
    """A served document of the hearing's matter, for a sitting member while the case file is open to the panel."""
    require_member(hearing, person_id)
    if hearing.state not in HEARING_FILE_OPEN:
        raise Forbidden()
    document = db.get(Document, document_id)
    if document is None or document.matter_id != hearing.matter_id or document.served_at is None:
        raise NotFound("error.document_not_found", id=document_id)
    return document


def session_of(hearing: Hearing, *, db: Session) -> ReceptionSession | None:
    """The hearing's booked session, if any."""
    return db.get(ReceptionSession, hearing.session_id) if hearing.session_id is not None else None


def record_of(hearing: Hearing, *, db: Session) -> ReceptionRecord | None:
    """The 笔录 of the hearing's session, if started."""
    if hearing.session_id is None:
        return None
    return db.scalar(select(ReceptionRecord).where(ReceptionRecord.session_id == hearing.session_id))


def deliberation_begun(hearing: Hearing, *, db: Session) -> bool:
    """Whether the chair opened the private deliberation, or the hearing session is over."""
    if any(step.step is AgendaStep.deliberation for step in hearing.steps):
        return True
    if hearing.state in OVER or hearing.ended_at is not None:
        return True
    booking = session_of(hearing, db=db)
    return booking is not None and booking.state is SessionState.ended


def frozen(hearing: Hearing, *, db: Session) -> bool:
    """Whether the hearing's 笔录 is frozen: someone signed or confirmed it."""
    record = record_of(hearing, db=db)
    return record is not None and record.frozen_at is not None


def member_view(hearing: Hearing, person_id: int, *, db: Session) -> MemberHearingOut:
    """HEARING as panel member PERSON_ID sees it."""
    matter = db.get_one(Matter, hearing.matter_id)
    booking = session_of(hearing, db=db)
    chair = db.get(Person, hearing.chair_id) if hearing.chair_id else None
    member = next(m for m in hearing.panel if m.person_id == person_id)
    return MemberHearingOut(
        id=hearing.id, matter_id=matter.id, matter_number=matter.number, state=hearing.state.value,
        stage=hearing.stage.value, public=hearing.public, session_id=hearing.session_id,
        session_state=booking.state.value if booking else None, starts_at=booking.starts_at if booking else None,
        ends_at=booking.ends_at if booking else None, chair=chair.name if chair else "", withdrawn=member.withdrawn,
        opinion=member.opinion, opinion_at=member.opinion_at,
        may_give_opinion=not member.withdrawn and deliberation_begun(hearing, db=db) and not frozen(hearing, db=db))


def member_hearings(person_id: int, *, db: Session) -> list[MemberHearingOut]:
    """The hearings PERSON_ID is on the panel of (withdrawn ones too), the latest first."""
    hearings = db.scalars(select(Hearing).join(PanelMember, PanelMember.hearing_id == Hearing.id)
                          .where(PanelMember.person_id == person_id).order_by(Hearing.id.desc()).limit(200))
    return [member_view(h, person_id, db=db) for h in hearings]


def case_file(hearing: Hearing, person_id: int | None, *, db: Session) -> CaseFileOut:
    """The case file of HEARING for a sitting panel member: the demands and the documents served so far."""
    require_member(hearing, person_id)
    assert person_id is not None  # a sitting member has an account
    matter = db.get_one(Matter, hearing.matter_id)
    served = db.scalars(select(Document).where(Document.matter_id == matter.id, Document.served_at.isnot(None))
                        .order_by(Document.id))
    return CaseFileOut(hearing=member_view(hearing, person_id, db=db), received_at=matter.received_at,
                       demands=[DemandOut.model_validate(d) for d in matter.demands],
                       documents=[document_out(d) for d in served])
