"""The coordinator's dashboard: sessions today and this week (live), the lobby queue, tasks due, the four rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request

from scheduling import dashboard as reads
from vreception.auth.access import load_node, subtree_filter
from vreception.cases import rates
from vreception.clock import now
from vreception.models import Matter, Node, Role
from vreception.notify import inbox
from web.deps import DbSession
from web.pages.support import User, page, require_any, week_bounds, zone
from web.settings import app_settings

router = APIRouter()
OFFICE = (Role.coordinator,)
FOUR = ("timely_acceptance", "on_time_completion", "participation", "satisfaction")


@dataclass
class Bar:
    """One rate of the chart: its value, counts and geometry."""

    name: str
    value: float | None
    numerator: int
    denominator: int
    counts: dict
    y: int = 0
    width: int = 0


def live_context(request: Request, session, principal) -> dict:
    """What the polled partial shows: today's and this week's sessions and the lobby queue."""
    tz = zone(request)
    monday, sunday = week_bounds(request)
    today_start = datetime.combine(now().astimezone(tz).date(), time(0), tz)
    week = reads.sessions_between(session, principal, datetime.combine(monday, time(0), tz),
                            datetime.combine(sunday + timedelta(days=1), time(0), tz))
    today = [s for s in week if today_start <= s.starts_at.astimezone(tz) < today_start + timedelta(days=1)]
    queue = reads.rows(session, principal, [s for s in week if s.state.value == "open"])
    # The queue runs in order of arrival: when each room opened its session.
    arrived = reads.arrivals(session, [row["session"].id for row in queue])
    for row in queue:
        row["arrived"] = arrived.get(row["session"].id)
    queue.sort(key=lambda row: (row["arrived"] is None, row["arrived"] or row["session"].starts_at))
    return {"today": reads.rows(session, principal, today), "week": reads.rows(session, principal, week),
            "queue": queue, "refreshed": now()}


def chart(session, principal, request: Request) -> tuple[list[Bar], str]:
    """The four rates of this month over the subtree, summed over its units, laid out as bars."""
    month = now().astimezone(zone(request)).date().replace(day=1)
    within = subtree_filter(principal, Matter.handling_path, OFFICE)
    units = rates.monthly(session, month=month, within=within,
                          rating_window_days=app_settings(request).rating_window_days)
    bars = []
    for i, name in enumerate(FOUR):
        total = rates.Rate()
        for unit in units:
            part = getattr(unit, name)
            total.numerator += part.numerator
            total.denominator += part.denominator
            for key, count in part.counts.items():
                total.counts[key] = total.counts.get(key, 0) + count
        value = total.value
        bars.append(Bar(name, value, total.numerator, total.denominator, total.counts, y=10 + i * 42,
                        width=round(300 * value) if value is not None else 0))
    return bars, month.strftime("%Y-%m")


@router.get("/dashboard")
def dashboard(request: Request, principal: User, db: DbSession):
    """Today, this week, the queue, tasks due, the month's rates (coordinators)."""
    require_any(principal, *OFFICE)
    overdue, soon = reads.due_tasks(db, principal)
    bars, month = chart(db, principal, request)
    roles = sorted({s.role.value for s in principal.scopes})
    notices = inbox(db, within=subtree_filter(principal, Node.path, OFFICE))
    return page(request, "dashboard.html", principal, node=load_node(db, principal.node_id), roles=roles,
                overdue=overdue, soon=soon, **reads.task_context(db, overdue + soon),
                overdue_matters=reads.overdue_matters(db, principal), bars=bars, month=month,
                notices=notices, tz=zone(request),
                **live_context(request, db, principal))


@router.get("/dashboard/live")
def dashboard_live(request: Request, principal: User, db: DbSession):
    """The sessions and queue partial, polled by htmx every few seconds."""
    require_any(principal, *OFFICE)
    return page(request, "dashboard_live.html", principal, **live_context(request, db, principal))
