"""The leader's agenda: today's and this week's sessions with each matter's summary and history, and owned matters."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request
from sqlalchemy import select

from vreception.models import Matter, MatterEvent, Role
from vreception.models.scheduling import ReceptionSession, SessionState
from web.deps import DbSession
from web.pages.support import User, page, require_any, today, week_bounds, zone

router = APIRouter()
HISTORY = 5


@router.get("/agenda")
def agenda(request: Request, principal: User, session: DbSession):
    """My sessions this week (today first) and the matters I own (包案) with their deadlines."""
    require_any(principal, Role.leader)
    tz = zone(request)
    monday, sunday = week_bounds(request)
    first, last = datetime.combine(monday, time(0), tz), datetime.combine(sunday + timedelta(days=1), time(0), tz)
    found = list(session.scalars(select(ReceptionSession).where(
        ReceptionSession.leader_id == principal.person_id, ReceptionSession.starts_at < last,
        ReceptionSession.ends_at > first, ReceptionSession.state != SessionState.cancelled)
        .order_by(ReceptionSession.starts_at)))
    matter_ids = {s.matter_id for s in found if s.matter_id}
    matters = {m.id: m for m in session.scalars(select(Matter).where(Matter.id.in_(matter_ids)))}
    history = {mid: list(session.scalars(select(MatterEvent).where(MatterEvent.matter_id == mid)
                                         .order_by(MatterEvent.id.desc()).limit(HISTORY))) for mid in matter_ids}
    earlier = {mid: list(session.scalars(select(ReceptionSession).where(
        ReceptionSession.matter_id == mid, ReceptionSession.starts_at < first).order_by(ReceptionSession.starts_at)))
        for mid in matter_ids}
    day = today(request)
    entries = [{"session": s, "matter": matters.get(s.matter_id), "history": history.get(s.matter_id, []),
                "earlier": earlier.get(s.matter_id, []), "today": s.starts_at.astimezone(tz).date() == day}
               for s in found]
    owned = list(session.scalars(select(Matter).where(Matter.owner_leader_id == principal.person_id)
                                 .order_by(Matter.id.desc()).limit(200)))
    return page(request, "agenda.html", principal, today_entries=[e for e in entries if e["today"]],
                week_entries=[e for e in entries if not e["today"]], owned=owned, monday=monday, sunday=sunday)
