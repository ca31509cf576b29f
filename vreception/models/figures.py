"""The monthly figures materialised (issue 16): counts per unit of ended months and of the current month's finished
days, and the months to recompute."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    """A month whose figures are materialised for a rating window: an ended month whole, or the current month's
    finished days (THROUGH, the last of them)."""

    __tablename__ = "figure_months"

    window_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    complete: Mapped[bool] = mapped_column(Boolean)  # its unrated part stored too (its last rating window ended)
    through: Mapped[date | None] = mapped_column(Date, nullable=True)  # None: the whole month; else its days to this


class StaleFigure(Base):
    """A month of one handling node changed by a late event: its materialised figures are recomputed on next read."""

    __tablename__ = "stale_figures"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    handling_node_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RegistrationCount(Base):
    """Matters registered in one ended month handled by one node: by channel (KIND "channel"), or distinct matters by
    demand category (KIND "category")."""

    __tablename__ = "registration_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day
    handling_node_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # the channel or the category code
    n: Mapped[int] = mapped_column(Integer)


class RegistrationMonth(Base):
    """An ended month whose registration counts are stored (registration_counts)."""

    __tablename__ = "registration_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaleRegistration(Base):
    """A stored month of one handling node whose registration counts a late change moved: counted again on next read.
    Apart from stale_figures, whose marks the rates' recount answers and removes."""

    __tablename__ = "stale_registrations"

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
    _write_marks(connection, StaleFigure, {(m, n) for m, n in wanted if m in stored}, at=at)


def _write_marks(connection: Connection, marks: Any, pairs: set[tuple[date, int]], *, at: datetime) -> None:
    """The marks (model MARKS) of PAIRS written, or their time moved to AT."""
    rows = [{"month": m, "handling_node_id": n, "marked_at": at} for m, n in sorted(pairs)]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    statement = upsert(marks)
    connection.execute(statement.on_conflict_do_update(index_elements=["month", "handling_node_id"],
                                                       set_={"marked_at": statement.excluded.marked_at}), rows)


# What a matter's or a deadline's figures are counted from (vreception.cases.rates): a change of anything else (a
# matter's state, a deadline's extension days …) leaves the current month's finished days as they were stored.
MATTER_COUNTED = ("handling_node_id", "handling_path", "outcome", "possible_repeat", "registered_at", "served_at",
                  "rated_at", "rating", "review_requested_at")
DEADLINE_COUNTED = ("matter_id", "kind", "due_day", "state", "done_at")


# The deadlines' calendar day of an instant (vreception.cases.deadlines.local_day, which imports the models and so is
# handed in by vreception.cases.monthly_figures). Until then a day is bounded a day either side of UTC, which marks
# more than it must, never less.
_local_day: Callable[[datetime], date] | None = None


def use_local_day(local_day: Callable[[datetime], date]) -> None:
    """The deadlines' calendar day of an instant, for the current month's marks."""
    global _local_day
    _local_day = local_day


def _day_bounds(moment: datetime) -> tuple[date, date]:
    """The earliest and the latest the local day of MOMENT may be."""
    if _local_day is not None:
        day = _local_day(moment)
        return day, day
    return (moment - MARGIN).date(), (moment + MARGIN).date()


def _counted_changed(obj: object, names: tuple[str, ...], *, db: Session) -> bool:
    if obj in db.new or obj in db.deleted:
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _changed_matters(cutoff: date, today: date, *, db: Session
                     ) -> tuple[set[tuple[date, int]], set[int], set[int], dict[int, set[int]], set[int]]:
    """The (month, node) pairs the flushed objects name directly, and the matters whose deadlines to look up: those
    of ended months (before CUTOFF), and of the current month's days before TODAY (stored as they end)."""
    from vreception.models.cases import Deadline, Matter, RepeatLink

    current = _month(today)

    def finished(first: datetime, last: datetime) -> bool:
        """The local days from FIRST to LAST meet the current month's finished days."""
        return _day_bounds(first)[0] < today and _day_bounds(last)[1] >= current

    pairs: set[tuple[date, int]] = set()
    ended: set[int] = set()
    this_month: set[int] = set()
    nodes: dict[int, set[int]] = {}  # the handling nodes a matter had before this flush too
    linked: set[int] = set()  # matters linked as repeats: their registrations count as repeat petitions
    for obj in (*db.new, *db.dirty, *db.deleted):
        if isinstance(obj, Matter):
            registered = obj.registered_at or obj.received_at
            if registered is not None and _day_bounds(registered)[0] >= today and registered.date() >= cutoff + MARGIN:
                continue  # a matter of today touches no ended month and no finished day
            months, touched = set(), False
            counted = _counted_changed(obj, MATTER_COUNTED, db=db)
            for name in ("registered_at", "rated_at", "review_requested_at", "received_at"):
                for value in _history(obj, name):
                    months |= _months_around(value)
                    touched = touched or (counted and finished(value, value))
            for value in _history(obj, "served_at"):
                months |= _months_around(value, SERVED_REACH)
                touched = touched or (counted and finished(value, value + SERVED_REACH))
            for node_id in _history(obj, "handling_node_id"):
                pairs |= {(m, node_id) for m in months if m < cutoff}
                pairs |= {(current, node_id)} if touched else set()
            if obj.id is not None:
                ended.add(obj.id)
                nodes[obj.id] = set(_history(obj, "handling_node_id"))
                if counted:
                    this_month.add(obj.id)
        elif isinstance(obj, Deadline):
            days = _history(obj, "due_day")
            if obj.matter_id is not None and any(_month(d) < cutoff for d in days):
                ended.add(obj.matter_id)
            if obj.matter_id is not None and any(current <= d < today for d in days) and _counted_changed(
                    obj, DEADLINE_COUNTED, db=db):
                this_month.add(obj.matter_id)
        elif isinstance(obj, RepeatLink):
            ended |= {m for m in (obj.matter_id, obj.earlier_id) if m is not None}
            this_month |= {m for m in (obj.matter_id, obj.earlier_id) if m is not None}
            linked |= {obj.matter_id} if obj.matter_id is not None else set()
    return pairs, ended, this_month, nodes, linked


def _after_flush(db: Session, _context: object) -> None:
    from vreception.models.cases import Deadline, Matter

    moment = now()
    # TODAY: the latest the local day may be (its month the current one; a month before it has ended and is marked
    # as such): a day before it has ended.
    cutoff, today = _month((moment + MARGIN).date()), _day_bounds(moment)[1]
    current = _month(today)
    pairs, ended, this_month, nodes, linked = _changed_matters(cutoff, today, db=db)
    matters = ended | this_month
    if not pairs and not matters:
        return
    connection = db.connection()
    if matters:
        # Every ended month a deadline of these matters falls in, and the current month if one falls on a finished
        # day of it, for the node that handles the matter now.
        found = connection.execute(select(Deadline.matter_id, Deadline.due_day, Matter.handling_node_id)
                                   .join(Matter, Matter.id == Deadline.matter_id)
                                   .where(Deadline.matter_id.in_(sorted(matters)),
                                          Deadline.due_day < max(cutoff, today))).all()
        pairs |= {(_month(day), node) for matter_id, day, node_id in found
                  if (matter_id in ended and _month(day) < cutoff)
                  or (matter_id in this_month and current <= day < today)
                  for node in {node_id, *nodes.get(matter_id, ())}}
    if linked:
        for registered, node_id in connection.execute(select(Matter.registered_at, Matter.handling_node_id)
                                                      .where(Matter.id.in_(sorted(linked)))):
            pairs |= {(m, node_id) for m in _months_around(registered) if m < cutoff}
            low, high = _day_bounds(registered)
            pairs |= {(current, node_id)} if low < today and high >= current else set()
    mark_stale(connection, pairs, at=moment)


event.listen(Session, "after_flush", _after_flush)


# --- the registration counts' marks: a matter of a stored month moved, deleted or its demands changed ---

MATTER_REGISTRATION = ("registered_at", "handling_node_id", "channel")
DEMAND_REGISTRATION = ("matter_id", "category")


def _local_months(moment: datetime) -> set[date]:
    """The months the local day of MOMENT may fall in."""
    low, high = _day_bounds(moment)
    return {_month(low), _month(high)}


def _mark_registrations(session: Session, _context: object) -> None:
    """Mark (month, handling node) of the stored registration counts a flushed matter or demand changes: a matter's
    node, channel or registration time (old and new), a matter deleted, a demand added, removed or recategorised."""
    from sqlalchemy.orm.util import identity_key

    from vreception.models.cases import Demand, Matter

    moment = now()
    current = _month(_day_bounds(moment)[1])  # the latest the current month may be: the months before it may be stored
    pairs: set[tuple[date, int]] = set()
    looked_up: set[int] = set()  # matters whose registration and node to read (after this flush)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Matter):
            if not _counted_changed(obj, MATTER_REGISTRATION, db=session):
                continue
            state = inspect(obj)
            registered = _history(obj, "registered_at")
            if {"registered_at", "handling_node_id"} & state.unloaded and obj.id is not None:
                looked_up.add(obj.id)
            months = {m for value in registered for m in _local_months(value) if m < current}
            pairs |= {(m, node_id) for m in months for node_id in _history(obj, "handling_node_id")}
        elif isinstance(obj, Demand) and obj.matter_id is not None:
            if _counted_changed(obj, DEMAND_REGISTRATION, db=session):
                matter_ids = set(_history(obj, "matter_id"))
                for matter_id in matter_ids:
                    loaded = session.identity_map.get(identity_key(Matter, matter_id))
                    if isinstance(loaded, Matter) and not {"registered_at", "handling_node_id"} & inspect(
                            loaded).unloaded:
                        months = {m for value in _history(loaded, "registered_at") for m in _local_months(value)
                                  if m < current}
                        pairs |= {(m, node) for m in months for node in _history(loaded, "handling_node_id")}
                    else:
                        looked_up.add(matter_id)
    if not pairs and not looked_up:
        return
    # Months not stored need no mark: when none is (a loader of past matters), nothing more to read.
    connection = session.connection()
    stored = set(connection.scalars(select(RegistrationMonth.month).where(RegistrationMonth.month < current)))
    if not stored:
        return
    if looked_up:
        for at, node_id in connection.execute(select(Matter.registered_at, Matter.handling_node_id)
                                              .where(Matter.id.in_(sorted(looked_up)))):
            pairs |= {(m, node_id) for m in (_local_months(at) if at is not None else ()) if m < current}
    _write_marks(connection, StaleRegistration, {(m, n) for m, n in pairs if m in stored}, at=moment)


event.listen(Session, "after_flush", _mark_registrations)
