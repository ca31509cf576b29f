"""The published reception plan of an office for a month (五公开: time, place, name, title, scope)."""

from __future__ import annotations

import re
from datetime import date

from dateutil.relativedelta import relativedelta
from fastapi import APIRouter, Request

from scheduling.plans import next_month
from scheduling.policy import local_day
from scheduling.queries import published_days, publishing_offices
from vreception.auth.access import load_node
from vreception.clock import now
from vreception.errors import Invalid
from web.deps import DbSession, PagePrincipal
from web.settings import AppPolicy
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
def plan_offices(request: Request, db: DbSession, principal: PagePrincipal):
    """The offices that publish reception plans."""
    return render(request, "plans_index.html", principal=principal, offices=publishing_offices(db=db))


@router.get("/plans/{node_id}")
def plan_page(node_id: int, request: Request, db: DbSession, principal: PagePrincipal, policy: AppPolicy,
              month: str | None = None):
    """An office's reception days of a month (next month unless ?month=YYYY-MM): public, as published."""
    office = load_node(node_id, db=db)
    first, last = _month(policy, month)
    rows = [{
        "day": d.day, "weekday": d.day.weekday(),
        "starts": d.occurrence.starts_at.astimezone(policy.zone).strftime("%H:%M"),
        "ends": d.occurrence.ends_at.astimezone(policy.zone).strftime("%H:%M"),
        "place": "、".join(r.name for r in d.rooms),
        "leader": d.leader.name, "title": d.leader.title, "scope": d.occurrence.plan.scope,
    } for d in published_days(office, first, last, policy, db=db)]
    return render(request, "plans.html", principal=principal, office=office, rows=rows, first=first,
                  cutoff_days=policy.cutoff_days_before, cutoff_hour=policy.cutoff_hour,
                  previous=(first - relativedelta(months=1)).strftime("%Y-%m"),
                  following=(first + relativedelta(months=1)).strftime("%Y-%m"))
