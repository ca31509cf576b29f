"""The per-receiver RTP rewriting of the packet path, and its small parts (cache, NACK, statistics, key frames)."""

from __future__ import annotations

import random
import struct

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtcpPacket, RtpPacket

from recordings.rtp.cache import RESEND_INTERVAL, PacketCache
from recordings.rtp.feedback import ReceiveStats, nack_packet, nacked, pli_packet, remb_packet
from recordings.rtp.forwarder import h264_keyframe_start, vp8_keyframe_start
from recordings.rtp.rewrite import (
    RtpView,
    StreamRewriter,
    pack_extensions,
    parse_extensions,
    rewrite_extensions,
    seq_delta,
    ts_delta,
    wrap_rtx,
)

MID, ABS_SEND_TIME, AUDIO_LEVEL = (
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
)


def packet(seq: int, ts: int, *, ssrc: int = 0x1111, pt: int = 96, marker: int = 0, payload: bytes = b"frame",
           extensions: list[tuple[int, bytes]] = ()) -> bytes:
    block = pack_extensions(list(extensions))
    first = 0x80 | (0x10 if block else 0)
    return struct.pack("!BBHII", first, marker << 7 | pt, seq, ts, ssrc) + block + payload


def parsed(data: bytes, ids: dict[str, int] | None = None) -> RtpPacket:
    """DATA as aiortc itself parses it (extensions by the receiver's negotiated ids)."""
    extensions = HeaderExtensionsMap()
    extensions.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=i, uri=uri) for uri, i in (ids or {}).items()]))
    return RtpPacket.parse(data, extensions)


def rewriter(**kwargs) -> StreamRewriter:
    kwargs.setdefault("first_seq", 1000)
    kwargs.setdefault("first_timestamp", 5000)
    return StreamRewriter(0xABCD, 90000, **kwargs)


def feed(rw: StreamRewriter, source: object, packets: list[bytes], now: float, *, step: float = 1 / 30,
         payload_types=None, extensions=None) -> list[RtpPacket]:
    out = []
    for index, data in enumerate(packets):
        view = RtpView(data)
        if rw.source is not source:
            rw.switch(source, view, now, payload_types=payload_types or {96: 100}, extensions=extensions or {})
        result = rw.rewrite(view, now + index * step)
        if result is not None:
            out.append(parsed(result))
    return out


def test_a_source_switch_keeps_sequence_numbers_and_timestamps_continuous():
    rw = rewriter()
    first = feed(rw, "alice", [packet(500 + i, 70000 + 3000 * i) for i in range(10)], now=10.0)
    assert [p.sequence_number for p in first] == list(range(1000, 1010))
    assert [p.timestamp for p in first] == [5000 + 3000 * i for i in range(10)]
    assert {p.ssrc for p in first} == {0xABCD} and {p.payload_type for p in first} == {100}
    # the publisher comes back 2 s after its last packet, with a new SSRC and unrelated numbering
    second = feed(rw, "alice-again", [packet(61000 + i, 123456789 + 3000 * i, ssrc=0x2222) for i in range(5)],
                  now=10.0 + 9 / 30 + 2.0)
    assert [p.sequence_number for p in second] == list(range(1010, 1015))
    gap = second[0].timestamp - first[-1].timestamp
    assert gap == pytest.approx(2.0 * 90000, abs=2)  # the time that passed, in the receiver's clock
    assert [p.timestamp - second[0].timestamp for p in second] == [3000 * i for i in range(5)]
    assert {p.ssrc for p in second} == {0xABCD}
    # a late packet of the new source from before the switch point would reuse a number: dropped
    assert rw.rewrite(RtpView(packet(60999, 123453789, ssrc=0x2222)), 13.0) is None
    # a late packet after the switch point goes out under its own number
    late = parsed(rw.rewrite(RtpView(packet(61002, 123456789 + 6000, ssrc=0x2222)), 13.0))
    assert late.sequence_number == 1012


def test_numbering_wraps_at_2_16_and_2_32():
    rw = rewriter(first_seq=0xFFFE, first_timestamp=0xFFFFFFFF - 3000)
    out = feed(rw, "a", [packet(10 + i, 1000 + 3000 * i) for i in range(4)], now=1.0)
    assert [p.sequence_number for p in out] == [0xFFFE, 0xFFFF, 0, 1]
    assert [p.timestamp for p in out] == [0xFFFFFFFF - 3000, 0xFFFFFFFF, 2999, 5999]
    # the source's own numbers wrap too, and a switch after the wrap still continues by one
    out = feed(rw, "b", [packet((0xFFFF + i) & 0xFFFF, (0xFFFFF000 + 3000 * i) & 0xFFFFFFFF) for i in range(3)],
               now=2.0)
    assert [p.sequence_number for p in out] == [2, 3, 4]
    assert ts_delta(out[1].timestamp, out[0].timestamp) == 3000 and seq_delta(0, 0xFFFF) == 1


def test_a_source_that_renumbers_without_a_new_ssrc_stays_continuous():
    rw = rewriter()
    feed(rw, "a", [packet(100 + i, 3000 * i) for i in range(3)], now=1.0)
    view = RtpView(packet(40000, 9000))
    result = parsed(rw.rewrite(view, 1.1))
    assert result.sequence_number == 1003
    assert parsed(rw.rewrite(RtpView(packet(40001, 12000)), 1.13)).sequence_number == 1004


def test_extension_ids_are_mapped_and_what_the_receiver_lacks_is_dropped():
    # the publisher: mid 1, abs-send-time 3, audio level 9; the receiver negotiated mid 4 and abs-send-time 2 only
    source = packet(7, 90, extensions=[(1, b"0"), (3, b"\x01\x02\x03"), (9, b"\x85")])
    rw = rewriter(mid_id=4, mid="12")
    view = RtpView(source)
    assert view.extensions == [(1, b"0"), (3, b"\x01\x02\x03"), (9, b"\x85")]
    rw.switch("s", view, 0.0, payload_types={96: 100}, extensions={3: 2})
    result = rw.rewrite(view, 0.0)
    assert parse_extensions(0xBEDE, result[16:16 + 4 * struct.unpack_from("!H", result, 14)[0]]) == [
        (2, b"\x01\x02\x03"), (4, b"12")]
    # aiortc's own parser, configured with the receiver's ids, reads the receiver's MID (not the publisher's)
    got = parsed(result, {MID: 4, ABS_SEND_TIME: 2, AUDIO_LEVEL: 9})
    assert got.extensions.mid == "12" and got.extensions.abs_send_time == 0x010203
    assert got.extensions.audio_level is None and got.payload == b"frame"
    # no MID negotiated and nothing mapped: the packet goes out without an extension block
    bare = rewriter()
    bare.switch("s", view, 0.0, payload_types={96: 100}, extensions={})
    plain = bare.rewrite(view, 0.0)
    assert not plain[0] & 0x10 and len(plain) == 12 + len(b"frame")


def test_two_byte_extensions_are_read_and_written():
    elements = [(1, b"x" * 20), (20, b"y")]
    block = pack_extensions(elements)
    assert struct.unpack_from("!H", block)[0] == 0x1000 and len(block) % 4 == 0
    assert parse_extensions(0x1000, block[4:]) == elements
    with pytest.raises(ValueError):
        parse_extensions(0xBEDE, b"\x13\x01")


def _mapped_the_long_way(profile, block, ids, mid):
    """What rewrite_extensions must give: parse, map, drop, add MID, pack (None where parsing fails)."""
    try:
        elements = [(ids[i], v) for i, v in parse_extensions(profile, block) if i in ids]
    except ValueError:
        return None
    return pack_extensions(elements + ([mid] if mid else []))


def test_extension_blocks_rewritten_in_one_pass_equal_parse_map_and_pack():
    chance = random.Random(18)
    mids = [None, (1, b"0"), (4, b"12"), (14, b"x" * 16), (15, b"v"), (3, b"y" * 17)]  # the last two: two-byte form
    seen = {"one_byte": 0, "two_byte": 0, "malformed": 0}
    for _ in range(3000):
        elements = [(chance.randrange(1, 15), bytes(chance.randrange(256) for _ in range(chance.randrange(1, 17))))
                    for _ in range(chance.randrange(0, 5))]
        parts = []
        for ext_id, value in elements:
            parts += [b"\x00" * chance.choice((0, 0, 1)), bytes(((ext_id << 4) | (len(value) - 1),)), value]
        block = b"".join(parts)
        if chance.random() < 0.1:
            block += b"\xf0\x13"  # the reserved id 15 ends the block, whatever follows
        if chance.random() < 0.1 and block:
            block = block[:-1]  # possibly truncated
        profile = 0xBEDE
        if chance.random() < 0.1:
            profile, block = 0x1000, pack_extensions([(20, b"two-byte")] + elements)[4:]
        ids = {i: chance.choice((i, i, chance.randrange(1, 15), 15, 40)) for i in range(1, 15) if chance.random() < 0.7}
        mid = chance.choice(mids)
        got = rewrite_extensions(profile, block, ids, mid)
        assert got == _mapped_the_long_way(profile, block, ids, mid), (profile, block, ids, mid)
        kind = "malformed" if got is None else "two_byte" if got[:2] == b"\x10\x00" else "one_byte"
        seen[kind] += 1
    assert min(seen.values()) > 50, seen  # every branch taken


def test_a_malformed_header_extension_is_not_forwarded():
    data = bytearray(packet(7, 90, extensions=[(3, b"\x01\x02\x03")]))
    data[16] = 0x3F  # the element says 16 bytes where 3 come
    view = RtpView(bytes(data))
    with pytest.raises(ValueError):
        _ = view.extensions
    rw = rewriter(mid_id=4, mid="12")
    rw.switch("s", view, 0.0, payload_types={96: 100}, extensions={3: 2})
    assert rw.rewrite(view, 0.0) is None
    assert rw.seq is None  # nothing was sent: the numbering goes on from where it was


def test_payload_types_are_mapped_and_unknown_ones_dropped():
    rw = rewriter()
    out = feed(rw, "a", [packet(1, 0, pt=96, marker=1), packet(2, 3000, pt=35), packet(3, 6000, pt=97)], now=0.0,
               payload_types={96: 120, 97: 121})
    assert [(p.payload_type, p.marker) for p in out] == [(120, 1), (121, 0)]


def test_padding_csrc_and_rtx():
    data = bytearray(packet(9, 900, payload=b"abc"))
    data[0] |= 0x20 | 0x01  # padding and one CSRC
    data = bytes(data[:12]) + struct.pack("!I", 0xC5) + bytes(data[12:]) + b"\x00\x00\x03"
    view = RtpView(data)
    assert view.payload == b"abc" and view.padding == b"\x00\x00\x03" and view.csrc == struct.pack("!I", 0xC5)
    rw = rewriter(mid_id=1, mid="3")
    rw.switch("s", view, 0.0, payload_types={96: 100}, extensions={})
    out = rw.rewrite(view, 0.0)
    again = parsed(out, {MID: 1})
    assert again.payload == b"abc" and again.padding_size == 3 and again.csrc == [0xC5] and again.extensions.mid == "3"
    # RTX (RFC 4588): the original sequence number leads the payload; unwrapping gives the original back
    rtx = wrap_rtx(out, 101, 777, 0x5555)
    wrapped = parsed(rtx, {MID: 1})
    assert (wrapped.payload_type, wrapped.sequence_number, wrapped.ssrc) == (101, 777, 0x5555)
    assert wrapped.payload == struct.pack("!H", 1000) + b"abc" and wrapped.extensions.mid == "3"
    original = RtpView(rtx).retransmitted(100, 0xABCD)
    assert (original.seq, original.payload, original.ssrc, original.payload_type) == (1000, b"abc", 0xABCD, 100)
    # too short, version 1, an extension flag with no extension, more padding than packet
    for broken in (b"\x80" * 8, b"\x40" + bytes(11), b"\x90" + bytes(11), b"\xa0" + bytes(11) + b"\x32"):
        with pytest.raises(ValueError):
            RtpView(broken)


def test_the_cache_keeps_the_last_packets_and_resends_each_at_most_every_interval():
    cache = PacketCache(8)
    for seq in range(0xFFFC, 0xFFFC + 12):
        cache.put(seq & 0xFFFF, b"p%d" % (seq & 0xFFFF))
    assert cache.get(0xFFFF) is None  # overwritten: only the last 8 are held
    assert cache.get(7) == b"p7" and cache.get(0) == b"p0"
    assert cache.take_for_resend(7, 10.0) == b"p7"
    assert cache.take_for_resend(7, 10.0 + RESEND_INTERVAL / 2) is None
    assert cache.take_for_resend(7, 10.0 + RESEND_INTERVAL) == b"p7"
    with pytest.raises(ValueError):
        PacketCache(100)


def test_nack_pli_and_remb_messages_read_back():
    lost = [0xFFFE, 0xFFFF, 0, 3, 16, 40]
    data = nack_packet(0x11, 0x22, lost)
    (message,) = RtcpPacket.parse(data)
    assert (message.ssrc, message.media_ssrc) == (0x11, 0x22)
    assert nacked(data[12:]) == lost
    (pli,) = RtcpPacket.parse(pli_packet(0x11, 0x22))
    assert (pli.fmt, pli.ssrc, pli.media_ssrc) == (1, 0x11, 0x22)
    (remb,) = RtcpPacket.parse(remb_packet(0x11, 1_500_000, [0x33]))
    assert remb.fmt == 15 and remb.fci[:4] == b"REMB"


def test_receive_statistics_count_loss_and_list_what_to_ask_for():
    stats = ReceiveStats(90000, nack=True)
    assert stats.add(0xFFFD, 0, 0.0) is None
    assert stats.add(0xFFFE, 3000, 0.033) is None
    assert stats.add(1, 6000, 0.066) == [0xFFFF, 0]  # across the wrap
    assert stats.max_seq == 0x10000 + 1 and stats.packets_lost == 2
    assert stats.fraction_lost == (2 << 8) // 5 and stats.fraction_lost == 0  # reading starts a new interval
    assert stats.recovered(0) and not stats.recovered(0)
    assert stats.due(0.1) == []  # asked at 0.066: too soon to ask again
    assert stats.due(0.2) == [0xFFFF] and stats.due(0.2) == []
    assert stats.due(0.35) == [0xFFFF] and stats.due(0.5) == [] and stats.missing == {}  # three asks, then given up
    assert stats.add(500, 9000, 0.6) is None  # a jump this long is a restart, not a loss to ask for


VP8_KEY = b"\x10" + b"\x10\x02\x00\x9d\x01\x2a"  # descriptor S=1 PID=0, then a key frame header
VP8_KEY_EXTENDED = b"\x90\xe0\x80\x01\x05\x20" + b"\x10\x02\x00\x9d\x01\x2a"  # X, I (15-bit), L, T
VP8_DELTA = b"\x10" + b"\x11\x00\x00"
VP8_MIDDLE = b"\x00" + b"\x10\x02\x00"  # not the start of a partition


def test_key_frame_starts_are_recognised():
    assert vp8_keyframe_start(VP8_KEY) and vp8_keyframe_start(VP8_KEY_EXTENDED)
    assert not vp8_keyframe_start(VP8_DELTA) and not vp8_keyframe_start(VP8_MIDDLE)
    assert h264_keyframe_start(b"\x67\x42") and h264_keyframe_start(b"\x65\x88")  # SPS, IDR
    assert h264_keyframe_start(b"\x78\x00\x02\x67\x42\x00\x02\x68\xce")  # STAP-A with an SPS
    assert h264_keyframe_start(b"\x7c\x85\x88") and not h264_keyframe_start(b"\x7c\x05\x88")  # FU-A start / middle
    assert not h264_keyframe_start(b"\x41\x9a") and not h264_keyframe_start(b"")
