"""The coordinator's dashboard: sessions today and this week (live), the lobby queue, tasks due, matters by state,
the month's figures (四率 and the resolution figures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from scheduling import dashboard as reads
from vreception.auth.access import load_node, subtree_filter
from vreception.cases import monthly_figures, rates
from vreception.clock import now
from vreception.models import Node, Role
from vreception.models.scheduling import SessionState
from vreception.notify import inbox
from web.deps import DbSession
from web.pages.support import User, page, require_any, week_bounds, zone
from web.settings import app_settings

router = APIRouter()
OFFICE = (Role.coordinator,)
FOUR = ("timely_acceptance", "on_time_completion", "participation", "satisfaction")
# Beside the four rates (四率): the office's hand-over timeliness, resolution and repeat petitions (rates.py).
MORE = ("transfer_timeliness", "one_time_resolution", "first_petition_resolution", "repeat_petitions")
FIGURES = FOUR + MORE
BAR_STEP = 42


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


def live_context(request: Request, session, principal, *, week: str | None = None, today: str | None = None,
                 queue: str | None = None) -> dict:
    """What the polled partial shows: today's and this week's sessions and the lobby queue, each a page at a time
    (WEEK, TODAY and QUEUE are their cursors)."""
    tz = zone(request)
    monday, sunday = week_bounds(request)
    today_start = datetime.combine(now().astimezone(tz).date(), time(0), tz)
    week_start, week_end = datetime.combine(monday, time(0), tz), datetime.combine(sunday + timedelta(days=1), time(0), tz)
    pages = {"week": reads.sessions_between(principal, week_start, week_end, db=session, cursor=week),
             "today": reads.sessions_between(principal, today_start, today_start + timedelta(days=1), db=session,
                                             cursor=today),
             "queue": reads.sessions_between(principal, week_start, week_end, db=session, state=SessionState.open,
                                             cursor=queue)}
    listed = {name: reads.rows(principal, found.items, db=session) for name, found in pages.items()}
    # The queue runs in order of arrival: when each room opened its session.
    arrived = reads.arrivals([row["session"].id for row in listed["queue"]], db=session)
    for row in listed["queue"]:
        row["arrived"] = arrived.get(row["session"].id)
    listed["queue"].sort(key=lambda row: (row["arrived"] is None, row["arrived"] or row["session"].starts_at))
    cursors = {"week": week, "today": today, "queue": queue}
    return {**listed, "pages": pages, "live_query": urlencode({k: v for k, v in cursors.items() if v}),
            "refreshed": now()}


def chart(session, principal, request: Request) -> tuple[list[Bar], str, int]:
    """This month's figures over the subtree, summed over its units, laid out as bars; and the matters of legal
    channels left out of them (诉访分离)."""
    month = now().astimezone(zone(request)).date().replace(day=1)
    # The current month is counted live; a province's or a city's reads its matters by key (monthly_figures).
    units = monthly_figures.monthly(db=session, month=month, paths=principal.paths_for(OFFICE),
                                    rating_window_days=app_settings(request).rating_window_days)
    total = rates.UnitRates(principal.node_id)
    for unit in units:
        total.merge(unit)
    bars = []
    for i, name in enumerate(FIGURES):
        figure: rates.Rate = getattr(total, name)
        value = figure.value
        bars.append(Bar(name, value, figure.numerator, figure.denominator, figure.counts, y=10 + i * BAR_STEP,
                        width=round(300 * value) if value is not None else 0))
    return bars, month.strftime("%Y-%m"), total.legal_excluded


@router.get("/dashboard")
def dashboard(request: Request, principal: User, db: DbSession, week: str | None = None, today: str | None = None,
              queue: str | None = None, overdue: str | None = None, soon: str | None = None):
    """Today, this week, the queue, tasks due, the month's rates (coordinators); each list a page at a time."""
    require_any(principal, *OFFICE)
    late = reads.due_tasks(principal, db=db, overdue=True, cursor=overdue)
    near = reads.due_tasks(principal, db=db, overdue=False, cursor=soon)
    bars, month, legal_excluded = chart(db, principal, request)
    roles = sorted({s.role.value for s in principal.scopes})
    notices = inbox(db=db, within=subtree_filter(principal, Node.path, OFFICE))
    return page(request, "dashboard.html", principal, node=load_node(principal.node_id, db=db), roles=roles,
                overdue=late, soon=near, **reads.task_context(late.items + near.items, db=db),
                overdue_matters=reads.overdue_matters(principal, db=db), bars=bars, month=month,
                legal_excluded=legal_excluded, chart_height=20 + len(bars) * BAR_STEP,
                matter_states=reads.state_counts(principal, db=db),
                notices=notices, tz=zone(request),
                **live_context(request, db, principal, week=week, today=today, queue=queue))


@router.get("/dashboard/live")
def dashboard_live(request: Request, principal: User, db: DbSession, week: str | None = None,
                   today: str | None = None, queue: str | None = None):
    """The sessions and queue partial, polled by htmx every few seconds (on the pages the dashboard shows)."""
    require_any(principal, *OFFICE)
    return page(request, "dashboard_live.html", principal,
                **live_context(request, db, principal, week=week, today=today, queue=queue))
