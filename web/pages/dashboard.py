"""The coordinator's dashboard: sessions today and this week (live), the lobby queue, tasks due, the four rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from scheduling.access import can_manage
from vreception.auth.access import subtree_filter
from vreception.cases import rates
from vreception.clock import now
from vreception.models import Matter, Node, Role, Task, TaskState
from vreception.models.people import Person
from vreception.models.scheduling import ReceptionSession, SessionEvent, SessionState
from vreception.notify import inbox
from web.deps import DbSession
from web.pages.calls import my_participant
from web.pages.support import User, page, require_any, week_bounds, zone

router = APIRouter()
OFFICE = (Role.coordinator,)
FOUR = ("timely_acceptance", "on_time_completion", "participation", "satisfaction")
ACTIVE_TASK = (TaskState.assigned, TaskState.accepted, TaskState.in_progress, TaskState.sent_back)
DUE_SOON = timedelta(days=3)


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


def sessions_between(session, principal, start: datetime, end: datetime) -> list[ReceptionSession]:
    """Sessions over the coordinator's subtree overlapping [START, END), by start."""
    query = (select(ReceptionSession).where(ReceptionSession.starts_at < end, ReceptionSession.ends_at > start,
                                            ReceptionSession.state != SessionState.cancelled)
             .order_by(ReceptionSession.starts_at).limit(500))
    return [s for s in session.scalars(query) if can_manage(principal, s)]


def _rows(session, principal, found: list[ReceptionSession]) -> list[dict]:
    leaders = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({s.leader_id for s in found})))}
    matters = {m.id: m for m in session.scalars(select(Matter).where(Matter.id.in_({s.matter_id for s in found if s.matter_id})))}
    return [{"session": s, "leader": leaders.get(s.leader_id), "matter": matters.get(s.matter_id),
             "rooms": "、".join(p.name for p in s.participants if p.room_id),
             "seat": my_participant(session, principal, s) is not None} for s in found]


def live_context(request: Request, session, principal) -> dict:
    """What the polled partial shows: today's and this week's sessions and the lobby queue."""
    tz = zone(request)
    monday, sunday = week_bounds(request)
    today_start = datetime.combine(now().astimezone(tz).date(), time(0), tz)
    week = sessions_between(session, principal, datetime.combine(monday, time(0), tz),
                            datetime.combine(sunday + timedelta(days=1), time(0), tz))
    today = [s for s in week if today_start <= s.starts_at.astimezone(tz) < today_start + timedelta(days=1)]
    queue = _rows(session, principal, [s for s in week if s.state is SessionState.open])
    # The queue runs in order of arrival: when each room opened its session (its history says).
    arrived = dict(session.execute(
        select(SessionEvent.session_id, func.min(SessionEvent.at))
        .where(SessionEvent.session_id.in_([row["session"].id for row in queue]), SessionEvent.action == "state:open")
        .group_by(SessionEvent.session_id)).all()) if queue else {}
    for row in queue:
        row["arrived"] = arrived.get(row["session"].id)
    queue.sort(key=lambda row: (row["arrived"] is None, row["arrived"] or row["session"].starts_at))
    return {"today": _rows(session, principal, today), "week": _rows(session, principal, week),
            "queue": queue, "refreshed": now()}


def chart(session, principal, request: Request) -> tuple[list[Bar], str]:
    """The four rates of this month over the subtree, summed over its units, laid out as bars."""
    month = now().astimezone(zone(request)).date().replace(day=1)
    within = subtree_filter(principal, Matter.handling_path, OFFICE)
    units = rates.monthly(session, month=month, within=within,
                          rating_window_days=request.app.state.settings.rating_window_days)
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


def due_tasks(session, principal) -> tuple[list[Task], list[Task]]:
    """Overdue tasks and tasks due within three days, over the coordinator's subtree."""
    mine = select(Matter.id).where(subtree_filter(principal, Matter.handling_path, OFFICE))
    query = (select(Task).where(Task.state.in_(ACTIVE_TASK), Task.due_at < now() + DUE_SOON,
                                subtree_filter(principal, Task.unit_path, OFFICE) | Task.matter_id.in_(mine))
             .order_by(Task.due_at).limit(200))
    found = list(session.scalars(query))
    moment = now()
    return [t for t in found if t.due_at < moment], [t for t in found if t.due_at >= moment]


@router.get("/dashboard")
def dashboard(request: Request, principal: User, session: DbSession):
    """Today, this week, the queue, tasks due, the month's rates (coordinators)."""
    require_any(principal, *OFFICE)
    overdue, soon = due_tasks(session, principal)
    units = {n.id: n for n in session.scalars(select(Node).where(Node.id.in_({t.unit_node_id for t in overdue + soon})))}
    matters = {m.id: m for m in session.scalars(select(Matter).where(Matter.id.in_({t.matter_id for t in overdue + soon})))}
    bars, month = chart(session, principal, request)
    node = session.get(Node, principal.node_id)
    roles = sorted({s.role.value for s in principal.scopes})
    notices = inbox(session, within=subtree_filter(principal, Node.path, OFFICE))
    return page(request, "dashboard.html", principal, node=node, roles=roles, overdue=overdue, soon=soon, units=units,
                task_matters=matters, bars=bars, month=month, notices=notices, tz=zone(request),
                **live_context(request, session, principal))


@router.get("/dashboard/live")
def dashboard_live(request: Request, principal: User, session: DbSession):
    """The sessions and queue partial, polled by htmx every few seconds."""
    require_any(principal, *OFFICE)
    return page(request, "dashboard_live.html", principal, **live_context(request, session, principal))
