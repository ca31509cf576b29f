"""The leader's agenda: the week's or the month's sessions, the next ones first, each with its matter's summary and
history, a calendar of the period, and the matters the leader owns."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Request

from scheduling.queries import AgendaEntry, leader_agenda, owned_matters
from vreception.clock import now
from vreception.models import Role
from vreception.models.scheduling import SessionState
from web.deps import DbSession
from web.pages.support import User, page, require_any, today, week_bounds, zone

router = APIRouter()
VIEWS = ("week", "month")


def _anchor(request: Request, raw: str | None) -> date:
    try:
        return date.fromisoformat(raw) if raw else today(request)
    except ValueError:
        return today(request)


def _ahead(entry: AgendaEntry, moment: datetime) -> bool:
    """Whether the session is still to come or running (a call that runs over its time is still on)."""
    state = entry.session.state
    return state in (SessionState.open, SessionState.live) or (
        state is SessionState.booked and entry.session.ends_at > moment
    )


def period(view: str, day: date) -> tuple[date, date, date, date]:
    """The period's first and last day, and a day in the period before and in the one after."""
    if view == "month":
        first = day.replace(day=1)
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        return first, last, first - timedelta(days=1), last + timedelta(days=1)
    first = day - timedelta(days=day.weekday())
    return first, first + timedelta(days=6), first - timedelta(days=7), first + timedelta(days=7)


@router.get("/agenda")
def agenda(request: Request, principal: User, db: DbSession, view: str = "week", day: str | None = None):
    """My sessions of a week or a month: the coming ones first, then a calendar, then those already past; and the
    matters I own (包案) with their deadlines."""
    require_any(principal, Role.leader)
    tz, view = zone(request), view if view in VIEWS else "week"
    first, last, before, after = period(view, _anchor(request, day))
    start, end = datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz)
    entries = leader_agenda(principal, start, end, db=db)
    moment = now()
    coming = [e for e in entries if _ahead(e, moment)]
    past = [e for e in reversed(entries) if not _ahead(e, moment)]
    grid_first, _ = week_bounds(request, first)
    _, grid_last = week_bounds(request, last)
    by_day: dict[date, list] = {}
    for e in entries:
        by_day.setdefault(e.session.starts_at.astimezone(tz).date(), []).append(e.session)
    days = [grid_first + timedelta(days=i) for i in range((grid_last - grid_first).days + 1)]
    return page(
        request,
        "agenda.html",
        principal,
        view=view,
        first=first,
        last=last,
        before=before.isoformat(),
        after=after.isoformat(),
        coming=coming,
        past=past,
        owned=owned_matters(principal, db=db),
        calendar=[{"day": d, "inside": first <= d <= last, "sessions": by_day.get(d, [])} for d in days],
        today=today(request),
    )
