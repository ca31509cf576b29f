"""The monthly figures of closed months, materialised (issue 16): counts per unit, and the months to recompute."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Connection, Date, Integer, String, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from vreception.clock import now
from vreception.db import Base, UTCDateTime


class MonthlyFigure(Base):
    """The cases of one outcome of one figure in one month, of matters handled by one node, rated on one unit."""

    __tablename__ = "monthly_figures"

    window_days: Mapped[int] = mapped_column(Integer, primary_key=True)  # the rating window the month was counted with
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day
    handling_node_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # whose subtree the cases belong to
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # who is rated (a transferring office may differ)
    figure: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    good: Mapped[int] = mapped_column(Integer)  # of N, in the numerator
    counted: Mapped[int] = mapped_column(Integer)  # of N, in the denominator


class FigureMonth(Base):
    """A closed month whose figures are materialised for a rating window."""

    __tablename__ = "figure_months"

    window_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    complete: Mapped[bool] = mapped_column(Boolean)  # its unrated part stored too (its last rating window ended)


class StaleFigure(Base):
    """A month of one handling node changed by a late event: its materialised figures are recomputed on next read."""

    __tablename__ = "stale_figures"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    handling_node_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- the stale marks: a flush that changes a matter of an ended month marks that month of its handling node ---

SERVED_REACH = timedelta(days=62)  # an unrated matter counts in the month its rating window ends (≤ 60 days on)
MARGIN = timedelta(days=1)  # months are local; marking both sides of a UTC instant covers any time zone


def _month(day: date) -> date:
    return day.replace(day=1)


def _months_around(moment: datetime | None, reach: timedelta = timedelta(0)) -> set[date]:
    if moment is None:
        return set()
    first, last = (moment - MARGIN).date(), (moment + reach + MARGIN).date()
    out, month = set(), _month(first)
    while month <= last:
        out.add(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def _history(obj: object, name: str) -> list[Any]:
    """The attribute's current value and the one it had before this flush."""
    state = inspect(obj).attrs[name].history
    return [v for v in (*state.added, *state.unchanged, *state.deleted) if v is not None]


def mark_stale(connection: Connection, pairs: Iterable[tuple[date, int | None]], *, at: datetime) -> None:
    """Mark each (month, handling node) of PAIRS to be counted again; months not stored yet need no mark."""
    wanted = {(_month(month), node_id) for month, node_id in pairs if node_id is not None}
    if not wanted:
        return
    stored = {m for (m,) in connection.execute(select(FigureMonth.month).where(
        FigureMonth.month.in_({m for m, _ in wanted}))).all()}
    rows = [{"month": m, "handling_node_id": n, "marked_at": at} for m, n in sorted(wanted) if m in stored]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    statement = upsert(StaleFigure)
    connection.execute(statement.on_conflict_do_update(index_elements=["month", "handling_node_id"],
                                                       set_={"marked_at": statement.excluded.marked_at}), rows)


def _changed_matters(cutoff: date, *, db: Session) -> tuple[set[tuple[date, int]], set[int]]:
    """The (month, node) pairs the flushed objects name directly, and the matters whose deadlines to look up."""
    from vreception.models.cases import Deadline, Matter, RepeatLink

    pairs: set[tuple[date, int]] = set()
    matters: set[int] = set()
    for obj in (*db.new, *db.dirty, *db.deleted):
        if isinstance(obj, Matter):
            registered = obj.registered_at or obj.received_at
            if registered is not None and registered.date() >= cutoff + MARGIN:
                continue  # a matter of the current month touches no ended month
            months = set()
            for name in ("registered_at", "rated_at", "review_requested_at", "received_at"):
                for value in _history(obj, name):
                    months |= _months_around(value)
            for value in _history(obj, "served_at"):
                months |= _months_around(value, SERVED_REACH)
            for node_id in _history(obj, "handling_node_id"):
                pairs |= {(m, node_id) for m in months if m < cutoff}
            if obj.id is not None:
                matters.add(obj.id)
        elif isinstance(obj, Deadline):
            days = [d for d in _history(obj, "due_day") if _month(d) < cutoff]
            if days and obj.matter_id is not None:
                matters.add(obj.matter_id)
        elif isinstance(obj, RepeatLink):
            matters |= {m for m in (obj.matter_id, obj.earlier_id) if m is not None}
    return pairs, matters


def _after_flush(db: Session, _context: object) -> None:
    from vreception.models.cases import Deadline, Matter

    moment = now()
    cutoff = _month((moment + MARGIN).date())
    pairs, matters = _changed_matters(cutoff, db=db)
    if not pairs and not matters:
        return
    connection = db.connection()
    if matters:
        # Every ended month a deadline of these matters falls in, for the node that handles the matter now.
        found = connection.execute(select(Deadline.due_day, Matter.handling_node_id)
                                   .join(Matter, Matter.id == Deadline.matter_id)
                                   .where(Deadline.matter_id.in_(sorted(matters)),
                                          Deadline.due_day < cutoff)).all()
        pairs |= {(_month(day), node_id) for day, node_id in found}
    mark_stale(connection, pairs, at=moment)


event.listen(Session, "after_flush", _after_flush)
