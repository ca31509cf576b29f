"""RTCP reports of the packet path: each peer connection's SR, RR and SDES in one compound, sent on the hub's tick."""

# aiortc runs a task per sender and per receiver that wakes every 0.5-1.5 s, builds report objects and sends them
# through four coroutine layers. With 20 recorded calls on one core those 160 reports a second (and the clients'
# reports handed back to aiortc in a task each) were ~70 % of the server's Python between packets. The forwarder
# knows what those tasks were told (what each viewer's stream carried, each publisher's ReceiveStats), so it writes
# the reports itself, with struct, once per peer connection, on the timer it already runs; aiortc's report tasks of
# the forwarded senders and receivers only wait to be stopped (quiet). The wire format is RFC 3550 §6.4 and §6.5.

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Iterable, Sequence

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtp import RtcpByePacket

# One datagram stays well below a path MTU: a peer watching many streams gets several compounds.
MAX_COMPOUND_BYTES = 1000
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)

_SR = struct.Struct("!BBHIQIII")
_RR_HEADER = struct.Struct("!BBHI")
_BLOCK = struct.Struct("!IIIIII")
_HEADER = struct.Struct("!BBH")
_CHUNK_START = struct.Struct("!IBB")


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp."""
    return int((time.time() + NTP_EPOCH_OFFSET) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def sender_report(ssrc: int, ntp: int, rtp: int, packets: int, octets: int) -> bytes:
    """An SR without report blocks: SSRC's NTP/RTP timestamp pair and what it sent."""
    return _SR.pack(0x80, 200, 6, ssrc, ntp, rtp & 0xFFFFFFFF, packets & 0xFFFFFFFF, octets & 0xFFFFFFFF)


def report_block(ssrc: int, *, fraction_lost: int, packets_lost: int, highest_seq: int, jitter: int, lsr: int,
                 dlsr: int) -> bytes:
    """One reception report block about SSRC (packets_lost is clamped to its 24-bit signed field)."""
    lost = max(-0x800000, min(packets_lost, 0x7FFFFF)) & 0xFFFFFF
    return _BLOCK.pack(ssrc, (fraction_lost & 0xFF) << 24 | lost, highest_seq & 0xFFFFFFFF, jitter & 0xFFFFFFFF,
                       lsr & 0xFFFFFFFF, dlsr & 0xFFFFFFFF)


def receiver_report(ssrc: int, blocks: Sequence[bytes]) -> bytes:
    """An RR from SSRC with BLOCKS (at most 31)."""
    return _RR_HEADER.pack(0x80 | len(blocks), 201, 1 + 6 * len(blocks), ssrc) + b"".join(blocks)


def sdes(cname: str, ssrc: int) -> bytes:
    """An SDES packet giving SSRC the CNAME."""
    # One source per packet: aiortc (the bench's and the tests' clients) reads a chunk's end as a two-octet item and
    # then the next chunk unaligned, so in one packet of several chunks it misreads all but some name lengths.
    name = cname.encode()[:255]
    size = 6 + len(name)
    # the item list ends with a zero octet, and the chunk with the next 32-bit boundary
    chunk = _CHUNK_START.pack(ssrc, 1, len(name)) + name + b"\x00" * (4 - size % 4)
    return _HEADER.pack(0x81, 202, len(chunk) // 4) + chunk


def compounds(reports: Iterable[tuple[int, bytes]], cname: str) -> list[bytes]:
    """REPORTS ((SSRC, SR or RR packet) pairs) as compound packets of at most MAX_COMPOUND_BYTES: the reports, then
    an SDES giving each of their SSRCs the CNAME (none when CNAME is empty)."""
    packets: list[bytes] = []
    parts: list[bytes] = []
    names: list[bytes] = []
    size = 0
    for ssrc, report in reports:
        name = sdes(cname, ssrc) if cname else b""
        if parts and size + len(report) + len(name) > MAX_COMPOUND_BYTES:
            packets.append(b"".join(parts + names))
            parts, names, size = [], [], 0
        parts.append(report)
        names.append(name)
        size += len(report) + len(name)
    if parts:
        packets.append(b"".join(parts + names))
    return packets


def quiet(owner: RTCRtpSender | RTCRtpReceiver) -> None:
    """Make OWNER's own report task (started with it) only wait to be stopped: the forwarder reports for it.

    A sender still says goodbye (BYE) through aiortc when it stops, as aiortc's task did.
    """
    prefix = "_RTCRtpSender" if isinstance(owner, RTCRtpSender) else "_RTCRtpReceiver"
    started: asyncio.Event = getattr(owner, f"{prefix}__rtcp_started")
    exited: asyncio.Event = getattr(owner, f"{prefix}__rtcp_exited")

    async def run_rtcp() -> None:
        started.set()
        try:
            await asyncio.get_running_loop().create_future()  # until stop() cancels it
        except asyncio.CancelledError:
            pass
        try:
            if isinstance(owner, RTCRtpSender):
                await owner._send_rtcp([RtcpByePacket(sources=[owner._ssrc])])
        finally:
            exited.set()  # stop() waits for it

    owner._run_rtcp = run_rtcp  # type: ignore[method-assign]
