"""Per-receiver RTP rewriting: one outgoing stream whose numbering stays continuous when its source changes."""

# An incoming packet is parsed once (RtpView) and rewritten for each receiver (StreamRewriter): SSRC, payload type,
# header-extension ids (what the receiver did not negotiate is dropped, its own MID written), sequence number and
# timestamp. A receiver's decoder and its SRTP replay window only accept one continuous stream, so when its source
# changes (a publisher's new SSRC, another publisher, later a simulcast layer) the offsets are recomputed: sequence
# numbers go on by one and the timestamp advances by the time that passed.

from __future__ import annotations

import random
import struct
from collections.abc import Mapping

SEQ_MASK = 0xFFFF
TS_MASK = 0xFFFFFFFF
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ONE_BYTE_PROFILE = 0xBEDE
# A packet this far from the last one of the same source is a sender that renumbered its stream, not a late packet.
MAX_SEQ_JUMP = 3000

_HEADER = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")
_SEQ = struct.Struct("!H")
_ONE_BYTE_HEADERS = [bytes((byte,)) for byte in range(256)]  # RFC 8285 §4.2: id << 4 | length - 1
_PADDING = (b"", b"\x00", b"\x00\x00", b"\x00\x00\x00")


def seq_delta(a: int, b: int) -> int:
    """A - B for 16-bit sequence numbers, as a signed distance (wraparound-safe)."""
    d = (a - b) & SEQ_MASK
    return d - 0x10000 if d >= 0x8000 else d


def ts_delta(a: int, b: int) -> int:
    """A - B for 32-bit RTP timestamps, as a signed distance (wraparound-safe)."""
    d = (a - b) & TS_MASK
    return d - 0x100000000 if d >= 0x80000000 else d


def parse_extensions(profile: int, block: bytes) -> list[tuple[int, bytes]]:
    """The (id, value) elements of a one-byte (RFC 8285 §4.2) or two-byte (§4.3) header-extension block."""
    elements = []
    pos, end = 0, len(block)
    if profile == ONE_BYTE_PROFILE:
        while pos < end:
            byte = block[pos]
            if byte == 0:
                pos += 1
                continue
            ext_id, length = byte >> 4, (byte & 0x0F) + 1
            if ext_id == 15:
                break  # reserved: stop parsing (RFC 8285 §4.2)
            pos += 1
            if pos + length > end:
                raise ValueError("truncated one-byte header extension")
            elements.append((ext_id, block[pos:pos + length]))
            pos += length
    elif profile & 0xFFF0 == 0x1000:
        while pos < end:
            if block[pos] == 0:
                pos += 1
                continue
            if pos + 2 > end:
                raise ValueError("truncated two-byte header extension")
            ext_id, length = block[pos], block[pos + 1]
            pos += 2
            if pos + length > end:
                raise ValueError("truncated two-byte header extension")
            elements.append((ext_id, block[pos:pos + length]))
            pos += length
    return elements


def pack_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """The header-extension part of an RTP header (profile, length, elements, padding); empty for no elements."""
    if not elements:
        return b""
    # the element headers from a table, one join (rewrite_extensions writes the forwarded packets the same way)
    parts: list[bytes] = []
    for ext_id, value in elements:
        size = len(value)
        if not (0 < ext_id < 15 and 0 < size <= 16):
            return _pack_two_byte(elements)
        parts += (_ONE_BYTE_HEADERS[(ext_id << 4) | (size - 1)], value)
    return _one_byte_block(parts)


def _one_byte_block(parts: list[bytes]) -> bytes:
    """A one-byte header-extension part of element headers and values PARTS (empty for none)."""
    if not parts:
        return b""
    body = b"".join(parts)
    size = len(body)
    return _EXTENSION.pack(ONE_BYTE_PROFILE, (size + 3) >> 2) + body + _PADDING[-size % 4]


def rewrite_extensions(profile: int, block: bytes, ids: Mapping[int, int], mid: tuple[int, bytes] | None) -> bytes | None:
    """The receiver's header-extension part for BLOCK (as pack_extensions writes it): its elements under the ids IDS
    maps them to, the others dropped, then MID (id, value); None when BLOCK is malformed."""
    # once per forwarded packet and receiver: a one-byte block is read and written in one pass
    if (profile == ONE_BYTE_PROFILE or not block) and (mid is None or (mid[0] < 15 and 0 < len(mid[1]) <= 16)):
        parts: list[bytes] = []
        two_byte = False
        pos, end = 0, len(block)
        while pos < end:
            byte = block[pos]
            if byte == 0:
                pos += 1
                continue
            if byte >> 4 == 15:
                break  # reserved: the block ends here (RFC 8285 §4.2)
            stop = pos + 2 + (byte & 0x0F)
            if stop > end:
                return None
            new_id = ids.get(byte >> 4)
            if new_id is not None:
                if new_id > 14:
                    two_byte = True  # the receiver's id needs the two-byte form: below
                    break
                parts += (_ONE_BYTE_HEADERS[(new_id << 4) | (byte & 0x0F)], block[pos + 1:stop])
            pos = stop
        if not two_byte:
            if mid is not None:
                parts += (_ONE_BYTE_HEADERS[(mid[0] << 4) | (len(mid[1]) - 1)], mid[1])
            return _one_byte_block(parts)
    try:
        elements = [(ids[i], v) for i, v in parse_extensions(profile, block) if i in ids]
    except ValueError:
        return None
    if mid is not None:
        elements.append(mid)
    return pack_extensions(elements)


def _pack_two_byte(elements: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(bytes((i, len(v))) + v for i, v in elements)
    body += b"\x00" * (-len(body) % 4)
    return _EXTENSION.pack(0x1000, len(body) // 4) + body


class RtpView:
    """One incoming plaintext RTP packet, parsed once and shared by every receiver it is forwarded to."""

    __slots__ = ("first", "marker", "payload_type", "seq", "timestamp", "ssrc", "csrc", "ext_profile", "ext_block",
                 "payload", "padding")

    def __init__(self, data: bytes) -> None:
        if len(data) < 12:
            raise ValueError("RTP packet shorter than its header")
        first, second, self.seq, self.timestamp, self.ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise ValueError("not RTP version 2")
        self.first = first
        self.marker = second >> 7
        self.payload_type = second & 0x7F
        pos = 12 + 4 * (first & 0x0F)
        self.csrc = data[12:pos]
        # the block as it came: forwarding rewrites it in one pass (rewrite_extensions), `extensions` parses it
        self.ext_profile = 0
        self.ext_block = b""
        if first & 0x10:
            if len(data) < pos + 4:
                raise ValueError("truncated RTP header extension")
            profile, words = _EXTENSION.unpack_from(data, pos)
            end = pos + 4 + 4 * words
            if len(data) < end:
                raise ValueError("truncated RTP header extension")
            self.ext_profile, self.ext_block = profile, data[pos + 4:end]
            pos = end
        end = len(data)
        if first & 0x20:
            pad = data[-1]
            if pad == 0 or pad > end - pos:
                raise ValueError("invalid RTP padding")
            end -= pad
        if pos > end:
            raise ValueError("truncated RTP packet")
        self.payload = data[pos:end]
        self.padding = data[end:]

    @property
    def extensions(self) -> list[tuple[int, bytes]]:
        """The header extension's (id, value) elements (ValueError when the block is malformed)."""
        return parse_extensions(self.ext_profile, self.ext_block) if self.ext_block else []

    def retransmitted(self, payload_type: int, ssrc: int) -> RtpView:
        """The original packet inside this RTX packet (RFC 4588): PAYLOAD_TYPE and SSRC of the stream it repairs."""
        if len(self.payload) < 2:
            raise ValueError("RTX packet without an original sequence number")
        view = RtpView.__new__(RtpView)
        view.first, view.marker, view.timestamp = self.first, self.marker, self.timestamp
        view.csrc, view.ext_profile, view.ext_block, view.padding = self.csrc, self.ext_profile, self.ext_block, self.padding
        view.payload_type, view.ssrc = payload_type, ssrc
        view.seq = _SEQ.unpack_from(self.payload)[0]
        view.payload = self.payload[2:]
        return view


def header_length(data: bytes) -> int:
    """Where the payload of an RTP packet starts."""
    pos = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        pos += 4 + 4 * _EXTENSION.unpack_from(data, pos)[1]
    return pos


def wrap_rtx(data: bytes, payload_type: int, seq: int, ssrc: int) -> bytes:
    """The RTX packet (RFC 4588) carrying the already rewritten packet DATA: its header under PAYLOAD_TYPE, SEQ, SSRC."""
    first, second, original_seq, timestamp, _ = _HEADER.unpack_from(data)
    pos = header_length(data)
    return (_HEADER.pack(first, (second & 0x80) | payload_type, seq, timestamp, ssrc) + data[12:pos]
            + _SEQ.pack(original_seq) + data[pos:])


class StreamRewriter:
    """One receiver's outgoing stream (its SSRC and numbering), fed by ``switch`` from one source at a time."""

    __slots__ = ("ssrc", "clock_rate", "source", "seq", "timestamp", "sent_at", "packet_seq", "_mid",
                 "_first_seq", "_seq_offset", "_ts_offset", "_first_in", "_last_in", "_payload_types", "_extensions")

    def __init__(self, ssrc: int, clock_rate: int, *, mid_id: int | None = None, mid: str | None = None,
                 first_seq: int | None = None, first_timestamp: int | None = None) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.source: object | None = None
        # the highest sequence number sent, its timestamp and when (time.monotonic); None before the first packet
        self.seq: int | None = None
        self.timestamp = random.getrandbits(32) if first_timestamp is None else first_timestamp
        self.sent_at: float | None = None
        # lower half: no early wrap (aiortc starts its senders there too, for SRTP's sake)
        self._first_seq = random.randrange(1 << 15) if first_seq is None else first_seq
        self.packet_seq = 0  # the outgoing sequence number of the packet rewrite() returned last
        self._mid = (mid_id, mid.encode()) if mid_id and mid else None
        self._seq_offset = 0
        self._ts_offset = 0
        self._first_in = 0
        self._last_in = 0
        self._payload_types: Mapping[int, int] = {}
        self._extensions: Mapping[int, int] = {}

    @property
    def timestamp_offset(self) -> int:
        """What is added to the current source's RTP timestamps (mod 2^32)."""
        return self._ts_offset

    def switch(self, source: object, view: RtpView, now: float, *, payload_types: Mapping[int, int],
               extensions: Mapping[int, int]) -> None:
        """Continue with SOURCE from VIEW on; PAYLOAD_TYPES and EXTENSIONS map its numbers to the receiver's."""
        # The caller picks the moment (video: a key frame). Unmapped payload types and extensions are dropped, and
        # the source's packets from before VIEW too: their outgoing numbers belong to the previous source.
        if self.seq is None or self.sent_at is None:
            next_seq, next_ts = self._first_seq, self.timestamp
        else:
            next_seq = (self.seq + 1) & SEQ_MASK
            next_ts = (self.timestamp + max(1, int((now - self.sent_at) * self.clock_rate))) & TS_MASK
        self.source = source
        self._payload_types = payload_types
        self._extensions = extensions
        self._seq_offset = (next_seq - view.seq) & SEQ_MASK
        self._ts_offset = (next_ts - view.timestamp) & TS_MASK
        self._first_in = self._last_in = view.seq

    def rewrite(self, view: RtpView, now: float) -> bytes | None:
        """VIEW (a packet of the current source) as the receiver gets it; None when it must be dropped."""
        payload_type = self._payload_types.get(view.payload_type)
        if payload_type is None:
            return None
        block = rewrite_extensions(view.ext_profile, view.ext_block, self._extensions, self._mid)
        if block is None:
            return None  # a malformed header extension
        in_seq = view.seq
        ahead = (in_seq - self._last_in) & SEQ_MASK
        if ahead == 0 or ahead >= 0x8000:  # not newer than the last one: late, retransmitted or repeated
            if ahead and 0x10000 - ahead > MAX_SEQ_JUMP:
                self._renumbered(view, now)
            elif (in_seq - self._first_in) & SEQ_MASK >= 0x8000:
                return None  # from before the switch point: its number belongs to the previous source
        elif ahead > MAX_SEQ_JUMP:
            self._renumbered(view, now)
        else:
            self._last_in = in_seq
            if (in_seq - self._first_in) & SEQ_MASK > 0x4000:
                self._first_in = (in_seq - 0x2000) & SEQ_MASK  # keeps the before-the-switch test wrap-safe
        seq = (in_seq + self._seq_offset) & SEQ_MASK
        timestamp = (view.timestamp + self._ts_offset) & TS_MASK
        last = self.seq
        if last is None or (seq - last) & SEQ_MASK < 0x8000:
            self.seq, self.timestamp, self.sent_at = seq, timestamp, now
        self.packet_seq = seq
        first = (view.first & 0xEF) | (0x10 if block else 0)
        return (_HEADER.pack(first, (view.marker << 7) | payload_type, seq, timestamp, self.ssrc) + view.csrc
                + block + view.payload + view.padding)

    def _renumbered(self, view: RtpView, now: float) -> None:
        # the source renumbered its stream without a new SSRC: carry on from here, its decoder state is intact
        self.switch(self.source, view, now, payload_types=self._payload_types, extensions=self._extensions)
