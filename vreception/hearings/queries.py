"""Reads of hearings: one hearing's view, a matter's hearings, the roster and its members' other hearings."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.clock import now
from vreception.hearings import panel, procedure
from vreception.hearings.views import (
    BusyOut,
    HearingOut,
    NoticeOut,
    PanelMemberOut,
    PersonRef,
    RecusalOut,
    RosterOut,
)
from vreception.models import AuditEvent, Document, Person
from vreception.models.hearings import Hearing, PanelMember, RosterEntry
from vreception.models.scheduling import ReceptionSession


def _ref(db: Session, person_id: int | None) -> PersonRef | None:
    person = db.get(Person, person_id) if person_id is not None else None
    return PersonRef(id=person.id, name=person.name) if person is not None else None


def documents_of(db: Session, hearing: Hearing) -> list[Document]:
    """The hearing's decision notice, the notices of each booking and the conclusion, oldest first."""
    ids = {hearing.decision_document_id, hearing.conclusion_document_id}
    for data in db.scalars(select(AuditEvent.data).where(AuditEvent.entity_type == "hearing",
                                                         AuditEvent.entity_id == str(hearing.id),
                                                         AuditEvent.action == "hearing.noticed")):
        ids |= set(json.loads(data).get("documents", []))
    wanted = [i for i in ids if i is not None]
    return list(db.scalars(select(Document).where(Document.id.in_(wanted)).order_by(Document.id))) if wanted else []


def _overdue(db: Session, hearing: Hearing) -> bool:
    if hearing.conclusion_document_id is not None:
        return procedure.is_overdue(hearing, db.get_one(Document, hearing.conclusion_document_id).issued_at)
    return hearing.state is procedure.S.held and procedure.is_overdue(hearing, now())


def hearing_out(db: Session, hearing: Hearing) -> HearingOut:
    """One hearing with its panel, 回避 requests and documents."""
    matter = procedure.matter_of(db, hearing)
    return HearingOut(
        id=hearing.id, matter_id=matter.id, matter_number=matter.number, node_id=hearing.node_id,
        stage=hearing.stage.value, state=hearing.state.value, requested_at=hearing.requested_at,
        requested_by_petitioner=hearing.requested_by_petitioner, request_reason=hearing.request_reason,
        decision_due=hearing.decision_due, decided_at=hearing.decided_at, decided_by=hearing.decided_by,
        decision_reason=hearing.decision_reason, decision_document_id=hearing.decision_document_id,
        public=hearing.public, closed_reason=hearing.closed_reason.value if hearing.closed_reason else None,
        chair=_ref(db, hearing.chair_id), recorder=_ref(db, hearing.recorder_id), session_id=hearing.session_id,
        notice_waived=hearing.notice_waived, waiver_note=hearing.waiver_note, noticed_at=hearing.noticed_at,
        started_at=hearing.started_at, ended_at=hearing.ended_at, excluded_days=hearing.excluded_days,
        conclusion_due=hearing.conclusion_due, conclusion_document_id=hearing.conclusion_document_id,
        overdue=_overdue(db, hearing), published_at=hearing.published_at, gallery_key=hearing.gallery_key,
        panel=[PanelMemberOut(person_id=m.person_id, name=db.get_one(Person, m.person_id).name,
                              chosen_by_petitioner=m.chosen_by_petitioner, withdrawn=m.withdrawn)
               for m in hearing.panel],
        recusals=[RecusalOut(id=r.id, against=_ref(db, r.against_id) or PersonRef(id=r.against_id, name=""),
                             requested_by=r.requested_by, reason=r.reason, requested_at=r.requested_at,
                             granted=r.granted, decision_reason=r.decision_reason, decided_by=r.decided_by,
                             decided_at=r.decided_at) for r in hearing.recusals],
        documents=[NoticeOut(id=d.id, kind=d.kind, number=d.number, issued_at=d.issued_at, served_at=d.served_at)
                   for d in documents_of(db, hearing)])


def roster_of(db: Session, node_id: int, *, inherited: bool = True) -> list[RosterOut]:
    """The active roster of an office (with the offices above it when INHERITED)."""
    nodes = panel.ancestors(db, node_id) if inherited else [node_id]
    entries = db.scalars(select(RosterEntry).where(RosterEntry.node_id.in_(nodes), RosterEntry.active.is_(True))
                         .order_by(RosterEntry.id))
    return [RosterOut(id=e.id, node_id=e.node_id, person=_ref(db, e.person_id) or PersonRef(id=e.person_id, name=""),
                      profession=e.profession, active=e.active) for e in entries]


def busy(db: Session, person_ids: Sequence[int], *, besides: int | None = None) -> list[BusyOut]:
    """The other open hearings the people sit on, with their booked times (a member's availability)."""
    rows = db.execute(
        select(PanelMember.person_id, Hearing.id, ReceptionSession.starts_at, ReceptionSession.ends_at)
        .join(Hearing, Hearing.id == PanelMember.hearing_id)
        .outerjoin(ReceptionSession, ReceptionSession.id == Hearing.session_id)
        .where(PanelMember.person_id.in_(list(person_ids)), PanelMember.withdrawn.is_(False),
               Hearing.state.notin_(procedure.OVER), Hearing.id != (besides or 0))
        .order_by(ReceptionSession.starts_at))
    return [BusyOut(person_id=p, hearing_id=h, starts_at=s, ends_at=e) for p, h, s, e in rows]
