"""Real aiortc clients for the packet-forwarding tests: they count what they send and see every RTP packet that arrives."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av
from aiortc import RTCPeerConnection, RTCRtpSender, sdp
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtpPacket, unpack_remb_fci

from recordings import ice
from recordings.sfu import MediaHub
from tests.recordings.media_clients import COLOURS, Client, ColourTrack, ToneTrack

_HEADER = struct.Struct("!BBHII")


def _vp8_keyframe_start(data: bytes) -> bool:
    try:
        packet = RtpPacket.parse(data)
        descriptor, frame = VpxPayloadDescriptor.parse(packet.payload)
    except ValueError:
        return False
    return bool(descriptor.partition_start and descriptor.partition_id == 0 and frame and not frame[0] & 1)


class CountingColourTrack(ColourTrack):
    """A colour camera that counts the frames it gave its sender."""

    sent = 0

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        self.sent += 1
        return frame


class CountingToneTrack(ToneTrack):
    """A tone microphone that counts the 20 ms frames it gave its sender."""

    sent = 0

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        self.sent += 1
        return frame


@dataclass
class Arrival:
    """One RTP packet as it reached a client's transport (before its receivers)."""

    ssrc: int
    seq: int
    timestamp: int
    payload_type: int
    keyframe_start: bool = False  # the first packet of a VP8 key frame (by aiortc's own depacketizer)
    at: float = 0.0  # time.monotonic() of its arrival


@dataclass(eq=False)
class PacketClient(Client):
    """A client that counts what it sends, logs every RTP packet it gets, and can drop some (a lossy link)."""

    camera: CountingColourTrack = field(init=False)
    tone: CountingToneTrack = field(init=False)
    arrivals: list[Arrival] = field(default_factory=list)
    nacks: list[int] = field(default_factory=list)  # sequence numbers this client asked for again
    remb_sent: list[int] = field(default_factory=list)  # bitrates of the REMBs this client sent
    remb_got: list[int] = field(default_factory=list)  # and of those it received
    rtcp_got: list[bytes] = field(default_factory=list)  # every plaintext RTCP datagram it received
    # (ssrc, seq, payload type) -> True to lose the packet on the way in / on the way out
    drop: Callable[[int, int, int], bool] | None = None
    drop_out: Callable[[int, int, int], bool] | None = None

    def __post_init__(self) -> None:
        self.pc = RTCPeerConnection(ice.rtc_configuration([]))
        self.tone = CountingToneTrack(self.amplitude)
        self.camera = CountingColourTrack(COLOURS[self.colour])
        self.pc.addTrack(self.tone)
        self.pc.addTrack(self.camera)
        self.pc.on("track", self._on_track)
        self._watch(self.transport)

    @property
    def transport(self) -> RTCDtlsTransport:
        """The client's one (bundled) DTLS transport."""
        return self.pc.getTransceivers()[0].receiver.transport

    def _watch(self, dtls: RTCDtlsTransport) -> None:
        handle_rtp, handle_rtcp, send_rtp = dtls._handle_rtp_data, dtls._handle_rtcp_data, dtls._send_rtp

        async def incoming(data: bytes, arrival_time_ms: int) -> None:
            _, second, seq, timestamp, ssrc = _HEADER.unpack_from(data)
            if self.drop is not None and self.drop(ssrc, seq, second & 0x7F):
                return
            self.arrivals.append(Arrival(ssrc, seq, timestamp, second & 0x7F, _vp8_keyframe_start(data),
                                         time.monotonic()))
            await handle_rtp(data, arrival_time_ms)

        async def incoming_rtcp(data: bytes) -> None:
            self.rtcp_got.append(data)
            self._note_rtcp(data, sent=False)
            await handle_rtcp(data)

        async def outgoing(data: bytes) -> None:
            if 191 < data[1] < 209:
                self._note_rtcp(data, sent=True)
            else:
                _, second, seq, _, ssrc = _HEADER.unpack_from(data)
                if self.drop_out is not None and self.drop_out(ssrc, seq, second & 0x7F):
                    return
            await send_rtp(data)

        dtls._handle_rtp_data = incoming  # type: ignore[method-assign]
        dtls._handle_rtcp_data = incoming_rtcp  # type: ignore[method-assign]
        dtls._send_rtp = outgoing  # type: ignore[method-assign]

    def _note_rtcp(self, data: bytes, *, sent: bool) -> None:
        pos = 0
        while pos + 12 <= len(data):
            first, packet_type, words = struct.unpack_from("!BBH", data, pos)
            if packet_type == 205 and first & 0x1F == 1 and sent:
                for item in range(pos + 12, pos + 4 + 4 * words, 4):
                    pid, blp = struct.unpack_from("!HH", data, item)
                    self.nacks += [pid] + [(pid + b + 1) & 0xFFFF for b in range(16) if blp >> b & 1]
            elif packet_type == 206 and first & 0x1F == 15 and data[pos + 12:pos + 16] == b"REMB":
                bitrate = unpack_remb_fci(data[pos + 12:pos + 4 + 4 * words])[0]
                (self.remb_sent if sent else self.remb_got).append(bitrate)
            pos += 4 + 4 * words

    def video_sender(self) -> RTCRtpSender:
        """The sender of the client's camera."""
        return next(t.sender for t in self.pc.getTransceivers() if t.sender.track is self.camera)

    def receive_ssrc(self, publisher: str, kind: str) -> int:
        """The SSRC the hub's offer announced for PUBLISHER's KIND track (the m-line whose msid names it)."""
        description = sdp.SessionDescription.parse(self.pc.remoteDescription.sdp)
        for transceiver in self.pc.getTransceivers():
            track = transceiver.receiver.track
            if track is not None and track.kind == kind and track.id.startswith(f"{publisher}-{kind}-"):
                media = next(m for m in description.media if m.rtp.muxId == transceiver.mid)
                return media.ssrc[0].ssrc
        raise KeyError((publisher, kind))

    def arrived(self, ssrc: int) -> list[Arrival]:
        """The packets of SSRC that reached this client (after any drop)."""
        return [a for a in self.arrivals if a.ssrc == ssrc]

    def restart_video(self, *, seq_jump: int | None = None, ts_jump: int | None = None) -> int:
        """Send the camera under a new SSRC with new sequence and timestamp bases, as a restarted publisher would."""
        sender = self.video_sender()
        dtls = self.transport
        ssrc = random.getrandbits(32)
        seq_jump = random.randrange(1 << 16) if seq_jump is None else seq_jump
        ts_jump = random.getrandbits(32) if ts_jump is None else ts_jump
        sender._ssrc = ssrc
        dtls._rtp_router.register_sender(sender, ssrc)  # the hub's PLIs for the new SSRC reach the encoder
        send_rtp = dtls._send_rtp

        async def renumbered(data: bytes) -> None:
            if not 191 < data[1] < 209 and _HEADER.unpack_from(data)[4] == ssrc:
                first, second, seq, timestamp, _ = _HEADER.unpack_from(data)
                data = _HEADER.pack(first, second, (seq + seq_jump) & 0xFFFF, (timestamp + ts_jump) & 0xFFFFFFFF,
                                    ssrc) + data[12:]
            await send_rtp(data)

        dtls._send_rtp = renumbered  # type: ignore[method-assign]
        return ssrc


class DecodeErrors(logging.Handler):
    """Counts aiortc's 'failed to decode' warnings (any client in the process)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "failed to decode" in record.getMessage():
            self.count += 1

    def __enter__(self) -> DecodeErrors:
        logging.getLogger("aiortc.rtcrtpreceiver").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("aiortc.rtcrtpreceiver").removeHandler(self)


# aiortc numbers payload types and header extensions its own way (Opus 96, VP8 97, MID 1); Chromium's are these.
# A client offering them makes its sender use them, while the hub's transceivers fall back to aiortc's numbers
# whenever the hub creates an offer.
BROWSER_PAYLOAD_TYPES = {"audio": {96: 111}, "video": {97: 96, 98: 97, 99: 102, 100: 103, 101: 108, 102: 109}}
BROWSER_EXTENSIONS = {"audio": {1: 4, 2: 1}, "video": {1: 4, 3: 2}}


def browser_numbered(description: str) -> str:
    """The SDP DESCRIPTION of an aiortc client with its payload types and extension ids renumbered as Chromium's."""
    lines, kind = [], ""
    for line in description.splitlines():
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        types, extensions = BROWSER_PAYLOAD_TYPES.get(kind, {}), BROWSER_EXTENSIONS.get(kind, {})
        if line.startswith("m="):
            parts = line.split(" ")
            line = " ".join(parts[:3] + [str(types.get(int(f), f)) for f in parts[3:]])
        elif line.startswith(("a=rtpmap:", "a=rtcp-fb:", "a=fmtp:")):
            attribute, rest = line.split(":", 1)
            payload_type, _, rest = rest.partition(" ")
            apt = re.search(r"(?<=apt=)\d+", rest)
            if apt:
                rest = rest.replace(apt.group(0), str(types.get(int(apt.group(0)), apt.group(0))), 1)
            line = f"{attribute}:{types.get(int(payload_type), payload_type)} {rest}".rstrip()
        elif line.startswith("a=extmap:"):
            number, _, rest = line[len("a=extmap:"):].partition(" ")
            line = f"a=extmap:{extensions.get(int(number), number)} {rest}"
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def make_packet_hub(**kwargs: object) -> tuple[MediaHub, dict[str, PacketClient]]:
    """A loopback-only hub whose offers go straight to the test clients it serves."""
    clients: dict[str, PacketClient] = {}

    async def on_offer(participant_id: str, sdp: str) -> None:
        await clients[participant_id].handle_offer(sdp)

    hub = MediaHub(ice_servers=[], host_addresses=["127.0.0.1"], on_offer=on_offer,
                   **kwargs)  # type: ignore[arg-type]
    return hub, clients


def add_packet_client(hub: MediaHub, clients: dict[str, PacketClient], name: str, colour: str,
                      amplitude: int) -> PacketClient:
    """Register a new client of HUB (call join() on it next)."""
    clients[name] = PacketClient(name, colour, amplitude, hub)
    return clients[name]


async def close_all(hub: MediaHub, clients: dict[str, PacketClient]) -> None:
    """Close the hub, then every client."""
    await hub.close()
    for client in clients.values():
        await client.close()
    await asyncio.sleep(0)
