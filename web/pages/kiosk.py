"""The township video-room kiosk: its next sessions, the recording consent step before a call, the rating screen."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from scheduling.access import room_ids_of
from vreception import audit
from vreception.cases import public
from vreception.clock import now
from vreception.errors import DomainError, Forbidden
from vreception.models import Matter, Person, Role
from vreception.models.org import Room
from vreception.models.scheduling import Participant, ReceptionSession, SessionState
from web.api.public import find_matter
from web.deps import DbSession
from web.pages.support import User, check_csrf, message, page, require_any

router = APIRouter()
UPCOMING = (SessionState.booked, SessionState.open, SessionState.live)
RECENT = 20


def _room_sessions(session, rooms: set[int]):
    return (select(ReceptionSession).where(ReceptionSession.id.in_(
        select(Participant.session_id).where(Participant.room_id.in_(rooms)))))


def _rateable(session, rooms: set[int], window_days: int) -> list[tuple[ReceptionSession, Matter]]:
    """Ended sessions of the room whose matter had its reply served and is not rated yet."""
    query = (_room_sessions(session, rooms).where(ReceptionSession.state == SessionState.ended,
                                                  ReceptionSession.matter_id.isnot(None))
             .order_by(ReceptionSession.starts_at.desc()).limit(RECENT))
    out = []
    for item in session.scalars(query):
        matter = session.get(Matter, item.matter_id)
        if public.rating_open(matter, window_days) and all(m.id != matter.id for _, m in out):
            out.append((item, matter))
    return out


def _kiosk_session(session, principal, session_id: int) -> ReceptionSession:
    """A session of one of the kiosk's rooms."""
    require_any(principal, Role.room)
    item = session.get(ReceptionSession, session_id)
    rooms = room_ids_of(principal)
    if item is None or not any(p.room_id in rooms for p in item.participants):
        raise Forbidden()
    return item


@router.get("/kiosk")
def kiosk(request: Request, principal: User, session: DbSession):
    """The room's next sessions with the device self-test and the way into each call."""
    require_any(principal, Role.room)
    rooms = room_ids_of(principal)
    upcoming = list(session.scalars(_room_sessions(session, rooms).where(
        ReceptionSession.state.in_(UPCOMING), ReceptionSession.ends_at > now())
        .order_by(ReceptionSession.starts_at).limit(10)))
    leaders = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({s.leader_id for s in upcoming})))}
    return page(request, "kiosk.html", principal, upcoming=upcoming, leaders=leaders,
                rooms=[session.get(Room, r) for r in sorted(rooms)],
                rateable=_rateable(session, rooms, request.app.state.settings.rating_window_days))


@router.get("/kiosk/sessions/{session_id}/consent")
def consent(session_id: int, request: Request, principal: User, session: DbSession):
    """The notice that the session is recorded as evidence, to acknowledge before joining."""
    item = _kiosk_session(session, principal, session_id)
    return page(request, "kiosk_consent.html", principal, item=item, leader=session.get(Person, item.leader_id))


@router.post("/kiosk/sessions/{session_id}/consent")
def consent_given(session_id: int, request: Request, principal: User, session: DbSession,
                  csrf_token: str = Form(default="", max_length=200), agree: str = Form(default="", max_length=10)):
    """Record the acknowledgement (audited) and go to the call; without it, the notice again."""
    check_csrf(request, csrf_token)
    item = _kiosk_session(session, principal, session_id)
    if agree != "yes":
        return page(request, "kiosk_consent.html", principal, status_code=422, item=item,
                    leader=session.get(Person, item.leader_id), error=True)
    audit.record(session, action="session.recording_consent", entity_type="session", entity_id=item.id,
                 actor_id=principal.person_id, data={"via": "kiosk"})
    return RedirectResponse(f"/calls/{item.id}", status_code=303)


def _rating_page(request, session, principal, item, status_code=200, error=None, done=False):
    matter = session.get(Matter, item.matter_id) if item.matter_id else None
    return page(request, "kiosk_rate.html", principal, status_code=status_code, item=item, matter=matter, error=error,
                done=done, ratings=public.RATINGS)


@router.get("/kiosk/sessions/{session_id}/rate")
def rating_form(session_id: int, request: Request, principal: User, session: DbSession):
    """The rating screen: the petitioner types the query code and rates the reply."""
    return _rating_page(request, session, principal, _kiosk_session(session, principal, session_id))


@router.post("/kiosk/sessions/{session_id}/rate")
def rating_submit(session_id: int, request: Request, principal: User, session: DbSession,
                  csrf_token: str = Form(default="", max_length=200), code: str = Form(default="", max_length=32),
                  rating: str = Form(default="", max_length=32)):
    """Rate through the public rating service, with the same query-code check and rate limit."""
    check_csrf(request, csrf_token)
    item = _kiosk_session(session, principal, session_id)
    matter = session.get(Matter, item.matter_id) if item.matter_id else None
    if matter is None:
        raise Forbidden()
    try:
        with session.begin_nested():
            found = find_matter(request, session, matter.number, code)
            public.rate(session, matter=found, rating=rating,
                        window_days=request.app.state.settings.rating_window_days)
    except DomainError as error:
        return _rating_page(request, session, principal, item, status_code=error.status, error=message(request, error))
    return _rating_page(request, session, principal, item, done=True)
