"""The office's hearing forms on the matter page (听证): request or proposal, decision, chair and panel, publicity,
booking, 回避, conclusion and publication; each goes back to the matter's hearing section with its result."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from scheduling import access as session_access
from scheduling import hearing_booking
from scheduling.hearing_booking import book_hearing
from vreception import evidence
from vreception.auth.access import load_node
from vreception.cases import actions
from vreception.errors import Forbidden
from vreception.hearings import access, panel, procedure, publication, queries, recusals
from vreception.models import Role
from vreception.models.hearings import Hearing
from web import hearing_section
from web.deps import DbSession
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, message, page, policy, require_any, zone
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


def _step(request: Request, matter_id: int, done: str, change: Callable[[], Any], *, db) -> RedirectResponse:
    """Run CHANGE in a savepoint; back to the hearing section with the step done, or the error in Chinese."""
    _, error = attempt(change, db=db)
    if isinstance(error, Forbidden):
        raise error
    url = hearing_section.back(request, matter_id, error=message(request, error)) if error is not None \
        else hearing_section.back(request, matter_id, done=done)
    return RedirectResponse(url, status_code=303)


def _office_hearing(request: Request, form, principal, hearing_id: int, *, db) -> Hearing:
    check_csrf(request, forms.text(form, "csrf_token", 200))
    return access.load_for_office(principal, hearing_id, db=db)


@router.post("/matters/{matter_id}/hearings")
def propose(matter_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
            settings: AppSettings):
    """Record the petitioner's request for a hearing, or the office's proposal."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    matter = actions.lock(matter_id, db=db)
    access.require_office(principal, matter, db=db)
    return _step(request, matter.id, "proposed", lambda: procedure.propose(
        db=db, matter=matter, actor_id=principal.person_id, by_petitioner=_checked(form, "by_petitioner"),
        reason=forms.text(form, "reason", 4001), decision_days=settings.hearing_decision_days), db=db)


@router.post("/hearings/{hearing_id}/decision")
def decide(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Hold the hearing (听证告知书) or refuse it with a reason (不予听证告知书)."""
    hearing = _office_hearing(request, form, principal, hearing_id, db=db)
    return _step(request, hearing.matter_id, "decided", lambda: procedure.decide(
        db=db, hearing=hearing, hold=forms.text(form, "hold", 10) == "yes", reason=forms.text(form, "reason", 4001),
        actor_id=principal.person_id), db=db)


@router.post("/hearings/{hearing_id}/chair")
def appoint(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Appoint the chair (a leader who did not act on the matter) and the recorder."""
    hearing = _office_hearing(request, form, principal, hearing_id, db=db)
    return _step(request, hearing.matter_id, "appointed", lambda: hearing_booking.appoint(
        db=db, policy=policy(request), hearing=hearing, chair_id=forms.integer(form, "chair_id") or 0,
        recorder_id=forms.integer(form, "recorder_id") or 0, actor_id=principal.person_id), db=db)


@router.post("/hearings/{hearing_id}/panel")
def compose(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Compose the panel from the roster; the petitioner's choices marked."""
    hearing = _office_hearing(request, form, principal, hearing_id, db=db)
    chosen = set(_ids(form, "chosen"))
    seats = [panel.Seat(person_id, person_id in chosen) for person_id in _ids(form, "member")][:15]
    return _step(request, hearing.matter_id, "panel", lambda: hearing_booking.compose(
        db=db, policy=policy(request), hearing=hearing, seats=seats, actor_id=principal.person_id), db=db)


@router.post("/hearings/{hearing_id}/publicity")
def publicity(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Public, or closed for a state secret, a trade secret or privacy."""
    hearing = _office_hearing(request, form, principal, hearing_id, db=db)
    public = forms.text(form, "public", 10) != "no"
    return _step(request, hearing.matter_id, "publicity", lambda: procedure.set_publicity(
        db=db, hearing=hearing, public=public, closed_reason=None if public else forms.text(form, "closed_reason", 32),
        actor_id=principal.person_id), db=db)


def _authorisation(form, hearing: Hearing, settings, actor_id: int, *, db) -> str:
    """The agent's written authorisation: a file uploaded with the form (attached to the matter), or one attached
    before; its item, or "" when none."""
    upload = form.get("authorisation_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = upload.file.read(settings.max_upload_bytes + 1)
        stored = evidence.store_matter_file(db=db, matter=procedure.matter_of(hearing, db=db), data=data,
                                            max_bytes=settings.max_upload_bytes, storage_dir=Path(settings.data_dir),
                                            actor_id=actor_id, filename=upload.filename)
        return stored.item
    return forms.text(form, "agent_authorisation", 200)


@router.post("/hearings/{hearing_id}/booking")
def book(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
         settings: AppSettings):
    """Book the hearing's session (the chair in the leader's seat) and notice every participant (听证通知书): the
    handlers, petitioners, representatives, an agent with their written authorisation, witnesses."""
    hearing = _office_hearing(request, form, principal, hearing_id, db=db)
    room_ids = _ids(form, "room_id")[:10]
    if hearing.chair_id is not None:
        session_access.require_booker(principal, db=db, leader_id=hearing.chair_id, room_ids=room_ids,
                                      matter_id=hearing.matter_id)
    tz = zone(request)
    agent = forms.text(form, "agent", 100)

    def do():
        return book_hearing(
            db=db, policy=policy(request), hearing=hearing, room_ids=room_ids,
            starts_at=forms.local_datetime(form, "start", tz), ends_at=forms.local_datetime(form, "end", tz),
            handler_ids=_ids(form, "handler_id")[:10], petitioners=_names(form, "petitioners"),
            representatives=_names(form, "representatives")[:5], agent=agent,
            agent_authorisation=_authorisation(form, hearing, settings, principal.person_id, db=db) if agent else "",
            witnesses=_names(form, "witnesses"), notice_waived=_checked(form, "notice_waived"),
            waiver_note=forms.text(form, "waiver_note", 4001), recorded=_checked(form, "record"),
            actor_id=principal.person_id)

    return _step(request, hearing.matter_id, "booked", do, db=db)


@router.post("/hearings/{hearing_id}/recusals")
def request_recusal(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Write down a 回避 request (the office or the chair)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    hearing = access.load_visible(principal, hearing_id, db=db, lock=True)
    access.require_recusal_recorder(principal, hearing, db=db)
    return _step(request, hearing.matter_id, "recusal", lambda: recusals.request(
        db=db, hearing=hearing, against_id=forms.integer(form, "against_id") or 0,
        requested_by=forms.text(form, "requested_by", 100), reason=forms.text(form, "reason", 4001),
        actor_id=principal.person_id), db=db)


@router.post("/hearings/{hearing_id}/recusals/{recusal_id}/decision")
def decide_recusal(hearing_id: int, recusal_id: int, request: Request, form: forms.Posted, principal: User,
                   db: DbSession):
    """The chair decides a 回避 request (the office, when it is against the chair)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    hearing = access.load_visible(principal, hearing_id, db=db, lock=True)
    recusal = recusals.load(hearing, recusal_id)
    access.require_recusal_decider(principal, hearing, recusal, db=db)
    return _step(request, hearing.matter_id, "recusal_decided", lambda: hearing_booking.decide_recusal(
        db=db, policy=policy(request), hearing=hearing, recusal=recusal, granted=forms.text(form, "granted", 10) == "yes",
        reason=forms.text(form, "reason", 4001), actor_id=principal.person_id), db=db)


@router.post("/hearings/{hearing_id}/conclusion")
def conclude(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Issue the 听证结论."""
    hearing = _office_hearing(request, form, principal, hearing_id, db=db)
    return _step(request, hearing.matter_id, "concluded", lambda: procedure.conclude(
        db=db, hearing=hearing, conclusion=forms.text(form, "conclusion", 4001), actor_id=principal.person_id), db=db)


@router.post("/hearings/{hearing_id}/publication")
def publish(hearing_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Publish the opinion made after the hearing (without personal data)."""
    hearing = _office_hearing(request, form, principal, hearing_id, db=db)
    return _step(request, hearing.matter_id, "published", lambda: publication.publish(db=db, hearing=hearing, actor_id=principal.person_id),
                 db=db)


# ---- the office's roster of hearing members (听证员名库) -----------------------------------------------------------

ROSTER_DONE = {"added": "hearing.roster.done.added", "removed": "hearing.roster.done.removed"}


def _roster_office(principal, node_id: int | None, *, db):
    """The office whose roster is asked for (by default the first one the principal keeps), if they keep it."""
    require_any(principal, *access.ROSTER_KEEPERS)
    if node_id is None:
        node_id = next(s.node_id for s in principal.scopes if s.role in (*access.ROSTER_KEEPERS, Role.admin))
    office = load_node(node_id, db=db)
    access.require_roster_keeper(principal, office)
    return office


def _roster_page(request: Request, principal, office, *, db, error: str | None = None, status_code: int = 200):
    done = ROSTER_DONE.get(request.query_params.get("done") or "")
    return page(request, "hearing_roster.html", principal, status_code=status_code, error=error, done=done,
                roster=queries.roster_page(principal, office, db=db))


@router.get("/hearing-roster")
def roster(request: Request, principal: User, db: DbSession, node_id: int | None = None):
    """An office's roster of hearing members with their other hearings; its coordinators add and remove members."""
    return _roster_page(request, principal, _roster_office(principal, node_id, db=db), db=db)


def _roster_back(office_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/hearing-roster?node_id={office_id}&done={done}", status_code=303)


@router.post("/hearing-roster")
def roster_add(request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Put a person with the hearing member role on the office's roster."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    office = _roster_office(principal, forms.integer(form, "node_id") or 0, db=db)
    _, error = attempt(lambda: panel.add_to_roster(
        db=db, node_id=office.id, person_id=forms.integer(form, "person_id") or 0,
        profession=forms.text(form, "profession", 100), actor_id=principal.person_id), db=db)
    if error is not None:
        return _roster_page(request, principal, office, db=db, error=message(request, error), status_code=error.status)
    return _roster_back(office.id, "added")


@router.post("/hearing-roster/{entry_id}/remove")
def roster_remove(entry_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Take a member off the office's roster (kept for the record, inactive)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    entry = panel.load_entry(entry_id, db=db)
    office = _roster_office(principal, entry.node_id, db=db)
    panel.remove_from_roster(db=db, entry=entry, actor_id=principal.person_id)
    return _roster_back(office.id, "removed")
