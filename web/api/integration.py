"""API: the integration feed a provincial 信访信息系统 pulls (disclosed changes of matters, by cursor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vreception.integration import access, feed
from vreception.integration.views import ChangesPage
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses

router = APIRouter(tags=["integration"])
public_router = APIRouter()  # nothing public: the feed needs a province account


@router.get("/integration/changes", response_model=ChangesPage,
            responses=responses(403, 422, s403="forbidden (only coordinators and administrators of a province node)",
                                s422="invalid (after: digits as handed out; limit: 1–500)"))
def changes(principal: ApiPrincipal, db: DbSession,
            after: Annotated[str | None, Query(max_length=20, description="the cursor: `next` of the previous "
                                                                         "page; empty for the beginning")] = None,
            limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = feed.DEFAULT_LIMIT) -> ChangesPage:
    """The changes of matters within the caller's province after the cursor, in order (state changes, documents
    issued, services): only the fields the 网上办理 rules disclose. Resume with `next`; the same cursor gives the
    same page once it is full. For coordinators and administrators of a province node."""
    paths = access.require_puller(principal, db=db)
    return feed.page(db=db, after=after, limit=limit, condition=access.visible(principal, paths))
