"""Matter figures over a range of months (统计): the rates summed over months, matters registered by channel and
category, and deadlines overdue at the end of the range, per handling unit.

Rates over several months sum each month's numerators and denominators (rates.counted; ended months stored by
monthly_figures), never average the monthly rates; the registrations of ended months are stored too
(registration_counts). Everything is counted in SQL grouped by unit, bounded by the range; no matter is loaded as an object.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, func, select, true, union_all
from sqlalchemy.orm import Session

from vreception.cases import monthly_figures, rates, registration_counts
from vreception.cases.access import among
from vreception.cases.deadlines import end_of_day, local_day, zone
from vreception.cases.supervision import SUPERVISED
from vreception.clock import now
from vreception.errors import Invalid
from vreception.models import Deadline, DeadlineState, Demand, Matter, Node

MAX_MONTHS = 24
TREND_MONTHS = 12


def parse_month(text: str, *, field: str = "month") -> date:
    """The first day of month TEXT (YYYY-MM), or Invalid."""
    if not re.fullmatch(r"\d{4}-\d{2}", text or ""):
        raise Invalid("error.month_format", field=field)
    try:
        return date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise Invalid("error.month_format", field=field) from None


def shift(month: date, by: int) -> date:
    """The first day of the month BY months after MONTH (before it when negative)."""
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from FIRST to LAST inclusive; Invalid when LAST precedes FIRST or the range exceeds MAX_MONTHS."""
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count < 1:
        raise Invalid("statistics.error.range_order", field="to")
    if count > MAX_MONTHS:
        raise Invalid("statistics.error.range_long", field="to", max=MAX_MONTHS)
    return [shift(first, i) for i in range(count)]


def month_range(start: str | None, end: str | None, *, today: date | None = None) -> list[date]:
    """The months of a FROM–TO range (YYYY-MM each); either missing means the other's month, both missing this month."""
    this_month = (today or local_day(now())).replace(day=1)
    first = parse_month(start, field="from") if start else None
    last = parse_month(end, field="to") if end else None
    first = first or last or this_month
    return months_between(first, last or first)


def label(month: date) -> str:
    return month.strftime("%Y-%m")


def range_bounds(months: list[date]) -> tuple[datetime, datetime]:
    """The first instant of the first month and the last instant of the last month (local time)."""
    return datetime.combine(months[0], time.min, zone()), end_of_day(rates.month_bounds(months[-1])[1])


def summed_rates(*, db: Session, months: list[date], paths: list[str], rating_window_days: int = 30,
                 at: datetime | None = None) -> dict[int, rates.UnitRates]:
    """The figures of every unit over MONTHS in the subtrees PATHS: each month's numerators and denominators added up
    (ended months read from their stored counts, monthly_figures)."""
    return monthly_figures.summed(db=db, months=months, paths=paths, rating_window_days=rating_window_days, at=at)


def total(units: Iterable[rates.UnitRates], node_id: int = 0) -> rates.UnitRates:
    """UNITS' figures added into one."""
    out = rates.UnitRates(node_id)
    for unit in units:
        out.merge(unit)
    return out


@dataclass
class MatterCounts:
    """One unit's matters over a range: registered (by channel, by category) and deadlines overdue at its end."""

    registered: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    def merge(self, other: MatterCounts) -> None:
        self.registered += other.registered
        self.overdue += other.overdue
        for mine, theirs in ((self.by_channel, other.by_channel), (self.by_category, other.by_category)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n


def overdue_arms(last_day: date, at: datetime) -> list[ColumnElement[bool]]:
    """The supervised deadlines due by LAST_DAY (and before AT's day) not met by the end of LAST_DAY, as conditions
    an index serves each: those still open (the partial index of open deadlines) and those done after LAST_DAY (none
    until LAST_DAY has ended)."""
    end = end_of_day(last_day)
    due = Deadline.kind.in_(SUPERVISED) & (Deadline.due_day <= min(last_day, local_day(at) - timedelta(days=1)))
    arms: list[ColumnElement[bool]] = [due & (Deadline.state == DeadlineState.open)]
    if end < at:
        arms.append(due & Deadline.state.in_((DeadlineState.met, DeadlineState.missed)) & (Deadline.done_at > end))
    return arms


def _overdue_counts(arms: list[ColumnElement[bool]], within: ColumnElement[bool], by_key: bool, shared: bool, *,
                    db: Session) -> dict[int, int]:
    """How many deadlines ARMS finds overdue per handling node, of the matters WITHIN. SHARED (a read of now): the count
    made in this process less than monthly_figures.LIVE_SECONDS ago serves the summary and its overdue units alike."""
    overdue = _overdue(arms, within, by_key)
    query = select(overdue.c.handling_node_id, func.count()).group_by(overdue.c.handling_node_id)

    def count_in(session: Session) -> dict[int, int]:
        return {node_id: int(n) for node_id, n in session.execute(query)}

    if not shared:
        return count_in(db)
    # Past LIVE_SECONDS the kept count is served while a thread counts again: a province's overdue deadlines take
    # 450-600 ms at a million matters, which the reader who comes after the minute would otherwise wait for.
    return dict(monthly_figures.recent(("overdue", *_statement_key(query, db=db)), lambda: count_in(db), db=db,
                                       again=count_in))


def _statement_key(query: Select[Any], *, db: Session) -> tuple[Any, ...]:
    """What tells QUERY apart from other statements and parameters: SQLAlchemy's own cache key (as its caching
    example keys results), or the compiled SQL for a statement that has none."""
    # compiling the overdue count for its key took 1.5-2 ms on every read, served from the kept count or not
    cache_key = query._generate_cache_key()
    if cache_key is None:
        compiled = query.compile(dialect=db.get_bind().dialect)
        return str(compiled), repr(sorted(compiled.params.items()))
    return cache_key.key, repr([bind.effective_value for bind in cache_key.bindparams])


def _overdue(arms: list[ColumnElement[bool]], within: ColumnElement[bool], by_key: bool) -> Subquery:
    """The handling node of each deadline overdue by ARMS, of the matters WITHIN (BY_KEY, a broad subtree: its
    matters read by key from the deadlines found, rather than hashed whole)."""
    parts = [select(Matter.handling_node_id).select_from(Deadline).join(Matter, Deadline.matter_id == Matter.id)
             .where(arm, within, among(Matter.id, select(Deadline.matter_id).where(arm)) if by_key else true())
             for arm in arms]
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()


def matter_counts(*, db: Session, months: list[date], within: ColumnElement[bool], at: datetime | None = None,
                  by_key: bool = False, paths: Sequence[str] | None = None) -> dict[int, MatterCounts]:
    """Per handling unit over MONTHS: matters registered by channel and by demand category, deadlines overdue (BY_KEY:
    WITHIN is a province's or a city's subtree). PATHS (the subtrees WITHIN selects): the ended months' registrations
    read from their stored counts (registration_counts), only the others counted live."""
    moment = at or now()
    today = local_day(moment)
    ended = [m for m in months if paths is not None and registration_counts.ended(m, today)]
    units: dict[int, MatterCounts] = defaultdict(MatterCounts)
    for node_id, kind, name, n in registration_counts.read(db=db, months=ended, paths=paths or []) if ended else ():
        unit = units[node_id]
        tally = unit.by_channel if kind == registration_counts.CHANNEL else unit.by_category
        tally[name] = tally.get(name, 0) + n
        unit.registered += n if kind == registration_counts.CHANNEL else 0
    live = [m for m in months if m not in ended]  # the months after the ended ones: one range
    if live:
        for node_id, kind, name, n in _live_registrations(range_bounds(live), within, by_key and at is None,
                                                          paths, db=db):
            unit = units[node_id]
            tally = unit.by_channel if kind == registration_counts.CHANNEL else unit.by_category
            tally[name] = tally.get(name, 0) + n
            unit.registered += n if kind == registration_counts.CHANNEL else 0
    arms = overdue_arms(rates.month_bounds(months[-1])[1], moment)
    for node_id, n in _overdue_counts(arms, within, by_key, at is None, db=db).items():
        units[node_id].overdue = n
    return dict(units)


def _registered(bounds: tuple[datetime, datetime], within: ColumnElement[bool], *,
                db: Session) -> list[tuple[int, str, str, int]]:
    """The matters WITHIN registered within BOUNDS per handling node: by channel, and by demand category (a matter with
    two demands of one category counted once in it)."""
    registered = (Matter.registered_at >= bounds[0]) & (Matter.registered_at <= bounds[1]) & within
    rows = [(node_id, registration_counts.CHANNEL, getattr(channel, "value", channel), int(n))
            for node_id, channel, n in db.execute(select(Matter.handling_node_id, Matter.channel, func.count())
                                                  .where(registered).group_by(Matter.handling_node_id, Matter.channel))]
    rows += [(node_id, registration_counts.CATEGORY, category, int(n)) for node_id, category, n in db.execute(
        select(Matter.handling_node_id, Demand.category, func.count(func.distinct(Matter.id)))
        .join(Demand, Demand.matter_id == Matter.id)
        .where(registered).group_by(Matter.handling_node_id, Demand.category))]
    return rows


def _live_registrations(bounds: tuple[datetime, datetime], within: ColumnElement[bool], shared: bool,
                        paths: Sequence[str] | None, *, db: Session) -> list[tuple[int, str, str, int]]:
    """_registered(); SHARED (a read of now over a broad subtree, PATHS): the count of the last LIVE_SECONDS, its
    nodes changed by this process counted again, served past the minute while a thread counts it again, as the live
    rates are (a province's running month is some 80,000 matters joined to their demands: 140 ms at a million)."""
    if not shared or not paths:
        return _registered(bounds, within, db=db)
    key = ("registered", bounds[0].isoformat(), bounds[1].isoformat(), tuple(sorted(paths)))
    return list(monthly_figures.recent(
        key, lambda: _registered(bounds, within, db=db), db=db, at=0,
        part=lambda session, nodes: _registered(bounds, within & Matter.handling_node_id.in_(sorted(nodes)),
                                                db=session),
        again=lambda session: _registered(bounds, within, db=session)))


def month_starts(months: list[date]) -> list[datetime]:
    """The first instant (local time) of each of MONTHS and of the month after the last: the buckets' edges."""
    return [datetime.combine(m, time.min, zone()) for m in [*months, shift(months[-1], 1)]]


def children_of(parent: Node, *, db: Session) -> list[Node]:
    """The nodes directly under PARENT, by id."""
    return list(db.scalars(select(Node).where(Node.parent_id == parent.id).order_by(Node.id)))


def child_for(children: list[Node], node_ids: Iterable[int], *, db: Session) -> dict[int, int]:
    """Each of NODE_IDS mapped to the child (of CHILDREN) whose subtree holds it; nodes under none are left out."""
    wanted = set(node_ids)
    if not wanted or not children:
        return {}
    paths = dict(db.execute(select(Node.id, Node.path).where(Node.id.in_(wanted))).all())
    out = {}
    for node_id, path in paths.items():
        child = next((c for c in children if path.startswith(c.path)), None)
        if child is not None:
            out[node_id] = child.id
    return out


def overdue_units(*, db: Session, months: list[date], within: ColumnElement[bool], at: datetime | None = None,
                  limit: int = 50, by_key: bool = False) -> list[tuple[str, int]]:
    """The units (by name) with deadlines overdue at the end of MONTHS, most first (督办 named in the bulletin)."""
    arms = overdue_arms(rates.month_bounds(months[-1])[1], at or now())
    counts = _overdue_counts(arms, within, by_key, at is None, db=db)
    if not counts:
        return []
    # The counts the summary made a moment ago (shared), named: one small read of the nodes instead of a second count.
    # Names in the database's collation (as ORDER BY name ranked them), then by count, most first (a stable sort).
    named = db.execute(select(Node.id, Node.name).where(Node.id.in_(counts)).order_by(Node.name, Node.id)).all()
    ranked = sorted(((name, counts[node_id]) for node_id, name in named), key=lambda row: -row[1])
    return ranked[:limit]
