"""The petitioner's own materials attached to a matter at registration (登记附件): PDF or images, bounded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, UploadFile
from pydantic import BaseModel

from vreception import evidence
from vreception.cases import access
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppSettings

router = APIRouter(tags=["matters"])


class MatterFileOut(BaseModel):
    item: str  # upload:MATTER:SHA256, showable in a call on the matter
    sha256: str
    filename: str
    content_type: str
    bytes: int
    pages: int
    uploaded_by: int | None
    uploaded_at: datetime

    @classmethod
    def of(cls, found: evidence.MatterFile) -> MatterFileOut:
        return cls(item=found.item, sha256=found.sha256, filename=found.filename, content_type=found.content_type,
                   bytes=found.bytes, pages=found.pages, uploaded_by=found.uploaded_by, uploaded_at=found.uploaded_at)


@router.post("/matters/{matter_id}/attachments", status_code=201, response_model=MatterFileOut,
             responses=responses(404, 413, 415, 422, s404="matter_not_found", s415="unsupported_type"))
def add_matter_file(matter_id: int, file: UploadFile, principal: ApiPrincipal, db: DbSession,
                    settings: AppSettings) -> MatterFileOut:
    """Attach one of the petitioner's materials (PDF, PNG or JPEG by content; at most VRECEPTION_MAX_UPLOAD_BYTES)."""
    matter = access.load(db, matter_id)
    access.require_office(db, principal, matter)
    data = file.file.read(settings.max_upload_bytes + 1)
    stored = evidence.store_matter_file(db, matter=matter, data=data, max_bytes=settings.max_upload_bytes,
                                       storage_dir=Path(settings.data_dir), actor_id=principal.person_id,
                                       filename=file.filename or "")
    return MatterFileOut.of(stored)


@router.get("/matters/{matter_id}/attachments", response_model=list[MatterFileOut],
            responses=responses(404, s404="matter_not_found"))
def list_matter_files(matter_id: int, principal: ApiPrincipal, db: DbSession) -> list[MatterFileOut]:
    """The materials attached to the matter, oldest first, for its readers."""
    matter = access.load_readable(db, principal, matter_id)
    return [MatterFileOut.of(f) for f in evidence.matter_files(db, matter_id=matter.id)]
