"""回避: a request against the chair, a panel member or the recorder, and its decision (by the chair; by the office
when the chair is the one challenged)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception.clock import now
from vreception.errors import Conflict, Invalid, NotFound
from vreception.hearings.panel import sitting
from vreception.hearings.procedure import S, record, require_state, text
from vreception.models.hearings import Hearing, Recusal

OPEN_TO_RECUSAL = (S.decided, S.noticed, S.in_session)


def challenged(hearing: Hearing) -> set[int]:
    """Who a 回避 request may name: the chair, the recorder and the sitting panel."""
    out = {m.person_id for m in sitting(hearing)} | {hearing.chair_id, hearing.recorder_id}
    return {p for p in out if p is not None}


def against_chair(hearing: Hearing, recusal: Recusal) -> bool:
    """Whether RECUSAL challenges the hearing's chair (the office decides it, not the chair)."""
    return recusal.against_id == hearing.chair_id


def request(*, db: Session, hearing: Hearing, against_id: int, requested_by: str, reason: str,
            actor_id: int | None) -> Recusal:
    """Record who asked for whose 回避 and why."""
    require_state(hearing, *OPEN_TO_RECUSAL)
    if against_id not in challenged(hearing):
        raise Invalid("error.recusal_against", field="against_id")
    who = (requested_by or "").strip()[:100]
    if not who:
        raise Invalid("error.recusal_requested_by", field="requested_by")
    recusal = Recusal(against_id=against_id, requested_by=who, reason=text(reason, "reason"), requested_at=now())
    hearing.recusals.append(recusal)
    db.flush()
    record(hearing, "recusal_requested", actor_id, db=db, recusal_id=recusal.id, against_id=against_id,
           requested_by=who, reason=recusal.reason)
    return recusal


def load(hearing: Hearing, recusal_id: int) -> Recusal:
    """A recusal of HEARING by id, or NotFound."""
    found = next((r for r in hearing.recusals if r.id == recusal_id), None)
    if found is None:
        raise NotFound("error.recusal_not_found", field="recusal_id", id=recusal_id)
    return found


def decide(*, db: Session, hearing: Hearing, recusal: Recusal, granted: bool, reason: str,
           actor_id: int | None) -> Recusal:
    """Grant or refuse, with a reason; a granted member withdraws, a granted chair or recorder must be replaced."""
    require_state(hearing, *OPEN_TO_RECUSAL)
    if recusal.granted is not None:
        raise Conflict("error.recusal_decided", field="recusal_id")
    recusal.granted, recusal.decision_reason = granted, text(reason, "reason")
    recusal.decided_by, recusal.decided_at = actor_id, now()
    if granted:
        for member in hearing.panel:
            if member.person_id == recusal.against_id:
                member.withdrawn = True
        if hearing.chair_id == recusal.against_id:
            hearing.chair_id = None
        if hearing.recorder_id == recusal.against_id:
            hearing.recorder_id = None
    db.flush()
    record(hearing, "recusal_decided", actor_id, db=db, recusal_id=recusal.id, against_id=recusal.against_id,
           granted=granted, reason=recusal.decision_reason)
    return recusal
