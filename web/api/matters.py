"""The case record API: register, read, act on matters; their documents."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from vreception import documents
from vreception.auth.access import Principal, covers, require
from vreception.cases import actions, register
from vreception.cases.deadlines import end_of_day
from vreception.cases.identity import mask
from vreception.errors import Forbidden, NotFound
from vreception.models import Document, Matter, MatterEvent, Node, Role, Task
from web.deps import ApiPrincipal, DbSession

router = APIRouter(tags=["matters"])
OFFICE = (Role.coordinator,)
READERS = (Role.coordinator, Role.leader)


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


def can_read(principal: Principal, session, matter: Matter) -> bool:
    """Office roles over the handling node, the owning leader, or a unit with a task on it."""
    node = session.get(Node, matter.handling_node_id)
    if covers(principal, node, READERS) or matter.owner_leader_id == principal.person_id:
        return True
    units = [s.path for s in principal.scopes if s.role is Role.handler]
    if units:
        paths = session.scalars(select(Task.unit_path).where(Task.matter_id == matter.id))
        return any(p.startswith(u) for p in paths for u in units)
    return False


def load_readable(session, principal: Principal, matter_id: int) -> Matter:
    matter = session.get(Matter, matter_id)
    if matter is None:
        raise NotFound("error.matter_not_found", id=matter_id)
    if not can_read(principal, session, matter):
        raise Forbidden()
    return matter


def deadline_out(d) -> dict:
    return {"kind": d.kind, "start": d.start_day.isoformat(), "due": d.due_day.isoformat(),
            "due_at": end_of_day(d.due_day).isoformat(), "state": d.state.value, "provisional": d.provisional,
            "extra_days": d.extra_days}


def task_out(task: Task) -> dict:
    from vreception.tasks import is_overdue

    return {"id": task.id, "matter_id": task.matter_id, "session_id": task.session_id, "unit_node_id": task.unit_node_id,
            "title": task.title, "detail": task.detail, "due_at": task.due_at.isoformat(), "state": task.state.value,
            "overdue": is_overdue(task), "feedback": task.feedback, "note": task.note,
            "reported_at": task.reported_at.isoformat() if task.reported_at else None,
            "verified_at": task.verified_at.isoformat() if task.verified_at else None,
            "created_at": task.created_at.isoformat()}


def document_out(d: Document) -> dict:
    return {"id": d.id, "kind": d.kind, "title": documents.KINDS[d.kind][0], "number": d.number,
            "issued_at": d.issued_at.isoformat(), "served_at": d.served_at.isoformat() if d.served_at else None,
            "sha256": d.sha256, "html_url": f"/api/v1/documents/{d.id}.html", "pdf_url": f"/api/v1/documents/{d.id}.pdf"}


def matter_out(request: Request, session, principal: Principal | None, matter: Matter, query_code: str | None = None,
               repeats=None) -> dict[str, Any]:
    """The matter as the API shows it; ID numbers in full only to the office handling it."""
    protector = request.app.state.protector
    full = principal is not None and covers(principal, session.get(Node, matter.handling_node_id), OFFICE)
    petitioners = []
    for link in matter.petitioner_links:
        p = link.petitioner
        petitioners.append({
            "id": p.id, "name": p.name, "representative": link.representative,
            "id_number": protector.decrypt(p.id_cipher) if full else mask(p.id_tail),
            "phone": protector.decrypt(p.phone_cipher) if full else mask(p.phone_tail, 11) if p.phone_tail else "",
        })
    if repeats is None:
        from vreception.models import RepeatLink

        links = session.execute(select(RepeatLink.earlier_id, RepeatLink.similarity)
                                .where(RepeatLink.matter_id == matter.id)).all()
        repeats = [register.PossibleRepeat(session.get(Matter, i), s) for i, s in links]
    deadlines = [d for d in matter.deadlines if d.state.value != "cancelled"]
    body = {
        "id": matter.id, "number": matter.number, "state": matter.state.value, "outcome": matter.outcome,
        "channel": matter.channel.value, "is_group": matter.is_group, "origin_node_id": matter.origin_node_id,
        "handling_node_id": matter.handling_node_id, "owner_leader_id": matter.owner_leader_id,
        "received_at": matter.received_at.isoformat(), "registered_at": matter.registered_at.isoformat(),
        "extended": matter.extended, "rating": matter.rating,
        "possible_repeat": matter.possible_repeat,
        "possible_repeats": [{"id": r.matter.id, "number": r.matter.number, "state": r.matter.state.value,
                              "similarity": r.similarity} for r in repeats],
        "petitioners": petitioners,
        "demands": [{"id": d.id, "summary": d.summary, "category": d.category, "legal_channel": d.legal_channel}
                    for d in matter.demands],
        "deadlines": {d.kind: deadline_out(d) for d in deadlines},
        "deadline_history": [deadline_out(d) for d in matter.deadlines],
        "allowed_actions": [{"action": a, "starts": actions.STARTS.get(a)} for a in actions.allowed(matter)],
        "tasks": [task_out(t) for t in session.scalars(select(Task).where(Task.matter_id == matter.id).order_by(Task.id))],
        "documents": [document_out(d) for d in session.scalars(
            select(Document).where(Document.matter_id == matter.id).order_by(Document.id))],
        "sessions": [],
        "recordings": [],
        "timeline": [{"at": e.at.isoformat(), "action": e.action, "from": e.from_state, "to": e.to_state,
                      "reason": e.reason, "actor_id": e.actor_id, "data": json.loads(e.data or "{}")}
                     for e in session.scalars(select(MatterEvent).where(MatterEvent.matter_id == matter.id)
                                              .order_by(MatterEvent.id))],
    }
    from web.api.recordings import add_sessions_to_matter  # recordings imports this module

    add_sessions_to_matter(session, matter, body)
    if query_code is not None:
        body["query_code"] = query_code
    return body


@router.post("/matters", status_code=201)
def create_matter(body: MatterIn, request: Request, principal: ApiPrincipal, session: DbSession) -> dict:
    """Register a matter (登记); the query code is shown only in this answer."""
    office = session.get(Node, body.handling_node_id)
    if office is None:
        raise NotFound("error.node_not_found", field="handling_node_id", id=body.handling_node_id)
    require(principal, office, OFFICE)
    settings = request.app.state.settings
    matter, code, repeats = register.register(
        session, protector=request.app.state.protector, petitioners=[p.model_dump() for p in body.petitioners],
        demands=[d.model_dump() for d in body.demands], origin_node_id=body.origin_node_id,
        handling_node_id=body.handling_node_id, channel=body.channel, representatives=body.representatives,
        received_at=body.received_at, actor_id=principal.person_id, categories_file=settings.categories_file or None,
        moves_off_holidays=settings.deadline_moves_off_holidays)
    return matter_out(request, session, principal, matter, query_code=code, repeats=repeats)


@router.post("/matters/repeat-check")
def repeat_check(body: RepeatCheckIn, request: Request, principal: ApiPrincipal, session: DbSession) -> list[dict]:
    """Earlier matters of the same people with similar demands, before registering (重复访 warning)."""
    from vreception.auth.access import require_role

    require_role(principal, OFFICE)
    found = register.check_new(session, protector=request.app.state.protector,
                               petitioners=[p.model_dump() for p in body.petitioners],
                               demands=[d.model_dump() for d in body.demands])
    return [{"id": r.matter.id, "number": r.matter.number, "state": r.matter.state.value, "similarity": r.similarity}
            for r in found if can_read(principal, session, r.matter)]


@router.get("/matters")
def list_matters(request: Request, principal: ApiPrincipal, session: DbSession, state: str | None = None,
                 owner_leader_id: int | None = None, limit: int = 100) -> list[dict]:
    """Matters in the caller's subtree (newest first)."""
    from vreception.auth.access import subtree_filter

    query = select(Matter).order_by(Matter.id.desc()).limit(max(1, min(limit, 500)))
    if owner_leader_id is not None:
        query = query.where(Matter.owner_leader_id == owner_leader_id)
    if state:
        query = query.where(Matter.state == state)
    query = query.where(subtree_filter(principal, Matter.handling_path, READERS)
                        | (Matter.owner_leader_id == principal.person_id))
    out = []
    for matter in session.scalars(query):
        open_deadlines = [d for d in matter.deadlines if d.state.value == "open"]
        next_due = min(open_deadlines, key=lambda d: d.due_day) if open_deadlines else None
        out.append({"id": matter.id, "number": matter.number, "state": matter.state.value,
                    "handling_node_id": matter.handling_node_id, "owner_leader_id": matter.owner_leader_id,
                    "received_at": matter.received_at.isoformat(), "possible_repeat": matter.possible_repeat,
                    "summary": matter.demands[0].summary[:80] if matter.demands else "",
                    "petitioner": matter.petitioner_links[0].petitioner.name if matter.petitioner_links else "",
                    "next_deadline": deadline_out(next_due) if next_due else None})
    return out


@router.get("/matters/{matter_id}")
def get_matter(matter_id: int, request: Request, principal: ApiPrincipal, session: DbSession) -> dict:
    """One matter with its deadlines, sessions, tasks, documents, recordings and timeline."""
    return matter_out(request, session, principal, load_readable(session, principal, matter_id))


@router.post("/matters/{matter_id}/actions")
def act(matter_id: int, body: ActionIn, request: Request, principal: ApiPrincipal, session: DbSession) -> dict:
    """Move the matter on (受理, 答复, 送达, 复查 …); 409 illegal_transition, 422 window_closed."""
    matter = actions.lock(session, matter_id)
    require(principal, session.get(Node, matter.handling_node_id), OFFICE)
    params = body.model_dump(exclude={"action"})
    actions.act(session, matter=matter, action=body.action, actor_id=principal.person_id, params=params,
                moves_off_holidays=request.app.state.settings.deadline_moves_off_holidays)
    return matter_out(request, session, principal, matter)


def _document(session, principal: Principal, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound("error.document_not_found", id=document_id)
    load_readable(session, principal, document.matter_id)
    return document


@router.get("/documents/{document_id:int}")
def get_document(document_id: int, principal: ApiPrincipal, session: DbSession) -> dict:
    """A notice's number, dates and hash, and whether its stored text is intact."""
    document = _document(session, principal, document_id)
    return {**document_out(document), "matter_id": document.matter_id, "intact": documents.intact(document)}


def document_file(session, principal: Principal, document_id: int, kind: str) -> Response:
    """A notice as issued (html) or as PDF, for a reader of its matter (API and pages alike)."""
    document = _document(session, principal, document_id)
    if kind == "pdf":
        return Response(documents.render_pdf(document), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="document-{document.id}.pdf"'})
    return HTMLResponse(document.html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                                                "X-Document-SHA256": document.sha256})


@router.get("/documents/{document_id}.html", response_class=HTMLResponse)
def document_html(document_id: int, principal: ApiPrincipal, session: DbSession):
    """The notice as issued (HTML)."""
    return document_file(session, principal, document_id, "html")


@router.get("/documents/{document_id}.pdf")
def document_pdf(document_id: int, principal: ApiPrincipal, session: DbSession):
    """The notice as PDF."""
    return document_file(session, principal, document_id, "pdf")
