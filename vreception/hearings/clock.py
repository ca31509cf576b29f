"""The hearing session's actual start and end: they stamp the hearing and keep its days out of the 复核 period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.cases import actions
from vreception.cases.deadlines import local_day
from vreception.hearings.procedure import S, matter_of, record
from vreception.models import MatterState
from vreception.models.hearings import Hearing, HearingStage


def of_session(session_id: int, *, db: Session) -> Hearing | None:
    """The hearing a session was booked for, if any."""
    return db.scalars(select(Hearing).where(Hearing.session_id == session_id)).first()


def session_live(*, db: Session, session_id: int, at: datetime) -> Hearing | None:
    """The hearing session went live: the hearing is in session; during 复核 the matter is in its hearing."""
    hearing = of_session(session_id, db=db)
    if hearing is None or hearing.state is not S.noticed:
        return hearing
    hearing.state, hearing.started_at = S.in_session, at
    matter = matter_of(hearing, db=db)
    if hearing.stage is HearingStage.recheck and matter.state is MatterState.recheck_requested:
        actions.act_by_hearing(db=db, matter=matter, action="start_hearing", at=at)
    db.flush()
    record(hearing, "started", None, db=db, session_id=session_id, at=at.isoformat())
    return hearing


def session_ended(*, db: Session, session_id: int, at: datetime, conclusion_days: int,
                  moves_off_holidays: bool = True) -> Hearing | None:
    """The hearing session ended: held, the conclusion falls due; during 复核 its days do not count."""
    hearing = of_session(session_id, db=db)
    if hearing is None or hearing.state is not S.in_session:
        return hearing
    hearing.state, hearing.ended_at = S.held, at
    hearing.conclusion_due = local_day(at) + timedelta(days=conclusion_days)
    matter = matter_of(hearing, db=db)
    if hearing.stage is HearingStage.recheck and matter.state is MatterState.hearing:
        before = matter.hearing_days
        actions.act_by_hearing(db=db, matter=matter, action="end_hearing", at=at, moves_off_holidays=moves_off_holidays)
        hearing.excluded_days = matter.hearing_days - before
    db.flush()
    record(hearing, "ended", None, db=db, session_id=session_id, at=at.isoformat(), excluded_days=hearing.excluded_days,
           conclusion_due=hearing.conclusion_due.isoformat())
    return hearing


def session_called_off(*, db: Session, session_id: int) -> Hearing | None:
    """The hearing session was cancelled or nobody came: the hearing is to be booked again."""
    hearing = of_session(session_id, db=db)
    if hearing is None or hearing.state is not S.noticed:
        return hearing
    hearing.state, hearing.session_id = S.decided, None
    db.flush()
    record(hearing, "session_called_off", None, db=db, session_id=session_id)
    return hearing
