"""The reception record's pages: signing on the township kiosk, the record and its confirmation for the leader."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse

from scheduling.access import room_ids_of
from scheduling.booking import load_session
from scheduling.queries import session_in_rooms
from vreception import records
from vreception.errors import Forbidden
from vreception.models import Role
from vreception.models.scheduling import ReceptionSession
from vreception.records import access
from vreception.records.views import record_out
from web.deps import DbSession
from web.pages.support import User, check_csrf, page, require_any

router = APIRouter()


def _kiosk_session(principal, session_id: int, *, db) -> ReceptionSession:
    """A session of one of the kiosk's rooms."""
    require_any(principal, Role.room)
    item = session_in_rooms(session_id, room_ids_of(principal), db=db)
    if item is None:
        raise Forbidden()
    access.require_kiosk(principal, item)
    return item


def _context(booking: ReceptionSession, *, db) -> dict:
    record = records.record_of(booking, db=db)
    return {"view": record_out(booking, db=db),
            "details": records.record_context(booking, record, db=db) if record is not None else None}


@router.get("/kiosk/sessions/{session_id}/sign")
def sign_page(session_id: int, request: Request, principal: User, db: DbSession):
    """The record on the township screen: each signer reads it and signs on the pad, or refuses with a reason."""
    booking = _kiosk_session(principal, session_id, db=db)
    return page(request, "kiosk_sign.html", principal, item=booking, **_context(booking, db=db))


@router.post("/kiosk/sessions/{session_id}/sign")
def sign(session_id: int, request: Request, principal: User, db: DbSession,
         signature: UploadFile | None = None, participant_id: int = Form(default=0),
         csrf_token: str = Form(default="", max_length=200)):
    """A signature drawn on the kiosk's pad (PNG, size-checked); the record's state as JSON."""
    check_csrf(request, csrf_token or request.headers.get("x-csrf-token"))
    booking = _kiosk_session(principal, session_id, db=db)
    data = signature.file.read(records.MAX_SIGNATURE_BYTES + 1) if signature is not None else b""
    records.sign(db=db, booking=booking, participant_id=participant_id, png=data, actor_id=principal.person_id)
    return JSONResponse(record_out(booking, db=db).model_dump(mode="json"))


@router.post("/kiosk/sessions/{session_id}/refuse")
def refuse(session_id: int, request: Request, principal: User, db: DbSession,
           participant_id: int = Form(default=0), reason: str = Form(default="", max_length=2000),
           csrf_token: str = Form(default="", max_length=200)):
    """A signer refuses to sign (拒签), with the reason; the record's state as JSON."""
    check_csrf(request, csrf_token or request.headers.get("x-csrf-token"))
    booking = _kiosk_session(principal, session_id, db=db)
    records.refuse(db=db, booking=booking, participant_id=participant_id, reason=reason, actor_id=principal.person_id)
    return JSONResponse(record_out(booking, db=db).model_dump(mode="json"))


@router.get("/sessions/{session_id}/record")
def record_page(session_id: int, request: Request, principal: User, db: DbSession):
    """The record, who has signed or refused, and the confirmation for the leader and the recorder."""
    booking = load_session(session_id, db=db)
    access.require_reader(principal, booking, db=db)
    confirmer = (booking.leader_id == principal.person_id or access.is_recorder(principal, booking)
                 or access.is_confirmer(principal, booking))
    return page(request, "session_record.html", principal, item=booking, confirmer=confirmer,
                **_context(booking, db=db))


@router.post("/sessions/{session_id}/record/confirm")
def confirm(session_id: int, request: Request, principal: User, db: DbSession,
            csrf_token: str = Form(default="", max_length=200)):
    """The leader or the recorder confirms the record with their own account."""
    check_csrf(request, csrf_token)
    booking = load_session(session_id, db=db)
    access.require_confirmer(principal, booking)
    records.confirm(db=db, booking=booking, person_id=principal.person_id)
    return RedirectResponse(f"/sessions/{booking.id}/record", status_code=303)
