"""Files both the API and the pages send: notices as issued, and recordings with ranged playback."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from recordings import access as recording_access
from recordings import service
from recordings.errors import RecordingState
from vreception import audit, documents
from vreception.auth.access import Principal
from vreception.cases import access as matter_access
from vreception.errors import DomainError
from vreception.models import Document

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_CHUNK = 8 * 1024 * 1024
# An issued notice is shown as it was stored: no script, no outside resources, never framed.
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


class RangeNotSatisfiable(DomainError):
    code = "range_invalid"
    status = 416


def document_html(document: Document) -> HTMLResponse:
    """A notice as issued, with its hash."""
    return HTMLResponse(document.html, headers={"Content-Security-Policy": DOCUMENT_CSP,
                                                "X-Document-SHA256": document.sha256})


def document_file(principal: Principal, document_id: int, kind: str, *, db: Session) -> Response:
    """A notice as issued (html) or as PDF, for a reader of its matter (API and pages alike)."""
    document = matter_access.load_readable_document(principal, document_id, db=db)
    audit.record(db=db, action="document.read", entity_type="document", entity_id=document.id,
                 actor_id=principal.person_id, data={"as": kind})
    if kind == "pdf":
        return Response(documents.render_pdf(document), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="document-{document.id}.pdf"'})
    return document_html(document)


def _range(header: str, size: int) -> tuple[int, int]:
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        raise RangeNotSatisfiable("error.range_invalid")
    if match.group(1):
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(match.group(2))), size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable("error.range_invalid")
    return start, min(end, start + MAX_CHUNK - 1)


def recording_media(request: Request, principal: Principal, recording_id: int, *, db: Session) -> Response:
    """The combined file of a recording, honouring Range; one audit event per playback or download."""
    recording = recording_access.load_visible(principal, recording_id, db=db)
    storage = request.app.state.calls.storage()
    if recording.state.value != "finalised" or not recording.media_key:
        raise RecordingState("error.recording_state", state=recording.state.value)
    size = storage.size(recording.media_key)
    header = request.headers.get("range")
    start, end = _range(header, size) if header else (0, size - 1)
    if start == 0:
        # One audit event per playback or download, not one per range request of the player.
        audit.record(db=db, action="recording.played", entity_type="recording", entity_id=recording.id,
                     actor_id=principal.person_id, data={"range": header or "all"})
    media_type = "video/webm" if recording.container == "webm" else "video/x-matroska"
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1),
               "X-Content-SHA256": recording.sha256 or "", "X-Content-Type-Options": "nosniff"}
    if header:
        body = service.read_media(recording=recording, storage=storage, offset=start, length=end - start + 1)
        headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{size}"
        headers["Content-Length"] = str(len(body))
        return Response(body, status_code=206, media_type=media_type, headers=headers)

    def chunks() -> Iterator[bytes]:
        # A whole download goes out a chunk at a time: memory stays flat however long the recording.
        for offset in range(0, size, MAX_CHUNK):
            yield service.read_media(recording=recording, storage=storage, offset=offset,
                                     length=min(MAX_CHUNK, size - offset))

    return StreamingResponse(chunks(), media_type=media_type, headers=headers)
