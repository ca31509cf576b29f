"""Real aiortc client peers for the media hub tests: each sends one solid colour and one tone, and decodes what it gets."""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack

from recordings import ice
from recordings.sfu import MediaHub

# solid colours as (Y, U, V): what a decoder gives back for them, within codec error
COLOURS = {"red": (81, 90, 240), "blue": (41, 240, 110), "green": (145, 54, 34)}
LOOPBACK = ["127.0.0.1"]


class ColourTrack(VideoStreamTrack):
    """A camera that films a wall of one colour."""

    def __init__(self, yuv: tuple[int, int, int], width: int = 160, height: int = 120) -> None:
        super().__init__()
        self.yuv = yuv
        self.width, self.height = width, height

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, value in zip(frame.planes, self.yuv, strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class ToneTrack(MediaStreamTrack):
    """A microphone hearing a 440 Hz tone of a given amplitude."""

    kind = "audio"
    rate, samples = 48000, 960

    def __init__(self, amplitude: int) -> None:
        super().__init__()
        wave = [int(amplitude * math.sin(2 * math.pi * 440 * i / self.rate)) for i in range(self.samples)]
        self._pcm = array.array("h", wave).tobytes()
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += self.samples
            await asyncio.sleep(self._start + self._pts / self.rate - time.time())
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.samples)
        frame.planes[0].update(self._pcm)
        frame.pts, frame.sample_rate, frame.time_base = self._pts, self.rate, fractions.Fraction(1, self.rate)
        return frame


@dataclass
class Received:
    """What a client got from one publisher's track."""

    frames: int = 0
    first_at: float | None = None
    yuv: tuple[int, int, int] | None = None
    peak: int = 0


def centre_yuv(frame: av.VideoFrame) -> tuple[int, int, int]:
    """The decoded Y, U, V values at the centre of FRAME."""
    values = []
    for index, plane in enumerate(frame.planes):
        scale = 1 if index == 0 else 2
        row, column = frame.height // 2 // scale, frame.width // 2 // scale
        values.append(bytes(plane)[row * plane.line_size + column])
    return tuple(values)


def close_to(yuv: tuple[int, int, int] | None, colour: str, tolerance: int = 16) -> bool:
    """True when YUV is within TOLERANCE of the named colour on every channel."""
    return yuv is not None and all(abs(a - b) <= tolerance for a, b in zip(yuv, COLOURS[colour], strict=True))


@dataclass(eq=False)
class Client:
    """A browser stand-in: one peer connection to the hub, sending a colour and a tone."""

    name: str
    colour: str
    amplitude: int
    hub: MediaHub
    pc: RTCPeerConnection = field(init=False)
    received: dict[tuple[str, str], Received] = field(default_factory=dict)
    tasks: list[asyncio.Task] = field(default_factory=list)
    offers: int = 0

    def __post_init__(self) -> None:
        self.pc = RTCPeerConnection(ice.rtc_configuration([]))
        self.pc.addTrack(ToneTrack(self.amplitude))
        self.pc.addTrack(ColourTrack(COLOURS[self.colour]))
        self.pc.on("track", self._on_track)

    async def join(self) -> None:
        """Offer, and apply the hub's answer."""
        offer = await self.pc.createOffer()
        with ice.host_addresses(LOOPBACK):
            await self.pc.setLocalDescription(offer)
        answer = await self.hub.add_participant(self.name, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def handle_offer(self, sdp: str) -> None:
        """Answer a renegotiation offer from the hub."""
        self.offers += 1
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        answer = await self.pc.createAnswer()
        with ice.host_addresses(LOOPBACK):
            await self.pc.setLocalDescription(answer)
        await self.hub.accept_answer(self.name, self.pc.localDescription.sdp)

    def got(self, publisher: str, kind: str) -> Received:
        """What arrived from PUBLISHER's KIND track (empty when nothing did)."""
        return self.received.get((publisher, kind), Received())

    def _on_track(self, track: MediaStreamTrack) -> None:
        publisher = track.id.rsplit("-", 2)[0]  # the hub names forwarded tracks publisher-kind-n
        record = self.received.setdefault((publisher, track.kind), Received())
        self.tasks.append(asyncio.get_running_loop().create_task(self._consume(track, record)))

    async def _consume(self, track: MediaStreamTrack, record: Received) -> None:
        try:
            while True:
                frame = await track.recv()
                record.frames += 1
                if record.first_at is None:
                    record.first_at = time.monotonic()
                if track.kind == "video":
                    record.yuv = centre_yuv(frame)
                elif record.frames > 10:  # past Opus' start-up ramp
                    record.peak = max(abs(s) for s in array.array("h", bytes(frame.planes[0])))
        except MediaStreamError:
            pass

    async def close(self) -> None:
        """Close the peer connection and stop consuming."""
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def make_hub() -> tuple[MediaHub, dict[str, Client]]:
    """A loopback-only hub whose offers go straight to the test clients it serves."""
    clients: dict[str, Client] = {}

    async def on_offer(participant_id: str, sdp: str) -> None:
        await clients[participant_id].handle_offer(sdp)

    return MediaHub(ice_servers=[], host_addresses=LOOPBACK, on_offer=on_offer), clients


def add_client(hub: MediaHub, clients: dict[str, Client], name: str, colour: str, amplitude: int) -> Client:
    """Register a new client of HUB (call join() on it next)."""
    clients[name] = Client(name, colour, amplitude, hub)
    return clients[name]


def hub_frames(hub: MediaHub, participant_id: str, kind: str) -> int:
    """How many encoded KIND frames of PARTICIPANT_ID the hub has received (0 when it holds none)."""
    if participant_id not in hub.participants:
        return 0
    return sum(s.frames for s in hub.sources(participant_id) if s.kind == kind)


async def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll CONDITION until it holds or TIMEOUT passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()
