"""The case record API: register, read, act on matters; their documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from vreception import documents
from vreception.auth.access import load_node, require, require_role
from vreception.cases import access, actions, queries, register
from vreception.cases.views import (
    DocumentDetailOut,
    MatterListItem,
    MatterOut,
    RegisteredMatterOut,
    RepeatOut,
)
from vreception.models import MatterState
from vreception.paging import Page
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.responses import document_file, readable_document
from web.settings import AppSettings

router = APIRouter(tags=["matters"])


class PetitionerIn(BaseModel):
    name: str = Field(max_length=100)
    id_number: str = Field(max_length=32)
    phone: str | None = Field(default=None, max_length=32)


class DemandIn(BaseModel):
    summary: str = Field(max_length=4000)
    category: str = Field(max_length=32)


class MatterIn(BaseModel):
    petitioners: list[PetitionerIn] = Field(max_length=500)
    representatives: list[int] | None = Field(default=None, max_length=50)
    origin_node_id: int
    handling_node_id: int
    demands: list[DemandIn] = Field(max_length=50)
    channel: str
    received_at: datetime | None = None


class RepeatCheckIn(BaseModel):
    petitioners: list[PetitionerIn] = Field(max_length=500)
    demands: list[DemandIn] = Field(max_length=50)


class ActionIn(BaseModel):
    action: str = Field(max_length=40)
    reason: str | None = Field(default=None, max_length=4000)
    model_config = {"extra": "allow"}


def _view(request: Request, db, principal, matter, **extra) -> MatterOut:
    return queries.matter_view(db, principal=principal, matter=matter, protector=request.app.state.protector, **extra)


@router.post("/matters", status_code=201, response_model=RegisteredMatterOut, responses=responses(403, 404, 422))
def create_matter(body: MatterIn, request: Request, principal: ApiPrincipal, db: DbSession,
                  settings: AppSettings) -> RegisteredMatterOut:
    """Register a matter (登记); the query code is shown only in this answer."""
    office = load_node(db, body.handling_node_id)
    require(principal, office, access.OFFICE)
    matter, code, repeats = register.register(
        db, protector=request.app.state.protector, petitioners=[p.model_dump() for p in body.petitioners],
        demands=[d.model_dump() for d in body.demands], origin_node_id=body.origin_node_id,
        handling_node_id=body.handling_node_id, channel=body.channel, representatives=body.representatives,
        received_at=body.received_at, actor_id=principal.person_id, categories_file=settings.categories_file or None,
        moves_off_holidays=settings.deadline_moves_off_holidays)
    view = _view(request, db, principal, matter, repeats=queries.readable_repeats(db, principal, repeats))
    return RegisteredMatterOut(**view.model_dump(), query_code=code)


@router.post("/matters/repeat-check", response_model=list[RepeatOut], responses=responses(403, 422))
def repeat_check(body: RepeatCheckIn, request: Request, principal: ApiPrincipal, db: DbSession) -> list[RepeatOut]:
    """Earlier matters of the same people with similar demands, before registering (重复访 warning)."""
    require_role(principal, access.OFFICE)
    found = register.check_new(db, protector=request.app.state.protector,
                               petitioners=[p.model_dump() for p in body.petitioners],
                               demands=[d.model_dump() for d in body.demands], actor_id=principal.person_id)
    return [RepeatOut(id=r.matter.id, number=r.matter.number, state=r.matter.state.value, similarity=r.similarity)
            for r in queries.readable_repeats(db, principal, found)]


@router.get("/matters", response_model=Page[MatterListItem], responses=responses(422))
def list_matters(principal: ApiPrincipal, db: DbSession, state: MatterState | None = None,
                 owner_leader_id: int | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 cursor: Annotated[str | None, Query(max_length=40)] = None) -> Page[MatterListItem]:
    """Matters the caller may read, newest first, a page at a time ({"items", "total", "next"})."""
    return queries.list_matters(db, principal=principal, state=state, owner_leader_id=owner_leader_id,
                                limit=limit, cursor=cursor)


@router.get("/matters/{matter_id}", response_model=MatterOut, responses=responses(403, 404))
def get_matter(matter_id: int, request: Request, principal: ApiPrincipal, db: DbSession) -> MatterOut:
    """One matter with its deadlines, sessions, tasks, documents, recordings and timeline."""
    return _view(request, db, principal, access.load_readable(db, principal, matter_id))


@router.post("/matters/{matter_id}/actions", response_model=MatterOut, responses=responses(403, 404, 409, 422))
def act(matter_id: int, body: ActionIn, request: Request, principal: ApiPrincipal, db: DbSession,
        settings: AppSettings) -> MatterOut:
    """Move the matter on (受理, 答复, 送达, 复查 …); 409 illegal_transition, 422 window_closed."""
    matter = actions.lock(db, matter_id)
    params = body.model_dump(exclude={"action"})
    access.require_action(db, principal, matter, body.action, params)
    actions.act(db, matter=matter, action=body.action, actor_id=principal.person_id, params=params,
                moves_off_holidays=settings.deadline_moves_off_holidays)
    return _view(request, db, principal, matter)


@router.get("/documents/{document_id:int}", response_model=DocumentDetailOut, responses=responses(403, 404))
def get_document(document_id: int, principal: ApiPrincipal, db: DbSession) -> DocumentDetailOut:
    """A notice's number, dates and hash, and whether its stored text is intact."""
    document = readable_document(db, principal, document_id)
    return DocumentDetailOut(**queries.document_out(document).model_dump(), matter_id=document.matter_id,
                             intact=documents.intact(document))


@router.get("/documents/{document_id}.html", response_class=HTMLResponse, responses=responses(403, 404))
def document_html(document_id: int, principal: ApiPrincipal, db: DbSession):
    """The notice as issued (HTML)."""
    return document_file(db, principal, document_id, "html")


@router.get("/documents/{document_id}.pdf", responses=responses(403, 404))
def document_pdf(document_id: int, principal: ApiPrincipal, db: DbSession):
    """The notice as PDF."""
    return document_file(db, principal, document_id, "pdf")
