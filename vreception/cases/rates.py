"""The monthly figures per unit (四率): timely acceptance, on-time completion, participation, satisfaction,
plus one-time resolution — each with the counts behind it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from vreception.cases.deadlines import local_day
from vreception.clock import now
from vreception.models import Deadline, DeadlineState, Matter


@dataclass
class Rate:
    """A ratio with the counts that make it up."""

    numerator: int = 0
    denominator: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def value(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass
class UnitRates:
    node_id: int
    timely_acceptance: Rate = field(default_factory=Rate)
    on_time_completion: Rate = field(default_factory=Rate)
    participation: Rate = field(default_factory=Rate)
    satisfaction: Rate = field(default_factory=Rate)
    one_time_resolution: Rate = field(default_factory=Rate)


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of MONTH."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _deadline_rate(rate: Rate, deadline: Deadline, today: date) -> None:
    c = rate.counts
    if deadline.state is DeadlineState.met:
        c["in_time"] = c.get("in_time", 0) + 1
        rate.numerator += 1
        rate.denominator += 1
    elif deadline.state is DeadlineState.missed:
        c["late"] = c.get("late", 0) + 1
        rate.denominator += 1
    elif deadline.state is DeadlineState.open and deadline.due_day < today:
        c["overdue"] = c.get("overdue", 0) + 1
        rate.denominator += 1


def monthly(session: Session, *, month: date, within: ColumnElement[bool] | None = None, rating_window_days: int = 30,
            at: datetime | None = None) -> list[UnitRates]:
    """The rates of every handling unit for MONTH (deadlines due, windows ending, in that month)."""
    first, last = month_bounds(month)
    moment = at or now()
    today = local_day(moment)
    units: dict[int, UnitRates] = defaultdict(lambda: UnitRates(0))

    def unit(node_id: int) -> UnitRates:
        entry = units[node_id]
        entry.node_id = node_id
        return entry

    query = (select(Deadline, Matter.handling_node_id).join(Matter)
             .where(Deadline.due_day.between(first, last), Deadline.kind.in_(("acceptance", "handling", "review_request"))))
    if within is not None:
        query = query.where(within)
    for deadline, node_id in session.execute(query):
        entry = unit(node_id)
        if deadline.kind == "acceptance":
            _deadline_rate(entry.timely_acceptance, deadline, today)
        elif deadline.kind == "handling":
            _deadline_rate(entry.on_time_completion, deadline, today)
        elif deadline.state is not DeadlineState.cancelled and (deadline.state is not DeadlineState.open
                                                                 or deadline.due_day < today):
            matter = deadline.matter
            r = entry.one_time_resolution
            r.denominator += 1
            if matter.review_requested_at is None:
                r.numerator += 1
                r.counts["no_review"] = r.counts.get("no_review", 0) + 1
            else:
                r.counts["reviewed"] = r.counts.get("reviewed", 0) + 1

    served = select(Matter).where(Matter.served_at.isnot(None))
    if within is not None:
        served = served.where(within)
    for matter in session.scalars(served):
        assert matter.served_at is not None  # selected for it
        window_end = matter.served_at + timedelta(days=rating_window_days)
        if not first <= local_day(window_end) <= last and not (matter.rated_at and first <= local_day(matter.rated_at) <= last):
            continue
        entry = unit(matter.handling_node_id)
        p = entry.participation
        if matter.rating:
            p.numerator += 1
            p.denominator += 1
            p.counts["rated"] = p.counts.get("rated", 0) + 1
            s = entry.satisfaction
            s.denominator += 1
            s.counts[matter.rating] = s.counts.get(matter.rating, 0) + 1
            if matter.rating in ("satisfied", "basically_satisfied"):
                s.numerator += 1
        elif window_end < moment:
            p.denominator += 1
            p.counts["unrated"] = p.counts.get("unrated", 0) + 1
    return sorted(units.values(), key=lambda u: u.node_id)
