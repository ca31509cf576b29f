"""A reception session's state changes: the state, its claims, its history and the audit log move together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from scheduling import claims
from scheduling.policy import Policy
from scheduling.states import ENDING
from vreception import audit
from vreception.hearings import clock as hearing_clock
from vreception.models.scheduling import ReceptionSession, SessionEvent, SessionKind, SessionState

# The history has always named the booking side's changes by the state; calls write "state:<new>",
# which the dashboard reads ("state:open").
_HISTORY = {SessionState.cancelled: "cancelled", SessionState.no_show: "no_show"}


def history_action(state: SessionState) -> str:
    """The SessionEvent action recorded when a session enters STATE."""
    return _HISTORY.get(state, f"state:{state.value}")


def change_state(*, db: Session, booking: ReceptionSession, to: SessionState, at: datetime,
                 policy: Policy | None = None, actor_id: int | None = None, reason: str = "",
                 data: dict[str, Any] | None = None) -> bool:
    """Move BOOKING to state TO at AT: free its time, write its history and audit it; False if it was there already."""
    old = booking.state
    if old is to:
        return False
    if to is SessionState.cancelled:
        # It never took place: all of its time is free again, past quanta included.
        claims.release(db=db, booking=booking)
    elif to in ENDING:
        if policy is None:
            raise TypeError(f"moving a session to {to.value} needs the booking policy (its claim quantum)")
        # What is left of the booked time is free again for the leader, the rooms and the people.
        claims.release_from(db=db, booking=booking, moment=at, policy=policy)
    booking.state = to
    db.add(SessionEvent(session_id=booking.id, at=at, actor_id=actor_id, action=history_action(to),
                        starts_at=booking.starts_at, ends_at=booking.ends_at, reason=reason))
    db.flush()
    audit.record(db=db, action=f"session.{to.value}", entity_type="session", entity_id=booking.id, actor_id=actor_id,
                 data={"from": old.value, "to": to.value, **(data or {})})
    if booking.kind is SessionKind.hearing:
        _hearing_follows(booking, to, at, policy, db=db)
    return True


def _hearing_follows(booking: ReceptionSession, to: SessionState, at: datetime, policy: Policy | None,
                     *, db: Session) -> None:
    # The hearing session's actual start and end drive the hearing and the 复核 clock, never typed dates.
    if to is SessionState.live:
        hearing_clock.session_live(db=db, session_id=booking.id, at=at)
    elif to is SessionState.ended:
        assert policy is not None  # required above for every ending state
        hearing_clock.session_ended(db=db, session_id=booking.id, at=at, conclusion_days=policy.hearing_conclusion_days,
                                    moves_off_holidays=policy.deadline_moves_off_holidays)
    elif to in (SessionState.cancelled, SessionState.no_show):
        hearing_clock.session_called_off(db=db, session_id=booking.id)
