"""Recordings as evidence: their hashes, ranged playback, verification; access as to their matter."""

from __future__ import annotations

from fastapi import APIRouter, Request

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
    return recording_out(access.load_visible(db, principal, recording_id))


@router.get("/recordings/{recording_id}/media", responses=responses(403, 404, 409, 416))
def media(recording_id: int, request: Request, principal: ApiPrincipal, db: DbSession):
    """The playable file; honours Range. Starting a playback or download is audited."""
    return recording_media(request, db, principal, recording_id)


@router.post("/recordings/{recording_id}/verify", response_model=VerifyOut, responses=responses(403, 404))
def verify(recording_id: int, request: Request, principal: ApiPrincipal, db: DbSession) -> VerifyOut:
    """Recompute every hash and check the audit chain; names the segment that differs."""
    recording = access.load_visible(db, principal, recording_id)
    report = service.verify(session=db, recording=recording, storage=request.app.state.calls.storage())
    audit.record(db, action="recording.verified", entity_type="recording", entity_id=recording.id,
                 actor_id=principal.person_id, data={"ok": report.ok, "problems": len(report.problems)})
    return VerifyOut(ok=report.ok, problems=list(report.problems))
