"""The video receptions of ended months (issue 16), stored per leader and the leader's node path: sessions held,
persons present, no-shows, cancelled and pending, by the month of the session's local start day; a reader of ended
months sums the stored rows of its subtree in one grouped query.

A month is counted on its first read after it ended (or by the month-end job, store_ended). A late change that moves
its counts (a session added, deleted, rescheduled, handed to another leader or given another state; a participant of
the group added, removed, given another role or moved) marks that month stale (stale_session_months, by the flush hook
in vreception.models.session_figures); the next read or run of the job counts the whole month again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from scheduling.rules import GROUP_ROLES
from vreception.cases import rates
from vreception.cases.deadlines import end_of_day, local_day, zone
from vreception.clock import now
from vreception.db import one_writer
from vreception.models.figures import use_local_day
from vreception.models.scheduling import Participant, ReceptionSession, SessionState
from vreception.models.session_figures import SessionCount, SessionMonth, StaleSessionMonth, use_group_roles

use_local_day(local_day)  # the marks take the months of a session's local start day
use_group_roles(GROUP_ROLES)  # a participant of another role marks nothing
LOCK_KEY = 0x16F18  # the advisory lock of the writers of stored session counts (PostgreSQL)
OUTCOMES = ("held", "persons", "no_show", "cancelled", "pending")
Tally = tuple[int, int, int, int, int]  # the OUTCOMES in order


def first_of(month: date) -> date:
    return month.replace(day=1)


def ended(month: date, today: date) -> bool:
    """MONTH's last day is before TODAY."""
    return rates.month_bounds(month)[1] < today


def month_start(month: date) -> datetime:
    """The first instant of MONTH (local time)."""
    return datetime.combine(first_of(month), time.min, zone())


def month_end(month: date) -> datetime:
    """The last instant of MONTH (local time)."""
    return end_of_day(rates.month_bounds(month)[1])


def following(month: date) -> date:
    return (first_of(month) + timedelta(days=32)).replace(day=1)


def whole_months(start: datetime, end: datetime) -> list[date] | None:
    """The months [START, END] spans exactly (from the first instant of one to the last of another), else None."""
    if start.tzinfo is None or end.tzinfo is None or end < start:
        return None
    first, last = first_of(local_day(start)), first_of(local_day(end))
    if start != month_start(first) or end != month_end(last):
        return None
    months = [first]
    while months[-1] < last:
        months.append(following(months[-1]))
    return months


def month_edges(bounds: Sequence[datetime]) -> list[date] | None:
    """The consecutive months whose first instants BOUNDS are (the last bound closing the last month), else None."""
    if len(bounds) < 2 or any(b.tzinfo is None for b in bounds):
        return None
    months = [first_of(local_day(b)) for b in bounds]
    if any(b != month_start(m) for b, m in zip(bounds, months, strict=True)):
        return None
    if any(later != following(month) for month, later in zip(months, months[1:], strict=False)):
        return None
    return months[:-1]


def ended_part(months: Sequence[date], *, at: datetime | None = None) -> list[date]:
    """Those of MONTHS that have ended at AT (now by default)."""
    today = local_day(at or now())
    return [m for m in months if ended(m, today)]


def _counted(month: date, *, db: Session) -> list[dict[str, object]]:
    """The sessions of MONTH per leader and node path, by outcome (two grouped counts)."""
    inside = (ReceptionSession.starts_at >= month_start(month), ReceptionSession.starts_at <= month_end(month))
    tallies: dict[tuple[int, str], dict[str, int]] = {}
    columns = {SessionState.ended: "held", SessionState.no_show: "no_show", SessionState.cancelled: "cancelled"}
    for leader_id, path, state, n in db.execute(
            select(ReceptionSession.leader_id, ReceptionSession.node_path, ReceptionSession.state, func.count())
            .where(*inside)
            .group_by(ReceptionSession.leader_id, ReceptionSession.node_path, ReceptionSession.state)):
        entry = tallies.setdefault((leader_id, path), dict.fromkeys(OUTCOMES, 0))
        entry[columns.get(SessionState(state), "pending")] += int(n)
    for leader_id, path, n in db.execute(
            select(ReceptionSession.leader_id, ReceptionSession.node_path, func.count(Participant.id))
            .join(Participant, Participant.session_id == ReceptionSession.id)
            .where(*inside, ReceptionSession.state == SessionState.ended, Participant.role.in_(GROUP_ROLES))
            .group_by(ReceptionSession.leader_id, ReceptionSession.node_path)):
        tallies.setdefault((leader_id, path), dict.fromkeys(OUTCOMES, 0))["persons"] += int(n)
    return [{"month": month, "leader_id": leader_id, "node_path": path, **entry}
            for (leader_id, path), entry in sorted(tallies.items())]


def _store(month: date, began: datetime, *, answered: datetime, new: bool, db: Session) -> None:
    """MONTH counted and stored as of BEGAN; its mark made by ANSWERED answered."""
    db.execute(delete(SessionCount).where(SessionCount.month == month))
    rows = _counted(month, db=db)
    for start in range(0, len(rows), 1000):
        db.execute(insert(SessionCount), rows[start:start + 1000])
    if new:
        db.add(SessionMonth(month=month, computed_at=began))
    else:
        db.execute(update(SessionMonth).where(SessionMonth.month == month).values(computed_at=began))
    db.execute(delete(StaleSessionMonth).where(StaleSessionMonth.month == month,
                                               StaleSessionMonth.marked_at <= answered))
    db.flush()


def _state(months: Sequence[date], *, db: Session) -> tuple[set[date], dict[date, datetime]]:
    """Of MONTHS, those stored, and the marks of those of them marked stale (one statement)."""
    found = db.execute(select(SessionMonth.month, StaleSessionMonth.marked_at)
                       .outerjoin(StaleSessionMonth, StaleSessionMonth.month == SessionMonth.month)
                       .where(SessionMonth.month.in_(months))).all()
    return {month for month, _ in found}, {month: marked for month, marked in found if marked is not None}


def ensure(months: Sequence[date], *, db: Session) -> int:
    """Each of the ended MONTHS stored, those marked stale counted again; how many months were counted. One statement
    when nothing is to be done."""
    months = sorted({first_of(m) for m in months})
    stored, stale = _state(months, db=db)
    if len(stored) == len(months) and not stale:
        return 0
    # One writer at a time (readers, the month-end job, other processes): the others wait, then find it stored.
    if one_writer(LOCK_KEY, db=db):
        stored, stale = _state(months, db=db)
    began, counted, new = now(), 0, False
    for month in months:
        if month not in stored:
            _store(month, began, answered=began, new=True, db=db)
            counted, new = counted + 1, True
        elif month in stale:
            # Only the marks read are answered: a change committed after them is seen by the next read.
            _store(month, began, answered=stale[month], new=False, db=db)
            counted += 1
    if new and db.get_bind().dialect.name == "postgresql":
        # The planner's statistics of the stored rows, as for registration_counts: else planned for a handful of rows.
        db.execute(text("ANALYZE session_counts"))
    return counted


def _subtree(path: str) -> ColumnElement[bool]:
    return SessionCount.node_path.startswith(path, autoescape=True)


def by_leader(*, db: Session, months: Sequence[date], path: str) -> dict[int, Tally]:
    """The stored sessions of the ended MONTHS (stored first if need be) of the leaders in the subtree PATH, summed over
    the months, per leader."""
    months = sorted({first_of(m) for m in months})
    if not months:
        return {}
    ensure(months, db=db)
    sums = [func.sum(getattr(SessionCount, name)) for name in OUTCOMES]
    query = (select(SessionCount.leader_id, *sums).where(SessionCount.month.in_(months), _subtree(path))
             .group_by(SessionCount.leader_id))
    return {leader_id: (int(held), int(persons), int(no_show), int(cancelled), int(pending))
            for leader_id, held, persons, no_show, cancelled, pending in db.execute(query)}


def held_by_month(*, db: Session, months: Sequence[date], path: str) -> dict[date, int]:
    """The stored sessions held in each of the ended MONTHS (stored first if need be) in the subtree PATH."""
    months = sorted({first_of(m) for m in months})
    if not months:
        return {}
    ensure(months, db=db)
    query = (select(SessionCount.month, func.sum(SessionCount.held))
             .where(SessionCount.month.in_(months), _subtree(path)).group_by(SessionCount.month))
    return {month: int(n) for month, n in db.execute(query)}


def store_ended(*, db: Session, at: datetime) -> int:
    """The month-end job: the month just ended stored, and every stored month marked stale counted again; how many
    months were counted (0 when nothing changed)."""
    this_month = first_of(local_day(at))
    months = {first_of(this_month - timedelta(days=1))}
    months |= {m for m in db.scalars(select(StaleSessionMonth.month)) if m < this_month}
    return ensure(sorted(months), db=db)


__all__ = ["OUTCOMES", "by_leader", "ended", "ended_part", "ensure", "held_by_month", "month_edges", "store_ended",
           "whole_months"]
