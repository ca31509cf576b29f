"""Recordings as evidence: their hashes, ranged playback, verification; access as to their matter."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from recordings import service
from recordings.errors import RecordingState
from vreception import audit
from vreception.auth.access import Principal
from vreception.errors import DomainError, Forbidden, NotFound
from vreception.models import Matter
from vreception.models.recordings import Recording
from vreception.models.scheduling import ReceptionSession
from web.api.matters import can_read
from web.deps import ApiPrincipal, DbSession

router = APIRouter(tags=["recordings"])
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_CHUNK = 8 * 1024 * 1024


class RangeNotSatisfiable(DomainError):
    code = "range_invalid"
    status = 416


def may_see(session, principal: Principal, booking: ReceptionSession) -> bool:
    """Those who may read the session's matter, and the leader who received it."""
    if booking.leader_id == principal.person_id:
        return True
    matter = session.get(Matter, booking.matter_id) if booking.matter_id else None
    return matter is not None and can_read(principal, session, matter)


def load(session, principal: Principal, recording_id: int) -> Recording:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise NotFound("error.recording_not_found")
    if not may_see(session, principal, session.get(ReceptionSession, recording.session_id)):
        raise Forbidden()
    return recording


def recording_out(recording: Recording) -> dict:
    return {
        "id": recording.id, "session_id": recording.session_id, "state": recording.state.value,
        "duration_s": recording.duration_s, "bytes": recording.bytes, "sha256": recording.sha256,
        "manifest_sha256": recording.manifest_sha256, "container": recording.container,
        "started_at": recording.started_at.isoformat(), "ended_at": recording.ended_at.isoformat() if recording.ended_at else None,
        "media_url": f"/api/v1/recordings/{recording.id}/media",
        "segments": [{"index": s.index, "participant_id": s.participant_id, "bytes": s.bytes, "sha256": s.sha256,
                      "duration_s": s.duration_s} for s in sorted(recording.segments, key=lambda s: s.index)],
    }


@router.get("/recordings/{recording_id}")
def get_recording(recording_id: int, principal: ApiPrincipal, session: DbSession) -> dict:
    """A recording with its segments and their hashes."""
    return recording_out(load(session, principal, recording_id))


def serve_media(request: Request, session, principal: Principal, recording_id: int) -> Response:
    """The combined file of a recording, honouring Range; one audit event per playback or download."""
    recording = load(session, principal, recording_id)
    storage = request.app.state.calls.storage()
    if recording.state.value != "finalised" or not recording.media_key:
        raise RecordingState("error.recording_state", state=recording.state.value)
    size = storage.size(recording.media_key)
    start, end, partial = 0, size - 1, False
    header = request.headers.get("range")
    if header:
        match = _RANGE.match(header.strip())
        if not match or (not match.group(1) and not match.group(2)):
            raise RangeNotSatisfiable("error.range_invalid")
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:  # the last N bytes
            start = max(0, size - int(match.group(2)))
        if start >= size or start > end:
            raise RangeNotSatisfiable("error.range_invalid")
        partial = True
    end = min(end, start + MAX_CHUNK - 1) if partial else end
    if start == 0:
        # One audit event per playback or download, not one per range request of the player.
        audit.record(session, action="recording.played", entity_type="recording", entity_id=recording.id,
                     actor_id=principal.person_id, data={"range": header or "all"})
    body = service.read_media(recording=recording, storage=storage, offset=start, length=end - start + 1)
    media_type = "video/webm" if recording.container == "webm" else "video/x-matroska"
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(len(body)), "X-Content-SHA256": recording.sha256 or ""}
    if partial:
        headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{size}"
    return Response(body, status_code=206 if partial else 200, media_type=media_type, headers=headers)


@router.get("/recordings/{recording_id}/media")
def media(recording_id: int, request: Request, principal: ApiPrincipal, session: DbSession):
    """The playable file; honours Range. Starting a playback or download is audited."""
    return serve_media(request, session, principal, recording_id)


@router.post("/recordings/{recording_id}/verify")
def verify(recording_id: int, request: Request, principal: ApiPrincipal, session: DbSession) -> dict:
    """Recompute every hash and check the audit chain; names the segment that differs."""
    recording = load(session, principal, recording_id)
    report = service.verify(session=session, recording=recording, storage=request.app.state.calls.storage())
    audit.record(session, action="recording.verified", entity_type="recording", entity_id=recording.id,
                 actor_id=principal.person_id, data={"ok": report.ok, "problems": len(report.problems)})
    return report.as_dict()


def add_sessions_to_matter(session, matter: Matter, body: dict) -> None:
    """The matter view's sessions and their recordings."""
    from web.api.scheduling import recording_summary

    bookings = session.scalars(select(ReceptionSession).where(ReceptionSession.matter_id == matter.id)
                               .order_by(ReceptionSession.starts_at))
    body["sessions"] = []
    body["recordings"] = []
    for booking in bookings:
        recs = [recording_summary(r) for r in service.recordings_of(session=session, session_id=booking.id)]
        body["sessions"].append({"id": booking.id, "kind": booking.kind.value, "state": booking.state.value,
                                 "start": booking.starts_at.isoformat(), "end": booking.ends_at.isoformat(),
                                 "leader_id": booking.leader_id, "recorded": booking.recorded, "recordings": recs})
        body["recordings"] += [{**r, "session_id": booking.id} for r in recs]
