"""The media hub of one session: a peer connection per participant, media forwarded encoded between them."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.exceptions import InvalidStateError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from recordings import aiortc_hooks, consent, ice
from recordings.forwarding import Outlet, Source
from recordings.rtp.forwarder import PacketForwarder
from recordings.segment import CAMERA, SCREEN, Capture

logger = logging.getLogger(__name__)

OfferCallback = Callable[[str, str], Awaitable[None] | None]
StateCallback = Callable[[str, str], Awaitable[None] | None]

# msid tokens (RFC 8830) are how a browser learns whose stream a track is: keep ids token-safe.
PARTICIPANT_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class UnknownParticipant(KeyError):
    """The hub holds no participant with this id."""


def _preferences(kind: str, only: str | None = None) -> list[RTCRtpCodecCapability]:
    """Codecs in the order the hub accepts them: VP8 first, then H.264; Opus only (ONLY: one MIME type)."""
    known = RTCRtpReceiver.getCapabilities(kind)
    assert known is not None, f"aiortc has no {kind} codecs"
    capabilities = known.codecs
    order = ["video/vp8", "video/h264"] if kind == "video" else ["audio/opus"]
    if only is not None:
        order = [only.lower()]
    chosen = [c for mime in order for c in capabilities if c.mimeType.lower() == mime]
    chosen += [c for c in capabilities if c.mimeType.lower() == "video/rtx"]
    return chosen


def _answered_codec(media: aiortc_sdp.MediaDescription) -> str | None:
    """The MIME type the hub's answer will put first for an offered m-line (what the client will send)."""
    offered = {codec.mimeType.lower(): codec.mimeType for codec in media.rtp.codecs}
    for preferred in _preferences(media.kind):
        if preferred.mimeType.lower() in offered and preferred.mimeType.lower() != "video/rtx":
            return preferred.mimeType
    return None


@dataclass(eq=False)
class Participant:
    """One participant's peer connection and what flows through it."""

    participant_id: str
    pc: RTCPeerConnection
    sources: list[Source] = field(default_factory=list)
    # what this participant watches: outlet -> the transceiver carrying it
    watching: dict[Outlet, RTCRtpTransceiver] = field(default_factory=dict)
    # mid -> MIME type the answer puts first, which the client will send
    codecs: dict[str, str | None] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    renegotiate: bool = False
    # changes to this peer connection wait for a stable signaling state, under the lock
    pending_watch: list[Source] = field(default_factory=list)
    retired: list[RTCRtpTransceiver] = field(default_factory=list)
    # A shared screen arrives on a receive-only video transceiver the hub adds and offers (screen_wanted asks for
    # one); an ended share's transceiver turns inactive at the next offer (ended_screens: never forwarded again).
    screen_wanted: bool = False
    screen: RTCRtpTransceiver | None = None
    ended_screens: list[RTCRtpTransceiver] = field(default_factory=list)
    stopping_screens: list[RTCRtpTransceiver] = field(default_factory=list)


class MediaHub:
    """Selective forwarding unit for one session; drive it with plain SDP strings and participant ids.

    Flow: the client offers once (its own audio+video), ``add_participant`` answers. Every
    later change is a server offer delivered through ``on_offer(participant_id, sdp)``, and
    the signaling layer returns the client's answer with ``accept_answer``. Offers go out
    only once the participant's connection is up and never while one is outstanding, so
    there is no glare. A client that needs a fresh start joins again with a new offer.

    A screen share is one more track from the client, so it goes the same way: ``open_screen``
    makes the next offer carry a new receive-only video m-line, the client answers it sendonly
    with its screen track, and the hub forwards and records that track as capture "screen"
    (viewers get it with the msid stream id "<participant id>-screen").
    """

    def __init__(
        self,
        *,
        ice_servers: Sequence[Mapping[str, Any]] = (),
        host_addresses: Sequence[str] | None = None,
        on_offer: OfferCallback | None = None,
        on_connection_state: StateCallback | None = None,
    ) -> None:
        aiortc_hooks.check_hooks()
        consent.install()
        self._ice_servers = list(ice_servers)
        self._host_addresses = list(host_addresses) if host_addresses is not None else None
        self._on_offer = on_offer
        self._on_state = on_connection_state
        self._participants: dict[str, Participant] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._track_ids = itertools.count(1)
        self._closed = False
        # aiortc negotiates (ICE, DTLS, SDP); the media is SRTP forwarded below its media layer (recordings.rtp)
        self._forwarder = PacketForwarder()

    @property
    def packet_forwarder(self) -> PacketForwarder:
        """The packet router that forwards the hub's media."""
        return self._forwarder

    @property
    def participants(self) -> list[str]:
        """Ids of the participants currently held."""
        return list(self._participants)

    def peer_connection(self, participant_id: str) -> RTCPeerConnection:
        """The server-side peer connection of PARTICIPANT_ID (for stats and tests)."""
        return self._get(participant_id).pc

    def sources(self, participant_id: str) -> list[Source]:
        """The incoming tracks of PARTICIPANT_ID."""
        return list(self._get(participant_id).sources)

    def forwarded_tracks(self, viewer_id: str) -> list[dict[str, str | None]]:
        """What VIEWER_ID receives: mid, publisher id, kind and capture (camera, screen) of each live forwarded track."""
        viewer = self._get(viewer_id)
        return [
            {
                "mid": transceiver.mid,
                "publisher": outlet.source.participant_id,
                "kind": outlet.kind,
                "capture": outlet.source.capture,
            }
            for outlet, transceiver in viewer.watching.items()
        ]

    def request_keyframe(self, participant_id: str, capture: Capture | None = None) -> None:
        """Ask PARTICIPANT_ID's camera (or CAPTURE only) for a key frame (a recorder starting a segment needs one)."""
        for source in self._get(participant_id).sources:
            if capture is None or source.capture == capture:
                source.request_keyframe()

    def open_screen(self, participant_id: str) -> None:
        """Offer PARTICIPANT_ID a slot for a shared screen (a receive-only video m-line) at the next offer."""
        participant = self._get(participant_id)
        if participant.screen is None and not participant.screen_wanted:
            participant.screen_wanted = True
            self._schedule_offer(participant)

    async def close_screen(self, participant_id: str) -> None:
        """End PARTICIPANT_ID's screen share: its viewers' tracks end now, its slot turns inactive at the next offer."""
        participant = self._participants.get(participant_id)
        if participant is None:
            return
        participant.screen_wanted = False
        slot, participant.screen = participant.screen, None
        if slot is None:
            return
        participant.ended_screens.append(slot)
        participant.stopping_screens.append(slot)
        source = next((s for s in participant.sources if s.receiver is slot.receiver), None)
        if source is not None:
            participant.sources.remove(source)
            for outlet in tuple(source.outlets):
                self._unwatch(outlet)
            source.stop()
        self._schedule_offer(participant)

    async def add_participant(self, participant_id: str, offer_sdp: str) -> str:
        """Connect a participant from its offer and return the answer; a known id rejoins afresh."""
        if self._closed:
            raise RuntimeError("media hub is closed")
        if not PARTICIPANT_ID.fullmatch(participant_id):
            raise ValueError(f"participant id {participant_id!r} must match {PARTICIPANT_ID.pattern}")
        if participant_id in self._participants:
            await self.remove_participant(participant_id)

        pc = RTCPeerConnection(ice.rtc_configuration(self._ice_servers))
        participant = Participant(participant_id, pc)
        self._participants[participant_id] = participant
        try:
            async with participant.lock:
                # Pre-created transceivers are matched to the offer's m-lines by kind, so their
                # codec preferences decide the answer: VP8/Opus first, as the forwarding needs one
                # codec on both legs.
                for media in aiortc_sdp.SessionDescription.parse(offer_sdp).media:
                    if media.kind in ("audio", "video"):
                        participant.codecs[media.rtp.muxId] = _answered_codec(media)
                        transceiver = pc.addTransceiver(media.kind, direction="recvonly")
                        transceiver.setCodecPreferences(_preferences(media.kind))

                @pc.on("track")
                def on_track(track: MediaStreamTrack) -> None:
                    self._add_source(participant, track)

                @pc.on("connectionstatechange")
                async def on_state() -> None:
                    await self._connection_state_changed(participant)

                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
                answer = await pc.createAnswer()
                with ice.host_addresses(self._host_addresses):
                    await pc.setLocalDescription(answer)

                for other in self._participants.values():
                    if other is not participant:
                        participant.pending_watch.extend(other.sources)
                if participant.pending_watch:
                    self._schedule_offer(participant)
        except Exception:
            await self.remove_participant(participant_id)
            raise
        return pc.localDescription.sdp

    async def accept_answer(self, participant_id: str, answer_sdp: str) -> None:
        """Apply a participant's answer to the hub's last offer, then send the next offer if one is due."""
        participant = self._get(participant_id)
        async with participant.lock:
            if participant.pc.signalingState != "have-local-offer":
                raise RuntimeError(f"participant {participant_id} has no offer outstanding")
            await participant.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        if participant.renegotiate:
            self._schedule_offer(participant)

    async def remove_participant(self, participant_id: str) -> None:
        """Close a participant's connection and stop forwarding its media to the others."""
        participant = self._participants.pop(participant_id, None)
        if participant is None:
            return
        for source in participant.sources:
            for outlet in tuple(source.outlets):
                self._unwatch(outlet)
            source.stop()
        for outlet in tuple(participant.watching):
            outlet.stop()
        participant.watching.clear()
        await participant.pc.close()

    async def close(self) -> None:
        """Close every participant and cancel the hub's pending work."""
        self._closed = True
        for participant_id in list(self._participants):
            await self.remove_participant(participant_id)
        await self._forwarder.close()
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # internals

    def _get(self, participant_id: str) -> Participant:
        try:
            return self._participants[participant_id]
        except KeyError:
            raise UnknownParticipant(participant_id) from None

    def _add_source(self, participant: Participant, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in participant.pc.getTransceivers() if t.receiver.track is track)
        if transceiver in participant.ended_screens:
            return  # the share ended while its slot was being negotiated
        source = Source(
            participant.participant_id,
            track.kind,
            transceiver.receiver,
            codec=participant.codecs.get(transceiver.mid) if transceiver.mid is not None else None,
            capture=SCREEN if transceiver is participant.screen else CAMERA,
        )
        participant.sources.append(source)
        self._forwarder.add_source(source, transceiver)
        for other in self._participants.values():
            if other is not participant:
                other.pending_watch.append(source)
                self._schedule_offer(other)

    def _attach(self, viewer: Participant, source: Source) -> None:
        """Add a send-only transceiver to VIEWER carrying SOURCE (signaling state stable, lock held)."""
        # the msid stream id tells the viewer whose media this is, and a shared screen apart from the camera
        stream_id = source.participant_id if source.capture == CAMERA else f"{source.participant_id}-{source.capture}"
        track_id = f"{stream_id}-{source.kind}-{next(self._track_ids)}"
        outlet = Outlet(source, track_id)
        transceiver = viewer.pc.addTransceiver(outlet, direction="sendonly")
        # the m-line must carry the codec the publisher sends: its packets go out as they came, renumbered only
        codec = source.codec
        transceiver.setCodecPreferences(_preferences(source.kind, only=codec))
        transceiver.sender._stream_id = stream_id
        # a viewer's PLI/FIR that reaches aiortc's sender (inside a compound report) asks the publisher too
        aiortc_hooks.forward_keyframe_requests(transceiver.sender, source.request_keyframe)
        self._forwarder.attach(transceiver.sender, outlet)
        source.outlets.add(outlet)
        viewer.watching[outlet] = transceiver

    def _screen_codec(self, participant: Participant) -> str:
        """The video codec a shared screen must use: the camera's, so that every leg carries one codec."""
        return next(
            (s.codec for s in participant.sources if s.kind == "video" and s.capture == CAMERA and s.codec), "video/VP8"
        )

    def _add_screen_slot(self, participant: Participant) -> None:
        """Add the receive-only video transceiver a shared screen will arrive on (signaling stable, lock held)."""
        slot = participant.pc.addTransceiver("video", direction="recvonly")
        slot.setCodecPreferences(_preferences("video", only=self._screen_codec(participant)))
        participant.screen, participant.screen_wanted = slot, False

    def _unwatch(self, outlet: Outlet) -> None:
        """Stop OUTLET now; its m-line turns inactive at the next offer (aiortc cannot remove m-lines)."""
        outlet.stop()
        viewer = next((p for p in self._participants.values() if outlet in p.watching), None)
        if viewer is None:
            return
        viewer.retired.append(viewer.watching.pop(outlet))
        self._schedule_offer(viewer)

    def _schedule_offer(self, participant: Participant) -> None:
        participant.renegotiate = True
        self._spawn(self._offer(participant))

    async def _offer(self, participant: Participant) -> None:
        async with participant.lock:
            pc = participant.pc
            if (
                self._participants.get(participant.participant_id) is not participant
                or pc.signalingState != "stable"  # an offer is outstanding: accept_answer retries
            ):
                return
            for transceiver in participant.retired:
                transceiver.direction = "inactive"
                await transceiver.sender.stop()
            participant.retired.clear()
            for transceiver in participant.stopping_screens:
                transceiver.direction = "inactive"
                await transceiver.receiver.stop()
            participant.stopping_screens.clear()
            # Only after the awaits above: a source queued meanwhile (a publisher rejoining retires its old
            # outlets and brings new tracks at once) must go into this offer, as `renegotiate` is cleared below.
            # A source can be queued twice (its track arrived while this participant was joining).
            watched = {outlet.source for outlet in participant.watching}
            for source in participant.pending_watch:
                if not source.stopped and source not in watched:
                    self._attach(participant, source)
                    watched.add(source)
            participant.pending_watch.clear()
            if participant.screen_wanted and participant.screen is None:
                self._add_screen_slot(participant)
            if self._participants.get(participant.participant_id) is not participant:
                return  # removed (its connection closed) while a sender stopped
            if not participant.renegotiate or pc.connectionState != "connected":
                return  # not connected: the client has not applied our answer yet; on_state retries
            participant.renegotiate = False
            try:
                # aiortc's createOffer sets every transceiver's codecs and extension ids to aiortc's own numbers until
                # the answer; a sender or receiver aiortc starts meanwhile would take them, not the numbers negotiated
                # (Chromium keeps its own: VP8 96, RTX 97, where aiortc's are 97, 98). The offer is built: put back.
                negotiated = {t: (t._codecs, t._headerExtensions) for t in pc.getTransceivers() if t.currentDirection}
                offer = await pc.createOffer()
                for transceiver, (codecs, extensions) in negotiated.items():
                    transceiver._codecs, transceiver._headerExtensions = codecs, extensions
                with ice.host_addresses(self._host_addresses):
                    await pc.setLocalDescription(offer)
            except InvalidStateError:
                if pc.signalingState == "closed":
                    return  # the participant left or the hub closed meanwhile
                raise
            if participant.screen is not None and participant.screen.mid is not None:
                participant.codecs.setdefault(participant.screen.mid, self._screen_codec(participant))
            sdp = pc.localDescription.sdp
        if self._on_offer is None:
            logger.warning("participant %s needs renegotiation but the hub has no on_offer", participant.participant_id)
            return
        result = self._on_offer(participant.participant_id, sdp)
        if inspect.isawaitable(result):
            await result

    async def _connection_state_changed(self, participant: Participant) -> None:
        state = participant.pc.connectionState
        if state == "connected" and participant.renegotiate:
            self._schedule_offer(participant)
        if self._on_state is not None:
            result = self._on_state(participant.participant_id, state)
            if inspect.isawaitable(result):
                await result

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("media hub task failed", exc_info=task.exception())
