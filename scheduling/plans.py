"""Reception plans (固定接访日): creating them, and their occurrences over the working-day calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, lazyload

from scheduling import rules
from scheduling.lookup import load_leader, load_room
from scheduling.policy import Policy, local_moment
from vreception import audit
from vreception.errors import Conflict, Invalid, NotFound
from vreception.models.org import Node
from vreception.models.scheduling import (
    LeaderAbsence,
    PlanDate,
    PlanKind,
    PlanLeader,
    PlanRoom,
    ReceptionPlan,
)
from vreception.workdays import WorkCalendar

HALF_DAYS = {"morning": (time(9, 0), time(12, 0)), "afternoon": (time(14, 30), time(17, 30))}
MAX_SCOPE = 2000
MAX_DATES = 366


@dataclass(frozen=True)
class Occurrence:
    """One reception window of a plan: a leader, a day, local times turned into UTC."""

    plan: ReceptionPlan
    leader_id: int
    day: date
    starts_at: datetime
    ends_at: datetime


def _minutes(value: int, policy: Policy, field: str, minimum: int) -> int:
    q = int(policy.quantum.total_seconds() // 60)
    if value < minimum or value % q:
        raise Invalid("error.minutes_on_quantum", field=field, quantum=q)
    return value


def create_plan(
    *,
    db: Session,
    policy: Policy,
    kind: str,
    leader_ids: list[int],
    node_id: int | None = None,
    day_of_month: int | None = None,
    weekday: int | None = None,
    half: str | None = None,
    dates: list[date] | None = None,
    starts: time | None = None,
    ends: time | None = None,
    slot_minutes: int = 30,
    buffer_minutes: int = 0,
    room_ids: list[int] | None = None,
    scope: str = "",
    scope_categories: list[str] | None = None,
    valid_from: date,
    valid_until: date | None = None,
    actor_id: int | None = None,
) -> ReceptionPlan:
    """Publish a reception plan after checking its shape, leaders, rooms and times.

    SCOPE_CATEGORIES, when given, are the demand categories the leader receives (published by name, checked at
    booking); SCOPE is then the office's note beside them."""
    try:
        plan_kind = PlanKind(kind)
    except ValueError:
        raise Invalid("error.plan_kind_unknown", field="kind", kind=kind) from None
    if not leader_ids or len(set(leader_ids)) != len(leader_ids):
        raise Invalid("error.plan_leaders", field="leader_ids")
    if plan_kind is not PlanKind.rotation and len(leader_ids) != 1:
        raise Invalid("error.plan_one_leader", field="leader_ids")
    leaders = [load_leader(i, "leader_ids", db=db) for i in leader_ids]
    if plan_kind is PlanKind.monthly_day and not (day_of_month and 1 <= day_of_month <= 31):
        raise Invalid("error.plan_day_of_month", field="day_of_month")
    if plan_kind is PlanKind.weekly and (weekday is None or not 0 <= weekday <= 6):
        raise Invalid("error.plan_weekday", field="weekday")
    if plan_kind is PlanKind.dates and not (dates and len(dates) <= MAX_DATES):
        raise Invalid("error.plan_dates", field="dates", max=MAX_DATES)
    for name, moment in (("starts", starts), ("ends", ends)):
        if moment is not None and moment.tzinfo is not None:  # times of day are the policy's local time
            raise Invalid("error.local_time_of_day", field=name)
    if half is not None:
        if half not in HALF_DAYS:
            raise Invalid("error.plan_half", field="half")
        starts, ends = starts or HALF_DAYS[half][0], ends or HALF_DAYS[half][1]
    if starts is None or ends is None or starts >= ends:
        raise Invalid("error.plan_times", field="ends")
    window = (datetime.combine(date.min, ends) - datetime.combine(date.min, starts)).total_seconds() // 60
    _minutes(slot_minutes, policy, "slot_minutes", 5)
    _minutes(buffer_minutes, policy, "buffer_minutes", 0)
    if slot_minutes > window:
        raise Invalid("error.plan_slot_too_long", field="slot_minutes")
    if valid_until is not None and valid_until < valid_from:
        raise Invalid("error.plan_valid_until", field="valid_until")
    if scope_categories:
        scope = rules.compose_scope(scope_categories, scope)
    if len(scope or "") > MAX_SCOPE:
        raise Invalid("error.plan_scope_too_long", field="scope", max=MAX_SCOPE)
    rooms = [load_room(r, "room_ids", db=db) for r in dict.fromkeys(room_ids or [])]
    node = db.get(Node, node_id if node_id is not None else leaders[0].node_id)
    if node is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    plan = ReceptionPlan(
        node_id=node.id, kind=plan_kind, day_of_month=day_of_month if plan_kind is PlanKind.monthly_day else None,
        weekday=weekday if plan_kind is PlanKind.weekly else None, starts=starts, ends=ends,
        slot_minutes=slot_minutes, buffer_minutes=buffer_minutes, scope=(scope or "").strip(),
        valid_from=valid_from, valid_until=valid_until, active=True, created_by=actor_id,
    )
    plan.leaders = [PlanLeader(position=i, leader_id=p.id) for i, p in enumerate(leaders)]
    plan.rooms = [PlanRoom(room_id=r.id) for r in rooms]
    if plan_kind is PlanKind.dates:
        assert dates is not None  # checked above
        plan.dates = [PlanDate(day=d) for d in sorted(set(dates))]
    db.add(plan)
    db.flush()
    audit.record(db=db, action="plan.created", entity_type="reception_plan", entity_id=plan.id, actor_id=actor_id,
                 data={"kind": plan_kind.value, "leaders": leader_ids, "node_id": node.id,
                       "rooms": [r.id for r in rooms], "starts": starts.isoformat(), "ends": ends.isoformat()})
    return plan


def withdraw_plan(*, db: Session, plan: ReceptionPlan, actor_id: int | None = None) -> ReceptionPlan:
    """Stop publishing a plan; sessions already booked stay."""
    plan.active = False
    db.flush()
    audit.record(db=db, action="plan.withdrawn", entity_type="reception_plan", entity_id=plan.id, actor_id=actor_id)
    return plan


def load_plan(plan_id: int, *, db: Session) -> ReceptionPlan:
    """A plan by id, or NotFound."""
    plan = db.get(ReceptionPlan, plan_id)
    if plan is None:
        raise NotFound("error.plan_not_found", field="plan_id", id=plan_id)
    return plan


# Built once and cached: only the leader's id changes from call to call.
_PLANS_OF_LEADER = (
    select(ReceptionPlan)
    .where(ReceptionPlan.id.in_(select(PlanLeader.plan_id).where(PlanLeader.leader_id == bindparam("leader_id"))),
           ReceptionPlan.active.is_(True))
    .options(joinedload(ReceptionPlan.leaders), joinedload(ReceptionPlan.rooms), lazyload(ReceptionPlan.dates))
    .order_by(ReceptionPlan.id))


def plans_of_leader(leader_id: int, *, db: Session) -> list[ReceptionPlan]:
    """The active plans a leader takes part in."""
    return list(db.scalars(_PLANS_OF_LEADER, {"leader_id": leader_id}).unique())


def plans_of_node(node_id: int, *, db: Session) -> list[ReceptionPlan]:
    """The active plans an office publishes."""
    query = select(ReceptionPlan).where(ReceptionPlan.node_id == node_id, ReceptionPlan.active.is_(True))
    return list(db.scalars(query.order_by(ReceptionPlan.id)))


def add_absence(*, db: Session, leader_id: int, day: date, reason: str = "",
                actor_id: int | None = None) -> LeaderAbsence:
    """Record that a leader is away on DAY: none of their plans holds it."""
    load_leader(leader_id, db=db)
    if db.scalar(select(LeaderAbsence.id).where(LeaderAbsence.leader_id == leader_id,
                                                     LeaderAbsence.day == day)) is not None:
        raise Conflict("error.absence_exists", field="day", day=day.isoformat())
    absence = LeaderAbsence(leader_id=leader_id, day=day, reason=(reason or "").strip()[:200])
    db.add(absence)
    db.flush()
    audit.record(db=db, action="leader.away", entity_type="person", entity_id=leader_id, actor_id=actor_id,
                 data={"day": day.isoformat(), "reason": absence.reason})
    return absence


def absences(leader_ids: list[int], first: date, last: date, *, db: Session) -> set[tuple[int, date]]:
    """(leader, day) pairs of absence between FIRST and LAST."""
    rows = db.execute(select(LeaderAbsence.leader_id, LeaderAbsence.day).where(
        LeaderAbsence.leader_id.in_(leader_ids), LeaderAbsence.day >= first, LeaderAbsence.day <= last))
    return {(leader, day) for leader, day in rows}


def _dates(rule: rrule) -> list[date]:
    return [d.date() for d in rule]


def plan_days(plan: ReceptionPlan, calendar: WorkCalendar, first: date, last: date) -> list[tuple[date, int]]:
    """The (day, leader) pairs on which PLAN receives between FIRST and LAST (inclusive)."""
    lo = max(first, plan.valid_from)
    hi = min(last, plan.valid_until) if plan.valid_until else last
    if lo > hi:
        return []
    leaders = [pl.leader_id for pl in plan.leaders]
    if plan.kind is PlanKind.monthly_day:
        # A day moved off a holiday may land in the next month: look one month back for it.
        since = max(plan.valid_from, lo - relativedelta(months=1))
        nominal = _dates(rrule(MONTHLY, bymonthday=plan.day_of_month, dtstart=since, until=hi))
        days = sorted({calendar.next_workday(d) for d in nominal})
        return [(d, leaders[0]) for d in days if lo <= d <= hi]
    if plan.kind is PlanKind.weekly:
        days = _dates(rrule(WEEKLY, byweekday=plan.weekday, dtstart=lo, until=hi))
        return [(d, leaders[0]) for d in days if calendar.is_workday(d)]
    if plan.kind is PlanKind.rotation:
        # The turn is counted in working days from the plan's first day, so every month continues it.
        workdays = [d for d in _dates(rrule(DAILY, dtstart=plan.valid_from, until=hi)) if calendar.is_workday(d)]
        return [(d, leaders[i % len(leaders)]) for i, d in enumerate(workdays) if d >= lo]
    return [(pd.day, leaders[0]) for pd in plan.dates if lo <= pd.day <= hi]


def occurrences(*, db: Session, plans: list[ReceptionPlan], calendar: WorkCalendar, policy: Policy,
                first: date, last: date, leader_id: int | None = None) -> list[Occurrence]:
    """The reception windows of PLANS between FIRST and LAST, less the leaders' absences."""
    pairs = [(plan, day, leader) for plan in plans for day, leader in plan_days(plan, calendar, first, last)
             if leader_id is None or leader == leader_id]
    away = absences(sorted({p[2] for p in pairs}), first, last, db=db) if pairs else set()
    out = [Occurrence(plan, leader, day, local_moment(policy, day, plan.starts), local_moment(policy, day, plan.ends))
           for plan, day, leader in pairs if (leader, day) not in away]
    return sorted(out, key=lambda o: (o.starts_at, o.plan.id))


def next_month(today: date) -> tuple[date, date]:
    """The first and last day of the month after TODAY's."""
    first = (today.replace(day=1) + relativedelta(months=1))
    return first, first + relativedelta(months=1) - timedelta(days=1)
