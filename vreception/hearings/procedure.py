"""The hearing's steps outside the call: request or proposal, decision, chair and recorder, publicity, conclusion."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit, documents
from vreception.cases import access as matters
from vreception.cases.actions import addressee
from vreception.cases.deadlines import local_day
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.hearings import errors
from vreception.hearings.acted import acted_on
from vreception.i18n import Msg
from vreception.models import Matter, MatterState, Node, Person, Role, RoleAssignment
from vreception.models.hearings import ClosedReason, Hearing, HearingStage, HearingState

S = HearingState
STAGES = {MatterState.accepted: HearingStage.handling, MatterState.recheck_requested: HearingStage.recheck}
# A hearing in one of these states is over: the matter may have another.
OVER = frozenset({S.refused, S.concluded, S.cancelled})
MAX_TEXT = 4000
CLOSED_TEXT = {ClosedReason.state_secret: "涉及国家秘密", ClosedReason.trade_secret: "涉及商业秘密",
               ClosedReason.privacy: "涉及个人隐私"}


def record(hearing: Hearing, action: str, actor_id: int | None, *, db: Session, **data: Any) -> None:
    """Audit a step of HEARING as hearing.ACTION."""
    audit.record(db=db, action=f"hearing.{action}", entity_type="hearing", entity_id=hearing.id, actor_id=actor_id,
                 data={"matter_id": hearing.matter_id, "state": hearing.state.value, **data})


def text(value: str | None, field: str, required: bool = True) -> str:
    """A free text of the procedure (a reason, a conclusion), stripped and bounded."""
    out = (value or "").strip()
    if required and not out:
        raise Invalid("error.reason_required", field=field)
    if len(out) > MAX_TEXT:
        raise Invalid("error.reason_too_long", field=field, max=MAX_TEXT)
    return out


def load(hearing_id: int, *, db: Session, lock: bool = False) -> Hearing:
    """A hearing by id (row-locked for a change on PostgreSQL), or NotFound."""
    query = select(Hearing).where(Hearing.id == hearing_id)
    hearing = db.scalars(query.with_for_update() if lock else query).first()
    if hearing is None:
        raise NotFound("error.hearing_not_found", field="hearing_id", id=hearing_id)
    return hearing


def matter_of(hearing: Hearing, *, db: Session) -> Matter:
    """The matter a hearing is held on."""
    return db.get_one(Matter, hearing.matter_id)


def body_for(matter: Matter, *, db: Session) -> Node:
    """The body a hearing on the matter is held by now: the 复核 body during 复核 (one level above the 复查 body),
    else the handling body."""
    if STAGES.get(matter.state) is HearingStage.recheck:
        return matters.holding_node(matter, db=db)
    return matters.handling_node(matter, db=db)


def body_of(hearing: Hearing, *, db: Session) -> Node:
    """The body holding HEARING: it decides it, appoints its chair from its leaders and its panel from its roster."""
    return db.get_one(Node, hearing.node_id)


def require_state(hearing: Hearing, *states: HearingState) -> None:
    """HearingState (409) unless HEARING is in one of STATES."""
    if hearing.state not in states:
        raise errors.HearingState("error.hearing_state", state=Msg(f"hearing.state.{hearing.state.value}"))


def current(matter_id: int, *, db: Session) -> Hearing | None:
    """The matter's hearing that is not over, if any."""
    return db.scalars(select(Hearing).where(Hearing.matter_id == matter_id, Hearing.state.notin_(OVER))
                      .order_by(Hearing.id.desc())).first()


def of_matter(matter_id: int, *, db: Session) -> list[Hearing]:
    """Every hearing of the matter, newest first."""
    return list(db.scalars(select(Hearing).where(Hearing.matter_id == matter_id).order_by(Hearing.id.desc())))


def propose(*, db: Session, matter: Matter, actor_id: int | None, by_petitioner: bool = False, reason: str = "",
            decision_days: int, at: datetime | None = None) -> Hearing:
    """Record the petitioner's request for a hearing, or the office's proposal; the decision is due in DECISION_DAYS."""
    stage = STAGES.get(matter.state)
    if stage is None:
        raise errors.NotInStage("error.hearing_not_in_stage", field="matter_id",
                                state=Msg(f"state.{matter.state.value}"))
    if current(matter.id, db=db) is not None:
        raise errors.HearingOpen("error.hearing_open", field="matter_id")
    at = at or now()
    hearing = Hearing(matter_id=matter.id, node_id=body_for(matter, db=db).id, stage=stage, state=S.requested,
                      requested_at=at, requested_by_petitioner=by_petitioner,
                      request_reason=text(reason, "reason", required=by_petitioner), proposed_by=actor_id,
                      decision_due=local_day(at) + timedelta(days=decision_days))
    db.add(hearing)
    db.flush()
    record(hearing, "requested" if by_petitioner else "proposed", actor_id, db=db, stage=stage.value,
           reason=hearing.request_reason, decision_due=hearing.decision_due.isoformat())
    return hearing


def decide(*, db: Session, hearing: Hearing, hold: bool, reason: str = "", actor_id: int | None) -> Hearing:
    """Hold the hearing (听证告知书) or refuse it with a reason (不予听证告知书), served on the petitioner."""
    require_state(hearing, S.requested)
    matter = matter_of(hearing, db=db)
    why = text(reason, "reason", required=not hold)
    at = now()
    kind = "hearing_decision" if hold else "hearing_refusal"
    document = documents.issue_from(db=db, matter=matter, kind=kind, template="hearing_decision.html", actor_id=actor_id,
                                    issuer=body_of(hearing, db=db), addressee=addressee(matter),
                                    requested=documents.chinese_date(hearing.requested_at),
                                    by_petitioner=hearing.requested_by_petitioner, reason=why,
                                    stage="复核" if hearing.stage is HearingStage.recheck else "办理")
    documents.serve(document, db=db, actor_id=actor_id, at=document.issued_at)
    hearing.state = S.decided if hold else S.refused
    hearing.decided_at, hearing.decided_by, hearing.decision_reason = at, actor_id, why
    hearing.decision_document_id = document.id
    db.flush()
    record(hearing, "decided" if hold else "refused", actor_id, db=db, reason=why, document_id=document.id,
           overdue=local_day(at) > hearing.decision_due)
    return hearing


def may_chair(person: Person, hearing: Hearing, *, db: Session) -> bool:
    """Whether PERSON is a leader of the body holding HEARING (during 复核 of that body itself, not of one below
    whose decisions it reviews)."""
    body = body_of(hearing, db=db)
    if hearing.stage is HearingStage.recheck:
        return any(a.role is Role.leader and a.node_id == body.id for a in person.roles)
    return any(a.role is Role.leader and a.node.path.startswith(body.path) for a in person.roles)


def chair_candidates(hearing: Hearing, *, db: Session) -> list[Person]:
    """The active leaders who may chair HEARING (the ones who acted on the matter are refused when appointed)."""
    body = body_of(hearing, db=db)
    where = (RoleAssignment.node_id == body.id if hearing.stage is HearingStage.recheck
             else Node.path.startswith(body.path, autoescape=True))
    assigned = (select(RoleAssignment.person_id).join(Node, Node.id == RoleAssignment.node_id)
                .where(RoleAssignment.role == Role.leader, where))
    return list(db.scalars(select(Person).join(Node, Node.id == Person.node_id)
                           .where(Person.id.in_(assigned), Person.active.is_(True)).order_by(Node.path, Person.id)))


def recused(hearing: Hearing) -> set[int]:
    """The people a granted 回避 took off HEARING: they may not come back to it in any place."""
    return {r.against_id for r in hearing.recusals if r.granted}


def _person(person_id: int | None, field: str, *, db: Session) -> Person:
    person = db.get(Person, person_id) if isinstance(person_id, int) else None
    if person is None or not person.active:
        raise NotFound("error.person_not_found", field=field, id=person_id)
    return person


def appoint(*, db: Session, hearing: Hearing, chair_id: int, recorder_id: int, actor_id: int | None) -> Hearing:
    """Appoint the chair (a leader of the holding body who did not act on the matter) and the recorder (记录员);
    once noticed, only a place a granted 回避 left empty is filled."""
    require_state(hearing, S.decided, S.noticed)
    chair = _person(chair_id, "chair_id", db=db)
    recorder = _person(recorder_id, "recorder_id", db=db)
    if hearing.state is S.noticed and any(
            held is not None and held != given
            for held, given in ((hearing.chair_id, chair.id), (hearing.recorder_id, recorder.id))):
        raise errors.HearingState("error.staff_noticed")
    if not may_chair(chair, hearing, db=db):
        raise errors.ChairConflict("error.chair_not_leader", field="chair_id", name=chair.name)
    if chair.id in acted_on(matter_of(hearing, db=db), db=db):
        raise errors.ChairConflict("error.chair_conflict", field="chair_id", name=chair.name)
    if chair.id in recused(hearing):
        raise errors.ChairConflict("error.chair_recused", field="chair_id", name=chair.name)
    sitting = {m.person_id for m in hearing.panel if not m.withdrawn}
    if chair.id in sitting:
        raise errors.ChairConflict("error.chair_on_panel", field="chair_id", name=chair.name)
    if recorder.id == chair.id or recorder.id in sitting or recorder.id in recused(hearing) or not any(
            a.role is not Role.room for a in recorder.roles):
        raise Invalid("error.recorder_invalid", field="recorder_id", name=recorder.name)
    before = (hearing.chair_id, hearing.recorder_id)
    hearing.chair_id, hearing.recorder_id = chair.id, recorder.id
    db.flush()
    record(hearing, "appointed", actor_id, db=db, chair_id=chair.id, recorder_id=recorder.id,
           replaced=[p for p in before if p is not None and p not in (chair.id, recorder.id)])
    return hearing


def set_publicity(*, db: Session, hearing: Hearing, public: bool, closed_reason: str | None,
                  actor_id: int | None) -> Hearing:
    """Public by default; closed only for a state secret, a trade secret or privacy."""
    require_state(hearing, S.requested, S.decided)
    reason: ClosedReason | None = None
    if not public:
        try:
            reason = ClosedReason(closed_reason or "")
        except ValueError:
            raise errors.ClosedReasonInvalid("error.closed_reason", field="closed_reason") from None
    hearing.public, hearing.closed_reason = public, reason
    db.flush()
    record(hearing, "publicity", actor_id, db=db, public=public, closed_reason=reason.value if reason else None)
    return hearing


def new_gallery_key() -> str:
    """The random key of a public hearing's gallery link."""
    return secrets.token_urlsafe(24)


def conclude(*, db: Session, hearing: Hearing, conclusion: str, actor_id: int | None) -> Hearing:
    """Issue the 听证结论 (late ones too: the hearing then shows it was overdue) and serve it on the petitioner."""
    require_state(hearing, S.held)
    body = text(conclusion, "conclusion")
    matter = matter_of(hearing, db=db)
    chair = db.get(Person, hearing.chair_id) if hearing.chair_id else None
    panel = [db.get_one(Person, m.person_id).name for m in hearing.panel if not m.withdrawn]
    document = documents.issue_from(
        db=db, matter=matter, kind="hearing_conclusion", template="hearing_conclusion.html", actor_id=actor_id,
        issuer=body_of(hearing, db=db), addressee=addressee(matter), conclusion=body, chair=chair.name if chair else "",
        panel=panel,
        held=documents.chinese_date(hearing.started_at or now()), public=hearing.public,
        closed=CLOSED_TEXT.get(hearing.closed_reason) if hearing.closed_reason else "")
    documents.serve(document, db=db, actor_id=actor_id, at=document.issued_at)
    hearing.conclusion_document_id = document.id
    late = is_overdue(hearing, document.issued_at)
    hearing.state = S.concluded
    db.flush()
    record(hearing, "concluded", actor_id, db=db, document_id=document.id, overdue=late)
    return hearing


def is_overdue(hearing: Hearing, at: datetime) -> bool:
    """Whether the conclusion, issued at AT or still missing at AT, came after its due day."""
    return hearing.conclusion_due is not None and local_day(at) > hearing.conclusion_due
