"""The office's hearing forms on the matter page (听证): request or proposal, decision, chair and panel, publicity,
booking, 回避, conclusion and publication; each goes back to the matter's hearing section with its result."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from scheduling import access as session_access
from scheduling.hearing_booking import book_hearing
from vreception.cases import actions
from vreception.errors import Forbidden
from vreception.hearings import access, panel, procedure, publication, recusals
from vreception.models.hearings import Hearing
from web import hearing_section
from web.deps import DbSession
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, message, policy, zone
from web.settings import AppSettings

router = APIRouter()
NAMES = re.compile(r"[,，、;；\n]+")
MAX_NAMES = 10


def _names(form, name: str) -> list[str]:
    """A list of names typed in one field, split on commas, 、 or lines."""
    return [n.strip()[:100] for n in NAMES.split(forms.text(form, name, 2000)) if n.strip()][:MAX_NAMES]


def _ids(form, name: str) -> list[int]:
    """The ids of a repeated select or checkbox field (blanks left out)."""
    out = []
    for raw in forms.texts(form, name, 20):
        if raw:
            try:
                out.append(int(raw))
            except ValueError:
                continue
    return out


def _checked(form, name: str) -> bool:
    return forms.text(form, name, 10) in ("on", "1", "yes", "true")


def _step(request: Request, db, matter_id: int, done: str, change: Callable[[], Any]) -> RedirectResponse:
    """Run CHANGE in a savepoint; back to the hearing section with the step done, or the error in Chinese."""
    _, error = attempt(db, change)
    if isinstance(error, Forbidden):
        raise error
    url = hearing_section.back(request, matter_id, error=message(request, error)) if error is not None \
        else hearing_section.back(request, matter_id, done=done)
    return RedirectResponse(url, status_code=303)


def _office_hearing(request: Request, form, principal, db, hearing_id: int) -> Hearing:
    check_csrf(request, forms.text(form, "csrf_token", 200))
    return access.load_for_office(db, principal, hearing_id)


@router.post("/matters/{matter_id}/hearings")
def propose(matter_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
            settings: AppSettings):
    """Record the petitioner's request for a hearing, or the office's proposal."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    matter = actions.lock(db, matter_id)
    access.require_office(db, principal, matter)
    return _step(request, db, matter.id, "proposed", lambda: procedure.propose(
        db, matter=matter, actor_id=principal.person_id, by_petitioner=_checked(form, "by_petitioner"),
        reason=forms.text(form, "reason", 4001), decision_days=settings.hearing_decision_days))


@router.post("/hearings/{hearing_id}/decision")
def decide(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Hold the hearing (听证告知书) or refuse it with a reason (不予听证告知书)."""
    hearing = _office_hearing(request, form, principal, db, hearing_id)
    return _step(request, db, hearing.matter_id, "decided", lambda: procedure.decide(
        db, hearing=hearing, hold=forms.text(form, "hold", 10) == "yes", reason=forms.text(form, "reason", 4001),
        actor_id=principal.person_id))


@router.post("/hearings/{hearing_id}/chair")
def appoint(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Appoint the chair (a leader who did not act on the matter) and the recorder."""
    hearing = _office_hearing(request, form, principal, db, hearing_id)
    return _step(request, db, hearing.matter_id, "appointed", lambda: procedure.appoint(
        db, hearing=hearing, chair_id=forms.integer(form, "chair_id") or 0,
        recorder_id=forms.integer(form, "recorder_id") or 0, actor_id=principal.person_id))


@router.post("/hearings/{hearing_id}/panel")
def compose(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
            settings: AppSettings):
    """Compose the panel from the roster; the petitioner's choices marked."""
    hearing = _office_hearing(request, form, principal, db, hearing_id)
    chosen = set(_ids(form, "chosen"))
    seats = [panel.Seat(person_id, person_id in chosen) for person_id in _ids(form, "member")][:15]
    return _step(request, db, hearing.matter_id, "panel", lambda: panel.compose(
        db, hearing=hearing, seats=seats, sizes=settings.hearing_panel_sizes, actor_id=principal.person_id))


@router.post("/hearings/{hearing_id}/publicity")
def publicity(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Public, or closed for a state secret, a trade secret or privacy."""
    hearing = _office_hearing(request, form, principal, db, hearing_id)
    public = forms.text(form, "public", 10) != "no"
    return _step(request, db, hearing.matter_id, "publicity", lambda: procedure.set_publicity(
        db, hearing=hearing, public=public, closed_reason=None if public else forms.text(form, "closed_reason", 32),
        actor_id=principal.person_id))


@router.post("/hearings/{hearing_id}/booking")
def book(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Book the hearing's session (the chair in the leader's seat) and notice every participant (听证通知书)."""
    hearing = _office_hearing(request, form, principal, db, hearing_id)
    room_ids = _ids(form, "room_id")[:10]
    if hearing.chair_id is not None:
        session_access.require_booker(db, principal, leader_id=hearing.chair_id, room_ids=room_ids,
                                      matter_id=hearing.matter_id)
    tz = zone(request)

    def do():
        return book_hearing(
            db, policy=policy(request), hearing=hearing, room_ids=room_ids,
            starts_at=forms.local_datetime(form, "start", tz), ends_at=forms.local_datetime(form, "end", tz),
            handler_ids=_ids(form, "handler_id")[:10], petitioners=_names(form, "petitioners"),
            agent=forms.text(form, "agent", 100), notice_waived=_checked(form, "notice_waived"),
            waiver_note=forms.text(form, "waiver_note", 4001), recorded=_checked(form, "record"),
            actor_id=principal.person_id)

    return _step(request, db, hearing.matter_id, "booked", do)


@router.post("/hearings/{hearing_id}/recusals")
def request_recusal(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Write down a 回避 request (the office or the chair)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    hearing = access.load_visible(db, principal, hearing_id, lock=True)
    access.require_recusal_recorder(db, principal, hearing)
    return _step(request, db, hearing.matter_id, "recusal", lambda: recusals.request(
        db, hearing=hearing, against_id=forms.integer(form, "against_id") or 0,
        requested_by=forms.text(form, "requested_by", 100), reason=forms.text(form, "reason", 4001),
        actor_id=principal.person_id))


@router.post("/hearings/{hearing_id}/recusals/{recusal_id}/decision")
def decide_recusal(hearing_id: int, recusal_id: int, request: Request, form: forms.Posted, principal: User,
                   db: DbSession):
    """The chair decides a 回避 request (the office, when it is against the chair)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    hearing = access.load_visible(db, principal, hearing_id, lock=True)
    recusal = recusals.load(hearing, recusal_id)
    access.require_recusal_decider(db, principal, hearing, recusal)
    return _step(request, db, hearing.matter_id, "recusal_decided", lambda: recusals.decide(
        db, hearing=hearing, recusal=recusal, granted=forms.text(form, "granted", 10) == "yes",
        reason=forms.text(form, "reason", 4001), actor_id=principal.person_id))


@router.post("/hearings/{hearing_id}/conclusion")
def conclude(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Issue the 听证结论."""
    hearing = _office_hearing(request, form, principal, db, hearing_id)
    return _step(request, db, hearing.matter_id, "concluded", lambda: procedure.conclude(
        db, hearing=hearing, conclusion=forms.text(form, "conclusion", 4001), actor_id=principal.person_id))


@router.post("/hearings/{hearing_id}/publication")
def publish(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Publish the opinion made after the hearing (without personal data)."""
    hearing = _office_hearing(request, form, principal, db, hearing_id)
    return _step(request, db, hearing.matter_id, "published",
                 lambda: publication.publish(db, hearing=hearing, actor_id=principal.person_id))
