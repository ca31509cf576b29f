"""A session's recording while the call runs: the recorder on the hub, each closed segment registered at once."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recordings import service
from recordings.finalise import combine
from recordings.manifest import WORKER_LOST
from recordings.recorder import ClosedSegment, Recorder
from recordings.segment import CAMERA
from recordings.storage import Storage

if TYPE_CHECKING:
    from recordings.sfu import MediaHub
    from vreception.db import Database

logger = logging.getLogger(__name__)

# Recorder failures noted on the recording row; more of the same only go to the log.
MAX_NOTED_ERRORS = 20


def segment_fields(segment: ClosedSegment, participant_of: Callable[[str], int] = int) -> dict[str, Any]:
    """add_segment's keyword arguments for a segment the recorder closed and stored."""
    return {
        "index": segment.index, "participant_id": participant_of(segment.participant), "key": segment.key,
        "container": segment.container, "codecs": segment.codecs, "bytes": segment.bytes, "sha256": segment.sha256,
        "started_at": datetime.fromtimestamp(segment.started_at, UTC),
        "ended_at": datetime.fromtimestamp(max(segment.ended_at, segment.started_at), UTC),
        "gap_before": segment.gap_before, "gaps": segment.gaps, "finalised": segment.clean,
    }


@dataclass(frozen=True)
class LostRecording:
    """What a lost worker left of a running recording, once registered: where the adopter continues it."""

    recording_id: int
    prefix: str
    next_index: int  # after every segment the lost worker opened (registered or not)
    last_media: Mapping[int, float]  # each participant's last recorded instant (unix time)


class LiveRecording:
    """Start with ``await LiveRecording.start(...)`` when the session goes live (or ``resume(...)`` on the worker that
    adopted a lost worker's session); ``await stop()`` when it ends."""

    def __init__(self, *, db: Database, recorder: Recorder | None, recording_id: int, storage: Storage,
                 participant_of: Callable[[str], int] = int) -> None:
        self.db = db
        self.recorder = recorder
        self.recording_id = recording_id
        self.storage = storage
        self.participant_of = participant_of
        self._noted = 0
        self._abandoned = False

    @classmethod
    async def start(cls, *, db: Database, hub: MediaHub, session_id: int, storage: Storage, segment_seconds: float = 60.0,
                    cluster_ms: int = 500, actor_id: int | None = None,
                    participant_of: Callable[[str], int] = int) -> LiveRecording:
        """Create the recording row and attach a recorder to HUB (whose participant ids are str(participants.id))."""

        def create() -> tuple[int, str]:
            with db.transaction() as session:
                recording = service.start_recording(db=session, session_id=session_id, storage=storage,
                                                    actor_id=actor_id)
                return recording.id, recording.prefix

        recording_id, prefix = await asyncio.to_thread(create)
        live = cls(db=db, recorder=None, recording_id=recording_id, storage=storage, participant_of=participant_of)
        live._attach(hub, prefix, segment_seconds=segment_seconds, cluster_ms=cluster_ms).start()
        return live

    @classmethod
    async def resume(cls, *, db: Database, hub: MediaHub, storage: Storage, lost: LostRecording, lost_worker: str,
                     worker: str, segment_seconds: float = 60.0, cluster_ms: int = 500,
                     participant_of: Callable[[str], int] = int) -> LiveRecording:
        """Continue LOST, the running recording that LOST_WORKER held until it was lost, on WORKER: segments are
        numbered after every one the lost worker opened, and each participant's first one here opens after a gap
        marked worker_lost from their last recorded media. The journal notes the hand-over."""
        live = cls(db=db, recorder=None, recording_id=lost.recording_id, storage=storage,
                   participant_of=participant_of)
        recorder = live._attach(hub, lost.prefix, segment_seconds=segment_seconds, cluster_ms=cluster_ms)
        # recordings/recorder.py has no resume of its own: its numbering and each camera's pending gap are set here,
        # before its writer thread starts (nothing else touches them until then).
        recorder._next_index = lost.next_index
        for participant_id, since in lost.last_media.items():
            recorder._state(str(participant_id), CAMERA).pending_gap = {"start": since, "reason": WORKER_LOST}
        recorder.start()
        recorder.journal.write("resumed", at=time.time(), lost_worker=lost_worker, worker=worker,
                               first_index=lost.next_index)
        return live

    def _attach(self, hub: MediaHub, prefix: str, *, segment_seconds: float, cluster_ms: int) -> Recorder:
        """A recorder for HUB under PREFIX that registers each closed segment of this recording and notes errors."""
        self.recorder = Recorder(hub, storage=self.storage, prefix=prefix, segment_seconds=segment_seconds,
                                 cluster_ms=cluster_ms, on_segment=self._segment_closed, on_error=self._error)
        return self.recorder

    def set_muted(self, participant_id: str, kind: str, muted: bool) -> None:
        """Pass on a participant's media_state, so a gap meanwhile is recorded as muted."""
        assert self.recorder is not None, "set by start()"
        self.recorder.set_muted(participant_id, kind, muted)

    async def stop(self, *, finalise: bool = True) -> int:
        """Close the last segments, then (by default) finalise; returns the recording id. Never raises for media faults."""
        assert self.recorder is not None, "set by start()"
        await self.recorder.stop()
        if finalise:
            await asyncio.to_thread(self._finalise)
        return self.recording_id

    async def abandon(self) -> None:
        """Stop recording here without registering anything more: another worker took this recording over while
        this one was taken for lost (what this one still closes stays out of the recording)."""
        assert self.recorder is not None, "set by start()"
        self._abandoned = True
        await self.recorder.stop()

    # called from the recorder's upload thread

    def _segment_closed(self, segment: ClosedSegment) -> None:
        if self._abandoned:
            logger.warning("recording %s: segment %s closed after the recording moved on; not registered",
                           self.recording_id, segment.index)
            return
        with self.db.transaction() as session:
            recording = service.get_recording(db=session, recording_id=self.recording_id)
            service.add_segment(db=session, recording=recording,
                                **segment_fields(segment, self.participant_of))

    def _error(self, message: str) -> None:
        self._noted += 1
        if self._noted > MAX_NOTED_ERRORS:
            return
        with self.db.transaction() as session:
            service.note_error(db=session, recording=service.get_recording(db=session, recording_id=self.recording_id), error=message)

    def _finalise(self) -> None:
        try:
            # the remux runs between two short transactions: SQLite's write lock is not held meanwhile
            with self.db.transaction() as session:
                refs = service.segment_refs(service.get_recording(db=session, recording_id=self.recording_id))
            prepared = combine(refs, self.storage, Path(tempfile.gettempdir())) if refs else None
            with self.db.transaction() as session:
                recording = service.get_recording(db=session, recording_id=self.recording_id)
                service.finalise(db=session, recording=recording, storage=self.storage, prepared=prepared)
        except Exception as exc:
            logger.exception("recording %s: finalising failed", self.recording_id)
            with self.db.transaction() as session:
                service.mark_failed(db=session, recording=service.get_recording(db=session, recording_id=self.recording_id),
                                    error=f"finalising: {type(exc).__name__}: {exc}")
