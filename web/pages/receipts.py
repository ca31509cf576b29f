"""The petitioner's paper: the registration receipt (with the query code right after registering) and the
reception notice of a booked session, as PDF."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from scheduling import access as scheduling_access
from scheduling.booking import load_session
from vreception.cases import access
from vreception.errors import Forbidden
from vreception.sms import paper
from web.deps import DbSession
from web.pages import forms
from web.pages.support import User, check_csrf, require_any

router = APIRouter()


def _pdf(data: bytes, name: str) -> Response:
    # The copy with the code must not linger in a shared cache or the browser's history of fetched files.
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


@router.post("/matters/{matter_id}/receipt.pdf")
def receipt_with_code(matter_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """The 登记回执 with its query code: the registration page posts the code it shows; nothing stores it."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    require_any(principal, *access.OFFICE)
    matter = access.load_readable(principal, matter_id, db=db)
    code = paper.check_code(request.app.state.protector, matter, forms.text(form, "code", 40))
    paper.receipt_printed(db=db, matter=matter, with_code=True, actor_id=principal.person_id)
    html = paper.receipt_html(db=db, matter=matter, code=code)
    return _pdf(paper.pdf(html), f"receipt-{matter.number}.pdf")


@router.get("/matters/{matter_id}/receipt.pdf")
def receipt_reprint(matter_id: int, principal: User, db: DbSession):
    """A reprint of the 登记回执, without the query code (it is stored only as a hash)."""
    matter = access.load_readable(principal, matter_id, db=db)
    return _pdf(paper.pdf(paper.receipt_html(db=db, matter=matter, code=None)), f"receipt-{matter.number}.pdf")


@router.get("/sessions/{session_id}/reception-notice.pdf")
def reception_notice(session_id: int, principal: User, db: DbSession):
    """The 预约接访通知书 of a reception booked on a matter, for a reader of the matter."""
    # Those who see the session (its managers, leader and room); for a session on a matter, its readers as well.
    booking = load_session(session_id, db=db)
    if not scheduling_access.can_see(principal, booking):
        if booking.matter_id is None:
            raise Forbidden()
        access.load_readable(principal, booking.matter_id, db=db)
    html = paper.reception_notice_html(db=db, booking=booking)
    return _pdf(paper.pdf(html), f"reception-notice-{session_id}.pdf")
