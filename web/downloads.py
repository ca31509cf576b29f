"""Uploaded files as both the API and the pages send them: inert downloads unless the bytes are an image or a PDF."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from vreception import audit
from vreception.auth.access import Principal
from vreception.errors import NotFound
from vreception.tasks import access

# Only these are ever shown inline, and only when the file's own first bytes say so: the uploader's
# content type is never trusted (an HTML or script file claiming to be anything must not run here).
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
          (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"))
INERT_CSP = "default-src 'none'; sandbox"


def sniffed_type(head: bytes) -> str | None:
    """The image or PDF type HEAD (a file's first bytes) starts with, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def file_download(path: Path, filename: str) -> FileResponse:
    """PATH as FILENAME: images and PDFs (by their bytes) inline as themselves, all else an inert download."""
    if not path.is_file():
        raise NotFound("error.not_found")
    with path.open("rb") as f:
        kind = sniffed_type(f.read(16))
    headers = {"X-Content-Type-Options": "nosniff"}
    if kind is None:
        headers["Content-Security-Policy"] = INERT_CSP
        return FileResponse(path, media_type="application/octet-stream", filename=filename, headers=headers)
    return FileResponse(path, media_type=kind, filename=filename, headers=headers, content_disposition_type="inline")


def attachment_download(principal: Principal, attachment_id: int, *, db: Session, data_dir: Path) -> FileResponse:
    """A task attachment for the unit, the office or a reader of the matter; every download is audited."""
    attachment, _task = access.load_attachment(principal, attachment_id, db=db)
    audit.record(db=db, action="attachment.downloaded", entity_type="attachment", entity_id=attachment.id,
                 actor_id=principal.person_id)
    return file_download(Path(data_dir) / attachment.storage_key, attachment.filename)
