"""The media side of this process's calls: a hub per session, renegotiation numbers, live recordings, storage."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy import select

from recordings import renegotiation, service
from recordings.journal import JOURNAL_KEY, read_journal
from recordings.live import LiveRecording, LostRecording
from recordings.segment import CAMERA, capture_of_key
from recordings.sfu import MediaHub, UnknownParticipant
from recordings.storage import Storage, storage_from_settings
from signaling.events import MediaSignal
from signaling.messages import Answer, Error, Offer, ServerMessage
from vreception import audit, turn
from vreception.models.recordings import Recording
from vreception.models.recordings import RecordingState as RecordingRowState

if TYPE_CHECKING:
    from vreception.config import Settings
    from vreception.db import Database

log = logging.getLogger("vreception.calls.media")

# (session id, participant id, message): hands a message to that participant's socket in this process.
Deliver = Callable[[int, int, ServerMessage], Awaitable[None]]


class CallMedia:
    """Owns the media of every call served by this process (通话媒体); drive it with typed signals and events."""

    def __init__(self, *, db: Database, settings: Settings, deliver: Deliver) -> None:
        self._db, self._settings, self._deliver = db, settings, deliver
        self.hubs: dict[int, MediaHub] = {}
        # Per (session, participant): the extension ids and payload types of their own offer.
        self.numbers: dict[tuple[int, int], renegotiation.Numbers] = {}
        self.recordings: dict[int, LiveRecording] = {}
        self._storage: Storage | None = None

    @property
    def storage(self) -> Storage:
        """Where recordings go (built once, on first use)."""
        if self._storage is None:
            self._storage = storage_from_settings(self._settings)
        return self._storage

    @property
    def segment_seconds(self) -> int:
        """How long a segment lasts here: on a media worker at most media_worker_segment_seconds (its open segments
        are lost with its disk), in the embedded server recording_segment_seconds."""
        seconds = self._settings.recording_segment_seconds
        if self._settings.media_placement == "workers":
            seconds = min(seconds, self._settings.media_worker_segment_seconds)
        return seconds

    def recording(self, session_id: int) -> bool:
        """Whether SESSION_ID is being recorded in this process."""
        return session_id in self.recordings

    def idle(self) -> bool:
        """Whether no hub, number or recording is held (every call has let go of its media)."""
        return not (self.hubs or self.numbers or self.recordings)

    def load(self) -> tuple[int, int]:
        """(sessions, participants) held here: a media worker's load in its heartbeat."""
        return len(self.hubs), sum(len(hub.participants) for hub in self.hubs.values())

    def holds(self, session_id: int) -> bool:
        """Whether any participant of SESSION_ID has a media connection here."""
        hub = self.hubs.get(session_id)
        return hub is not None and bool(hub.participants)

    async def open(self, session_id: int) -> None:
        """A participant joined SESSION_ID: nothing to place when the media is embedded (media workers place it)."""

    async def signal(self, session_id: int, signal: MediaSignal) -> None:
        """Apply a participant's offer or answer to the session's hub; a bad SDP is answered with an error."""
        message, participant_id = signal.message, signal.participant_id
        hub = self._hub(session_id)
        try:
            if message.type == "offer":
                self.numbers[(session_id, participant_id)] = renegotiation.numbers_of(message.sdp)
                answer = await hub.add_participant(str(participant_id), message.sdp)
                await self._deliver(session_id, participant_id, _sdp(Answer, answer))
            elif message.type == "answer":
                await hub.accept_answer(str(participant_id), message.sdp)
            # Candidates: the hub takes complete offers (gathering finished), see signaling/README.md.
        except Exception as exc:  # a bad SDP must not take the session down
            log.warning("media signal from %s in session %s refused: %s", participant_id, session_id, exc)
            await self._deliver(session_id, participant_id, Error(code="invalid", detail="media negotiation failed"))

    async def leave(self, session_id: int, participant_id: int) -> None:
        """Disconnect a participant's media (left, denied or their socket dropped)."""
        hub = self.hubs.get(session_id)
        if hub is not None and str(participant_id) in hub.participants:
            await hub.remove_participant(str(participant_id))

    async def share_screen(self, session_id: int, participant_id: int) -> None:
        """Offer PARTICIPANT_ID a slot for their shared screen; without a media connection, tell them so."""
        hub = self.hubs.get(session_id)
        try:
            if hub is None:
                raise UnknownParticipant(participant_id)
            hub.open_screen(str(participant_id))
        except UnknownParticipant:
            await self._deliver(session_id, participant_id, Error(
                code="illegal_state", detail="screen share: no media connection yet; share again once connected"))

    async def stop_screen(self, session_id: int, participant_id: int) -> None:
        """End PARTICIPANT_ID's screen share: every viewer's screen track ends, the recording closes its file."""
        hub = self.hubs.get(session_id)
        if hub is not None:
            await hub.close_screen(str(participant_id))

    def set_media_state(self, session_id: int, participant_id: int, *, audio: bool, video: bool) -> None:
        """Pass a participant's mute and camera state to the recording, so a gap meanwhile reads as muted."""
        live = self.recordings.get(session_id)
        if live is not None:
            live.set_muted(str(participant_id), "audio", not audio)
            live.set_muted(str(participant_id), "video", not video)

    async def record(self, session_id: int) -> None:
        """Start recording SESSION_ID (once); a failure is logged and noted, and the call goes on."""
        if session_id in self.recordings:
            return
        try:
            self.recordings[session_id] = await LiveRecording.start(
                db=self._db, hub=self._hub(session_id), session_id=session_id, storage=self.storage,
                segment_seconds=self.segment_seconds, cluster_ms=self._settings.recording_cluster_ms)
        except Exception:  # the call goes on; the failure is logged and the recording row says so
            log.exception("recording of session %s could not start", session_id)

    async def resume(self, session_id: int, *, lost: str, worker: str,
                     present: Mapping[int, float] | None = None) -> int | None:
        """Continue SESSION_ID's running recording here after the worker LOST holding it was lost.

        What the lost worker left is registered first (its journal, where this machine can read it); the recording
        goes on in new segments, each participant's first one after a gap marked worker_lost. PRESENT: the
        participants in the call when the worker was lost, with the unix time each last joined; one with nothing in
        storage (their first segment was still open on the lost worker's disk) is missing since they joined, or since
        the recording started. Returns the recording id, or None when the session was not being recorded.
        """
        if session_id in self.recordings:
            return self.recordings[session_id].recording_id
        found = await asyncio.to_thread(self._recover_lost, session_id, lost, worker, present or {})
        if found is None:
            return None
        self.recordings[session_id] = await LiveRecording.resume(
            db=self._db, hub=self._hub(session_id), storage=self.storage, lost=found, lost_worker=lost, worker=worker,
            segment_seconds=self.segment_seconds, cluster_ms=self._settings.recording_cluster_ms)
        return found.recording_id

    def _recover_lost(self, session_id: int, lost: str, worker: str,
                      present: Mapping[int, float]) -> LostRecording | None:
        """Register what the lost worker left of SESSION_ID's running recording (None when nothing is being
        recorded)."""
        with self._db.transaction() as tx:
            recording_id = tx.scalar(select(Recording.id).where(Recording.session_id == session_id,
                                                                Recording.state == RecordingRowState.recording))
        if recording_id is None:
            return None
        try:
            with self._db.transaction() as tx:
                service.recover(db=tx, recording=service.get_recording(db=tx, recording_id=recording_id),
                                storage=self.storage)
        except Exception:  # the lost worker's disk may be gone with it: the gap is then larger, never an error
            log.exception("recording %s: recovering what worker %s left failed", recording_id, lost)
        with self._db.transaction() as tx:
            recording = service.get_recording(db=tx, recording_id=recording_id)
            prefix = recording.prefix
            indexes = [s.index for s in recording.segments]
            ends: dict[int, float] = {}
            for segment in recording.segments:
                if capture_of_key(segment.key) == CAMERA:
                    ended = segment.ended_at.timestamp()
                    ends[segment.participant_id] = max(ends.get(segment.participant_id, ended), ended)
            started = recording.started_at.timestamp()
            for participant_id, joined in present.items():
                ends.setdefault(participant_id, max(started, joined))
            indexes += [e["index"] for e in read_journal(self.storage.live_path(f"{prefix}/{JOURNAL_KEY}"))
                        if e.get("event") == "open"]
            first_index = max(indexes, default=-1) + 1
            audit.record(db=tx, action="recording.worker_lost", entity_type="recording", entity_id=recording_id,
                         data={"session_id": session_id, "lost_worker": lost, "worker": worker,
                               "first_index": first_index})
        return LostRecording(recording_id=recording_id, prefix=prefix, next_index=first_index, last_media=ends)

    async def release(self, session_id: int) -> None:
        """Nobody of SESSION_ID is connected here: drop its hub, unless it records (a rejoin continues it)."""
        if session_id not in self.recordings:
            await self._close_hub(session_id)

    async def end(self, session_id: int) -> None:
        """The session is over: finalise its recording; its hub goes with the last socket (release)."""
        live = self.recordings.pop(session_id, None)
        if live is not None:
            await live.stop()

    async def close(self) -> None:
        """Finalise every recording and close every hub (server shutdown)."""
        for session_id in list(self.recordings):
            await self.end(session_id)
        for session_id in list(self.hubs):
            await self._close_hub(session_id)

    def _hub(self, session_id: int) -> MediaHub:
        hub = self.hubs.get(session_id)
        if hub is None:
            async def on_offer(participant_id: str, sdp: str) -> None:
                numbers = self.numbers.get((session_id, int(participant_id)))
                if numbers is not None:
                    sdp = renegotiation.align(sdp, numbers)
                await self._deliver(session_id, int(participant_id), _sdp(Offer, sdp))

            hub = MediaHub(ice_servers=turn.server_ice_servers(self._settings),
                           host_addresses=self._settings.media_host_addresses or None, on_offer=on_offer)
            self.hubs[session_id] = hub
        return hub

    async def _close_hub(self, session_id: int) -> None:
        hub = self.hubs.pop(session_id, None)
        if hub is not None:
            await hub.close()
        for key in [k for k in self.numbers if k[0] == session_id]:
            del self.numbers[key]


def _sdp(kind: type[Offer | Answer], sdp: str) -> Offer | Answer:
    # The server's own SDP is not checked against the client-side size limit: a call with many
    # tracks must not fail because its re-offer grew.
    return kind.model_construct(sdp=sdp)
