"""The petitioner's public lookup (no sign-in): number and query code; state, dates, served notices, rating."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from vreception import documents
from vreception.cases import public
from vreception.errors import DomainError, NotFound
from vreception.models import Document
from web.api.public import find_matter, public_view
from web.deps import DbSession, PagePrincipal
from web.pages.support import check_csrf, message, page

router = APIRouter()


def _result(request, session, principal, number, code, status_code=200, error=None, rated=False):
    """The lookup page, with the matter when NUMBER and CODE match (same limits as the API)."""
    view = None
    try:
        view = public_view(request, session, find_matter(request, session, number, code))
    except DomainError as failure:
        error, status_code = message(request, failure), failure.status
    return page(request, "lookup.html", principal, status_code=status_code, view=view, number=number, code=code,
                error=error, rated=rated, ratings=public.RATINGS)


@router.get("/lookup")
def lookup_form(request: Request, principal: PagePrincipal):
    """Type the matter number and the query code (查询码)."""
    return page(request, "lookup.html", principal, view=None, number="", code="", ratings=public.RATINGS)


@router.post("/lookup")
def lookup(request: Request, session: DbSession, principal: PagePrincipal,
           csrf_token: str = Form(default="", max_length=200), number: str = Form(default="", max_length=40),
           code: str = Form(default="", max_length=32)):
    """The matter as the petitioner may see it; a wrong code reads like a wrong number and is counted."""
    check_csrf(request, csrf_token)
    return _result(request, session, principal, number.strip(), code.strip())


@router.post("/lookup/rate")
def lookup_rate(request: Request, session: DbSession, principal: PagePrincipal,
                csrf_token: str = Form(default="", max_length=200), number: str = Form(default="", max_length=40),
                code: str = Form(default="", max_length=32), rating: str = Form(default="", max_length=32)):
    """Rate the reply once, within the rating window (满意 / 基本满意 / 不满意)."""
    check_csrf(request, csrf_token)
    try:
        with session.begin_nested():
            matter = find_matter(request, session, number.strip(), code.strip())
            public.rate(session, matter=matter, rating=rating,
                        window_days=request.app.state.settings.rating_window_days)
    except DomainError as failure:
        return _result(request, session, principal, number.strip(), code.strip(), status_code=failure.status,
                       error=message(request, failure))
    return _result(request, session, principal, number.strip(), code.strip(), rated=True)


@router.post("/lookup/documents/{document_id}")
def lookup_document(document_id: int, request: Request, session: DbSession,
                    csrf_token: str = Form(default="", max_length=200), number: str = Form(default="", max_length=40),
                    code: str = Form(default="", max_length=32)):
    """A served notice, for the petitioner who holds the code."""
    check_csrf(request, csrf_token)
    matter = find_matter(request, session, number.strip(), code.strip())
    document = session.scalar(select(Document).where(Document.id == document_id, Document.matter_id == matter.id,
                                                     Document.served_at.isnot(None)))
    if document is None or document.kind not in documents.SERVED_KINDS:
        raise NotFound("error.not_found")
    return HTMLResponse(document.html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
