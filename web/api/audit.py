"""API: browse the audit log (coordinators over their subtree, administrators) and verify its chain (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from vreception.audit import access, checkpoints, queries
from vreception.audit.views import AuditEventOut, VerifyOut
from vreception.paging import Page
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses

router = APIRouter(tags=["audit"])


class VerifyIn(BaseModel):
    full: bool = False


@router.get("/audit-events", response_model=Page[AuditEventOut],
            responses=responses(403, 404, 422, s404="node_not_found"))
def list_events(principal: ApiPrincipal, db: DbSession,
                who: Annotated[str, Query(max_length=100, description="a person's id, or part of a name")] = "",
                action: Annotated[str, Query(max_length=64, description="an action prefix, e.g. matter.")] = "",
                object_type: Annotated[str, Query(max_length=32)] = "",
                object_id: Annotated[str, Query(max_length=64)] = "",
                start: Annotated[datetime | None, Query(alias="from", description="inclusive")] = None,
                end: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
                node_id: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                                     description="the actors' node subtree")] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                cursor: Annotated[str | None, Query(max_length=20)] = None) -> Page[AuditEventOut]:
    """Audit events the caller may see (made by people of their subtrees), newest first, a page at a time
    ({"items", "total", "next"}: pass next back as cursor)."""
    wanted = queries.EventFilter(who=who, action=action, object_type=object_type, object_id=object_id,
                                 start=start, end=end, node_id=node_id)
    return queries.browse(db=db, principal=principal, wanted=wanted, limit=limit, cursor=cursor)


@router.post("/audit/verify", response_model=VerifyOut, responses=responses(403, 422))
def verify(principal: ApiPrincipal, db: DbSession, body: VerifyIn | None = None) -> VerifyOut:
    """Recompute the audit chain from its newest signed checkpoint (full: from the genesis); a success is anchored
    with a new checkpoint. Administrators only."""
    access.require_verifier(principal)
    done = checkpoints.verify(db=db, full=body.full if body else False, actor_id=principal.person_id)
    return VerifyOut(ok=done.ok, checked=done.checked, full=done.full, from_checkpoint=done.from_checkpoint,
                     broken_at=done.broken_at, problems=done.problems,
                     rejected_checkpoint=done.rejected_checkpoint is not None, seconds=round(done.seconds, 4))
