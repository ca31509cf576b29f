"""The petitioner's public lookup (no sign-in): number and query code; state, dates, served notices, rating."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request

from vreception.cases import public
from vreception.errors import DomainError
from web.deps import DbSession, PagePrincipal
from web.pages.forms import attempt
from web.pages.support import check_csrf, find_matter, message, page
from web.responses import document_html
from web.settings import AppSettings, app_settings

router = APIRouter()


def _result(request, principal, number, code, status_code=200, error=None, rated=False, *, db):
    """The lookup page, with the matter when NUMBER and CODE match (same limits as the API)."""
    view = None
    try:
        view = public.public_view(find_matter(request, number, code, db=db), db=db,
                                  window_days=app_settings(request).rating_window_days)
    except DomainError as failure:
        error, status_code = message(request, failure), failure.status
    return page(request, "lookup.html", principal, status_code=status_code, view=view, number=number, code=code,
                error=error, rated=rated, ratings=public.RATINGS)


@router.get("/lookup")
def lookup_form(request: Request, principal: PagePrincipal):
    """Type the matter number and the query code (查询码)."""
    return page(request, "lookup.html", principal, view=None, number="", code="", ratings=public.RATINGS)


@router.post("/lookup")
def lookup(request: Request, db: DbSession, principal: PagePrincipal,
           csrf_token: str = Form(default="", max_length=200), number: str = Form(default="", max_length=40),
           code: str = Form(default="", max_length=32)):
    """The matter as the petitioner may see it; a wrong code reads like a wrong number and is counted."""
    check_csrf(request, csrf_token)
    return _result(request, principal, number.strip(), code.strip(), db=db)


@router.post("/lookup/rate")
def lookup_rate(request: Request, db: DbSession, principal: PagePrincipal, settings: AppSettings,
                csrf_token: str = Form(default="", max_length=200), number: str = Form(default="", max_length=40),
                code: str = Form(default="", max_length=32), rating: str = Form(default="", max_length=32)):
    """Rate the reply once, within the rating window (满意 / 基本满意 / 不满意)."""
    check_csrf(request, csrf_token)
    number, code = number.strip(), code.strip()
    _, failure = attempt(lambda: public.rate(db=db, matter=find_matter(request, number, code, db=db), rating=rating,
                                                 window_days=settings.rating_window_days), db=db)
    if failure is not None:
        return _result(request, principal, number, code, db=db, status_code=failure.status,
                       error=message(request, failure))
    return _result(request, principal, number, code, db=db, rated=True)


@router.post("/lookup/documents/{document_id}")
def lookup_document(document_id: int, request: Request, db: DbSession,
                    csrf_token: str = Form(default="", max_length=200), number: str = Form(default="", max_length=40),
                    code: str = Form(default="", max_length=32)):
    """A served notice, for the petitioner who holds the code."""
    check_csrf(request, csrf_token)
    document = public.served_document(find_matter(request, number.strip(), code.strip(), db=db), document_id, db=db)
    return document_html(document)
