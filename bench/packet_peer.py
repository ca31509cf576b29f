"""Bench client peers that send and count media at the datagram level: aiortc negotiates, nothing of it carries media."""

# A PacketPeer is one RTCPeerConnection with the transceivers and codecs bench_media's aiortc peers had (audio then
# video, sendrecv; a Janus subscriber's recvonly ones come from Janus's offer), so the servers' signaling paths are
# unchanged. Once its DTLS transport is up, a recordings.rtp.tap.Tap takes the SRTP datagrams off aioice's sockets:
# the clip goes out on a timer as RTP packets built from payloads cut once per process (protected with the
# transport's SRTP session, written to the selected candidate pair's socket), and what comes in is unprotected and
# counted per SSRC without a queue, jitter buffer or depacketizer. A video frame's packets leave in one sendmsg with
# UDP generic segmentation offload (UDP_SEGMENT: the kernel cuts the buffer into the same datagrams), one call instead
# of four or five; the server receives them one by one as before. aiortc's RTCRtpSender waits on a track that never
# yields (no encode loop; its RTCP task still sends sender reports), its receivers get nothing (no receiver reports:
# Janus and vreception forward without them). Key frame requests are not answered: the clip has a key frame every
# 2 s and restarts on one after each pause, as bench_media's ClipTrack did.

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
from typing import Any

from aiortc import MediaStreamTrack, RTCDtlsTransport, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from recordings import ice
from recordings.rtp.srtp import FastSession
from recordings.rtp.tap import Tap

FPS = 30
VIDEO_STEP, AUDIO_STEP = 90000 // FPS, 960  # RTP clock ticks per video frame / per 20 ms Opus frame
PACKET_MAX = 1300  # as aiortc's VP8 packetizer: payload descriptor included
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
_HEADER = struct.Struct("!BBHII")
UDP_SEGMENT = 103  # linux/udp.h: the segment size of a UDP GSO send


def vp8_payloads(frame: bytes, picture_id: int) -> list[bytes]:
    """FRAME cut into RTP payloads (RFC 7741: descriptor with a 15-bit picture id, S on the first), as aiortc does."""
    first, rest = bytes((0x90, 0x80)), bytes((0x80, 0x80))
    pid = struct.pack("!H", 0x8000 | picture_id & 0x7FFF)
    size = PACKET_MAX - 4
    return [(first if pos == 0 else rest) + pid + frame[pos:pos + size] for pos in range(0, len(frame), size)]


def packetize(clip: tuple[list[bytes], list[bytes]]) -> tuple[list[list[bytes]], list[list[bytes]]]:
    """The clip's video frames as VP8 payloads (picture id = frame index) and its Opus frames as one payload each."""
    video, audio = clip
    return [vp8_payloads(frame, index) for index, frame in enumerate(video)], [[frame] for frame in audio]


def mid_extension(transceiver: Any) -> bytes:
    """The one-byte-header RTP extension block carrying the transceiver's MID (empty when not negotiated)."""
    mid = (transceiver.mid or "").encode()
    ids = [e.id for e in transceiver._headerExtensions if e.uri == MID_URI]
    if not ids or not mid or len(mid) > 16:
        return b""
    element = bytes((ids[0] << 4 | (len(mid) - 1),)) + mid
    element += b"\0" * (-len(element) % 4)
    return b"\xbe\xde" + struct.pack("!H", len(element) // 4) + element


class HeldTrack(MediaStreamTrack):
    """A track whose recv never returns: the RTCRtpSender is negotiated and started but its encode loop waits."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        await asyncio.get_running_loop().create_future()  # cancelled when the sender stops
        raise MediaStreamError


class Route:
    """Where a connected DTLS transport's SRTP goes: its SRTP session, the selected pair's socket and address."""

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            raise LookupError("no selected candidate pair")
        transport = pair.protocol.transport
        # a socket object of our own on a duplicate of aioice's descriptor (non-blocking like it): sendmsg
        self.socket = socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))
        self.address = pair.remote_addr
        self.protect = FastSession(dtls._tx_srtp).protect
        self.gso = True
        self.dropped = 0  # datagrams not sent: the socket's send buffer was full

    def send(self, packets: list[bytes]) -> None:
        """Protect and send PACKETS (plaintext RTP), several in one sendmsg when the kernel segments them."""
        data = [self.protect(packet) for packet in packets]
        if len(data) > 1 and self.gso:
            size = len(data[0])
            if len(data[-1]) <= size and all(len(d) == size for d in data[1:-1]):
                try:
                    self.socket.sendmsg([b"".join(data)], [(socket.SOL_UDP, UDP_SEGMENT, struct.pack("=H", size))], 0,
                                        self.address)
                    return
                except BlockingIOError:
                    self.dropped += len(data)
                    return
                except OSError:
                    self.gso = False  # no UDP GSO here: one datagram at a time from now on
        for datagram in data:
            try:
                self.socket.sendto(datagram, self.address)
            except BlockingIOError:
                self.dropped += 1

    def close(self) -> None:
        self.socket.close()


class Outgoing:
    """One sent stream: the clip's payloads as RTP on a real-time timer, looping; paused, it restarts at the clip's start.

    Timestamps follow the clock (they keep advancing through a pause, as a camera's would), as ClipTrack's did.
    """

    def __init__(self, route: Route, frames: list[list[bytes]], ssrc: int, payload_type: int, extension: bytes,
                 video: bool, paused: bool) -> None:
        self.route = route
        self.frames = frames
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.extension = extension
        self.first_byte = 0x90 if extension else 0x80
        self.step = VIDEO_STEP if video else AUDIO_STEP
        self.interval = 1 / FPS if video else 0.02
        self.seq = random.randrange(1 << 16)
        self.origin = random.randrange(1 << 32)
        self.index = 0  # position in the clip
        self.tick = 0  # media clock, in frames
        self.sent = 0  # frames sent
        self.packets = 0
        self.paused = paused
        self.loop = asyncio.get_running_loop()
        self.next = self.loop.time()
        self.handle: asyncio.TimerHandle | None = self.loop.call_at(self.next, self._due)

    def _due(self) -> None:
        self.next += self.interval
        self.tick += 1
        if self.paused:
            self.index = 0
        else:
            payloads = self.frames[self.index % len(self.frames)]
            self.index += 1
            timestamp = (self.origin + self.tick * self.step) & 0xFFFFFFFF
            last = len(payloads) - 1
            pack, head, ssrc, pt, seq, extension = _HEADER.pack, self.first_byte, self.ssrc, self.payload_type, \
                self.seq, self.extension
            packets = []
            for i, payload in enumerate(payloads):
                packets.append(pack(head, pt | 0x80 if i == last else pt, seq, timestamp, ssrc) + extension + payload)
                seq = (seq + 1) & 0xFFFF
            self.route.send(packets)
            self.seq = seq
            self.packets += len(payloads)
            self.sent += 1
        self.handle = self.loop.call_at(self.next, self._due)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


class Incoming:
    """Counts of one received SSRC: packets, the highest (extended) sequence number, and from these the gaps."""

    __slots__ = ("kind", "rtx", "packets", "first", "highest", "last", "frame_start", "frame_packets")

    def __init__(self, kind: str, rtx: bool, seq: int) -> None:
        self.kind, self.rtx = kind, rtx
        self.packets = 0
        self.first = seq
        self.highest, self.last = seq - 1, (seq - 1) & 0xFFFF  # the first packet moves both on to SEQ
        self.frame_start = seq  # the sequence number the current video frame began at
        self.frame_packets = 0  # its packets received so far

    @property
    def lost(self) -> int:
        return max(0, self.highest - self.first + 1 - self.packets)


class PacketPeer:
    """One client peer connection: sends the clip (unless CLIP is None: a receiver only), counts what it receives."""

    def __init__(self, session: str, name: str, clip: tuple[list[list[bytes]], list[list[bytes]]] | None) -> None:
        self.session = session
        self.name = name
        self.clip = clip
        self.pc = RTCPeerConnection(ice.rtc_configuration([]))
        self.received = 0  # whole video frames: up to a marker bit with no sequence number missing since the last
        self.received_audio = 0  # audio packets (an Opus frame each)
        self.keyframe_requests = 0  # PLI / FIR received (not answered)
        self.incoming: dict[int, Incoming] = {}
        self.outgoing: list[Outgoing] = []
        self.taps: dict[int, Tap] = {}
        self.routes: list[Route] = []
        self.paused = False
        if clip is not None:
            for kind in ("audio", "video"):
                self.pc.addTrack(HeldTrack(kind))
        self.pc.on("connectionstatechange", self._state_changed)

    # ---- the datagram path ----

    def attach(self) -> None:
        """Tap every DTLS transport the transceivers use (idempotent; the Tap takes over once the transport is up)."""
        for transceiver in self.pc.getTransceivers():
            dtls: RTCDtlsTransport = transceiver.receiver.transport
            if id(dtls) not in self.taps:
                self.taps[id(dtls)] = Tap(dtls, self._on_rtp, self._on_rtcp, lambda tap: None)

    def _state_changed(self) -> None:
        if self.pc.connectionState == "connected":
            self.attach()
            if self.clip is not None and not self.outgoing:
                self._start_sending()

    def _start_sending(self) -> None:
        assert self.clip is not None
        video, audio = self.clip
        routes: dict[int, Route] = {}
        for transceiver in self.pc.getTransceivers():
            track = transceiver.sender.track
            if not isinstance(track, HeldTrack) or not transceiver._codecs:
                continue
            codec = transceiver._codecs[0]  # what aiortc's sender would use
            expected = "video/vp8" if track.kind == "video" else "audio/opus"
            if codec.mimeType.lower() != expected or codec.payloadType is None:
                raise RuntimeError(f"{self.session}/{self.name}: negotiated {codec.mimeType}, not {expected}")
            dtls = transceiver.sender.transport
            if id(dtls) not in routes:
                routes[id(dtls)] = Route(dtls)
                self.routes.append(routes[id(dtls)])
            self.outgoing.append(Outgoing(routes[id(dtls)], video if track.kind == "video" else audio,
                                          transceiver.sender._ssrc,
                                          codec.payloadType, mid_extension(transceiver), track.kind == "video",
                                          self.paused))

    def _on_rtp(self, tap: Tap, packet: bytes, now: float) -> None:
        ssrc = int.from_bytes(packet[8:12], "big")
        seq = packet[2] << 8 | packet[3]
        stream = self.incoming.get(ssrc)
        if stream is None:
            stream = self._classify(ssrc, packet[1] & 0x7F, seq)
            if stream is None:
                return
        stream.packets += 1
        delta = (seq - stream.last) & 0xFFFF
        if delta < 0x8000:
            stream.highest += delta
            stream.last = seq
        if stream.rtx:
            return
        if stream.kind == "video":
            stream.frame_packets += 1
            if packet[1] & 0x80:  # a frame's last packet: the frame counts when none of its packets is missing
                if stream.frame_packets == ((seq - stream.frame_start) & 0xFFFF) + 1:
                    self.received += 1
                stream.frame_start, stream.frame_packets = (seq + 1) & 0xFFFF, 0
        else:
            self.received_audio += 1

    def _classify(self, ssrc: int, payload_type: int, seq: int) -> Incoming | None:
        """The new SSRC's stream, by the payload type negotiated for it (None while no transceiver has it)."""
        for transceiver in self.pc.getTransceivers():
            for codec in transceiver._codecs:
                if codec.payloadType == payload_type:
                    rtx = codec.mimeType.lower().endswith("/rtx")
                    stream = self.incoming[ssrc] = Incoming(transceiver.kind, rtx, seq)
                    return stream
        return None

    def _on_rtcp(self, tap: Tap, packet: bytes) -> None:
        pos = 0
        while pos + 4 <= len(packet):
            if packet[pos + 1] == 206 and packet[pos] & 0x1F in (1, 4):
                self.keyframe_requests += 1
            pos += 4 + 4 * (packet[pos + 2] << 8 | packet[pos + 3])

    # ---- what the bench reads and does ----

    @property
    def video_sent(self) -> int:
        return sum(o.sent for o in self.outgoing if o.step == VIDEO_STEP)

    @property
    def audio_sent(self) -> int:
        return sum(o.sent for o in self.outgoing if o.step == AUDIO_STEP)

    def packet_counts(self) -> tuple[int, int]:
        """Packets received and lost (sequence gaps, RTX SSRCs aside) on every SSRC so far."""
        streams = [s for s in self.incoming.values() if not s.rtx]
        return sum(s.packets for s in streams), sum(s.lost for s in streams)

    def pause(self, paused: bool) -> None:
        self.paused = paused
        for stream in self.outgoing:
            stream.paused = paused

    @property
    def send_drops(self) -> int:
        return sum(route.dropped for route in self.routes)

    async def close(self) -> None:
        for stream in self.outgoing:
            stream.stop()
        for route in self.routes:
            route.close()
        self.routes.clear()
        await self.pc.close()
        for tap in self.taps.values():
            tap.close()


def socket_drops(pid: int | None = None) -> int:
    """Datagrams the kernel dropped on the UDP sockets of process PID (this one by default): /proc/net/udp's drops."""
    pid = os.getpid() if pid is None else pid
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as file:
                next(file)
                for line in file:
                    fields = line.split()
                    if len(fields) > 12 and fields[9] in inodes:
                        drops += int(fields[12])
        except (OSError, StopIteration, ValueError):
            continue
    return drops
