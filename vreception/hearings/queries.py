"""Reads of hearings: one hearing's view, a matter's hearings (its page's section), the roster and its members'
other hearings."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import evidence
from vreception.auth.access import Principal
from vreception.cases import access as matters
from vreception.clock import now
from vreception.hearings import access, panel, procedure, recusals
from vreception.hearings.views import (
    AuthorisationOut,
    BusyOut,
    ChoiceOut,
    FileChoiceOut,
    HearingChoicesOut,
    HearingOut,
    MatterHearingsOut,
    NoticeOut,
    OfficeRef,
    PanelMemberOut,
    PersonRef,
    RecusalOut,
    RosterOut,
    RosterPageOut,
)
from vreception.models import AuditEvent, Document, Matter, Node, Person, Role
from vreception.models.hearings import Hearing, PanelMember, RosterEntry
from vreception.models.scheduling import ReceptionSession
from vreception.org.queries import bookable_rooms, office_nodes
from vreception.people import list_people


def _ref(person_id: int | None, *, db: Session) -> PersonRef | None:
    person = db.get(Person, person_id) if person_id is not None else None
    return PersonRef(id=person.id, name=person.name) if person is not None else None


def _notices(hearing: Hearing, *, db: Session) -> list[dict[str, Any]]:
    """What each issue of the hearing's notices recorded (its booking, and each restaffing after a 回避), in order."""
    return [json.loads(data) for data in db.scalars(
        select(AuditEvent.data).where(AuditEvent.entity_type == "hearing", AuditEvent.entity_id == str(hearing.id),
                                      AuditEvent.action == "hearing.noticed").order_by(AuditEvent.seq))]


def documents_of(hearing: Hearing, notices: list[dict[str, Any]] | None = None, *, db: Session) -> list[Document]:
    """The hearing's decision notice, the notices of each booking and the conclusion, oldest first."""
    ids = {hearing.decision_document_id, hearing.conclusion_document_id}
    for data in _notices(hearing, db=db) if notices is None else notices:
        ids |= set(data.get("documents", []))
    wanted = [i for i in ids if i is not None]
    return list(db.scalars(select(Document).where(Document.id.in_(wanted)).order_by(Document.id))) if wanted else []


def _overdue(hearing: Hearing, *, db: Session) -> bool:
    if hearing.conclusion_document_id is not None:
        return procedure.is_overdue(hearing, db.get_one(Document, hearing.conclusion_document_id).issued_at)
    return hearing.state is procedure.S.held and procedure.is_overdue(hearing, now())


def hearing_out(hearing: Hearing, *, db: Session) -> HearingOut:
    """One hearing with its panel, 回避 requests and documents."""
    matter = procedure.matter_of(hearing, db=db)
    notices = _notices(hearing, db=db)
    held = next((n["agent_authorisation"] for n in reversed(notices) if n.get("agent_authorisation")), None)
    return HearingOut(
        id=hearing.id, matter_id=matter.id, matter_number=matter.number, node_id=hearing.node_id,
        node_name=procedure.body_of(hearing, db=db).name,
        stage=hearing.stage.value, state=hearing.state.value, requested_at=hearing.requested_at,
        requested_by_petitioner=hearing.requested_by_petitioner, request_reason=hearing.request_reason,
        decision_due=hearing.decision_due, decided_at=hearing.decided_at, decided_by=hearing.decided_by,
        decision_reason=hearing.decision_reason, decision_document_id=hearing.decision_document_id,
        public=hearing.public, closed_reason=hearing.closed_reason.value if hearing.closed_reason else None,
        chair=_ref(hearing.chair_id, db=db), recorder=_ref(hearing.recorder_id, db=db), session_id=hearing.session_id,
        notice_waived=hearing.notice_waived, waiver_note=hearing.waiver_note, noticed_at=hearing.noticed_at,
        started_at=hearing.started_at, ended_at=hearing.ended_at, excluded_days=hearing.excluded_days,
        conclusion_due=hearing.conclusion_due, conclusion_document_id=hearing.conclusion_document_id,
        overdue=_overdue(hearing, db=db), published_at=hearing.published_at, gallery_key=hearing.gallery_key,
        panel=[PanelMemberOut(person_id=m.person_id, name=db.get_one(Person, m.person_id).name,
                              chosen_by_petitioner=m.chosen_by_petitioner, withdrawn=m.withdrawn)
               for m in hearing.panel],
        recusals=[RecusalOut(id=r.id, against=_ref(r.against_id, db=db) or PersonRef(id=r.against_id, name=""),
                             requested_by=r.requested_by, reason=r.reason, requested_at=r.requested_at,
                             granted=r.granted, decision_reason=r.decision_reason, decided_by=r.decided_by,
                             decided_at=r.decided_at) for r in hearing.recusals],
        documents=[NoticeOut(id=d.id, kind=d.kind, number=d.number, issued_at=d.issued_at, served_at=d.served_at)
                   for d in documents_of(hearing, notices, db=db)],
        agent_authorisation=AuthorisationOut(**held) if held else None)


def roster_of(node_id: int, *, db: Session, inherited: bool = True) -> list[RosterOut]:
    """The active roster of an office (with the offices above it when INHERITED)."""
    nodes = panel.ancestors(node_id, db=db) if inherited else [node_id]
    entries = db.scalars(select(RosterEntry).where(RosterEntry.node_id.in_(nodes), RosterEntry.active.is_(True))
                         .order_by(RosterEntry.id))
    names = {node_id: name for node_id, name in db.execute(select(Node.id, Node.name).where(Node.id.in_(nodes)))}
    return [RosterOut(id=e.id, node_id=e.node_id, node_name=names.get(e.node_id, ""),
                      person=_ref(e.person_id, db=db) or PersonRef(id=e.person_id, name=""),
                      profession=e.profession, active=e.active) for e in entries]


def busy(person_ids: Sequence[int], *, db: Session, besides: int | None = None) -> list[BusyOut]:
    """The other open hearings the people sit on, with their booked times (a member's availability)."""
    rows = db.execute(
        select(PanelMember.person_id, Hearing.id, ReceptionSession.starts_at, ReceptionSession.ends_at)
        .join(Hearing, Hearing.id == PanelMember.hearing_id)
        .outerjoin(ReceptionSession, ReceptionSession.id == Hearing.session_id)
        .where(PanelMember.person_id.in_(list(person_ids)), PanelMember.withdrawn.is_(False),
               Hearing.state.notin_(procedure.OVER), Hearing.id != (besides or 0))
        .order_by(ReceptionSession.starts_at))
    return [BusyOut(person_id=p, hearing_id=h, starts_at=s, ends_at=e) for p, h, s, e in rows]


def _busy_by(person_ids: Sequence[int], besides: int | None = None, *, db: Session) -> dict[int, list[BusyOut]]:
    out: dict[int, list[BusyOut]] = defaultdict(list)
    for item in busy(person_ids, db=db, besides=besides):
        out[item.person_id].append(item)
    return dict(out)


def roster_page(principal: Principal, office: Node, *, db: Session) -> RosterPageOut:
    """The roster of OFFICE for one of its keepers (access.require_roster_keeper first)."""
    everyone = roster_of(office.id, db=db)
    own = [r for r in everyone if r.node_id == office.id]
    listed = {r.person.id for r in own}
    members = list_people(db=db, role=Role.hearing_member.value, within=Node.path.startswith(office.path, autoescape=True))
    keeps = [n for n in office_nodes(principal, db=db) if access.keeps_roster(principal, n)]
    return RosterPageOut(
        office=OfficeRef(id=office.id, name=office.name),
        offices=[OfficeRef(id=n.id, name=n.name) for n in keeps],
        own=own, inherited=[r for r in everyone if r.node_id != office.id],
        busy=_busy_by([r.person.id for r in everyone], db=db),
        candidates=[_choice(p) for p in members if p.id not in listed])


def _choice(person: Person) -> ChoiceOut:
    return ChoiceOut(id=person.id, name=person.name, title=person.title)


def choices(principal: Principal, hearing: Hearing, *, db: Session) -> HearingChoicesOut:
    """What the office running HEARING picks from on the matter page."""
    handling = matters.handling_node(procedure.matter_of(hearing, db=db), db=db)
    roster = roster_of(hearing.node_id, db=db)
    return HearingChoicesOut(
        leaders=[_choice(p) for p in procedure.chair_candidates(hearing, db=db)],
        staff=[_choice(p) for p in list_people(db=db, node_id=hearing.node_id)
               if any(a.role is not Role.room for a in p.roles)],
        # The handlers of the decisions under review answer: the handling body's, at every stage.
        handlers=[_choice(p) for p in list_people(db=db, role=Role.handler.value,
                                                  within=Node.path.startswith(handling.path, autoescape=True))],
        rooms=[ChoiceOut(id=r.id, name=r.name) for r in bookable_rooms(principal, db=db)],
        roster=roster, busy=_busy_by([r.person.id for r in roster], db=db, besides=hearing.id),
        files=[FileChoiceOut(item=f.item, filename=f.filename)
               for f in evidence.matter_files(db=db, matter_id=hearing.matter_id)])


def matter_hearings(principal: Principal, matter: Matter, *, db: Session) -> MatterHearingsOut:
    """The matter page's hearing section: the newest hearing, the older ones, and what the principal may do."""
    found = procedure.of_matter(matter.id, db=db)
    hearing = found[0] if found else None
    current = hearing is not None and hearing.state not in procedure.OVER
    runs = hearing is not None and access.runs(principal, hearing, db=db)
    out = MatterHearingsOut(
        hearing=hearing_out(hearing, db=db) if hearing is not None else None,
        earlier=[hearing_out(h, db=db) for h in found[1:]], runs=runs,
        can_propose=matter.state in procedure.STAGES and not current and access.may_propose(principal, matter, db=db),
        chair=False, deciders=[], targets={}, choices=None)
    if hearing is None or not current:
        return out
    out.chair = principal.person_id == hearing.chair_id
    out.deciders = [r.id for r in hearing.recusals
                    if r.granted is None and access.decides_recusal(principal, hearing, r, db=db)]
    people = db.scalars(select(Person).where(Person.id.in_(recusals.challenged(hearing))).order_by(Person.id))
    out.targets = {p.id: p.name for p in people}
    if runs:
        out.choices = choices(principal, hearing, db=db)
    return out
