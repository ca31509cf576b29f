"""What came with a matter: the petitioner's materials attached at registration (登记附件, PDF or images, bounded)
and the files uploaded into its calls, listed and read back by its readers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from vreception import evidence
from vreception.cases import access, materials
from vreception.cases.views import MaterialOut
from web.deps import ApiPrincipal, DbSession
from web.downloads import file_download
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
    matter = access.load(matter_id, db=db)
    access.require_office(principal, matter, db=db)
    data = file.file.read(settings.max_upload_bytes + 1)
    stored = evidence.store_matter_file(db=db, matter=matter, data=data, max_bytes=settings.max_upload_bytes,
                                       storage_dir=FilePath(settings.data_dir), actor_id=principal.person_id,
                                       filename=file.filename or "")
    return MatterFileOut.of(stored)


@router.get("/matters/{matter_id}/attachments", response_model=list[MaterialOut],
            responses=responses(403, 404, s404="matter_not_found"))
def list_matter_files(matter_id: int, principal: ApiPrincipal, db: DbSession) -> list[MaterialOut]:
    """What came with the matter, oldest first, for its readers: materials attached at registration and files
    uploaded into its calls (source registration / call)."""
    matter = access.load_readable(principal, matter_id, db=db)
    return materials.materials(db=db, matter_id=matter.id)


@router.get("/matters/{matter_id}/attachments/{sha256}", response_class=FileResponse,
            responses=responses(403, 404, s404="matter_not_found, material_not_found"))
def read_matter_file(matter_id: int, sha256: Annotated[str, Path(max_length=64)], principal: ApiPrincipal,
                     db: DbSession, settings: AppSettings) -> FileResponse:
    """One of the matter's materials by its SHA-256, for a reader of the matter; every read is audited."""
    matter = access.load_readable(principal, matter_id, db=db)
    found, path = materials.read(db=db, matter=matter, sha256=sha256, storage_dir=FilePath(settings.data_dir),
                                 actor_id=principal.person_id)
    return file_download(path, found.filename)
