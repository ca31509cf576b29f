"""The hub's forwarded tracks: a participant's incoming track (Source) and each viewer's copy of it (Outlet)."""

from __future__ import annotations

import asyncio
import time

import av
from aiortc import RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.stream import Stream

from recordings import aiortc_hooks
from recordings.segment import CAMERA, Capture

# One PLI per publisher per interval is enough: the key frame it brings serves every viewer.
PLI_INTERVAL = 0.3
# A viewer still waiting for a key frame asks again this often (the first one may be lost).
KEYFRAME_RETRY = 1.0


class Outlet(MediaStreamTrack):
    """The track a viewer's RTCRtpSender is given: it carries the SDP; the packet forwarder sends the media."""

    def __init__(self, source: Source, track_id: str) -> None:
        super().__init__()
        self.kind = source.kind
        self._id = track_id
        self.source = source
        self._reading = False
        self._ended: asyncio.Future[None] | None = None

    async def recv(self) -> av.Packet[Stream]:
        """Never yields a packet: waits until the outlet stops (the sender's first read asks for a key frame)."""
        if not self._reading:
            self._reading = True
            if self.kind == "video":
                self.source.request_keyframe()
        if self.readyState == "live":
            self._ended = asyncio.get_running_loop().create_future()
            await self._ended
        raise MediaStreamError

    def stop(self) -> None:
        """End the track and wake a sender blocked in recv()."""
        if self.readyState == "live":
            super().stop()
            self.source.outlets.discard(self)
            ended, self._ended = self._ended, None
            if ended is not None and not ended.done():
                ended.set_result(None)


class Source:
    """One incoming remote track of a participant: who sends it, what, its viewers' outlets and key frame requests."""

    def __init__(
        self,
        participant_id: str,
        kind: str,
        receiver: RTCRtpReceiver,
        codec: str | None = None,
        capture: Capture = CAMERA,
    ) -> None:
        self.participant_id = participant_id
        self.capture = capture
        self.kind = kind
        self.receiver = receiver
        self.codec = codec  # MIME type the hub's answer put first: what the publisher sends
        self.outlets: set[Outlet] = set()
        self.frames = 0  # counted by the packet forwarder
        self.keyframes = 0
        self.stopped = False
        self._last_pli = 0.0

    @property
    def last_pli(self) -> float:
        """When (time.monotonic) a key frame was last asked of the publisher; 0.0 if never."""
        return self._last_pli

    def request_keyframe(self) -> None:
        """Send the publisher a PLI, at most once per PLI_INTERVAL."""
        if self.kind != "video":
            return
        now = time.monotonic()
        if now - self._last_pli < PLI_INTERVAL:
            return
        self._last_pli = now
        aiortc_hooks.request_keyframe_soon(self.receiver)

    def stop(self) -> None:
        """Stop forwarding: end every outlet."""
        self.stopped = True
        for outlet in tuple(self.outlets):
            outlet.stop()
