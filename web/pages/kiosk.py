"""The township video-room kiosk: its next sessions, the recording consent step before a call, the rating screen."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from scheduling.access import room_ids_of
from scheduling.queries import matter_of, rateable_in_rooms, session_in_rooms, upcoming_in_rooms
from vreception import audit
from vreception.cases import public
from vreception.clock import now
from vreception.errors import Forbidden
from vreception.models import Role
from vreception.models.scheduling import ReceptionSession
from vreception.org.queries import people_by_id, person, rooms_by_id
from vreception.records.views import record_out
from web.deps import DbSession
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, find_matter, message, page, require_any
from web.settings import AppSettings

router = APIRouter()


def _kiosk_session(principal, session_id: int, *, db) -> ReceptionSession:
    """A session of one of the kiosk's rooms."""
    require_any(principal, Role.room)
    item = session_in_rooms(session_id, room_ids_of(principal), db=db)
    if item is None:
        raise Forbidden()
    return item


@router.get("/kiosk")
def kiosk(request: Request, principal: User, db: DbSession, settings: AppSettings):
    """The room's next sessions with the device self-test and the way into each call."""
    require_any(principal, Role.room)
    rooms = room_ids_of(principal)
    upcoming = upcoming_in_rooms(rooms, now(), db=db)
    by_id = rooms_by_id(rooms, db=db)
    return page(request, "kiosk.html", principal, upcoming=upcoming,
                leaders=people_by_id({s.leader_id for s in upcoming}, db=db),
                rooms=[by_id.get(r) for r in sorted(rooms)],
                rateable=rateable_in_rooms(rooms, settings.rating_window_days, db=db))


@router.get("/kiosk/sessions/{session_id}/consent")
def consent(session_id: int, request: Request, principal: User, db: DbSession):
    """The notice that the session is recorded as evidence, to acknowledge before joining."""
    item = _kiosk_session(principal, session_id, db=db)
    return page(request, "kiosk_consent.html", principal, item=item, leader=person(item.leader_id, db=db))


@router.post("/kiosk/sessions/{session_id}/consent")
def consent_given(session_id: int, request: Request, principal: User, db: DbSession,
                  csrf_token: str = Form(default="", max_length=200), agree: str = Form(default="", max_length=10)):
    """Record the acknowledgement (audited) and go to the call; without it, the notice again."""
    check_csrf(request, csrf_token)
    item = _kiosk_session(principal, session_id, db=db)
    if agree != "yes":
        return page(request, "kiosk_consent.html", principal, status_code=422, item=item,
                    leader=person(item.leader_id, db=db), error=True)
    audit.record(db=db, action="session.recording_consent", entity_type="session", entity_id=item.id,
                 actor_id=principal.person_id, data={"via": "kiosk"})
    return RedirectResponse(f"/calls/{item.id}", status_code=303)


def _to_sign(item: ReceptionSession, *, db) -> bool:
    """Whether the session's reception record waits for a signature at this kiosk."""
    view = record_out(item, db=db)
    return view.state in ("draft", "signing") and any(signer.state == "waiting" for signer in view.signers)


@router.get("/kiosk/sessions/{session_id}/after")
def after_call(session_id: int, request: Request, principal: User, db: DbSession, settings: AppSettings,
               signed: str = ""):
    """Where the room's screen goes once a call is over: signing the record, then rating a served reply, else home."""
    item = _kiosk_session(principal, session_id, db=db)
    if not signed and _to_sign(item, db=db):
        return RedirectResponse(f"/kiosk/sessions/{item.id}/sign", status_code=303)
    matter = matter_of(item, db=db)
    if matter is not None and public.rating_open(matter, settings.rating_window_days):
        return RedirectResponse(f"/kiosk/sessions/{item.id}/rate", status_code=303)
    return RedirectResponse("/kiosk", status_code=303)


def _rating_page(request, principal, item, status_code=200, error=None, done=False, *, db):
    return page(request, "kiosk_rate.html", principal, status_code=status_code, item=item, matter=matter_of(item, db=db),
                error=error, done=done, ratings=public.RATINGS)


@router.get("/kiosk/sessions/{session_id}/rate")
def rating_form(session_id: int, request: Request, principal: User, db: DbSession):
    """The rating screen: the petitioner types the query code and rates the reply."""
    return _rating_page(request, principal, _kiosk_session(principal, session_id, db=db), db=db)


@router.post("/kiosk/sessions/{session_id}/rate")
def rating_submit(session_id: int, request: Request, principal: User, db: DbSession, settings: AppSettings,
                  csrf_token: str = Form(default="", max_length=200), code: str = Form(default="", max_length=32),
                  rating: str = Form(default="", max_length=32)):
    """Rate through the public rating service, with the same query-code check and rate limit."""
    check_csrf(request, csrf_token)
    item = _kiosk_session(principal, session_id, db=db)
    matter = matter_of(item, db=db)
    if matter is None:
        raise Forbidden()
    _, error = attempt(lambda: public.rate(db=db, matter=find_matter(request, matter.number, code, db=db), rating=rating,
                                               window_days=settings.rating_window_days), db=db)
    if error is not None:
        return _rating_page(request, principal, item, db=db, status_code=error.status, error=message(request, error))
    return _rating_page(request, principal, item, db=db, done=True)
