"""Recordings in the database: start, register segments, finalise, verify, recover after a crash, purge."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from recordings import manifest as manifests
from recordings.errors import RecordingRetained, RecordingState
from recordings.finalise import Combined, SegmentRef, combine
from recordings.journal import JOURNAL_KEY, read_journal
from recordings.probe import Probe, probe
from recordings.segment import CAMERA, capture_of_key
from recordings.storage import Storage, StorageError, sha256_file, sha256_stored
from vreception import audit
from vreception.clock import now as clock_now
from vreception.errors import NotFound
from vreception.models import AuditEvent, Matter, MatterState
from vreception.models.recordings import Recording, RecordingSegment
from vreception.models.recordings import RecordingState as State
from vreception.models.scheduling import Participant, ReceptionSession

logger = logging.getLogger(__name__)

ENTITY = "recording"
CLOSED_MATTER = {MatterState.closed, MatterState.final}
# Between two segments of a participant, a hole longer than this is a gap in the manifest.
GAP_SECONDS = 1.0


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(value: datetime) -> float:
    return value.timestamp()


def get_recording(*, db: Session, recording_id: int) -> Recording:
    """The recording with RECORDING_ID (NotFound otherwise)."""
    recording = db.get(Recording, recording_id)
    if recording is None:
        raise NotFound("error.not_found", field="recording_id")
    return recording


def recordings_of(*, db: Session, session_id: int) -> list[Recording]:
    """The recordings of one reception session, oldest first."""
    return list(db.scalars(select(Recording).where(Recording.session_id == session_id).order_by(Recording.id)))


def start_recording(*, db: Session, session_id: int, storage: Storage, actor_id: int | None = None) -> Recording:
    """Open a recording of SESSION_ID (one at a time per session) and audit it."""
    if db.get(ReceptionSession, session_id) is None:
        raise NotFound("error.not_found", field="session_id")
    running = db.scalar(select(Recording.id).where(Recording.session_id == session_id,
                                                        Recording.state == State.recording))
    if running is not None:
        raise RecordingState("error.recording_state", recording_id=running)
    recording = Recording(session_id=session_id, state=State.recording, storage=storage.name, prefix="",
                          started_at=clock_now(), error="")
    db.add(recording)
    db.flush()
    recording.prefix = f"sessions/{session_id}/recording-{recording.id}"
    audit.record(db=db, action="recording.started", entity_type=ENTITY, entity_id=recording.id, actor_id=actor_id,
                 data={"session_id": session_id, "storage": storage.name, "prefix": recording.prefix})
    return recording


def add_segment(
    *,
    db: Session,
    recording: Recording,
    index: int,
    participant_id: int,
    key: str,
    container: str,
    codecs: dict[str, str],
    bytes: int,
    sha256: str,
    started_at: datetime,
    ended_at: datetime,
    gap_before: dict[str, Any] | None = None,
    gaps: Sequence[dict[str, Any]] = (),
    finalised: bool = True,
) -> RecordingSegment:
    """Register a closed, stored segment and chain its hash into the audit log."""
    if recording.state != State.recording:
        raise RecordingState("error.recording_state", state=recording.state.value)
    participant = db.get(Participant, participant_id)
    if participant is None or participant.session_id != recording.session_id:
        raise NotFound("error.not_found", field="participant_id")
    gap_before_s = None
    if gap_before:
        gap_before_s = round(max(0.0, gap_before["end"] - gap_before["start"]), 3)
    segment = RecordingSegment(
        recording_id=recording.id, index=index, participant_id=participant_id, key=key, container=container,
        codecs=",".join(f"{k}={v}" for k, v in sorted(codecs.items())), bytes=bytes, sha256=sha256,
        duration_s=round(max(0.0, (ended_at - started_at).total_seconds()), 3), started_at=started_at,
        ended_at=ended_at, gap_before_s=gap_before_s, gap_reason=gap_before["reason"] if gap_before else None,
        gaps=json.dumps(list(gaps), sort_keys=True), finalised=finalised,
    )
    db.add(segment)
    db.flush()
    db.expire(recording, ["segments"])
    audit.record(db=db, action="recording.segment_added", entity_type=ENTITY, entity_id=recording.id,
                 data={"index": index, "participant_id": participant_id, "key": key, "sha256": sha256,
                       "bytes": bytes, "finalised": finalised})
    return segment


def note_error(*, db: Session, recording: Recording, error: str) -> None:
    """Mark a recorder failure on the recording (the call went on) and audit it."""
    recording.error = (recording.error + "\n" + error).strip()[-4000:]
    audit.record(db=db, action="recording.error", entity_type=ENTITY, entity_id=recording.id,
                 data={"error": error[:500]})


def mark_failed(*, db: Session, recording: Recording, error: str) -> None:
    """Give up on a recording that produced nothing playable, and audit it."""
    recording.state = State.failed
    recording.ended_at = clock_now()
    recording.error = (recording.error + "\n" + error).strip()[-4000:]
    audit.record(db=db, action="recording.failed", entity_type=ENTITY, entity_id=recording.id,
                 data={"error": error[:500]})


# finalising


def segment_refs(recording: Recording) -> list[SegmentRef]:
    """What the combiner needs of each registered segment."""
    return [SegmentRef(s.index, s.participant_id, s.key, _epoch(s.started_at), capture_of_key(s.key))
            for s in recording.segments]


def prepare(recording: Recording, storage: Storage, work_dir: Path | None = None) -> Combined:
    """Remux the recording's segments into one file (slow: run it outside a write transaction, off the loop)."""
    return combine(segment_refs(recording), storage, Path(work_dir or tempfile.gettempdir()))


def _gaps(recording: Recording, ended_at: datetime) -> list[dict[str, Any]]:
    """Every gap: before segments, inside them, holes between them, and after a participant's last one.

    A shared screen's segments have only the gaps inside them: between and after shares nothing is shared.
    """
    gaps: list[dict[str, Any]] = []
    by_participant: dict[int, list[RecordingSegment]] = {}
    for segment in recording.segments:
        capture = capture_of_key(segment.key)
        if capture == CAMERA:
            by_participant.setdefault(segment.participant_id, []).append(segment)
        for gap in json.loads(segment.gaps or "[]"):
            gaps.append({"participant_id": segment.participant_id, "source": capture, "kind": gap.get("kind"),
                         "start": manifests.instant(gap["start"]), "end": manifests.instant(gap["end"]),
                         "reason": gap["reason"]})
    for participant_id, segments in by_participant.items():
        segments.sort(key=lambda s: s.started_at)
        for previous, segment in pairwise(segments):
            hole = (segment.started_at - previous.ended_at).total_seconds()
            if segment.gap_reason or hole > GAP_SECONDS:
                gaps.append({"participant_id": participant_id, "source": CAMERA, "kind": None,
                             "start": manifests.instant(previous.ended_at), "end": manifests.instant(segment.started_at),
                             "reason": segment.gap_reason or "unexplained"})
        if (ended_at - segments[-1].ended_at).total_seconds() > GAP_SECONDS:
            gaps.append({"participant_id": participant_id, "source": CAMERA, "kind": None,
                         "start": manifests.instant(segments[-1].ended_at), "end": manifests.instant(ended_at),
                         "reason": "left"})
    return gaps


# Call events that go into the manifest, with their offset into the recording (audited by web/calls/persist.py).
MANIFEST_EVENTS = ("call.evidence_shown", "call.evidence_ended", "call.screen_share_started",
                   "call.screen_share_ended")


def _call_events(recording: Recording, origin: datetime, *, db: Session) -> list[dict[str, Any]]:
    """The evidence shown and the screens shared while RECORDING ran (who, what, which page, when), each at its
    offset from ORIGIN."""
    rows = db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "session",
                                                    AuditEvent.entity_id == str(recording.session_id),
                                                    AuditEvent.action.in_(MANIFEST_EVENTS),
                                                    AuditEvent.at >= recording.started_at)
                           .order_by(AuditEvent.seq))
    out = []
    for row in rows:
        data = json.loads(row.data or "{}")
        entry = {"kind": row.action.removeprefix("call."), "seq": row.seq, "at": manifests.instant(row.at),
                 "offset_s": round(max(0.0, (row.at - origin).total_seconds()), 3),
                 "participant_id": data.get("participant_id", data.get("by")), "item": data.get("item")}
        if "page" in data:
            entry.update(page=data["page"], pages=data.get("pages"))
        if entry["kind"].startswith("screen_share"):
            # whose screen; and who stopped it (None: the sharer left or the call ended)
            entry.update(source="screen", by=data.get("by"))
        out.append(entry)
    return out


def _segment_entry(segment: RecordingSegment) -> dict[str, Any]:
    return {
        "index": segment.index, "participant_id": segment.participant_id, "source": capture_of_key(segment.key),
        "key": segment.key,
        "container": segment.container, "codecs": segment.codecs, "bytes": segment.bytes, "sha256": segment.sha256,
        "duration_s": segment.duration_s, "started_at": manifests.instant(segment.started_at),
        "ended_at": manifests.instant(segment.ended_at), "finalised": segment.finalised,
    }


def _origin(media_started_at: datetime | float | None, fallback: datetime) -> datetime:
    """Time zero of the combined file (its first packet), which event offsets count from."""
    if media_started_at is None:
        return fallback
    return media_started_at if isinstance(media_started_at, datetime) else _utc(media_started_at)


def finalise(
    *,
    db: Session,
    recording: Recording,
    storage: Storage,
    prepared: Combined | None = None,
    ended_at: datetime | None = None,
    work_dir: Path | None = None,
) -> Recording:
    """Make the manifest and the combined file, hash both, store them, and chain the manifest hash into the audit log."""
    if recording.state != State.recording:
        raise RecordingState("error.recording_state", state=recording.state.value)
    segments = list(recording.segments)
    if not segments:
        mark_failed(db=db, recording=recording, error="no media was recorded")
        return recording
    if prepared is None or prepared.segments != tuple(s.index for s in segments):
        prepared = prepare(recording, storage, work_dir)
    ended_at = ended_at or max(s.ended_at for s in segments)
    prefix = recording.prefix
    media_key = f"{prefix}/recording.{prepared.extension}"
    storage.put(media_key, prepared.path)
    shutil.rmtree(prepared.path.parent, ignore_errors=True)
    document = manifests.build(
        recording_id=recording.id, session_id=recording.session_id, started_at=recording.started_at,
        ended_at=ended_at, segments=[_segment_entry(s) for s in segments], gaps=_gaps(recording, ended_at),
        media={"key": media_key, "container": prepared.container, "bytes": prepared.bytes,
               "sha256": prepared.sha256, "duration_s": prepared.duration_s,
               "started_at": manifests.instant(prepared.started_at), "tracks": prepared.tracks},
        events=_call_events(recording, _origin(prepared.started_at, recording.started_at), db=db),
    )
    body = manifests.canonical(document)
    manifest_key = f"{prefix}/manifest.json"
    with tempfile.NamedTemporaryFile("wb", delete=False, dir=work_dir, suffix=".json") as handle:
        handle.write(body)
    storage.put(manifest_key, Path(handle.name))
    Path(handle.name).unlink(missing_ok=True)

    recording.state = State.finalised
    recording.ended_at = ended_at
    recording.duration_s = prepared.duration_s
    recording.bytes = prepared.bytes
    recording.sha256 = prepared.sha256
    recording.container = prepared.container
    recording.media_key = media_key
    recording.manifest_key = manifest_key
    recording.manifest = body.decode("utf-8")
    recording.manifest_sha256 = manifests.sha256_hex(body)
    audit.record(db=db, action="recording.finalised", entity_type=ENTITY, entity_id=recording.id,
                 data={"manifest_sha256": recording.manifest_sha256, "sha256": recording.sha256,
                       "bytes": recording.bytes, "segments": len(segments)})
    return recording


# verifying


@dataclass
class VerifyReport:
    """What verify found: ok only when every hash and the audit chain agree."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    bad_segments: list[int] = field(default_factory=list)  # indexes of segments that differ
    segments_checked: int = 0
    # Seconds of each participant's media lost with a media worker (the gaps marked worker_lost), by participant id.
    missing: dict[int, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The API's shape: {"ok", "problems"}."""
        return {"ok": self.ok, "problems": list(self.problems)}


def _events(recording: Recording, *, db: Session) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.entity_type == ENTITY,
                                                         AuditEvent.entity_id == str(recording.id))
                                .order_by(AuditEvent.seq)))


def _check_stored(storage: Storage, key: str, sha256: str | None, size: int | None) -> str | None:
    try:
        actual, actual_size = sha256_stored(storage, key)
    except StorageError as exc:
        return f"missing from storage ({exc})"
    if size is not None and actual_size != size:
        return f"size differs: recorded {size} bytes, stored {actual_size}"
    if actual != sha256:
        return f"sha256 differs: recorded {sha256}, stored {actual}"
    return None


def verify(*, db: Session, recording: Recording, storage: Storage) -> VerifyReport:
    """Recompute every hash from storage and check them against the rows, the manifest and the audit chain."""
    report = VerifyReport(ok=True)
    chain = audit.verify(db=db)
    report.problems += [f"audit chain: {p}" for p in chain.problems]
    events = _events(recording, db=db)
    added = {e_data["index"]: e_data for e_data in (json.loads(e.data) for e in events
                                                    if e.action == "recording.segment_added")}
    if recording.state == State.purged:
        report.problems.append("recording was purged: its media no longer exists")
    manifest_segments: dict[int, dict[str, Any]] = {}
    if recording.state == State.finalised:
        body = (recording.manifest or "").encode("utf-8")
        if manifests.sha256_hex(body) != recording.manifest_sha256:
            report.problems.append("manifest: its text does not match the recorded manifest_sha256")
        finalised = [json.loads(e.data) for e in events if e.action == "recording.finalised"]
        if not finalised:
            report.problems.append("audit: no recording.finalised event for this recording")
        elif finalised[-1].get("manifest_sha256") != recording.manifest_sha256:
            report.problems.append("audit: the manifest hash in the audit log differs from the recording's")
        elif finalised[-1].get("sha256") != recording.sha256:
            report.problems.append("audit: the media hash in the audit log differs from the recording's")
        # finalise() stores both files of a finalised recording (a missing key is no safe storage key)
        assert recording.manifest_key is not None and recording.media_key is not None
        problem = _check_stored(storage, recording.manifest_key, recording.manifest_sha256, len(body))
        if problem:
            report.problems.append(f"manifest file {recording.manifest_key}: {problem}")
        document = json.loads(body) if body else {}
        manifest_segments = {s["index"]: s for s in document.get("segments", [])}
        media = document.get("media") or {}
        if media.get("sha256") != recording.sha256:
            report.problems.append("manifest: the combined file's hash differs from the recording's")
        problem = _check_stored(storage, recording.media_key, recording.sha256, recording.bytes)
        if problem:
            report.problems.append(f"combined file {recording.media_key}: {problem}")
        if set(manifest_segments) != {s.index for s in recording.segments}:
            report.problems.append("manifest: its segments are not the recording's segments")
    if recording.state in (State.recording, State.finalised, State.failed):
        for segment in recording.segments:
            report.segments_checked += 1
            name = f"segment {segment.index} (participant {segment.participant_id}, {segment.key})"
            problems = []
            problem = _check_stored(storage, segment.key, segment.sha256, segment.bytes)
            if problem:
                problems.append(problem)
            entry = manifest_segments.get(segment.index)
            if recording.state == State.finalised and entry is not None and (
                entry["sha256"] != segment.sha256 or entry["bytes"] != segment.bytes
            ):
                problems.append("the manifest's hash differs from the database's")
            event = added.get(segment.index)
            if event is None:
                problems.append("no recording.segment_added event in the audit log")
            elif event.get("sha256") != segment.sha256:
                problems.append("the audit log's hash differs from the database's")
            if problems:
                report.bad_segments.append(segment.index)
                report.problems += [f"{name}: {p}" for p in problems]
    # What is missing: as the manifest says once finalised, as the segments say while recording
    gaps = document.get("gaps", []) if recording.state == State.finalised else \
        _gaps(recording, max(s.ended_at for s in recording.segments)) if recording.segments else []
    for gap in gaps:
        if gap["reason"] == manifests.WORKER_LOST:
            seconds = report.missing.get(gap["participant_id"], 0.0) + manifests._seconds(gap)
            report.missing[gap["participant_id"]] = round(seconds, 3)
    report.ok = not report.problems
    return report


# recovering after a crash


def recover(*, db: Session, recording: Recording, storage: Storage,
            participant_of: Callable[[str], int] = int) -> list[RecordingSegment]:
    """Register the segments a dead recorder left behind (from its journal); files cut short still play."""
    if recording.state != State.recording:
        raise RecordingState("error.recording_state", state=recording.state.value)
    events = read_journal(storage.live_path(f"{recording.prefix}/{JOURNAL_KEY}"))
    known = {s.index for s in recording.segments}
    closes = {e["index"]: e for e in events if e["event"] == "close"}
    gap_events = [e for e in events if e["event"] == "gap" and e.get("kind")]
    added, empty = [], []
    for opened in sorted((e for e in events if e["event"] == "open"), key=lambda e: e["index"]):
        index, key = opened["index"], opened["key"]
        if index in known:
            continue
        live = storage.live_path(key)
        if storage.exists(key):
            sha256, size = sha256_stored(storage, key)
            span = None
        else:
            span = _readable(live)
            if span is None:
                # opened and killed before its first cluster reached the disk: no media in it
                live.unlink(missing_ok=True)
                empty.append(index)
                continue
            sha256, size = sha256_file(live)
            storage.put(key, live)
        started = opened["started_at"]
        close = closes.get(index)
        if close is not None:
            ended = close["ended_at"]
        else:
            ended = started + (span.end if span is not None else 0.0)
        capture = opened.get("capture", CAMERA)
        fields = ("participant", "capture", "kind", "start", "end", "reason")
        inner: list[dict[str, Any]] = [
            {k: g[k] for k in fields if k in g} for g in gap_events
            if g["participant"] == opened["participant"] and g.get("capture", CAMERA) == capture
            and started <= g["start"] <= ended]
        added.append(add_segment(
            db=db, recording=recording, index=index, participant_id=participant_of(opened["participant"]),
            key=key, container=opened["container"], codecs=opened["codecs"], bytes=size, sha256=sha256,
            started_at=_utc(started), ended_at=_utc(ended), gap_before=opened.get("gap_before"), gaps=inner,
            finalised=close is not None,
        ))
    audit.record(db=db, action="recording.recovered", entity_type=ENTITY, entity_id=recording.id,
                 data={"segments": [s.index for s in added], "empty": empty})
    return added


def _readable(path: Path) -> Probe | None:
    """The probe of a segment file left by a dead recorder, or None when it holds no whole packet."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        span = probe(path)
    except av.error.FFmpegError:
        return None
    return span if any(s.packets for s in span.streams) else None


# retention


def _matter_open(recording: Recording, *, db: Session) -> bool:
    reception = db.get(ReceptionSession, recording.session_id)
    if reception is None or reception.matter_id is None:
        return False
    matter = db.get(Matter, reception.matter_id)
    return matter is not None and matter.state not in CLOSED_MATTER


def purge(*, db: Session, recording: Recording, storage: Storage, actor_id: int | None = None,
          reason: str = "") -> Recording:
    """Delete a recording's media (keeping its row and hashes); refused while its matter is open."""
    if recording.state == State.recording:
        raise RecordingState("error.recording_state", state=recording.state.value)
    if recording.state == State.purged:
        return recording
    if _matter_open(recording, db=db):
        raise RecordingRetained("error.recording_retained", recording_id=recording.id)
    deleted = []
    keys = [s.key for s in recording.segments] + [k for k in (recording.media_key, recording.manifest_key) if k]
    hashes: dict[str, str | None] = {s.key: s.sha256 for s in recording.segments}
    if recording.media_key:
        hashes[recording.media_key] = recording.sha256
    if recording.manifest_key:
        hashes[recording.manifest_key] = recording.manifest_sha256
    for key in keys + [k for k in storage.list(recording.prefix + "/") if k not in keys]:
        storage.delete(key)
        deleted.append({"key": key, "sha256": hashes.get(key)})
    recording.state = State.purged
    audit.record(db=db, action="recording.purged", entity_type=ENTITY, entity_id=recording.id, actor_id=actor_id,
                 data={"reason": reason, "deleted": deleted})
    return recording


def purge_expired(*, db: Session, storage: Storage, retention_days: int | None,
                  actor_id: int | None = None) -> list[int]:
    """Purge recordings of closed matters that ended over RETENTION_DAYS ago; None keeps them with the case file."""
    if retention_days is None:
        return []
    cutoff = clock_now() - timedelta(days=retention_days)
    candidates = db.scalars(
        select(Recording).join(ReceptionSession, ReceptionSession.id == Recording.session_id)
        .join(Matter, Matter.id == ReceptionSession.matter_id)
        .where(Recording.state.in_([State.finalised, State.failed]), Matter.state.in_(list(CLOSED_MATTER)),
               Recording.ended_at < cutoff)
    )
    purged = []
    for recording in list(candidates):
        purge(db=db, recording=recording, storage=storage, actor_id=actor_id,
              reason=f"retention: {retention_days} days")
        purged.append(recording.id)
    return purged


def read_media(*, recording: Recording, storage: Storage, offset: int = 0, length: int | None = None) -> bytes:
    """Bytes of the combined file for playback (an HTTP Range maps to OFFSET and LENGTH)."""
    if recording.state != State.finalised or not recording.media_key:
        raise RecordingState("error.recording_state", state=recording.state.value)
    return storage.read(recording.media_key, offset, length)
