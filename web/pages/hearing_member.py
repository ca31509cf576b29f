"""The hearing member's (听证员) pages: their hearings, the case file of one they sit on, their opinion, and the
confirmation of the 听证笔录 with their account."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from scheduling.booking import load_session
from scheduling.states import JOINABLE
from vreception import audit, records
from vreception.errors import NotFound
from vreception.hearings import opinions
from vreception.hearings import record as hearing_record
from vreception.models import Role
from vreception.models.hearings import Hearing
from vreception.models.scheduling import ReceptionSession
from vreception.records import access
from vreception.records.views import record_out
from web.deps import DbSession
from web.pages.support import User, check_csrf, page, require_any
from web.responses import document_html

router = APIRouter()
JOINABLE_STATES = frozenset(s.value for s in JOINABLE)


@router.get("/my-hearings")
def my_hearings(request: Request, principal: User, db: DbSession):
    """The hearings the member sits on (or sat on), with a link to join the call while it is joinable."""
    require_any(principal, Role.hearing_member)
    found = hearing_record.member_hearings(principal.person_id, db=db)
    return page(request, "hearing_member_list.html", principal, hearings=found, joinable=JOINABLE_STATES)


@router.get("/hearings/{hearing_id}/member")
def member_page(hearing_id: int, request: Request, principal: User, db: DbSession):
    """One hearing's case file for a sitting member, their opinion form and the record to confirm."""
    require_any(principal, Role.hearing_member)
    hearing = hearing_record.load(hearing_id, db=db)
    case_file = hearing_record.case_file(hearing, principal.person_id, db=db)
    booking = hearing_record.session_of(hearing, db=db)
    view = record_out(booking, db=db) if booking is not None else None
    mine = [c for c in view.confirmations if c.person_id == principal.person_id] if view else []
    return page(request, "hearing_member.html", principal, file=case_file, record=view, mine=mine,
                joinable=JOINABLE_STATES)


@router.get("/hearings/{hearing_id}/member/documents/{document_id}.html")
def member_document(hearing_id: int, document_id: int, request: Request, principal: User, db: DbSession):
    """A served document of the case file, as issued, for a sitting member (read is audited)."""
    require_any(principal, Role.hearing_member)
    hearing = hearing_record.load(hearing_id, db=db)
    document = hearing_record.member_document(hearing, principal.person_id, document_id, db=db)
    audit.record(db=db, action="document.read", entity_type="document", entity_id=document.id,
                 actor_id=principal.person_id, data={"as": "html", "hearing_id": hearing.id})
    return document_html(document)


def _back(hearing: Hearing) -> RedirectResponse:
    return RedirectResponse(f"/hearings/{hearing.id}/member", status_code=303)


@router.post("/hearings/{hearing_id}/member/opinion")
def give_opinion(hearing_id: int, request: Request, principal: User, db: DbSession,
                 opinion: str = Form(default="", max_length=opinions.MAX_OPINION_CHARS),
                 csrf_token: str = Form(default="", max_length=200)):
    """The member's opinion, once the deliberation began; editable until the record is frozen."""
    check_csrf(request, csrf_token)
    require_any(principal, Role.hearing_member)
    hearing = hearing_record.load(hearing_id, db=db)
    hearing_record.require_member(hearing, principal.person_id)
    opinions.record_opinion(db=db, hearing=hearing, person_id=principal.person_id, text=opinion)
    return _back(hearing)


def _record_session(principal, hearing: Hearing, *, db) -> ReceptionSession:
    hearing_record.require_member(hearing, principal.person_id)
    if hearing.session_id is None:
        raise NotFound("error.session_not_found", field="session_id", id=0)
    booking = load_session(hearing.session_id, db=db)
    access.require_confirmer(principal, booking)
    return booking


@router.post("/hearings/{hearing_id}/member/confirm")
def confirm_record(hearing_id: int, request: Request, principal: User, db: DbSession,
                   csrf_token: str = Form(default="", max_length=200)):
    """The member confirms the hearing record with their account."""
    check_csrf(request, csrf_token)
    require_any(principal, Role.hearing_member)
    hearing = hearing_record.load(hearing_id, db=db)
    records.confirm(db=db, booking=_record_session(principal, hearing, db=db), person_id=principal.person_id)
    return _back(hearing)


@router.post("/hearings/{hearing_id}/member/refuse")
def refuse_record(hearing_id: int, request: Request, principal: User, db: DbSession,
                  reason: str = Form(default="", max_length=records.MAX_REASON_CHARS),
                  csrf_token: str = Form(default="", max_length=200)):
    """The member refuses to confirm the hearing record, with the reason."""
    check_csrf(request, csrf_token)
    require_any(principal, Role.hearing_member)
    hearing = hearing_record.load(hearing_id, db=db)
    records.refuse_confirmation(db=db, booking=_record_session(principal, hearing, db=db), person_id=principal.person_id,
                                reason=reason)
    return _back(hearing)
