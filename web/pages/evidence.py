"""Evidence shown in a call (证据展示): pick or upload a file of the matter, and its pages as images.

Showing and turning pages go through signaling (`show`, `show_end`, `allow_show`: signaling/README.md); these
routes only prepare an item (check it belongs to the session's matter, count its pages) and serve its pages to
the call's participants.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from scheduling import access
from scheduling.booking import load_session
from signaling.roles import can
from vreception import evidence
from vreception.auth.access import Principal
from vreception.cases import access as matters
from vreception.errors import Forbidden, Invalid, NotFound
from vreception.models.scheduling import ReceptionSession
from web.deps import DbSession
from web.pages.support import User, check_csrf
from web.settings import AppSettings

router = APIRouter()


def _seat(principal: Principal, session_id: int, *, db) -> tuple[ReceptionSession, str, int | None]:
    """The session, the principal's role in its call and their seat's id (a coordinator over it may be unseated)."""
    booking = load_session(session_id, db=db)
    seat = access.own_seat(principal, booking)
    if seat is not None:
        return booking, seat.role, seat.id
    if access.can_manage(principal, booking):
        return booking, "coordinator", None
    raise Forbidden()


def _reads_matter(principal: Principal, booking: ReceptionSession, *, db) -> bool:
    return booking.matter_id is not None and matters.can_read(principal, matters.load(booking.matter_id, db=db), db=db)


def _require_shower(principal: Principal, booking: ReceptionSession, role: str, *, db, upload: bool) -> int:
    """The session's matter, if the principal may show its files: a shower who reads the matter; the room's
    kiosk only what it uploads (and signaling lets it show only while a moderator allows it)."""
    if booking.matter_id is None:
        raise NotFound("error.matter_not_found")
    if upload and role == "room":
        return booking.matter_id
    if not can(role, "show") or not _reads_matter(principal, booking, db=db):
        raise Forbidden()
    return booking.matter_id


def _out(source: evidence.Source, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"item": source.item, "pages": source.pages, "title": source.title,
                         "content_type": source.content_type}, status_code=status_code)


@router.get("/calls/{session_id}/evidence")
def evidence_items(session_id: int, principal: User, db: DbSession):
    """What the principal may show in this call: the matter's notices and attachments (empty for the room)."""
    booking, role, _ = _seat(principal, session_id, db=db)
    shows = can(role, "show") and _reads_matter(principal, booking, db=db)
    items = evidence.showable(db=db, matter_id=booking.matter_id) if shows and booking.matter_id is not None else []
    return JSONResponse({"may_show": shows, "may_upload": shows or role == "room", "items": items})


@router.post("/calls/{session_id}/evidence")
def prepare_evidence(session_id: int, request: Request, principal: User, db: DbSession, settings: AppSettings,
                     item: str = Form(max_length=100), csrf_token: str = Form(default="", max_length=200)):
    """Prepare a notice or attachment of the session's matter for showing (403 for another matter's file)."""
    check_csrf(request, csrf_token or request.headers.get("x-csrf-token"))
    booking, role, seat = _seat(principal, session_id, db=db)
    matter_id = _require_shower(principal, booking, role, db=db, upload=False)
    source = evidence.resolve(db=db, matter_id=matter_id, item=item, storage_dir=Path(settings.data_dir))
    evidence.prepare(db=db, session_id=booking.id, source=source, actor_id=principal.person_id, participant_id=seat or 0)
    return _out(source)


@router.post("/calls/{session_id}/evidence/upload")
def upload_evidence(session_id: int, request: Request, principal: User, db: DbSession, settings: AppSettings,
                    file: UploadFile | None = None, csrf_token: str = Form(default="", max_length=200)):
    """Upload a PDF, PNG or JPEG into the session's matter during the call and prepare it (413 too large,
    422 another type; nothing is stored then)."""
    check_csrf(request, csrf_token or request.headers.get("x-csrf-token"))
    booking, role, seat = _seat(principal, session_id, db=db)
    matter_id = _require_shower(principal, booking, role, db=db, upload=True)
    if file is None:
        raise Invalid("error.upload_empty", field="file")
    data = file.file.read(settings.max_upload_bytes + 1)
    matter = matters.load(matter_id, db=db)
    source = evidence.store_upload(db=db, matter=matter, data=data, max_bytes=settings.max_upload_bytes,
                                   storage_dir=Path(settings.data_dir), actor_id=principal.person_id,
                                   session_id=booking.id, filename=file.filename or "")
    evidence.prepare(db=db, session_id=booking.id, source=source, actor_id=principal.person_id, participant_id=seat or 0)
    return _out(source, 201)


@router.get("/calls/{session_id}/evidence/page")
def evidence_page(session_id: int, principal: User, db: DbSession, settings: AppSettings,
                  item: str = "", page: int = 1):
    """One page of an item prepared in this call, as an image, for a participant of the call."""
    booking, _, _ = _seat(principal, session_id, db=db)
    if booking.matter_id is None or not evidence.was_prepared(db=db, session_id=booking.id, item=item):
        raise NotFound("error.evidence_not_prepared", field="item")
    data_dir = Path(settings.data_dir)
    source = evidence.resolve(db=db, matter_id=booking.matter_id, item=item, storage_dir=data_dir)
    image, media_type = evidence.render_page(source, page, data_dir / "evidence-cache")
    return Response(image, media_type=media_type,
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=600",
                             "Content-Disposition": "inline"})
