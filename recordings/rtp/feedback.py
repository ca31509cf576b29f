"""RTCP of the packet path: reception statistics, NACK/PLI/REMB messages, and aiortc's receivers kept truthful."""

# aiortc's receivers no longer see the packets: a forwarded stream's ReceiveStats stands in for aiortc's
# StreamStatistics in its receiver (getStats), and its receiver reports come from the same ReceiveStats
# (recordings.rtp.reports, sent by the forwarder).

from __future__ import annotations

import datetime
import struct
from collections.abc import Iterable, Sequence

from aiortc import RTCRtpReceiver
from aiortc.rtp import RTCP_PSFB, RTCP_PSFB_APP, RTCP_PSFB_PLI, RTCP_RTPFB, RTCP_RTPFB_NACK, pack_remb_fci

# A forward jump of more than this many packets is a restart, not a loss worth asking for.
MAX_NACK_GAP = 100
# Missing packets tracked at most (the oldest are given up first), asked for at most this often and this many times.
MAX_MISSING = 256
NACK_RETRY = 0.1
NACK_TRIES = 3

_FEEDBACK = struct.Struct("!BBHII")
_NACK_ITEM = struct.Struct("!HH")


class ReceiveStats:
    """Reception statistics of one incoming stream (RFC 3550 A.1-A.8) shaped like aiortc's, and what is missing."""

    __slots__ = ("clock_rate", "nack", "base_seq", "cycles", "packets_received", "missing", "_max", "_jitter_q4",
                 "_last_transit", "_last_ts", "_expected_prior", "_received_prior")

    def __init__(self, clock_rate: int, *, nack: bool = False) -> None:
        self.clock_rate = clock_rate
        self.nack = nack
        self.base_seq = 0
        self.cycles = 0
        self.packets_received = 0
        # sequence number -> (when first or last asked for, times asked)
        self.missing: dict[int, tuple[float, int]] = {}
        self._max: int | None = None
        self._jitter_q4 = 0
        self._last_transit = 0
        self._last_ts: int | None = None
        self._expected_prior = 0
        self._received_prior = 0

    def add(self, seq: int, timestamp: int, now: float) -> list[int] | None:
        """Count one packet arriving at NOW (time.monotonic); the sequence numbers newly missing, if any."""
        self.packets_received += 1
        last = self._max
        if last is None:
            self.base_seq = self._max = seq
            self._last_ts, self._last_transit = timestamp, int(now * self.clock_rate) - timestamp
            return None
        ahead = (seq - last) & 0xFFFF
        if ahead == 0 or ahead >= 0x8000:
            if self.missing:
                self.missing.pop(seq, None)  # a late or retransmitted packet
            return None
        if seq < last:
            self.cycles += 0x10000
        self._max = seq
        if timestamp != self._last_ts:
            transit = int(now * self.clock_rate) - timestamp
            d = (transit - self._last_transit) & 0xFFFFFFFF
            if d >= 0x80000000:
                d = 0x100000000 - d
            self._jitter_q4 += d - ((self._jitter_q4 + 8) >> 4)
            self._last_transit, self._last_ts = transit, timestamp
        if ahead == 1 or not self.nack or ahead > MAX_NACK_GAP:
            return None
        lost = [(last + i) & 0xFFFF for i in range(1, ahead)]
        missing = self.missing
        for lost_seq in lost:
            missing[lost_seq] = (now, 1)
        while len(missing) > MAX_MISSING:
            del missing[next(iter(missing))]
        return lost

    def recovered(self, seq: int) -> bool:
        """Whether SEQ was missing (it has now come, e.g. retransmitted); it no longer is."""
        return self.missing.pop(seq, None) is not None

    def due(self, now: float) -> list[int]:
        """Missing sequence numbers to ask for again now; those asked for NACK_TRIES times are given up."""
        again = []
        for seq, (asked, tries) in list(self.missing.items()):
            if now - asked < NACK_RETRY:
                continue
            if tries >= NACK_TRIES:
                del self.missing[seq]
            else:
                self.missing[seq] = (now, tries + 1)
                again.append(seq)
        return again

    @property
    def max_seq(self) -> int:
        """The extended highest sequence number received."""
        return self.cycles + (self._max or 0)

    @property
    def packets_expected(self) -> int:
        return 0 if self._max is None else self.cycles + self._max - self.base_seq + 1

    @property
    def packets_lost(self) -> int:
        return max(-0x800000, min(self.packets_expected - self.packets_received, 0x7FFFFF))

    @property
    def fraction_lost(self) -> int:
        """Lost since the last call, in 1/256 (reading it starts a new interval, as in aiortc)."""
        expected = self.packets_expected
        expected_interval, self._expected_prior = expected - self._expected_prior, expected
        received_interval = self.packets_received - self._received_prior
        self._received_prior = self.packets_received
        lost = expected_interval - received_interval
        return 0 if expected_interval <= 0 or lost <= 0 else (lost << 8) // expected_interval

    @property
    def jitter(self) -> int:
        return self._jitter_q4 >> 4


# ---- RTCP messages (RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb)


def nack_packet(sender_ssrc: int, media_ssrc: int, lost: Iterable[int]) -> bytes:
    """A generic NACK (RTPFB 1) for LOST, sequence numbers in sending order (wraparound-safe)."""
    items = []
    pid: int | None = None
    blp = 0
    for seq in lost:
        if pid is not None and 0 < (seq - pid) & 0xFFFF <= 16:
            blp |= 1 << (((seq - pid) & 0xFFFF) - 1)
            continue
        if pid is not None:
            items.append(_NACK_ITEM.pack(pid, blp))
        pid, blp = seq & 0xFFFF, 0
    if pid is not None:
        items.append(_NACK_ITEM.pack(pid, blp))
    return _FEEDBACK.pack(0x80 | RTCP_RTPFB_NACK, RTCP_RTPFB, 2 + len(items), sender_ssrc, media_ssrc) + b"".join(items)


def nacked(fci: bytes) -> list[int]:
    """The sequence numbers a generic NACK's feedback control information asks for."""
    lost = []
    for pos in range(0, len(fci) - 3, 4):
        pid, blp = _NACK_ITEM.unpack_from(fci, pos)
        lost.append(pid)
        lost.extend((pid + bit + 1) & 0xFFFF for bit in range(16) if blp >> bit & 1)
    return lost


def pli_packet(sender_ssrc: int, media_ssrc: int) -> bytes:
    """A picture loss indication (PSFB 1)."""
    return _FEEDBACK.pack(0x80 | RTCP_PSFB_PLI, RTCP_PSFB, 2, sender_ssrc, media_ssrc)


def remb_packet(sender_ssrc: int, bitrate: int, ssrcs: Sequence[int]) -> bytes:
    """A receiver estimated maximum bitrate message (PSFB 15, "REMB") for SSRCS."""
    fci = pack_remb_fci(bitrate, list(ssrcs))
    return _FEEDBACK.pack(0x80 | RTCP_PSFB_APP, RTCP_PSFB, 2 + len(fci) // 4, sender_ssrc, 0) + fci


# ---- aiortc's receivers (private attributes of aiortc 1.16, checked by tap.missing_hooks)


def install_receive_stats(receiver: RTCRtpReceiver, ssrc: int, stats: ReceiveStats, *, replaces: int | None) -> None:
    """Make RECEIVER's receiver reports and getStats() describe SSRC from STATS (instead of REPLACES)."""
    streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    if replaces is not None:
        streams.pop(replaces, None)
    streams[ssrc] = stats
    mark_active(receiver, ssrc)


def mark_active(receiver: RTCRtpReceiver, ssrc: int) -> None:
    """Record that SSRC is sending on RECEIVER now (its getSynchronizationSources, which key frame requests use)."""
    active = receiver._RTCRtpReceiver__active_ssrc  # type: ignore[attr-defined]
    active[ssrc] = datetime.datetime.now(datetime.UTC)


def feedback_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC RECEIVER's RTCP goes out under (its transceiver's sender's), None before negotiation."""
    ssrc: int | None = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
    return ssrc


def declared_rtx(receiver: RTCRtpReceiver) -> dict[int, int]:
    """RTX SSRC -> media SSRC, as the publisher's description declared them (ssrc-group FID)."""
    declared: dict[int, int] = receiver._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]
    return declared

