"""The petitioner's lookup by matter number and query code (查询码), and their rating; no sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from vreception.cases import public
from vreception.cases.public import PublicView
from vreception.models import Matter
from web.deps import DbSession
from web.responses import document_html
from web.settings import AppSettings, client_address

router = APIRouter(prefix="/public", tags=["public"])
LOOKUP_ERRORS: dict[int | str, dict] = {404: {"description": "not_found: no such number, or a wrong code"},
                                        429: {"description": "rate_limited: too many failed lookups"}}


class RatingIn(BaseModel):
    code: str = Field(max_length=32)
    rating: str = Field(max_length=32)


def _find(request: Request, number: str, code: str, *, db) -> Matter:
    return public.find_matter(db=db, protector=request.app.state.protector, failures=request.app.state.lookup_failures,
                              number=number, code=code, client=client_address(request))


@router.get("/matters/{number}", response_model=PublicView, responses=LOOKUP_ERRORS)
def lookup(number: str, code: str, request: Request, db: DbSession, settings: AppSettings) -> PublicView:
    """The petitioner's view; a wrong code gives the same 404 as a missing number; rate-limited."""
    return public.public_view(_find(request, number, code, db=db), db=db, window_days=settings.rating_window_days)


@router.get("/matters/{number}/documents/{document_id}", response_class=HTMLResponse, responses=LOOKUP_ERRORS)
def served_document(number: str, document_id: int, code: str, request: Request, db: DbSession):
    """A served notice, for the petitioner."""
    document = public.served_document(_find(request, number, code, db=db), document_id, db=db)
    return document_html(document)


@router.post("/matters/{number}/rating", response_model=PublicView, responses={
    **LOOKUP_ERRORS, 409: {"description": "conflict: already rated"},
    422: {"description": "invalid: unknown rating; window_closed: no reply served, or the window is over"}})
def rate(number: str, body: RatingIn, request: Request, db: DbSession, settings: AppSettings) -> PublicView:
    """Rate the reply once (满意 / 基本满意 / 不满意) within the rating window."""
    matter = _find(request, number, body.code, db=db)
    public.rate(db=db, matter=matter, rating=body.rating, window_days=settings.rating_window_days)
    return public.public_view(matter, db=db, window_days=settings.rating_window_days)
