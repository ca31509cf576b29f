"""Reads of matters for a principal: one matter's full view, and the paged list (filtered in SQL)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from vreception import audit, documents
from vreception.auth.access import Principal
from vreception.cases import access, actions, confidential
from vreception.cases.deadlines import end_of_day
from vreception.cases.identity import Protector, mask
from vreception.cases.register import PossibleRepeat
from vreception.cases.views import (
    ActionOut,
    DeadlineOut,
    DemandOut,
    DocumentOut,
    MatterListItem,
    MatterOut,
    MatterRecording,
    PetitionerOut,
    RecordingSummary,
    RepeatOut,
    SessionSummary,
    TimelineEvent,
)
from vreception.errors import NotFound
from vreception.models import (
    Deadline,
    Document,
    Matter,
    MatterEvent,
    MatterPetitioner,
    Node,
    NodeKind,
    Person,
    Petitioner,
    RepeatLink,
    Role,
    RoleAssignment,
    Task,
)
from vreception.models.cases import DeadlineState, MatterState
from vreception.models.recordings import Recording
from vreception.models.scheduling import ReceptionSession
from vreception.paging import Page, page_of
from vreception.tasks.views import TaskOut


def deadline_out(d: Deadline) -> DeadlineOut:
    """A deadline as the views show it."""
    return DeadlineOut(kind=d.kind, start=d.start_day, due=d.due_day, due_at=end_of_day(d.due_day),
                       state=d.state.value, provisional=d.provisional, extra_days=d.extra_days)


def document_out(d: Document) -> DocumentOut:
    """A notice's number, dates, hash and where to read it."""
    return DocumentOut(id=d.id, kind=d.kind, title=documents.KINDS[d.kind][0], number=d.number,
                       issued_at=d.issued_at, served_at=d.served_at, served_method=d.served_method,
                       proof_source=d.proof_source, proof_sha256=d.proof_sha256, sha256=d.sha256,
                       html_url=f"/api/v1/documents/{d.id}.html", pdf_url=f"/api/v1/documents/{d.id}.pdf",
                       proof_url=f"/api/v1/documents/{d.id}/proof" if d.proof_sha256 else None)


def recording_summary(recording: Recording) -> RecordingSummary:
    """A recording as lists show it."""
    return RecordingSummary(id=recording.id, state=recording.state.value, duration_s=recording.duration_s,
                            bytes=recording.bytes, sha256=recording.sha256, url=f"/api/v1/recordings/{recording.id}")


def documents_of(matter: Matter, *, db: Session) -> list[Document]:
    """The matter's notices in the order they were issued."""
    return list(db.scalars(select(Document).where(Document.matter_id == matter.id).order_by(Document.id)))


def sessions_of(matter: Matter, *, db: Session) -> list[ReceptionSession]:
    """The reception sessions booked for the matter, by start."""
    return list(db.scalars(select(ReceptionSession).where(ReceptionSession.matter_id == matter.id)
                           .order_by(ReceptionSession.starts_at, ReceptionSession.id)))


def recordings_by_session(session_ids: list[int], *, db: Session) -> dict[int, list[Recording]]:
    """The recordings of SESSION_IDS, by session, oldest first."""
    out: dict[int, list[Recording]] = {}
    if session_ids:
        for rec in db.scalars(select(Recording).where(Recording.session_id.in_(session_ids)).order_by(Recording.id)):
            out.setdefault(rec.session_id, []).append(rec)
    return out


def _petitioners(principal: Principal | None, matter: Matter, protector: Protector, *, db: Session) -> list[PetitionerOut]:
    # ID numbers and phones in full only to the office handling the matter; masked for everyone else.
    full = principal is not None and access.is_office(principal, matter, db=db)
    if full and principal is not None and matter.petitioner_links:
        # Who saw decrypted ID numbers and phones, and when, is itself on the record.
        audit.record(db=db, action="matter.identity_read", entity_type="matter", entity_id=matter.id,
                     actor_id=principal.person_id, data={"petitioners": len(matter.petitioner_links)})
    out = []
    for link in matter.petitioner_links:
        p = link.petitioner
        out.append(PetitionerOut(
            id=p.id, name=p.name, representative=link.representative, kind=p.kind, identified=bool(p.id_hash),
            id_number=protector.decrypt(p.id_cipher) if full else mask(p.id_tail),
            phone=protector.decrypt(p.phone_cipher) if full else mask(p.phone_tail, 11) if p.phone_tail else "",
            address=protector.decrypt(p.address_cipher) if full else ""))
    return out


def _repeats(matter: Matter, *, db: Session) -> list[PossibleRepeat]:
    rows = db.execute(select(Matter, RepeatLink.similarity, RepeatLink.reason)
                      .join(RepeatLink, RepeatLink.earlier_id == Matter.id)
                      .where(RepeatLink.matter_id == matter.id).order_by(RepeatLink.earlier_id)).all()
    return [PossibleRepeat(m, s, r) for m, s, r in rows]


def matter_view(*, db: Session, principal: Principal | None, matter: Matter, protector: Protector,
                repeats: list[PossibleRepeat] | None = None) -> MatterOut:
    """The matter as its readers see it (the caller has checked that the principal may read it)."""
    booked = sessions_of(matter, db=db)
    recordings = recordings_by_session([b.id for b in booked], db=db)
    sessions = [SessionSummary(id=b.id, kind=b.kind.value, state=b.state.value, start=b.starts_at, end=b.ends_at,
                               leader_id=b.leader_id, recorded=b.recorded,
                               recordings=[recording_summary(r) for r in recordings.get(b.id, [])]) for b in booked]
    events = db.scalars(select(MatterEvent).where(MatterEvent.matter_id == matter.id).order_by(MatterEvent.id))
    tasks = db.scalars(select(Task).where(Task.matter_id == matter.id).order_by(Task.id))
    holding = access.holding_node(matter, db=db)
    accused = db.get(Node, matter.accused_node_id) if matter.accused_node_id is not None else None
    return MatterOut(
        id=matter.id, number=matter.number, state=matter.state.value, outcome=matter.outcome,
        channel=matter.channel.value, is_group=matter.is_group, origin_node_id=matter.origin_node_id,
        handling_node_id=matter.handling_node_id, owner_leader_id=matter.owner_leader_id,
        received_at=matter.received_at, registered_at=matter.registered_at, extended=matter.extended,
        rating=matter.rating, possible_repeat=matter.possible_repeat,
        possible_repeats=[RepeatOut(id=r.matter.id, number=r.matter.number, state=r.matter.state.value,
                                    similarity=r.similarity, reason=r.reason)
                          for r in (_repeats(matter, db=db) if repeats is None else repeats)],
        petitioners=_petitioners(principal, matter, protector, db=db),
        demands=[DemandOut.model_validate(d) for d in matter.demands],
        facts=matter.facts, accused_text=matter.accused_text, accused_node_id=matter.accused_node_id,
        people_count=matter.people_count, accusation=matter.accusation, confidential=matter.confidential,
        accused_node_name=accused.name if accused else "", holding_node_id=holding.id, holding_node_name=holding.name,
        transferred_from_node_id=matter.transferred_from_node_id,
        deadlines={d.kind: deadline_out(d) for d in matter.deadlines if d.state is not DeadlineState.cancelled},
        deadline_history=[deadline_out(d) for d in matter.deadlines],
        allowed_actions=[ActionOut(action=a, starts=actions.STARTS.get(a)) for a in actions.allowed(matter)],
        tasks=[TaskOut.from_task(t) for t in tasks],
        documents=[document_out(d) for d in documents_of(matter, db=db)],
        sessions=sessions,
        recordings=[MatterRecording(**r.model_dump(), session_id=s.id) for s in sessions for r in s.recordings],
        timeline=[TimelineEvent(at=e.at, action=e.action, from_state=e.from_state, to=e.to_state, reason=e.reason,
                                actor_id=e.actor_id, data=json.loads(e.data or "{}")) for e in events])


def _list_item(matter: Matter) -> MatterListItem:
    open_deadlines = [d for d in matter.deadlines if d.state is DeadlineState.open]
    next_due = min(open_deadlines, key=lambda d: d.due_day) if open_deadlines else None
    return MatterListItem(
        id=matter.id, number=matter.number, state=matter.state.value, handling_node_id=matter.handling_node_id,
        owner_leader_id=matter.owner_leader_id, received_at=matter.received_at,
        possible_repeat=matter.possible_repeat, summary=matter.demands[0].summary[:80] if matter.demands else "",
        petitioner=matter.petitioner_links[0].petitioner.name if matter.petitioner_links else "",
        next_deadline=deadline_out(next_due) if next_due else None)


def list_matters(*, db: Session, principal: Principal, state: MatterState | None = None,
                 owner_leader_id: int | None = None, limit: int = 50, cursor: str | None = None) -> Page[MatterListItem]:
    """The matters the principal may read, newest first, filtered and counted in SQL, one page at a time."""
    where = [access.readable(principal), confidential.not_accused(principal)]
    if state is not None:
        where.append(Matter.state == state)
    if owner_leader_id is not None:
        where.append(Matter.owner_leader_id == owner_leader_id)
    total = db.scalar(select(func.count()).select_from(Matter).where(*where)) or 0
    query = (select(Matter).where(*where).order_by(Matter.id.desc())
             .options(selectinload(Matter.deadlines), selectinload(Matter.demands),
                      selectinload(Matter.petitioner_links).selectinload(MatterPetitioner.petitioner)))
    return page_of(query, db=db, total=total, limit=limit, cursor=cursor, item=_list_item)


def state_counts(*, db: Session, principal: Principal) -> list[tuple[str, int]]:
    """How many of the matters the principal may read are in each open state, in the order of the procedure."""
    rows = db.execute(select(Matter.state, func.count()).where(access.readable(principal),
                                                               Matter.state.in_(actions.OPEN_STATES))
                      .group_by(Matter.state)).all()
    counts = {MatterState(state): n for state, n in rows}
    return [(state.value, counts[state]) for state in MatterState if counts.get(state)]


def petitioner_matters(*, db: Session, principal: Principal, petitioner_id: int, limit: int = 50,
                       cursor: str | None = None) -> Page[MatterListItem]:
    """All the matters of one petitioner that the principal may read, newest first (NotFound when none)."""
    where = [access.readable(principal), confidential.not_accused(principal), Matter.id.in_(
        select(MatterPetitioner.matter_id).where(MatterPetitioner.petitioner_id == petitioner_id))]
    total = db.scalar(select(func.count()).select_from(Matter).where(*where)) or 0
    if not total:
        # Whether a person petitioned at all is itself personal: unknown and unreadable look alike.
        raise NotFound("error.petitioner_not_found", id=petitioner_id)
    query = (select(Matter).where(*where).order_by(Matter.id.desc())
             .options(selectinload(Matter.deadlines), selectinload(Matter.demands),
                      selectinload(Matter.petitioner_links).selectinload(MatterPetitioner.petitioner)))
    return page_of(query, db=db, total=total, limit=limit, cursor=cursor, item=_list_item)


def units_for(matter: Matter, limit: int = 200, *, db: Session) -> list[Node]:
    """The departments under the matter's handling office: where its follow-up tasks go."""
    office = access.handling_node(matter, db=db)
    return list(db.scalars(select(Node).where(Node.kind == NodeKind.department,
                                              Node.path.startswith(office.path, autoescape=True))
                           .order_by(Node.code).limit(limit)))


def places_of(matter: Matter, *, db: Session) -> dict[str, Node | Person | None]:
    """Where the matter came from, who handles it and which leader owns it (for its page)."""
    return {"origin": db.get(Node, matter.origin_node_id), "handling": access.handling_node(matter, db=db),
            "owner": db.get(Person, matter.owner_leader_id) if matter.owner_leader_id else None}


def readable_repeats(principal: Principal, found: list[PossibleRepeat], *, db: Session) -> list[PossibleRepeat]:
    """The possible repeats the principal may read (others' matters stay unnamed)."""
    return [r for r in found if access.can_read(principal, r.matter, db=db)
            and not confidential.accused_unit_excluded(principal, r.matter)]


@dataclass(frozen=True)
class EarlierMatter:
    """Another matter of the same people (by ID hash), who of them it names, and its reception sessions."""

    matter: Matter
    names: list[str]
    sessions: list[ReceptionSession]


def same_people_matters(*, db: Session, principal: Principal, matter: Matter, limit: int = 20) -> list[EarlierMatter]:
    """The other matters of MATTER's petitioners that the principal may read, newest first, with their sessions."""
    hashes = [link.petitioner.id_hash for link in matter.petitioner_links if link.petitioner.id_hash]
    if not hashes:
        return []
    rows = db.execute(select(Matter, Petitioner.name).join(MatterPetitioner, MatterPetitioner.matter_id == Matter.id)
                      .join(Petitioner, Petitioner.id == MatterPetitioner.petitioner_id)
                      .where(Petitioner.id_hash.in_(hashes), Matter.id != matter.id, access.readable(principal),
                             confidential.not_accused(principal))
                      .order_by(Matter.id.desc(), MatterPetitioner.position)).all()
    found: dict[int, tuple[Matter, list[str]]] = {}
    for other, name in rows:
        if other.id in found or len(found) < limit:
            found.setdefault(other.id, (other, []))[1].append(name)
    booked: dict[int, list[ReceptionSession]] = {}
    if found:
        for item in db.scalars(select(ReceptionSession).where(ReceptionSession.matter_id.in_(found))
                               .order_by(ReceptionSession.starts_at, ReceptionSession.id)):
            booked.setdefault(item.matter_id or 0, []).append(item)
    return [EarlierMatter(m, names, booked.get(m.id, [])) for m, names in found.values()]


def unit_heads(matter: Matter, *, db: Session) -> list[Person]:
    """The leaders of the handling unit: who may approve an extension (Art. 34)."""
    return list(db.scalars(select(Person).where(
        Person.active.is_(True), Person.id.in_(select(RoleAssignment.person_id).where(
            RoleAssignment.role == Role.leader, RoleAssignment.node_id == matter.handling_node_id)))
        .order_by(Person.id)))


def transfer_targets(matter: Matter, limit: int = 500, *, db: Session) -> list[Node]:
    """Where the handling body may transfer the matter: the bodies under its parent, itself and an accused unit
    left out (the action refuses them too)."""
    office = access.handling_node(matter, db=db)
    parent = db.get(Node, office.parent_id) if office.parent_id is not None else None
    query = select(Node).where(Node.id != office.id).order_by(Node.path).limit(limit)
    if parent is not None:
        query = query.where(Node.path.startswith(parent.path, autoescape=True))
    else:
        query = query.where(Node.path.startswith(office.path, autoescape=True))
    if matter.hidden_from_path:
        query = query.where(~Node.path.startswith(matter.hidden_from_path, autoescape=True))
    return list(db.scalars(query))


def unserved_notices(matter: Matter, *, db: Session) -> list[Document]:
    """The issued notices not yet served that serve_notice takes (the opinions are served by serve)."""
    return [d for d in documents_of(matter, db=db) if d.served_at is None and d.kind in documents.SERVED_KINDS
            and d.kind not in actions.SERVE_KINDS]
