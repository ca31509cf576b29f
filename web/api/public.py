"""The petitioner's lookup by matter number and query code (查询码), and their rating; no sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from vreception import documents
from vreception.cases import public
from vreception.cases.deadlines import local_day
from vreception.errors import DomainError, NotFound
from vreception.models import Document
from web.deps import DbSession

router = APIRouter(prefix="/public", tags=["public"])


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class RatingIn(BaseModel):
    code: str = Field(max_length=32)
    rating: str = Field(max_length=32)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def find_matter(request: Request, session, number: str, code: str):
    """The matter, counting failures per number and per client so codes cannot be guessed."""
    failures = request.app.state.lookup_failures
    keys = (f"number:{number[:40]}", f"client:{_client(request)}")
    if any(failures.blocked(k) for k in keys):
        raise RateLimited("error.rate_limited")
    try:
        return public.find(session, protector=request.app.state.protector, number=number, code=code)
    except NotFound:
        for key in keys:
            failures.fail(key)
        raise


def public_view(request: Request, session, matter) -> dict:
    """What the petitioner may see: state, dates, served documents; no other person's data."""
    window = request.app.state.settings.rating_window_days
    deadlines = {d.kind: {"due": d.due_day.isoformat(), "state": d.state.value, "provisional": d.provisional}
                 for d in matter.deadlines if d.kind in ("acceptance", "handling", "review_request", "review_decision",
                                                         "recheck_request", "recheck_decision")
                 and d.state.value != "cancelled"}
    return {
        "number": matter.number, "state": matter.state.value, "received_on": local_day(matter.received_at).isoformat(),
        "accepted_on": local_day(matter.accepted_at).isoformat() if matter.accepted_at else None,
        "served_on": local_day(matter.served_at).isoformat() if matter.served_at else None,
        "deadlines": deadlines,
        "documents": [{"id": d.id, "kind": d.kind, "title": documents.KINDS[d.kind][0], "number": d.number,
                       "served_on": local_day(d.served_at).isoformat()} for d in public.served_documents(session, matter)
                      if d.kind in documents.SERVED_KINDS],
        "rating": matter.rating, "can_rate": public.rating_open(matter, window),
    }


@router.get("/matters/{number}")
def lookup(number: str, code: str, request: Request, session: DbSession) -> dict:
    """The petitioner's view; a wrong code gives the same 404 as a missing number; rate-limited."""
    return public_view(request, session, find_matter(request, session, number, code))


@router.get("/matters/{number}/documents/{document_id}", response_class=HTMLResponse)
def served_document(number: str, document_id: int, code: str, request: Request, session: DbSession):
    """A served notice, for the petitioner."""
    matter = find_matter(request, session, number, code)
    document = session.scalar(select(Document).where(Document.id == document_id, Document.matter_id == matter.id,
                                                     Document.served_at.isnot(None)))
    if document is None or document.kind not in documents.SERVED_KINDS:
        raise NotFound("error.not_found")
    return HTMLResponse(document.html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@router.post("/matters/{number}/rating")
def rate(number: str, body: RatingIn, request: Request, session: DbSession) -> dict:
    """Rate the reply once (满意 / 基本满意 / 不满意) within the rating window."""
    matter = find_matter(request, session, number, body.code)
    public.rate(session, matter=matter, rating=body.rating, window_days=request.app.state.settings.rating_window_days)
    return public_view(request, session, matter)
