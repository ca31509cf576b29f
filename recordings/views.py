"""The read model of a recording as evidence: its state, hashes and segments."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from recordings.segment import capture_of_key
from vreception.models.recordings import Recording


class SegmentOut(BaseModel):
    index: int
    participant_id: int
    source: str  # camera | screen (a shared screen is a video track of its own)
    bytes: int
    sha256: str
    duration_s: float


class RecordingOut(BaseModel):
    """A recording with its segments and their hashes."""

    id: int
    session_id: int
    state: str
    duration_s: float | None
    bytes: int | None
    sha256: str | None
    manifest_sha256: str | None
    container: str | None
    started_at: datetime
    ended_at: datetime | None
    media_url: str
    segments: list[SegmentOut]


class VerifyOut(BaseModel):
    """The outcome of recomputing every hash of a recording."""

    ok: bool
    problems: list[str]
    missing: dict[int, float] = {}  # seconds lost with a media worker (gaps `worker_lost`), by participant id


def recording_out(recording: Recording) -> RecordingOut:
    """A recording as the API shows it."""
    return RecordingOut(
        id=recording.id, session_id=recording.session_id, state=recording.state.value,
        duration_s=recording.duration_s, bytes=recording.bytes, sha256=recording.sha256,
        manifest_sha256=recording.manifest_sha256, container=recording.container, started_at=recording.started_at,
        ended_at=recording.ended_at, media_url=f"/api/v1/recordings/{recording.id}/media",
        segments=[SegmentOut(index=s.index, participant_id=s.participant_id, source=capture_of_key(s.key),
                             bytes=s.bytes, sha256=s.sha256, duration_s=s.duration_s) for s in sorted(recording.segments, key=lambda s: s.index)])
