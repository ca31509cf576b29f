"""API: exports of found matters (.xlsx or PDF), with the search of GET /api/v1/matters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from vreception.auth.access import require_role
from vreception.cases import access, matter_export
from vreception.cases.search import MatterSearch
from web.deps import ApiPrincipal, DbSession, Language
from web.export_files import export_response
from web.openapi import responses
from web.settings import AppSettings

router = APIRouter(tags=["exports"])


class MatterExportQuery(MatterSearch):
    """The search, and the file wanted."""

    format: matter_export.Format = Field(default="xlsx", description="xlsx or pdf")


@router.get("/matters/export", response_class=Response, responses={
    **responses(403, 422, s422="invalid, export_too_large (more matters than one export holds: narrow the filter)"),
    200: {"content": {matter_export.MEDIA_TYPES["xlsx"]: {}, matter_export.MEDIA_TYPES["pdf"]: {}},
          "description": "the matters as a file (Content-Disposition with the file name in filename*)"}})
def export_matters(query: Annotated[MatterExportQuery, Query()], request: Request, principal: ApiPrincipal,
                   db: DbSession, settings: AppSettings, lang: Language) -> Response:
    """The matters the caller may read that the search finds, as .xlsx or PDF, ID numbers masked (audited)."""
    require_role(principal, access.READERS)
    wanted = MatterSearch.model_validate(query.model_dump(exclude={"format"}))
    return export_response(matter_export.export_matters(
        db=db, principal=principal, search_for=wanted, fmt=query.format, protector=request.app.state.protector,
        categories_file=settings.categories_file or None, lang=lang))
