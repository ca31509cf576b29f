"""Recordings as evidence: their hashes, ranged playback, verification; access as to their matter."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from recordings import access, service
from recordings.views import RecordingOut, VerifyOut, recording_out
from vreception import audit
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.responses import recording_media

router = APIRouter(tags=["recordings"])


@router.get("/recordings/{recording_id}", response_model=RecordingOut, responses=responses(403, 404))
def get_recording(recording_id: int, principal: ApiPrincipal, db: DbSession) -> RecordingOut:
    """A recording with its segments and their hashes."""
    return recording_out(access.load_visible(principal, recording_id, db=db))


# The combined file as it is stored: WebM (or Matroska for codecs WebM cannot hold), whole or one byte range.
_VIDEO = {"schema": {"type": "string", "format": "binary"}}
_MEDIA: dict[int | str, dict[str, Any]] = {
    200: {"description": "the whole file, streamed; Accept-Ranges: bytes, X-Content-SHA256 of the file",
          "content": {"video/webm": _VIDEO, "video/x-matroska": _VIDEO}},
    206: {"description": "the byte range asked for by a `Range: bytes=START-END` header (Content-Range says which)",
          "content": {"video/webm": _VIDEO, "video/x-matroska": _VIDEO}},
}


@router.get("/recordings/{recording_id}/media", response_class=Response,
            responses=_MEDIA | responses(403, 404, 409, 416,
                                         s409="recording_state: the recording is not finalised yet",
                                         s416="range_invalid: the Range header lies outside the file"))
def media(recording_id: int, request: Request, principal: ApiPrincipal, db: DbSession) -> Response:
    """The playable file; honours Range. Starting a playback or download is audited."""
    return recording_media(request, principal, recording_id, db=db)


@router.post("/recordings/{recording_id}/verify", response_model=VerifyOut, responses=responses(403, 404))
def verify(recording_id: int, request: Request, principal: ApiPrincipal, db: DbSession) -> VerifyOut:
    """Recompute every hash and check the audit chain; names the segment that differs."""
    recording = access.load_visible(principal, recording_id, db=db)
    report = service.verify(db=db, recording=recording, storage=request.app.state.calls.storage())
    audit.record(db=db, action="recording.verified", entity_type="recording", entity_id=recording.id,
                 actor_id=principal.person_id, data={"ok": report.ok, "problems": len(report.problems)})
    return VerifyOut(ok=report.ok, problems=list(report.problems), missing=dict(report.missing))
