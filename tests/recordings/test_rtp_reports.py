"""The packet path's RTCP reports read back as aiortc (and so a browser) reads them."""

from __future__ import annotations

import time

from aiortc.rtp import RtcpPacket, RtcpRrPacket, RtcpSdesPacket, RtcpSrPacket

from recordings.rtp import reports


def test_a_sender_report_says_what_was_sent():
    ntp = reports.ntp_now()
    (packet,) = RtcpPacket.parse(reports.sender_report(0xDEADBEEF, ntp, (1 << 32) + 7, 1 << 33 | 5, 123456))
    assert isinstance(packet, RtcpSrPacket) and packet.ssrc == 0xDEADBEEF and packet.reports == []
    info = packet.sender_info
    assert (info.ntp_timestamp, info.rtp_timestamp, info.packet_count, info.octet_count) == (ntp, 7, 5, 123456)
    assert abs(ntp / (1 << 32) - reports.NTP_EPOCH_OFFSET - time.time()) < 1


def test_a_receiver_report_carries_its_blocks_and_clamps_the_loss():
    blocks = [reports.report_block(11, fraction_lost=64, packets_lost=-3, highest_seq=70000, jitter=9, lsr=0xABCDEF01,
                                   dlsr=65536),
              reports.report_block(12, fraction_lost=0, packets_lost=1 << 30, highest_seq=5, jitter=0, lsr=0, dlsr=0)]
    (packet,) = RtcpPacket.parse(reports.receiver_report(99, blocks))
    assert isinstance(packet, RtcpRrPacket) and packet.ssrc == 99
    first, second = packet.reports
    assert (first.ssrc, first.fraction_lost, first.packets_lost, first.highest_sequence, first.jitter, first.lsr,
            first.dlsr) == (11, 64, -3, 70000, 9, 0xABCDEF01, 65536)
    assert (second.ssrc, second.packets_lost) == (12, 0x7FFFFF)


def test_sdes_reads_back_for_any_name_length():
    for length in (*range(12), 38, 300):
        data = reports.sdes("x" * length, 7) + reports.sdes("y", 8)
        assert len(data) % 4 == 0
        assert [(c.ssrc, c.items) for p in RtcpPacket.parse(data) for c in p.chunks] == [
            (7, [(1, b"x" * min(length, 255))]), (8, [(1, b"y")])]


def test_compounds_stay_small_and_each_names_its_own_sources():
    cname = "hub-cname-0123456789"
    found = [(ssrc, reports.sender_report(ssrc, 1, 2, 3, 4)) for ssrc in range(1, 41)]
    found += [(ssrc, reports.receiver_report(ssrc, [reports.report_block(ssrc + 1000, fraction_lost=0, packets_lost=0,
                                                                         highest_seq=1, jitter=0, lsr=0, dlsr=0)]))
              for ssrc in range(100, 110)]
    packets = reports.compounds(found, cname)
    assert len(packets) > 1 and all(len(p) <= reports.MAX_COMPOUND_BYTES for p in packets)
    seen = []
    for data in packets:
        parsed = RtcpPacket.parse(data)
        assert isinstance(parsed[0], RtcpSrPacket | RtcpRrPacket)  # RFC 3550 §6.1: a compound starts with a report
        senders = [p.ssrc for p in parsed if isinstance(p, RtcpSrPacket | RtcpRrPacket)]
        chunks = [c for p in parsed if isinstance(p, RtcpSdesPacket) for c in p.chunks]
        assert [c.ssrc for c in chunks] == senders
        assert {item for c in chunks for _, item in c.items} == {cname.encode()}
        seen += senders
    assert seen == [ssrc for ssrc, _ in found]
    assert reports.compounds([], cname) == []
    (alone,) = reports.compounds(found[:1], "")
    assert [type(p) for p in RtcpPacket.parse(alone)] == [RtcpSrPacket]
