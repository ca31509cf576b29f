"""The case record API: register, read, act on matters; their documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime, BaseModel, Field

from vreception import documents
from vreception.auth.access import load_node, require, require_role
from vreception.cases import access, actions, queries, register, search
from vreception.cases.search import MatterHit, MatterSearch
from vreception.cases.views import (
    DocumentDetailOut,
    MatterListItem,
    MatterOut,
    RegisteredMatterOut,
    RepeatOut,
)
from vreception.paging import Page
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.responses import document_file
from web.settings import AppSettings

router = APIRouter(tags=["matters"])
# Base64 of the largest proof of service the documents take.
PROOF_BASE64 = documents.MAX_PROOF_BYTES * 4 // 3 + 4


class PetitionerIn(BaseModel):
    kind: str = Field(default="citizen", max_length=16, description="citizen, legal_person or organisation")
    name: str = Field(max_length=100)
    id_number: str = Field(default="", max_length=32, description="required for a visit (走访, video included)")
    credit_code: str = Field(default="", max_length=32, description="统一社会信用代码 of a legal person or organisation")
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=400)


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
    facts: str = Field(default="", max_length=20000, description="事实和理由")
    accused_text: str = Field(default="", max_length=400, description="反映对象, as written")
    accused_node_id: int | None = Field(default=None, description="反映对象, when it is a unit")
    people_count: int | None = Field(default=None, description="how many came or signed (default: the petitioners)")
    accusation: bool = Field(default=False, description="检举控告: may be anonymous; hidden from the accused unit")


class RepeatCheckIn(BaseModel):
    petitioners: list[PetitionerIn] = Field(max_length=500)
    demands: list[DemandIn] = Field(max_length=50)


Outcome = Literal["support", "explain", "not_support"]


class ActionIn(BaseModel):
    """An action and what it needs; a field an action does not use is ignored."""

    action: str = Field(max_length=40, description="accept, refuse_repeat, transfer, assign, extend, reply, serve, "
                        "serve_notice, request_review, verify_completion, return_completion … (see allowed_actions)")
    reason: str | None = Field(default=None, max_length=4000, description=(
        "why; required by most actions, by refuse_repeat (why the facts and reasons are the same) and by accept of a "
        "matter flagged as a possible repeat (why it is a new matter); the terms of settle; the text of "
        "report_completion"))
    to_node_id: int | None = Field(default=None, description="transfer / assign: the receiving body or unit")
    days: int | None = Field(default=None, ge=1, le=actions.MAX_ASSIGNMENT_DAYS, description=(
        "assign: the 交办 deadline in days (1–60); return_completion: a new one; extend: the days added (within the "
        "30 days in total)"))
    approved_by: int | None = Field(default=None, description="extend: the leader of the handling unit who approved")
    outcome: Outcome | None = Field(default=None, description="reply / review_reply / recheck_reply: one outcome "
                                    "for every demand without its own in outcomes")
    outcomes: dict[str, Outcome] | None = Field(default=None, max_length=50, description=(
        "reply / review_reply / recheck_reply: the outcome per demand, by demand id (支持 / 解释说明 / 不予支持)"))
    facts: str | None = Field(default=None, max_length=4000, description="reply …: the facts and reasons found")
    basis: str | None = Field(default=None, max_length=4000, description="reply …: the legal basis (依据)")
    requested_at: AwareDatetime | None = Field(default=None, description=(
        "request_review / request_recheck: when the request arrived, if recorded later (not in the future, audited)"))
    document_id: int | None = Field(default=None, description="serve_notice: the issued notice being served")
    method: Literal["direct", "mail", "electronic"] | None = Field(
        default=None, description="serve / serve_notice: 直接, 邮寄 or 电子 (default direct)")
    served_at: AwareDatetime | None = Field(default=None, description="serve / serve_notice: when (default now)")
    proof: str | None = Field(default=None, max_length=PROOF_BASE64, description=(
        "serve / serve_notice: the proof of service (送达回证), PNG, JPEG or PDF, base64; a body over 1 MiB is 413"))
    proof_source: Literal["scan", "terminal_signature"] | None = Field(
        default=None, description="with proof: a scan, or the signature taken on the township terminal")
    kind: Literal["mediation", "settlement"] | None = Field(default=None, description="settle: 调解 or 和解")
    channel: Literal["litigation", "arbitration", "administrative_review"] | None = Field(
        default=None, description="route_legal: the legal channel")
    leader_id: int | None = Field(default=None, description="set_owner: the leader who owns the matter (包案)")
    model_config = {"extra": "allow"}


def _view(request: Request, principal, matter, *, db, **extra) -> MatterOut:
    return queries.matter_view(db=db, principal=principal, matter=matter, protector=request.app.state.protector, **extra)


@router.post("/matters", status_code=201, response_model=RegisteredMatterOut, responses=responses(403, 404, 422))
def create_matter(body: MatterIn, request: Request, principal: ApiPrincipal, db: DbSession,
                  settings: AppSettings) -> RegisteredMatterOut:
    """Register a matter (登记); the query code is shown only in this answer."""
    office = load_node(body.handling_node_id, db=db)
    require(principal, office, access.OFFICE)
    matter, code, repeats = register.register(
        db=db, protector=request.app.state.protector, petitioners=[p.model_dump() for p in body.petitioners],
        demands=[d.model_dump() for d in body.demands], origin_node_id=body.origin_node_id,
        handling_node_id=body.handling_node_id, channel=body.channel, representatives=body.representatives,
        received_at=body.received_at, actor_id=principal.person_id, categories_file=settings.categories_file or None,
        moves_off_holidays=settings.deadline_moves_off_holidays, facts=body.facts, accused_text=body.accused_text,
        accused_node_id=body.accused_node_id, people_count=body.people_count, accusation=body.accusation)
    view = _view(request, principal, matter, db=db, repeats=queries.readable_repeats(principal, repeats, db=db))
    return RegisteredMatterOut(**view.model_dump(), query_code=code)


@router.post("/matters/repeat-check", response_model=list[RepeatOut], responses=responses(403, 422))
def repeat_check(body: RepeatCheckIn, request: Request, principal: ApiPrincipal, db: DbSession) -> list[RepeatOut]:
    """Earlier matters of the same people with similar demands, before registering (重复访 warning)."""
    require_role(principal, access.OFFICE)
    found = register.check_new(db=db, protector=request.app.state.protector,
                               petitioners=[p.model_dump() for p in body.petitioners],
                               demands=[d.model_dump() for d in body.demands], actor_id=principal.person_id)
    return [RepeatOut(id=r.matter.id, number=r.matter.number, state=r.matter.state.value, similarity=r.similarity,
                      reason=r.reason) for r in queries.readable_repeats(principal, found, db=db)]


class MatterSearchQuery(MatterSearch):
    """The search and the page wanted."""

    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=search.MAX_CURSOR, description="`next` of the page before")


@router.get("/matters", response_model=Page[MatterHit], responses=responses(403, 422))
def list_matters(query: Annotated[MatterSearchQuery, Query()], request: Request, principal: ApiPrincipal,
                 db: DbSession, settings: AppSettings) -> Page[MatterHit]:
    """Matters the caller may read, found by number, name, ID number, phone tail, demand text and filters; newest
    first by default, a page at a time ({"items", "total", "next"}: pass next back as cursor)."""
    wanted = MatterSearch.model_validate(query.model_dump(exclude={"limit", "cursor"}))
    return search.search_matters(db=db, principal=principal, search=wanted, protector=request.app.state.protector,
                                 categories_file=settings.categories_file or None, limit=query.limit,
                                 cursor=query.cursor)


@router.get("/petitioners/{petitioner_id}/matters", response_model=Page[MatterListItem], responses=responses(404, 422))
def petitioner_history(petitioner_id: int, principal: ApiPrincipal, db: DbSession,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       cursor: Annotated[str | None, Query(max_length=40)] = None) -> Page[MatterListItem]:
    """Every matter of one petitioner that the caller may read, newest first (404 when none)."""
    return queries.petitioner_matters(db=db, principal=principal, petitioner_id=petitioner_id, limit=limit,
                                      cursor=cursor)


@router.get("/matters/{matter_id}", response_model=MatterOut, responses=responses(403, 404))
def get_matter(matter_id: int, request: Request, principal: ApiPrincipal, db: DbSession) -> MatterOut:
    """One matter with its deadlines, sessions, tasks, documents, recordings and timeline."""
    return _view(request, principal, access.load_readable(principal, matter_id, db=db), db=db)


@router.post("/matters/{matter_id}/actions", response_model=MatterOut,
             responses=responses(403, 404, 409, 413, 422))
def act(matter_id: int, body: ActionIn, request: Request, principal: ApiPrincipal, db: DbSession,
        settings: AppSettings) -> MatterOut:
    """Move the matter on (受理, 答复, 送达, 复查 …); 409 illegal_transition, 422 window_closed."""
    matter = actions.lock(matter_id, db=db)
    # JSON mode: the moments reach the actions as ISO 8601 text, as they take them.
    params = body.model_dump(exclude={"action"}, exclude_none=True, mode="json")
    access.require_action(principal, matter, body.action, params, db=db)
    actions.act(db=db, matter=matter, action=body.action, actor_id=principal.person_id, params=params,
                moves_off_holidays=settings.deadline_moves_off_holidays)
    return _view(request, principal, matter, db=db)


@router.get("/documents/{document_id:int}", response_model=DocumentDetailOut, responses=responses(403, 404))
def get_document(document_id: int, principal: ApiPrincipal, db: DbSession) -> DocumentDetailOut:
    """A notice's number, dates and hash, and whether its stored text is intact."""
    document = access.load_readable_document(principal, document_id, db=db)
    return DocumentDetailOut(**queries.document_out(document).model_dump(), matter_id=document.matter_id,
                             intact=documents.intact(document))


@router.get("/documents/{document_id}.html", response_class=HTMLResponse, responses=responses(403, 404))
def document_html(document_id: int, principal: ApiPrincipal, db: DbSession):
    """The notice as issued (HTML)."""
    return document_file(principal, document_id, "html", db=db)


@router.get("/documents/{document_id}.pdf", responses=responses(403, 404))
def document_pdf(document_id: int, principal: ApiPrincipal, db: DbSession):
    """The notice as PDF."""
    return document_file(principal, document_id, "pdf", db=db)


@router.get("/documents/{document_id}/proof", response_class=Response,
            responses=responses(403, 404, s404="proof_not_found: no such document, or it has no proof of service"))
def document_proof(document_id: int, principal: ApiPrincipal, db: DbSession) -> Response:
    """The proof of service (送达回证) of a served notice: a scan, or the signature from the township terminal."""
    proof = documents.proof_of_service(access.load_readable_document(principal, document_id, db=db), db=db,
                                       actor_id=principal.person_id)
    return Response(proof.data, media_type=proof.media_type, headers={
        "Content-Disposition": f'inline; filename="{proof.filename}"', "X-Content-SHA256": proof.sha256,
        "X-Content-Type-Options": "nosniff"})
