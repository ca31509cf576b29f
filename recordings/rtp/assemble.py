"""Whole encoded frames for the recorder from the RTP packets of one incoming stream (VP8, H.264, Opus)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc.codecs.h264 import H264PayloadDescriptor
from aiortc.rtp import RtpPacket

logger = logging.getLogger(__name__)

# (data, pts, keyframe, arrival): a frame's depacketized bytes, without an av.Packet made for it
DataHandler = Callable[[bytes, int, bool, float], None]

# Packets held while a missing one may still come (reordered, or retransmitted); past either limit it counts as lost.
# Video waits for a retransmission: the forwarder's NACK and two repeats (feedback.NACK_RETRY) with a WAN round trip.
# Opus is not retransmitted (no NACK negotiated): audio only waits for reordering.
WINDOW_PACKETS = 32
WINDOW_SECONDS = 0.05
VIDEO_WINDOW_PACKETS = 512
VIDEO_WINDOW_SECONDS = 0.35
# Packets this far behind the expected one, this many in a row, are a sender that restarted its sequence numbers;
# fewer are late (a retransmission answering a NACK repeated after the reorder window gave the packet up).
MAX_MISORDER = 100
RESTART_PACKETS = 4
# A packet of another SSRC is ignored (the forwarder calls reset() when it switches sources) unless the current
# SSRC has been silent this long: then the stream itself moved.
SSRC_TIMEOUT = 1.0
# While it waits for a key frame the assembler asks again this often (a PLI or its answer may be lost).
KEYFRAME_RETRY = 0.5

_VP8, _H264, _OPUS = "vp8", "h264", "opus"
_FU_A = 28


def h264_is_keyframe(data: bytes) -> bool:
    """True when an Annex-B H.264 access unit holds an IDR slice or an SPS."""
    position = data.find(b"\x00\x00\x01")
    while position != -1 and position + 3 < len(data):
        if data[position + 3] & 0x1F in (5, 7):
            return True
        position = data.find(b"\x00\x00\x01", position + 3)
    return False


def _codec(codec: str) -> str:
    name = codec.rsplit("/", 1)[-1].lower()
    if name not in (_VP8, _H264, _OPUS):
        raise ValueError(f"no frame assembly for {codec!r}: only VP8, H.264 and Opus")
    return name


class FrameAssembler:
    """Turns the RTP packets of one incoming stream into the encoded frames the recorder takes.

    ``on_data(data, pts, keyframe, arrival)``: the depacketized bytes of one whole frame, its pts (0-based in RTP
    clock units), whether it is a key frame, and when its first packet arrived. Frames are handed on as they
    complete: no jitter buffer holds them back.

    Packets after a hole in the sequence are held until it fills or the window passes (a stream's first packets
    too: they may come reordered); ``flush()`` takes what is held when the stream stops. Video starts on a key
    frame and, after a loss that may break decoding, waits for the next one: meanwhile ``on_keyframe_needed`` is
    called (at most every KEYFRAME_RETRY seconds of arrival time).
    """

    __slots__ = (
        "codec", "clock_rate", "window_packets", "window_seconds", "frames", "dropped", "lost", "late", "foreign",
        "_on_keyframe_needed", "_take", "_video", "_ssrc", "_next", "_starting", "_held",
        "_held_since", "_last_arrival", "_gap", "_parts", "_in_frame", "_frame_ts", "_frame_arrival", "_frame_key",
        "_need_key", "_asked_at", "_picture", "_boundary", "_last_ts_seen", "_started", "_pts", "_last_ts",
        "_behind", "_on_data",
    )

    def __init__(self, codec: str, clock_rate: int, on_data: DataHandler, *,
                 on_keyframe_needed: Callable[[], None] | None = None,
                 window_packets: int | None = None, window_seconds: float | None = None) -> None:
        self.codec = _codec(codec)
        self.clock_rate = clock_rate
        video = self.codec != _OPUS
        self.window_packets = window_packets or (VIDEO_WINDOW_PACKETS if video else WINDOW_PACKETS)
        self.window_seconds = window_seconds or (VIDEO_WINDOW_SECONDS if video else WINDOW_SECONDS)
        self.frames = 0  # frames handed on
        self.dropped = 0  # frames not handed on: incomplete, or deltas waiting for a key frame
        self.lost = 0  # packets given up on
        self.late = 0  # packets after their turn: duplicates, or too late
        self.foreign = 0  # packets of another SSRC, ignored
        self._on_data = on_data
        self._on_keyframe_needed = on_keyframe_needed
        self._take: Callable[[int, int, bytes, float], None] = {
            _VP8: self._take_vp8, _H264: self._take_h264, _OPUS: self._take_opus,
        }[self.codec]
        self._video = self.codec != _OPUS
        self._held: dict[int, tuple[int, int, bytes, float]] = {}  # seq -> (timestamp, marker, payload, arrival)
        self._parts: list[bytes] = []
        self.reset()

    def reset(self) -> None:
        """Start over for a new source (a new SSRC after a rejoin): timestamps restart, video from a key frame."""
        self._ssrc: int | None = None
        self._next = 0  # the sequence number due next
        self._starting = False  # the packets held are the stream's first ones
        self._held.clear()
        self._held_since = 0.0
        self._last_arrival = 0.0
        self._gap = False  # packets were lost just before the next one taken
        self._parts.clear()
        self._in_frame = False
        self._frame_ts = 0
        self._frame_arrival = 0.0
        self._frame_key = False
        self._need_key = self._video
        self._asked_at = float("-inf")
        self._picture = -1  # VP8 picture id of the last frame begun (-1: none, or the sender sends none)
        self._boundary = True  # H.264: the last packet taken ended an access unit
        self._last_ts_seen = -1
        self._started = False  # a frame was handed on since the start or reset
        self._pts = 0
        self._last_ts = 0
        self._behind = 0  # packets far behind in a row

    @property
    def waiting_for_keyframe(self) -> bool:
        """True while video frames are dropped until a key frame (after a loss, or before the first key frame)."""
        return self._need_key

    def push(self, packet: RtpPacket, arrival: float) -> None:
        """Take one plaintext RTP packet of the stream, ARRIVAL being time.time() when its datagram came."""
        self.push_fields(packet.ssrc, packet.sequence_number, packet.timestamp, packet.marker, packet.payload, arrival)

    def push_fields(self, ssrc: int, seq: int, timestamp: int, marker: int, payload: bytes, arrival: float) -> None:
        """`push` for a packet the caller has already parsed its own way (the forwarder's view of it)."""
        if ssrc != self._ssrc:
            if self._ssrc is not None:
                if arrival - self._last_arrival < SSRC_TIMEOUT:
                    self.foreign += 1
                    return
                self.reset()
            self._ssrc = ssrc
            # the first packet seen may not be the stream's first: hold the start (briefly) like a hole in the sequence
            self._next = (seq - min(self.window_packets, WINDOW_PACKETS)) & 0xFFFF
            self._starting = True
        self._last_arrival = arrival
        ahead = (seq - self._next) & 0xFFFF
        if ahead < 0x8000:
            self._behind = 0
        if ahead == 0:
            self._next = (seq + 1) & 0xFFFF
            self._take(timestamp, marker, payload, arrival)
            if self._held:
                self._starting = False  # (the start, when it was held) the stream starts at this packet
                self._drain()
        elif ahead < 0x8000:
            held = self._held
            if seq in held:
                self.late += 1
                return
            if not held:
                self._held_since = arrival
            held[seq] = (timestamp, marker, payload, arrival)
            if self._overdue(arrival):
                self._skip(arrival)
        elif 0x10000 - ahead > MAX_MISORDER and self._behind + 1 >= RESTART_PACKETS:
            # the sender started its sequence numbers again: a new stream under the same SSRC
            self.reset()
            self.push_fields(ssrc, seq, timestamp, marker, payload, arrival)
        else:
            if 0x10000 - ahead > MAX_MISORDER:
                self._behind += 1
            self.late += 1

    def flush(self) -> None:
        """Give up on every missing packet and take what is held (the stream ended or paused)."""
        while self._held:
            self._skip(float("inf"))

    # the reorder window

    def _drain(self) -> None:
        held = self._held
        entry = held.pop(self._next, None)
        while entry is not None:
            self._next = (self._next + 1) & 0xFFFF
            self._take(*entry)
            entry = held.pop(self._next, None)
        if held:
            self._held_since = min(entry[3] for entry in held.values())

    def _skip(self, now: float) -> None:
        """Count the missing packets before the earliest held one as lost and go on from it."""
        held = self._held
        while held:
            expected = self._next
            first = min(held, key=lambda seq: (seq - expected) & 0xFFFF)
            if self._starting:
                self._starting = False  # nothing was lost: the stream starts here
            else:
                self.lost += (first - expected) & 0xFFFF
                self._gap = True
            self._next = first
            self._drain()
            if not self._overdue(now):
                return

    def _overdue(self, now: float) -> bool:
        """Whether the held packets have waited for the missing ones long enough (at a stream's start: the reorder
        window only, since nothing is missing there unless packets came out of order)."""
        packets, seconds = self.window_packets, self.window_seconds
        if self._starting:
            packets, seconds = min(packets, WINDOW_PACKETS), min(seconds, WINDOW_SECONDS)
        return len(self._held) > packets or now - self._held_since > seconds

    # per codec, in sequence order

    def _take_opus(self, ts: int, marker: int, payload: bytes, arrival: float) -> None:
        self._gap = False  # every Opus packet decodes on its own
        if payload:
            self._emit(payload, ts, True, arrival)

    def _take_vp8(self, ts: int, marker: int, payload: bytes, arrival: float) -> None:
        size = len(payload)
        if not size:
            return  # padding: takes a sequence number, carries nothing
        gap, self._gap = self._gap, False
        # RFC 7741 4.2: X|R|N|S|R|PID, then I|L|T|K|RSV and the fields they announce
        first = payload[0]
        offset = 1
        picture = -1
        mask = 0
        if first & 0x80 and size > 1:
            flags = payload[1]
            offset = 2
            if flags & 0x80 and size > 2:
                if payload[2] & 0x80:
                    if size > 3:
                        picture, mask = ((payload[2] & 0x7F) << 8) | payload[3], 0x7FFF
                    offset = 4
                else:
                    picture, mask = payload[2], 0x7F
                    offset = 3
            offset += (flags & 0x40 != 0) + (flags & 0x30 != 0)
        if offset >= size:
            if self._in_frame:
                self._drop(arrival)
            return  # a truncated descriptor
        start = first & 0x1F == 0x10  # S set, partition 0: the frame's first packet
        if self._in_frame:
            if not gap and ts == self._frame_ts and not start:
                self._parts.append(payload[offset:])
                if marker:
                    self._finish()
                return
            if not gap and start and ts != self._frame_ts:
                self._finish()  # every packet came and a new frame begins: the marker was not set
            else:
                self._drop(arrival)
        if not start:
            if not self._need_key:
                self.dropped += 1  # the rest of a frame whose first packet is lost
                self._drop(arrival)
            return
        previous, self._picture = self._picture, picture
        keyframe = not payload[offset] & 0x01
        # lost packets between two frames are harmless when the picture ids say no frame was among them
        if gap and not keyframe and not (previous >= 0 and picture >= 0 and (picture - previous) & mask == 1):
            self._drop(arrival)
        if self._need_key and not keyframe:
            self.dropped += 1
            self._ask(arrival)
            return
        self._in_frame, self._frame_ts, self._frame_arrival, self._frame_key = True, ts, arrival, keyframe
        self._parts.append(payload[offset:])
        if marker:
            self._finish()

    def _take_h264(self, ts: int, marker: int, payload: bytes, arrival: float) -> None:
        if not payload:
            return
        gap, self._gap = self._gap, False
        if self._in_frame:
            if gap:
                self._drop(arrival)
            elif ts != self._frame_ts:
                self._finish_h264()  # every packet came and a new access unit begins: the marker was not set
        if not self._in_frame:
            # after a loss only a packet with a new timestamp can begin an access unit (H.264 has no picture id:
            # any loss waits for a key frame); never the middle of a fragmented NAL unit
            continuation = payload[0] & 0x1F == _FU_A and len(payload) > 1 and not payload[1] & 0x80
            if gap:
                self._drop(arrival)
            if continuation or not ((self._boundary and not gap) or ts != self._last_ts_seen):
                self._last_ts_seen = ts
                if not self._need_key:
                    self._drop(arrival)  # a stream that breaks off mid-unit
                return
            self._in_frame, self._frame_ts, self._frame_arrival = True, ts, arrival
        self._last_ts_seen = ts
        self._boundary = False
        try:
            self._parts.append(H264PayloadDescriptor.parse(payload)[1])
        except ValueError:
            self._drop(arrival)
            return
        if marker:
            self._boundary = True
            self._finish_h264()

    # frames

    def _drop(self, arrival: float) -> None:
        """The frame in progress (or one before it) lost packets: drop it and wait for a key frame."""
        if self._in_frame:
            self._in_frame = False
            self._parts.clear()
            self.dropped += 1
        self._need_key = True
        self._ask(arrival)

    def _ask(self, arrival: float) -> None:
        if arrival - self._asked_at >= KEYFRAME_RETRY:
            self._asked_at = arrival
            if self._on_keyframe_needed is not None:
                self._on_keyframe_needed()

    def _finish_h264(self) -> None:
        data = b"".join(self._parts)
        self._frame_key = h264_is_keyframe(data)
        self._finish(data)

    def _finish(self, data: bytes | None = None) -> None:
        parts = self._parts
        self._in_frame = False
        if self._need_key and not self._frame_key:
            parts.clear()
            self.dropped += 1
            return
        self._need_key = False
        if data is None:
            data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        self._emit(data, self._frame_ts, self._frame_key, self._frame_arrival)

    def _emit(self, data: bytes, ts: int, keyframe: bool, arrival: float) -> None:
        if self._started:
            # frames come in sequence order: a signed 32-bit step also unwraps the RTP timestamp
            self._pts += ((ts - self._last_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        else:
            self._started = True
        self._last_ts = ts
        self.frames += 1
        try:
            self._on_data(data, self._pts, keyframe, arrival)
        except Exception:
            # this runs in the datagram path of the call: a recorder fault must not end it
            logger.exception("frame handler %r failed", self._on_data)
