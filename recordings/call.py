"""The media side of this process's calls: a hub per session, renegotiation numbers, live recordings, storage."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from recordings import renegotiation
from recordings.live import LiveRecording
from recordings.sfu import MediaHub, UnknownParticipant
from recordings.storage import Storage, storage_from_settings
from signaling.events import MediaSignal
from signaling.messages import Answer, Error, Offer, ServerMessage

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

    def recording(self, session_id: int) -> bool:
        """Whether SESSION_ID is being recorded in this process."""
        return session_id in self.recordings

    def idle(self) -> bool:
        """Whether no hub, number or recording is held (every call has let go of its media)."""
        return not (self.hubs or self.numbers or self.recordings)

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
                segment_seconds=self._settings.recording_segment_seconds,
                cluster_ms=self._settings.recording_cluster_ms)
        except Exception:  # the call goes on; the failure is logged and the recording row says so
            log.exception("recording of session %s could not start", session_id)

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

            hub = MediaHub(ice_servers=self._settings.ice_servers,
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
