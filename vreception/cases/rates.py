"""The monthly figures per unit (四率 and the resolution figures), each with the counts behind it.

Which month a case counts in — each counts in exactly one:
- 及时受理率 (timely_acceptance), 按期办结率 (on_time_completion), 转送交办及时率 (transfer_timeliness): the month
  the period is due (Deadline.due_day), whether it ended in time, late, or is still open past its day.
- 按期办结率 counts two kinds of period: the handling period (办理, 60 days from acceptance, extensions included) and
  the completion period of a 交办 (the day the assigning office set for the 办结报告). A completion report the office
  sent back did not complete the assignment: its period runs on (open, then overdue), or is replaced by the new day
  the office sets; a period already missed stays missed and the new one counts as well.
- 参评率 (participation) and 满意率 (satisfaction): a rated matter in the month the rating was given; an unrated one
  in the month its rating window ended, once it has ended. A matter rated in March whose window ends in April counts
  in March only.
- 一次性化解率 (one_time_resolution) and 初信初访化解率 (first_petition_resolution): the month the review-request
  window ended (due, or ended early by a request).
- repeat petitions (repeat_petitions): the month the matter was registered.

Who is rated for what:
- The 信访部门 for transfer/assignment (转送/交办) within the 15-day acceptance period: an acceptance period ended by
  a transfer or an assignment counts in transfer_timeliness of the unit of the person who transferred it, never in
  the receiving body's timely_acceptance.
- The 有权处理机关 (the matter's handling unit) for acceptance it decided itself, and for handling on time; the unit
  a matter was assigned to (交办) for its completion report on time.
- Matters routed to legal channels (诉访分离, outcome "legal_channel:…") are left out of every figure (参评); their
  acceptance periods are counted in legal_excluded instead.

Everything is counted in SQL with date bounds; no matter is loaded as an object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from vreception.cases.access import among
from vreception.cases.deadlines import end_of_day, local_day, zone
from vreception.clock import now
from vreception.models import Deadline, DeadlineState, Matter, MatterEvent, Node, Person, RepeatLink

HANDED_OVER = ("transfer", "assign")  # 转送 / 交办: the 信访部门's decision, rated apart from the handling body's
COMPLETION_KINDS = ("handling", "completion")  # 按期办结: the handling period, and a 交办's completion period
SATISFIED = ("satisfied", "basically_satisfied")


@dataclass
class Rate:
    """A ratio with the counts that make it up."""

    numerator: int = 0
    denominator: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def value(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None

    def add(self, key: str, n: int, *, counted: bool = True, good: bool = False) -> None:
        """N cases of outcome KEY; COUNTED ones join the denominator, GOOD ones the numerator too."""
        self.counts[key] = self.counts.get(key, 0) + n
        self.denominator += n if counted else 0
        self.numerator += n if counted and good else 0

    def merge(self, other: Rate) -> None:
        """Add OTHER's cases to this rate."""
        self.numerator += other.numerator
        self.denominator += other.denominator
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n


@dataclass
class UnitRates:
    node_id: int
    timely_acceptance: Rate = field(default_factory=Rate)
    on_time_completion: Rate = field(default_factory=Rate)
    participation: Rate = field(default_factory=Rate)
    satisfaction: Rate = field(default_factory=Rate)
    one_time_resolution: Rate = field(default_factory=Rate)
    transfer_timeliness: Rate = field(default_factory=Rate)
    first_petition_resolution: Rate = field(default_factory=Rate)
    repeat_petitions: Rate = field(default_factory=Rate)
    legal_excluded: int = 0

    def merge(self, other: UnitRates) -> None:
        """Add OTHER's figures to these (a parent's units summed)."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, Rate):
                mine.merge(getattr(other, f.name))
        self.legal_excluded += other.legal_excluded


FIGURES = tuple(f.name for f in fields(UnitRates) if f.name not in ("node_id", "legal_excluded"))


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of MONTH."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _legal() -> ColumnElement[bool]:
    return func.coalesce(Matter.outcome, "").like("legal_channel:%")


def _grouped(query: Select[*tuple[Any, ...]], within: ColumnElement[bool] | None, *, db: Session) -> list[tuple[Any, ...]]:
    """QUERY's rows counted by all its columns (one row per distinct combination, with its count last)."""
    if within is not None:
        query = query.where(within)
    inner = query.subquery()
    return [tuple(row) for row in db.execute(select(*inner.c, func.count()).group_by(*inner.c))]


def _their_matters(periods: ColumnElement[bool], by_key: bool) -> ColumnElement[bool]:
    """With BY_KEY, Matter.id among the matters of the deadlines PERIODS selects (redundant beside the join, which it
    steers): a broad subtree's matters are read by their key, a month's worth, where a join was planned as a hash of
    every matter of the subtree, for a province the whole table. A county's path index finds its few matters sooner."""
    return among(Matter.id, select(Deadline.matter_id).where(periods)) if by_key else true()


class Counted(NamedTuple):
    """N cases of one outcome of one figure: of matters handled by HANDLING_NODE_ID, rated on UNIT_ID."""

    handling_node_id: int
    unit_id: int
    figure: str
    outcome: str
    n: int
    good: int  # of N, in the numerator
    counted: int  # of N, in the denominator


LEGAL = "legal_excluded"


def _deadline_outcome(out: list[Counted], handling: int, unit: int, figure: str, state: DeadlineState, past: bool,
                      n: int) -> None:
    if state is DeadlineState.met:
        out.append(Counted(handling, unit, figure, "in_time", n, n, n))
    elif state is DeadlineState.missed:
        out.append(Counted(handling, unit, figure, "late", n, 0, n))
    elif state is DeadlineState.open and past:
        out.append(Counted(handling, unit, figure, "overdue", n, 0, n))


def counted(*, db: Session, month: date, within: ColumnElement[bool] | None = None, rating_window_days: int = 30,
            at: datetime | None = None, settled: bool = True, unrated: bool = True, by_key: bool = False,
            days: tuple[date, date] | None = None) -> list[Counted]:
    """The cases behind MONTH's figures by the rules in this module's docstring, grouped in SQL by handling node and
    rated unit: the SETTLED part (deadlines, resolution, registrations, ratings) and the UNRATED part (rating windows
    that ended unrated, which depends on the moment until the month's last window has ended). BY_KEY: WITHIN is a
    broad subtree (a province's, a city's, or everything), whose matters are read by key from the month's deadlines.
    DAYS (first, last): only the cases of those days of MONTH; each case counts on one day, so the counts of the
    parts of a month add up to the month's."""
    out: tuple[list[Counted], list[Counted]] = ([], [])
    _counted(out, None, db=db, month=month, within=within, rating_window_days=rating_window_days, at=at,
             settled=settled, unrated=unrated, by_key=by_key, days=days)
    return out[0]


def counted_split(*, db: Session, month: date, split: date, within: ColumnElement[bool] | None = None,
                  rating_window_days: int = 30, at: datetime | None = None) -> tuple[list[Counted], list[Counted]]:
    """counted() of all MONTH in one pass, its cases parted: those of its days to SPLIT, and those of the days
    after (what counted() with DAYS of either part finds)."""
    out: tuple[list[Counted], list[Counted]] = ([], [])
    _counted(out, split, db=db, month=month, within=within, rating_window_days=rating_window_days, at=at,
             settled=True, unrated=True, by_key=False, days=None)
    return out


def _counted(out: tuple[list[Counted], list[Counted]], split: date | None, *, db: Session, month: date,
             within: ColumnElement[bool] | None, rating_window_days: int, at: datetime | None, settled: bool,
             unrated: bool, by_key: bool, days: tuple[date, date] | None) -> None:
    first, last = days or month_bounds(month)
    moment = at or now()
    today = local_day(moment)
    start, end = datetime.combine(first, time.min, zone()), end_of_day(last)
    # Each query's first column parts its cases: on a day to SPLIT (or all of them, without SPLIT) or after.
    cut = end_of_day(split) if split is not None else None

    def part(day_key: ColumnElement[Any], instant: bool = False) -> ColumnElement[Any]:
        if split is None or cut is None:
            return literal(True).label("part")
        return (day_key <= (cut if instant else split)).label("part")  # an instant's day ends at CUT

    if settled:
        _settled(out, part, first, last, start, end, today, within, by_key, db=db)
    if unrated:
        window = timedelta(days=rating_window_days)
        # An unrated case counts on the day its window ended: SPLIT's end less the window parts them.
        ended_by_cut = literal(True) if cut is None else Matter.served_at <= cut - window
        query = (select(ended_by_cut.label("part"), Matter.handling_node_id, literal(True).label("unrated"))
                 .where(Matter.rating.is_(None), Matter.served_at >= start - window,
                        Matter.served_at <= min(end, moment) - window, ~_legal()))
        for stored, node_id, _, n in _grouped(query, within, db=db):
            out[0 if stored else 1].append(Counted(node_id, node_id, "participation", "unrated", n, 0, n))


Part = Callable[..., ColumnElement[Any]]


def _settled(outs: tuple[list[Counted], list[Counted]], part: Part, first: date, last: date, start: datetime,
             end: datetime, today: date, within: ColumnElement[bool] | None, by_key: bool, *, db: Session) -> None:
    # Acceptance periods: who ended them (a transfer/assignment event at the same instant) decides whose figure.
    # The unit of whoever ended the period by a transfer or an assignment at that instant (0: nobody's unit), read
    # per period through the events' matter index: a join was planned as a scan of every event for the few there are.
    ending = aliased(MatterEvent)
    actor = aliased(Person)
    ender = (select(func.coalesce(actor.node_id, 0)).select_from(ending).outerjoin(actor, actor.id == ending.actor_id)
             .where(ending.matter_id == Deadline.matter_id, ending.at == Deadline.done_at,
                    ending.action.in_(HANDED_OVER))
             .limit(1).scalar_subquery())
    periods = and_(Deadline.kind == "acceptance", Deadline.due_day.between(first, last))
    acceptance = (select(part(Deadline.due_day), Matter.handling_node_id, ender.label("ender"), Deadline.state,
                         (Deadline.due_day < today).label("past"), _legal().label("legal"))
                  .select_from(Deadline).join(Matter, Deadline.matter_id == Matter.id)
                  .where(periods, _their_matters(periods, by_key)))
    for stored, handling, ended_by, state, past, legal, n in _grouped(acceptance, within, db=db):
        out = outs[0 if stored else 1]
        node_id = ended_by or handling  # 0: the event names nobody's unit
        if legal:
            out.append(Counted(handling, node_id, LEGAL, "excluded", n, 0, 0))
        else:
            figure = "transfer_timeliness" if ended_by is not None else "timely_acceptance"
            _deadline_outcome(out, handling, node_id, figure, DeadlineState(state), bool(past), n)

    periods = and_(Deadline.kind.in_(COMPLETION_KINDS), Deadline.due_day.between(first, last))
    handling_periods = (select(part(Deadline.due_day), Matter.handling_node_id, Deadline.state,
                               (Deadline.due_day < today).label("past"))
                        .select_from(Deadline).join(Matter, Deadline.matter_id == Matter.id)
                        .where(periods, _their_matters(periods, by_key), ~_legal()))
    for stored, node_id, state, past, n in _grouped(handling_periods, within, db=db):
        _deadline_outcome(outs[0 if stored else 1], node_id, node_id, "on_time_completion", DeadlineState(state),
                          bool(past), n)

    # Resolution: the review-request window ended (met by a request, or past); a first petition (no earlier matter
    # of the same person) is resolved when no review was asked and nobody petitioned again on it.
    is_repeat = or_(Matter.possible_repeat.is_(True), exists().where(RepeatLink.matter_id == Matter.id))
    again = exists().where(RepeatLink.earlier_id == Matter.id)
    periods = and_(Deadline.kind == "review_request", Deadline.due_day.between(first, last),
                   Deadline.state != DeadlineState.cancelled,
                   or_(Deadline.state != DeadlineState.open, Deadline.due_day < today))
    windows = (select(part(Deadline.due_day), Matter.handling_node_id,
                      Matter.review_requested_at.is_(None).label("no_review"), is_repeat.label("repeat"),
                      again.label("again"))
               .select_from(Deadline).join(Matter, Deadline.matter_id == Matter.id)
               .where(periods, _their_matters(periods, by_key), ~_legal()))
    for stored, node_id, no_review, repeat, came_again, n in _grouped(windows, within, db=db):
        out = outs[0 if stored else 1]
        if no_review:
            out.append(Counted(node_id, node_id, "one_time_resolution", "no_review", n, n, n))
        else:
            out.append(Counted(node_id, node_id, "one_time_resolution", "reviewed", n, 0, n))
        if not repeat:
            if not no_review:
                out.append(Counted(node_id, node_id, "first_petition_resolution", "reviewed", n, 0, n))
            elif came_again:
                out.append(Counted(node_id, node_id, "first_petition_resolution", "petitioned_again", n, 0, n))
            else:
                out.append(Counted(node_id, node_id, "first_petition_resolution", "resolved", n, n, n))

    registered = (select(part(Matter.registered_at, True), Matter.handling_node_id, is_repeat.label("repeat"))
                  .where(Matter.registered_at >= start, Matter.registered_at <= end))
    for stored, node_id, repeat, n in _grouped(registered, within, db=db):
        outs[0 if stored else 1].append(Counted(node_id, node_id, "repeat_petitions", "repeat" if repeat else "first",
                                                n, n if repeat else 0, n))

    # 参评: rated matters in the month of the rating; unrated ones in the month their window ended (counted()).
    rated = (select(part(Matter.rated_at, True), Matter.handling_node_id, Matter.rating)
             .where(Matter.rating.isnot(None), Matter.rated_at >= start, Matter.rated_at <= end, ~_legal()))
    for stored, node_id, rating, n in _grouped(rated, within, db=db):
        out = outs[0 if stored else 1]
        out.append(Counted(node_id, node_id, "participation", "rated", n, n, n))
        good = n if rating in SATISFIED else 0
        out.append(Counted(node_id, node_id, "satisfaction", str(rating), n, good, n))


def units_from(found: Iterable[Counted]) -> list[UnitRates]:
    """The figures of each rated unit, from the cases counted (of one month or several)."""
    units: dict[int, UnitRates] = {}
    for _, unit_id, figure, outcome, n, good, counted_n in found:
        entry = units.get(unit_id)
        if entry is None:  # not setdefault: a unit's nine objects made once, not for each of its rows
            entry = units[unit_id] = UnitRates(unit_id)
        if figure == LEGAL:
            entry.legal_excluded += n
            continue
        rate: Rate = getattr(entry, figure)
        rate.counts[outcome] = rate.counts.get(outcome, 0) + n
        rate.numerator += good
        rate.denominator += counted_n
    return sorted(units.values(), key=lambda u: u.node_id)


def monthly(*, db: Session, month: date, within: ColumnElement[bool] | None = None, rating_window_days: int = 30,
            at: datetime | None = None, by_key: bool = False) -> list[UnitRates]:
    """The figures of every unit for MONTH, by the rules in this module's docstring, counted live (BY_KEY: see
    counted())."""
    return units_from(counted(db=db, month=month, within=within, rating_window_days=rating_window_days, at=at,
                              by_key=by_key))


@dataclass
class Ranked:
    """A child unit of a parent with its figures summed over its subtree, and its place by one figure."""

    rank: int | None
    node: Node
    rates: UnitRates


def _place(values: Iterable[float | None]) -> list[int | None]:
    """Competition ranks (1, 2, 2, 4 …), highest first; a unit with nothing counted has no rank."""
    present = [v for v in values if v is not None]
    return [None if v is None else 1 + sum(1 for other in present if other > v) for v in values]


def ranking(*, db: Session, month: date, parent: Node, by: str, rating_window_days: int = 30,
            at: datetime | None = None, found: list[UnitRates] | None = None) -> list[Ranked]:
    """The children of PARENT ranked by figure BY for MONTH, each summing the units of its subtree (FOUND: the
    month's figures over PARENT's subtree when the caller has them, e.g. from monthly_figures)."""
    children = list(db.scalars(select(Node).where(Node.parent_id == parent.id).order_by(Node.id)))
    totals = {child.id: UnitRates(child.id) for child in children}
    if found is None:
        found = monthly(db=db, month=month, within=Matter.handling_path.startswith(parent.path, autoescape=True),
                        rating_window_days=rating_window_days, at=at)
    paths = {node_id: path for node_id, path in db.execute(
        select(Node.id, Node.path).where(Node.id.in_({u.node_id for u in found})))}
    for entry in found:
        # Matters held at the parent itself belong to no child.
        child = next((c for c in children if paths[entry.node_id].startswith(c.path)), None)
        if child is not None:
            totals[child.id].merge(entry)
    places = _place([getattr(totals[c.id], by).value for c in children])
    ranked = [Ranked(place, child, totals[child.id]) for place, child in zip(places, children, strict=True)]
    return sorted(ranked, key=lambda r: (r.rank is None, r.rank or 0, r.node.id))
