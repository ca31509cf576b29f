"""Joining a session from home (手机视频接访): the coordinator's button, and the link's pages on the phone.

`GET /home/{token}` shows the session and asks for the SMS code (`POST …/code` sends one, `POST …/verify` checks it
with the recording consent); the right code sets the phone's call credential (a cookie) and sends the phone to the
call page of the session, `/calls/{id}`, which takes that seat like any other page takes its own.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from scheduling import home_join
from scheduling.access import load_managed, load_visible
from scheduling.views import people_of
from vreception.clock import now
from vreception.errors import DomainError
from vreception.i18n import translate
from vreception.ratelimit import MemoryFailures
from vreception.sms.settings import sms_settings
from web.deps import DbSession, language
from web.pages.support import User, check_csrf, message, page, policy
from web.settings import client_address

router = APIRouter()
# Per client, on top of the link's own counters (5 wrong codes, 5 codes, one a minute): links guessed, codes asked,
# codes tried. In-process: the link's counters in the database hold across processes.
OPENS = MemoryFailures(allowed=30, window_s=600)
SENDS = MemoryFailures(allowed=6, window_s=600)
TRIES = MemoryFailures(allowed=15, window_s=600)


def _refused(request: Request, error: home_join.HomeRefused):
    return page(request, "home_refused.html", None, status_code=error.status, reason=error.reason,
                detail=message(request, error))


def _code_page(request: Request, opened: home_join.Opened, status_code: int = 200, *, db, **context):
    booking = opened.booking
    return page(request, "home_join.html", None, status_code=status_code, token=request.path_params["token"],
                booking=booking, leader=people_of(booking, db=db)["leader"], seat=opened.participant,
                tail=opened.link.phone_tail, code_sent=opened.link.code_sent_at is not None, **context)


def _opened(request: Request, token: str, *, db) -> home_join.Opened:
    return home_join.open_link(db=db, policy=policy(request), secret=request.app.state.secret, token=token,
                               credential=request.cookies.get(home_join.COOKIE))


def _too_many(request: Request, limiter: MemoryFailures, key: str) -> bool:
    return not limiter.attempt(f"{key}:{client_address(request)}")


@router.get("/home/{token}")
def home_link(token: str, request: Request, db: DbSession):
    """The link from the SMS: the session, the consent notice and the SMS code; a verified phone goes to the call."""
    try:
        opened = _opened(request, token, db=db)
    except home_join.HomeRefused as refused:
        if refused.reason == "unknown" and _too_many(request, OPENS, "open"):
            return page(request, "home_refused.html", None, status_code=429, reason="too_many",
                        detail=translate("home_join.error.too_many", language(request)))
        return _refused(request, refused)
    if opened.bound:
        return RedirectResponse(f"/calls/{opened.booking.id}", status_code=303)
    return _code_page(request, opened, db=db)


@router.post("/home/{token}/code")
def home_code(token: str, request: Request, db: DbSession, csrf_token: str = Form(default="", max_length=200)):
    """Send a 6-digit code to the registered number."""
    check_csrf(request, csrf_token)
    try:
        opened = _opened(request, token, db=db)
    except home_join.HomeRefused as refused:
        return _refused(request, refused)
    if _too_many(request, SENDS, "send"):
        return _code_page(request, opened, db=db, status_code=429,
                          error=translate("home_join.error.too_many", language(request)))
    try:
        home_join.send_code(db=db, policy=policy(request), secret=request.app.state.secret,
                            protector=request.app.state.protector, sms=sms_settings(), opened=opened)
    except home_join.HomeRefused as refused:
        return _refused(request, refused)
    except DomainError as error:
        return _code_page(request, opened, db=db, status_code=error.status, error=message(request, error))
    return _code_page(request, opened, db=db, sent=True)


@router.post("/home/{token}/verify")
def home_verify(token: str, request: Request, db: DbSession, csrf_token: str = Form(default="", max_length=200),
                code: str = Form(default="", max_length=20), agree: str = Form(default="", max_length=10)):
    """Check the code (with the recording consent); the right one opens the call on this phone only."""
    check_csrf(request, csrf_token)
    try:
        opened = _opened(request, token, db=db)
    except home_join.HomeRefused as refused:
        return _refused(request, refused)
    if agree != "yes":
        return _code_page(request, opened, db=db, status_code=422,
                          error=translate("home_join.error.consent", language(request)))
    if _too_many(request, TRIES, "verify"):
        return _code_page(request, opened, db=db, status_code=429,
                          error=translate("home_join.error.too_many", language(request)))
    try:
        credential = home_join.verify_code(db=db, secret=request.app.state.secret, opened=opened, code=code)
    except home_join.HomeRefused as refused:
        return _refused(request, refused)
    except DomainError as error:
        return _code_page(request, opened, db=db, status_code=error.status, error=message(request, error))
    response = RedirectResponse(f"/calls/{opened.booking.id}", status_code=303)
    lifetime = int((opened.link.valid_until - now()).total_seconds())
    # Lax: the link arrives from an SMS app, a navigation from outside; HttpOnly: no script of the page reads it.
    response.set_cookie(home_join.COOKIE, credential, max_age=max(lifetime, 60), path="/", httponly=True,
                        samesite="lax", secure=request.app.state.settings.cookie_secure)
    return response


# ---- staff side -----------------------------------------------------------------------------------------------------

@router.post("/sessions/{session_id}/home-links")
def issue_from_session_page(session_id: int, request: Request, principal: User, db: DbSession,
                            participant_id: int = Form(), csrf_token: str = Form(default="", max_length=200)):
    """The session page's button: send the seat its one-time link (coordinators managing the session)."""
    check_csrf(request, csrf_token)
    booking = load_managed(principal, session_id, db=db)
    sms = sms_settings()
    issued = home_join.issue_link(db=db, policy=policy(request), protector=request.app.state.protector, sms=sms,
                                  principal=principal, booking=booking, participant_id=participant_id,
                                  base_url=sms.public_url or str(request.base_url))
    seat = next(p for p in booking.participants if p.id == participant_id)
    return page(request, "home_issued.html", principal, booking=booking, seat=seat, link=issued.link)


@router.get("/calls/{session_id}/home-seats")
def home_seats(session_id: int, request: Request, principal: User, db: DbSession):
    """What the call's participant list says beside each seat joining from home (its script asks again when a seat
    connects)."""
    booking = load_visible(principal, session_id, db=db)
    labels = home_join.roster_labels(booking, language(request), db=db)
    return JSONResponse({str(pid): label for pid, label in labels.items()})
