"""The published reception plan of an office for a month (五公开: time, place, name, title, scope)."""

from __future__ import annotations

import re
from datetime import date

from dateutil.relativedelta import relativedelta
from fastapi import APIRouter, Request
from sqlalchemy import select

from scheduling.plans import next_month, occurrences, plans_of_node
from scheduling.policy import local_day, policy_from
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.models.org import Node, Room
from vreception.models.people import Person
from vreception.models.scheduling import ReceptionPlan
from vreception.workdays import load_calendar
from web.deps import DbSession, PagePrincipal
from web.templating import render

router = APIRouter()
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(policy, month: str | None) -> tuple[date, date]:
    if not month:
        return next_month(local_day(policy, now()))
    match = MONTH.match(month)
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise Invalid("error.month_invalid", field="month")
    first = date(int(match.group(1)), int(match.group(2)), 1)
    return first, first + relativedelta(months=1, days=-1)


@router.get("/plans")
def plan_offices(request: Request, session: DbSession, principal: PagePrincipal):
    """The offices that publish reception plans."""
    ids = select(ReceptionPlan.node_id).where(ReceptionPlan.active.is_(True)).distinct()
    offices = list(session.scalars(select(Node).where(Node.id.in_(ids)).order_by(Node.code)))
    return render(request, "plans_index.html", principal=principal, offices=offices)


@router.get("/plans/{node_id}")
def plan_page(node_id: int, request: Request, session: DbSession, principal: PagePrincipal, month: str | None = None):
    """An office's reception days of a month (next month unless ?month=YYYY-MM): public, as published."""
    policy = policy_from(request.app.state.settings)
    office = session.get(Node, node_id)
    if office is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    first, last = _month(policy, month)
    found = occurrences(session, plans=plans_of_node(session, office.id), calendar=load_calendar(session),
                        policy=policy, first=first, last=last)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({o.leader_id for o in found})))}
    room_ids = {pr.room_id for o in found for pr in o.plan.rooms}
    rooms = {r.id: r for r in session.scalars(select(Room).where(Room.id.in_(room_ids)))}
    rows = [{
        "day": o.day, "weekday": o.day.weekday(),
        "starts": o.starts_at.astimezone(policy.zone).strftime("%H:%M"),
        "ends": o.ends_at.astimezone(policy.zone).strftime("%H:%M"),
        "place": "、".join(rooms[pr.room_id].name for pr in o.plan.rooms),
        "leader": people[o.leader_id].name, "title": people[o.leader_id].title, "scope": o.plan.scope,
    } for o in found]
    return render(request, "plans.html", principal=principal, office=office, rows=rows, first=first,
                  cutoff_days=policy.cutoff_days_before, cutoff_hour=policy.cutoff_hour,
                  previous=(first - relativedelta(months=1)).strftime("%Y-%m"),
                  following=(first + relativedelta(months=1)).strftime("%Y-%m"))
