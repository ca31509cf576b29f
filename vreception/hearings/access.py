"""Who may see a hearing, run its procedure, decide its 回避, read the panel's opinions and keep a roster."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception.auth.access import Principal, covers, require
from vreception.cases import access as matters
from vreception.errors import Forbidden
from vreception.hearings import procedure, recusals
from vreception.models import Matter, Node, Role
from vreception.models.hearings import Hearing, HearingStage, Recusal

OFFICE = (Role.coordinator,)
ROSTER_KEEPERS = (Role.coordinator,)  # an admin counts as every role


def sits_on(hearing: Hearing, person_id: int) -> bool:
    """Whether the person chairs, records or sits on the panel of HEARING (withdrawn members no longer do)."""
    return person_id in (hearing.chair_id, hearing.recorder_id) or any(
        m.person_id == person_id and not m.withdrawn for m in hearing.panel)


def can_see(principal: Principal, hearing: Hearing, *, db: Session) -> bool:
    """Readers of the matter, and the hearing's chair, recorder and panel members."""
    return sits_on(hearing, principal.person_id) or matters.can_read(principal, procedure.matter_of(hearing, db=db), db=db)


def load_visible(principal: Principal, hearing_id: int, *, db: Session, lock: bool = False) -> Hearing:
    """The hearing if the principal may see it; NotFound or Forbidden otherwise."""
    hearing = procedure.load(hearing_id, db=db, lock=lock)
    if not can_see(principal, hearing, db=db):
        raise Forbidden()
    return hearing


def _runs(principal: Principal, body: Node, stage: HearingStage | None) -> bool:
    if stage is HearingStage.recheck:
        # The 复核 body's own coordinators, as for its 复核 decision (cases.access.REVIEWING_ACTIONS): not the
        # bodies whose decisions it reviews, nor one above it deciding in its stead.
        return any(s.role in OFFICE and s.node_id == body.id for s in principal.scopes)
    return covers(principal, body, OFFICE)


def may_propose(principal: Principal, matter: Matter, *, db: Session) -> bool:
    """Whether the principal's office may record a request for a hearing on the matter, or propose one, now."""
    return _runs(principal, procedure.body_for(matter, db=db), procedure.STAGES.get(matter.state))


def require_office(principal: Principal, matter: Matter, *, db: Session) -> None:
    """Forbidden unless the principal's office holds a hearing on the matter now (the body holding it)."""
    if not may_propose(principal, matter, db=db):
        raise Forbidden()


def runs(principal: Principal, hearing: Hearing, *, db: Session) -> bool:
    """Whether the principal's office runs HEARING: the body that held the matter when it was asked for."""
    return _runs(principal, procedure.body_of(hearing, db=db), hearing.stage)


def require_runs(principal: Principal, hearing: Hearing, *, db: Session) -> None:
    """Forbidden unless the principal's office runs HEARING."""
    if not runs(principal, hearing, db=db):
        raise Forbidden()


def load_for_office(principal: Principal, hearing_id: int, *, db: Session) -> Hearing:
    """The hearing, locked, if the principal's office runs it; NotFound or Forbidden otherwise."""
    hearing = load_visible(principal, hearing_id, db=db, lock=True)
    require_runs(principal, hearing, db=db)
    return hearing


def require_recusal_decider(principal: Principal, hearing: Hearing, recusal: Recusal, *, db: Session) -> None:
    """The chair decides a 回避 request; one against the chair is the office's to decide."""
    if recusals.against_chair(hearing, recusal) or hearing.chair_id is None:
        require_runs(principal, hearing, db=db)
    elif principal.person_id != hearing.chair_id:
        raise Forbidden()


def decides_recusal(principal: Principal, hearing: Hearing, recusal: Recusal, *, db: Session) -> bool:
    """Whether the principal decides RECUSAL (the same rule as require_recusal_decider)."""
    try:
        require_recusal_decider(principal, hearing, recusal, db=db)
    except Forbidden:
        return False
    return True


def require_recusal_recorder(principal: Principal, hearing: Hearing, *, db: Session) -> None:
    """A 回避 request is written down by the office or by the chair."""
    if principal.person_id != hearing.chair_id:
        require_runs(principal, hearing, db=db)


def require_opinion_reader(principal: Principal, hearing: Hearing) -> None:
    """The panel's opinions beside the video are for the chair and the recorder only."""
    # Opinions are the panel's deliberation: beyond the chair and the recorder, not even the office reads them here.
    if principal.person_id not in (hearing.chair_id, hearing.recorder_id):
        raise Forbidden()


def require_roster_keeper(principal: Principal, node: Node) -> None:
    """Coordinators over the node's subtree (and admins) keep its roster."""
    require(principal, node, ROSTER_KEEPERS)


def keeps_roster(principal: Principal, node: Node) -> bool:
    """Whether the principal keeps the roster of NODE."""
    return covers(principal, node, ROSTER_KEEPERS)
