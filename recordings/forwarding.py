"""Fan-out of one participant's encoded track to viewers' senders and to sinks, without decoding."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc import RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.stream import Stream

from recordings import passthrough
from recordings.segment import CAMERA, Capture

logger = logging.getLogger(__name__)

# Drop a lagging viewer back to the next key frame rather than let its queue grow:
# about one second of video at 30 fps.
OUTLET_QUEUE = 32
# One PLI per publisher per interval is enough: the key frame it brings serves every viewer.
PLI_INTERVAL = 0.3
# A viewer still waiting for a key frame asks again this often (the first one may be lost).
KEYFRAME_RETRY = 1.0


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One encoded frame of a participant's track, as handed to sinks (the recorder)."""

    participant_id: str
    kind: str  # "audio" | "video"
    codec: str  # MIME type, e.g. "video/VP8", "audio/opus"
    packet: av.Packet[Stream]  # shared with forwarding: copy it (av.Packet(bytes(p))) before muxing
    keyframe: bool
    arrival: float  # time.time() when the hub got it; align audio and video on this
    capture: Capture = CAMERA  # a shared screen is recorded as a track of its own


FrameSink = Callable[[EncodedFrame], None]


class Outlet(MediaStreamTrack):
    """The track a viewer's RTCRtpSender reads: encoded packets of one source, from a key frame on."""

    def __init__(self, source: Source, track_id: str) -> None:
        super().__init__()
        self.kind = source.kind
        self._id = track_id
        self.source = source
        # a deque and one waiter rather than an asyncio.Queue: push() runs for every frame and
        # every viewer, and the sender is the only reader
        self._queue: deque[av.Packet[Stream]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._reading = False
        self._need_keyframe = source.kind == "video"
        self._asked_at = 0.0

    def push(self, packet: av.Packet[Stream], keyframe: bool) -> None:
        """Queue PACKET for the sender, dropping deltas until a key frame after a start or overflow."""
        if not self._reading or self.readyState != "live":
            return  # the sender is not running yet: queued media would arrive stale
        if self._need_keyframe:
            if not keyframe:
                if time.monotonic() - self._asked_at > KEYFRAME_RETRY:
                    self.request_keyframe()
                return
            self._need_keyframe = False
        queue = self._queue
        if len(queue) >= OUTLET_QUEUE:
            queue.clear()
            if self.kind == "video" and not keyframe:
                self._need_keyframe = True
                self.request_keyframe()
                return
        queue.append(packet)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def request_keyframe(self) -> None:
        """Ask the publisher for a key frame on this viewer's behalf (also wired to the viewer's PLI)."""
        self._asked_at = time.monotonic()
        self.source.request_keyframe()

    async def recv(self) -> av.Packet[Stream]:
        """The next encoded packet for the sender."""
        if not self._reading:
            self._reading = True
            if self._need_keyframe:
                self.request_keyframe()
        queue = self._queue
        while not queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self.readyState != "live":
            raise MediaStreamError
        return queue.popleft()

    def stop(self) -> None:
        """End the track and wake a sender blocked in recv()."""
        if self.readyState == "live":
            super().stop()
            self.source.outlets.discard(self)
            self._queue.clear()
            waiter, self._waiter = self._waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


class Source:
    """One incoming remote track of a participant, pumped to its outlets and to the frame sinks."""

    def __init__(
        self,
        participant_id: str,
        track: MediaStreamTrack,
        receiver: RTCRtpReceiver,
        on_frame: Callable[[Source, av.Packet[Stream], bool, float], None],
        negotiated_codec: str | None = None,
        capture: Capture = CAMERA,
    ) -> None:
        self.participant_id = participant_id
        self.capture = capture
        self.kind = track.kind
        self.track = track
        self.receiver = receiver
        self.outlets: set[Outlet] = set()
        self.frames = 0
        self.keyframes = 0
        self._on_frame = on_frame
        self._negotiated_codec = negotiated_codec
        self._last_pli = 0.0
        self._received_codec: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.stopped = False
        # True when the receiver hands packets straight to deliver() (see passthrough.listen)
        self.inline = False

    @property
    def codec(self) -> str | None:
        """MIME type of what the publisher sends (as negotiated until the first packet tells)."""
        if self._received_codec is None:
            codec = passthrough.received_codec(self.receiver)
            if codec is None:
                return self._negotiated_codec
            self._received_codec = codec.mimeType
        return self._received_codec

    @property
    def last_pli(self) -> float:
        """When (time.monotonic) a key frame was last asked of the publisher; 0.0 if never."""
        return self._last_pli

    def start(self) -> None:
        """Start forwarding: inline from the receiver when it allows, else by pumping its track."""
        self.inline = passthrough.listen(self.receiver, self.deliver)
        # the pump also sees the end of the track (and any packet the track itself yields)
        self._task = asyncio.get_running_loop().create_task(
            self._pump(), name=f"vreception-source-{self.participant_id}-{self.kind}"
        )

    def deliver(self, packet: av.Packet[Stream]) -> None:
        """Fan one encoded frame out to the outlets and the frame sinks (on the event loop)."""
        keyframe = packet.is_keyframe
        self.frames += 1
        self.keyframes += keyframe
        for outlet in tuple(self.outlets):
            outlet.push(packet, keyframe)
        self._on_frame(self, packet, keyframe, time.time())

    def request_keyframe(self) -> None:
        """Send the publisher a PLI, at most once per PLI_INTERVAL."""
        if self.kind != "video":
            return
        now = time.monotonic()
        if now - self._last_pli < PLI_INTERVAL:
            return
        self._last_pli = now
        passthrough.request_keyframe_soon(self.receiver)

    async def _pump(self) -> None:
        try:
            while True:
                packet = await self.track.recv()
                if not isinstance(packet, av.Packet):
                    logger.error(
                        "participant %s %s track yields decoded frames: passthrough is not active for its receiver",
                        self.participant_id,
                        self.kind,
                    )
                    return
                self.deliver(packet)
        except MediaStreamError:
            pass

    async def stop(self) -> None:
        """Stop pumping and end every outlet."""
        self.stopped = True
        if self.inline:
            passthrough.listen(self.receiver, None)
        for outlet in tuple(self.outlets):
            outlet.stop()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
