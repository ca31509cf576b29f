"""The matters registered in ended months (issue 16), stored per handling node: by channel, and distinct matters by
demand category; a reader of ended months sums the stored rows of its subtree in one grouped query.

A month is counted for every node on its first read after it ended (or by the month-end job, store_ended). A late
change that moves its counts (a matter transferred, deleted or registered at another time, a demand added, removed or
recategorised) marks that month of the matter's handling nodes stale (stale_registrations, by the flush hook in
vreception.models.figures); the next read or run of the job counts those nodes of that month again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, text, true
from sqlalchemy.orm import Session

from vreception.cases import rates
from vreception.cases.deadlines import end_of_day, local_day, zone
from vreception.clock import now
from vreception.db import one_writer
from vreception.models import Demand, Matter, Node
from vreception.models.figures import RegistrationCount, RegistrationMonth, StaleRegistration, use_local_day

use_local_day(local_day)  # the marks take the months of a matter's local registration day
LOCK_KEY = 0x16F17  # the advisory lock of the writers of stored registration counts (PostgreSQL)
CHANNEL, CATEGORY = "channel", "category"


def first_of(month: date) -> date:
    return month.replace(day=1)


def ended(month: date, today: date) -> bool:
    """MONTH's last day is before TODAY."""
    return rates.month_bounds(month)[1] < today


def _counted(month: date, within: ColumnElement[bool], *, db: Session) -> list[dict[str, object]]:
    """The registrations of MONTH of the matters WITHIN, per handling node: by channel, and (a matter with two demands
    of one category counted once in it) by category."""
    start, end = datetime.combine(month, time.min, zone()), end_of_day(rates.month_bounds(month)[1])
    registered = (Matter.registered_at >= start) & (Matter.registered_at <= end) & within
    rows: list[dict[str, object]] = [
        {"month": month, "handling_node_id": node_id, "kind": CHANNEL, "name": getattr(channel, "value", channel),
         "n": int(n)}
        for node_id, channel, n in db.execute(select(Matter.handling_node_id, Matter.channel, func.count())
                                              .where(registered).group_by(Matter.handling_node_id, Matter.channel))]
    rows += [{"month": month, "handling_node_id": node_id, "kind": CATEGORY, "name": category, "n": int(n)}
             for node_id, category, n in db.execute(
                 select(Matter.handling_node_id, Demand.category, func.count(func.distinct(Matter.id)))
                 .join(Demand, Demand.matter_id == Matter.id)
                 .where(registered).group_by(Matter.handling_node_id, Demand.category))]
    return rows


def _store(rows: list[dict[str, object]], *, db: Session) -> None:
    for start in range(0, len(rows), 1000):
        db.execute(insert(RegistrationCount), rows[start:start + 1000])


def _materialise(month: date, began: datetime, *, db: Session) -> None:
    """MONTH counted for every node and stored; the marks made before BEGAN are answered."""
    db.execute(delete(RegistrationCount).where(RegistrationCount.month == month))
    _store(_counted(month, true(), db=db), db=db)
    db.add(RegistrationMonth(month=month, computed_at=began))
    db.execute(delete(StaleRegistration).where(StaleRegistration.month == month, StaleRegistration.marked_at <= began))
    db.flush()


def _refresh(month: date, marks: list[tuple[int, datetime]], *, db: Session) -> None:
    """The nodes of MONTH marked stale counted again (one grouped count for all of them)."""
    nodes = sorted({node_id for node_id, _ in marks})
    newest = max(marked for _, marked in marks)
    db.execute(delete(RegistrationCount).where(RegistrationCount.month == month,
                                               RegistrationCount.handling_node_id.in_(nodes)))
    _store(_counted(month, Matter.handling_node_id.in_(nodes), db=db), db=db)
    db.execute(delete(StaleRegistration).where(StaleRegistration.month == month,
                                               StaleRegistration.handling_node_id.in_(nodes),
                                               StaleRegistration.marked_at <= newest))
    db.flush()


def _state(months: Sequence[date], *, db: Session) -> tuple[set[date], set[date]]:
    """Of MONTHS, those stored, and those of them marked stale (one statement)."""
    marked = select(StaleRegistration.month).where(StaleRegistration.month == RegistrationMonth.month).exists()
    found = db.execute(select(RegistrationMonth.month, marked).where(RegistrationMonth.month.in_(months))).all()
    return {month for month, _ in found}, {month for month, stale in found if stale}


def ensure(months: Sequence[date], *, db: Session) -> int:
    """Each of the ended MONTHS stored, its nodes marked stale counted again; how many months were counted. One
    statement when nothing is to be done."""
    months = sorted({first_of(m) for m in months})
    stored, stale = _state(months, db=db)
    if len(stored) == len(months) and not stale:
        return 0
    # One writer at a time (readers, the month-end job, other processes): the others wait, then find it stored.
    if one_writer(LOCK_KEY, db=db):
        stored, stale = _state(months, db=db)
    marks: dict[date, list[tuple[int, datetime]]] = {}
    if stale:
        for month, node_id, marked in db.execute(select(StaleRegistration.month, StaleRegistration.handling_node_id,
                                                        StaleRegistration.marked_at)
                                                 .where(StaleRegistration.month.in_(sorted(stale)))):
            marks.setdefault(month, []).append((node_id, marked))
    began, counted, new = now(), 0, False
    for month in months:
        if month not in stored:
            _materialise(month, began, db=db)
            counted, new = counted + 1, True
        elif month in marks:
            _refresh(month, marks[month], db=db)
            counted += 1
    if new and db.get_bind().dialect.name == "postgresql":
        # The planner's statistics of the stored rows, as for monthly_figures: else planned for a handful of rows.
        db.execute(text("ANALYZE registration_counts"))
    return counted


def _subtree(paths: Sequence[str]) -> ColumnElement[bool]:
    return or_(*[Node.path.startswith(p, autoescape=True) for p in paths]) if paths else Node.id.is_(None)


def read(*, db: Session, months: Sequence[date], paths: Sequence[str]) -> list[tuple[int, str, str, int]]:
    """The stored registrations of the ended MONTHS (stored first if need be) of the nodes in the subtrees PATHS, summed
    over the months: (handling node, kind, channel or category, matters)."""
    months = sorted({first_of(m) for m in months})
    if not months:
        return []
    ensure(months, db=db)
    query = (select(RegistrationCount.handling_node_id, RegistrationCount.kind, RegistrationCount.name,
                    func.sum(RegistrationCount.n))
             .where(RegistrationCount.month.in_(months),
                    # The subtree's nodes first (a few thousand at most), then their rows, as monthly_figures reads.
                    RegistrationCount.handling_node_id.in_(select(Node.id).where(_subtree(paths))))
             .group_by(RegistrationCount.handling_node_id, RegistrationCount.kind, RegistrationCount.name))
    # Core rows, not the ORM's: a province's month is some 30,000 of them.
    return [(node_id, kind, name, int(n)) for node_id, kind, name, n in db.connection().execute(query)]


def store_ended(*, db: Session, at: datetime) -> int:
    """The month-end job: the month just ended stored, and every stored month marked stale counted again; how many
    months were counted (0 when nothing changed)."""
    this_month = first_of(local_day(at))
    months = {first_of(this_month - timedelta(days=1))}
    months |= {m for m in db.scalars(select(StaleRegistration.month).distinct()) if m < this_month}
    return ensure(sorted(months), db=db)


__all__ = ["CATEGORY", "CHANNEL", "ended", "ensure", "read", "store_ended"]
