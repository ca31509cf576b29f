"""The statistics a leader reads (统计): over a range of months and one node's subtree, the matter figures and the
video receptions together, the node's child units ranked, a 12-month trend. Read models shared by the API and pages.

It sits in scheduling because it joins the core's matter figures (vreception.cases.statistics) with the sessions
(scheduling.statistics); only this layer may import both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from scheduling import statistics as sessions
from vreception.auth.access import Principal, load_node, require
from vreception.cases import monthly_figures, rates
from vreception.cases import statistics as figures
from vreception.cases.access import broad
from vreception.errors import Forbidden, Invalid
from vreception.models import Matter, Node, Role

READERS = (Role.coordinator, Role.leader)
RATES = rates.FIGURES
COUNTS = ("registered", "overdue", "held", "persons")
SORTS = RATES + COUNTS
FEWER_IS_BETTER = ("overdue", "repeat_petitions")


class FigureOut(BaseModel):
    rate: float | None = Field(description="numerator / denominator over the range, 4 decimals; null when none")
    numerator: int
    denominator: int


class SessionCountsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    held: int = Field(description="批次: sessions held (ended)")
    persons: int = Field(description="人次: petitioners and representatives present in the sessions held")
    no_show: int
    cancelled: int
    pending: int = Field(description="booked, open or live: not decided yet")


class LeaderOut(BaseModel):
    leader_id: int
    name: str
    title: str
    node_id: int
    node_name: str
    level: str
    sessions: SessionCountsOut


class LevelOut(BaseModel):
    level: str
    sessions: SessionCountsOut


class ChildOut(BaseModel):
    node_id: int
    node_name: str
    rank: int | None = Field(description="place by the sort figure (1 = best, ties share); null when none counted")
    figures: dict[str, FigureOut]
    registered: int
    overdue: int
    sessions: SessionCountsOut


class OverdueUnitOut(BaseModel):
    node_name: str
    overdue: int


class SummaryOut(BaseModel):
    node_id: int
    node_name: str
    level: str
    from_month: str
    to_month: str
    months: int
    figures: dict[str, FigureOut] = Field(description="rates over the range: numerators and denominators summed")
    registered: int = Field(description="matters registered in the range")
    by_channel: dict[str, int]
    by_category: dict[str, int] = Field(description="matters with a demand of the category")
    overdue: int = Field(description="supervised deadlines due in or before the range, unmet at its end")
    overdue_units: list[OverdueUnitOut]
    sessions: SessionCountsOut
    by_leader: list[LeaderOut]
    by_level: list[LevelOut]
    sort: str = Field(description="the figure the children are ranked by")
    children: list[ChildOut]


class TrendPointOut(BaseModel):
    month: str
    figures: dict[str, FigureOut]
    registered: int
    held: int


class TrendOut(BaseModel):
    node_id: int
    node_name: str
    points: list[TrendPointOut]


def top_node(principal: Principal, *, db: Session) -> Node:
    """The reader's own top node: the highest node where they read statistics (an admin's too)."""
    scopes = [s for s in principal.scopes if s.role in (*READERS, Role.admin)]
    if not scopes:
        raise Forbidden()
    return load_node(min(scopes, key=lambda s: (s.path.count("/"), s.path)).node_id, db=db)


def reader_node(principal: Principal, node_id: int | None, *, db: Session) -> Node:
    """The node NODE_ID (the reader's top node when None), which the reader must cover as coordinator or leader."""
    node = top_node(principal, db=db) if node_id is None else load_node(node_id, db=db)
    require(principal, node, READERS)
    return node


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise Invalid("error.figure_unknown", field="sort")
    return sort


def _figures(unit: rates.UnitRates) -> dict[str, FigureOut]:
    return {name: FigureOut(rate=getattr(unit, name).value, numerator=getattr(unit, name).numerator,
                            denominator=getattr(unit, name).denominator) for name in RATES}


def _counts(counts: sessions.SessionCounts) -> SessionCountsOut:
    return SessionCountsOut.model_validate(counts)


def places(values: Sequence[float | None], *, fewer_is_better: bool = False) -> list[int | None]:
    """Competition ranks (1, 2, 2, 4 …), best first; a value of None has no rank."""
    sign = -1 if fewer_is_better else 1
    present = [sign * v for v in values if v is not None]
    return [None if v is None else 1 + sum(1 for other in present if other > sign * v) for v in values]


def _sort_value(child: ChildOut, sort: str) -> float | None:
    if sort in RATES:
        return child.figures[sort].rate
    counts = {"held": child.sessions.held, "persons": child.sessions.persons, "registered": child.registered,
              "overdue": child.overdue}
    return counts[sort]


def summary(*, db: Session, node: Node, months: list[date], sort: str = "on_time_completion",
            rating_window_days: int = 30, at: datetime | None = None) -> SummaryOut:
    """Everything over MONTHS in NODE's subtree, with NODE's children ranked by SORT."""
    within = Matter.handling_path.startswith(node.path, autoescape=True)
    start, end = figures.range_bounds(months)
    unit_rates = figures.summed_rates(db=db, months=months, paths=[node.path], rating_window_days=rating_window_days,
                                      at=at)
    by_key = broad(node.path)  # a province's or a city's: the deadlines' matters read by key
    counts = figures.matter_counts(db=db, months=months, within=within, at=at, by_key=by_key, paths=[node.path])
    leaders = sessions.by_leader(db=db, start=start, end=end, path=node.path)
    children = figures.children_of(node, db=db)
    owner = figures.child_for(children, set(unit_rates) | set(counts), db=db)
    child_rates = {c.id: rates.UnitRates(c.id) for c in children}
    child_counts = {c.id: figures.MatterCounts() for c in children}
    child_sessions = {c.id: sessions.SessionCounts() for c in children}
    for node_id, unit in unit_rates.items():
        if node_id in owner:
            child_rates[owner[node_id]].merge(unit)
    for node_id, found in counts.items():
        if node_id in owner:
            child_counts[owner[node_id]].merge(found)
    for leader in leaders:
        child = next((c for c in children if leader.node_path.startswith(c.path)), None)
        if child is not None:
            child_sessions[child.id].merge(leader.counts)
    rows = [ChildOut(node_id=c.id, node_name=c.name, rank=None, figures=_figures(child_rates[c.id]),
                     registered=child_counts[c.id].registered, overdue=child_counts[c.id].overdue,
                     sessions=_counts(child_sessions[c.id])) for c in children]
    ranks = places([_sort_value(r, sort) for r in rows], fewer_is_better=sort in FEWER_IS_BETTER)
    for row, rank in zip(rows, ranks, strict=True):
        row.rank = rank
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.node_id))
    matters = figures.MatterCounts()
    for found in counts.values():
        matters.merge(found)
    return SummaryOut(
        node_id=node.id, node_name=node.name, level=node.level.value, from_month=figures.label(months[0]),
        to_month=figures.label(months[-1]), months=len(months), figures=_figures(figures.total(unit_rates.values())),
        registered=matters.registered, by_channel=matters.by_channel,
        by_category=dict(sorted(matters.by_category.items(), key=lambda kv: (-kv[1], kv[0]))),
        overdue=matters.overdue,
        overdue_units=[OverdueUnitOut(node_name=name, overdue=n)
                       for name, n in figures.overdue_units(db=db, months=months, within=within, at=at,
                                                            by_key=by_key)],
        sessions=_counts(sessions.summed(leaders)),
        by_leader=[LeaderOut(leader_id=r.leader_id, name=r.name, title=r.title, node_id=r.node_id,
                             node_name=r.node_name, level=r.level, sessions=_counts(r.counts)) for r in leaders],
        by_level=[LevelOut(level=level, sessions=_counts(c)) for level, c in sessions.by_level(leaders).items()],
        sort=sort, children=rows)


def trend(*, db: Session, node: Node, last: date, count: int = figures.TREND_MONTHS, rating_window_days: int = 30,
          at: datetime | None = None) -> TrendOut:
    """The COUNT months up to LAST in NODE's subtree: the rates per month, matters registered, sessions held."""
    months = figures.months_between(figures.shift(last, 1 - count), last)
    held = sessions.held_by_month(db=db, bounds=figures.month_starts(months), path=node.path)
    # The ended months' figures come from their stored counts in one query; the current month is counted live. A
    # month's registrations are the cases of its repeat-petition figure (every matter registered in it).
    per_month = monthly_figures.totals_by_month(db=db, months=months, paths=[node.path],
                                                rating_window_days=rating_window_days, at=at)
    points = [TrendPointOut(month=figures.label(month), figures=_figures(per_month[month]),
                            registered=per_month[month].repeat_petitions.denominator, held=held_in_month)
              for month, held_in_month in zip(months, held, strict=True)]
    return TrendOut(node_id=node.id, node_name=node.name, points=points)
