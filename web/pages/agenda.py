"""The leader's agenda: today's and this week's sessions with each matter's summary and history, and owned matters."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request

from scheduling.queries import leader_agenda, owned_matters
from vreception.models import Role
from web.deps import DbSession
from web.pages.support import User, page, require_any, today, week_bounds, zone

router = APIRouter()


@router.get("/agenda")
def agenda(request: Request, principal: User, db: DbSession):
    """My sessions this week (today first) and the matters I own (包案) with their deadlines."""
    require_any(principal, Role.leader)
    tz = zone(request)
    monday, sunday = week_bounds(request)
    first, last = datetime.combine(monday, time(0), tz), datetime.combine(sunday + timedelta(days=1), time(0), tz)
    entries = leader_agenda(db, principal, first, last)
    day = today(request)
    return page(request, "agenda.html", principal,
                today_entries=[e for e in entries if e.session.starts_at.astimezone(tz).date() == day],
                week_entries=[e for e in entries if e.session.starts_at.astimezone(tz).date() != day],
                owned=owned_matters(db, principal), monday=monday, sunday=sunday)
