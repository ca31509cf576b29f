"""A peer connection's SRTP datagrams taken off aiortc's path and handled synchronously in the socket callback."""

# aioice puts every datagram in an asyncio queue (Connection.data_received); the DTLS transport's task takes them
# one by one, unprotects SRTP and awaits the RTP receivers. Once the DTLS transport is connected, a Tap replaces
# datagram_received on the connection's sockets (aioice's StunProtocol instances): SRTP/SRTCP (first byte 128-191,
# RFC 7983) is unprotected with the transport's own SRTP session and handled on the spot; STUN and DTLS go the stock
# way. Outgoing packets are protected with the transport's session and sent on the selected pair's socket.
# Private aiortc 1.16 / aioice internals, like recordings.aiortc_hooks: missing_hooks() names what changed.

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RtpRouter

from recordings.rtp.srtp import FastSession

logger = logging.getLogger(__name__)

RtpHandler = Callable[["Tap", bytes, float], None]
RtcpHandler = Callable[["Tap", bytes], None]

# A handler failing on every packet must not flood the log.
MAX_LOGGED_ERRORS = 20


def _names(function: object) -> set[str]:
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code else set()


def missing_hooks() -> list[str]:
    """The private aiortc/aioice names the packet path uses that are absent (empty when all is well)."""
    missing = []
    if not {"_rx_srtp", "_tx_srtp", "_rtp_router", "_rtp_header_extensions_map"} <= _names(RTCDtlsTransport.__init__):
        missing.append("RTCDtlsTransport._rx_srtp / _tx_srtp / _rtp_router / _rtp_header_extensions_map")
    if not {"_nominated", "_protocols", "_queue"} <= _names(Connection.__init__):
        missing.append("aioice Connection._nominated / _protocols / _queue")
    if "data_received" not in _names(StunProtocol.datagram_received):
        missing.append("aioice StunProtocol.datagram_received calling Connection.data_received")
    if not isinstance(getattr(CandidatePair, "remote_addr", None), property):
        missing.append("aioice CandidatePair.remote_addr")
    if not {"ssrc_table", "mid_table"} <= _names(RtpRouter.__init__):
        missing.append("RtpRouter.ssrc_table / mid_table")
    receiver = _names(RTCRtpReceiver.__init__)
    for name in ("__active_ssrc", "__remote_streams", "__rtcp_ssrc", "__rtx_ssrc"):
        if f"_RTCRtpReceiver{name}" not in receiver:
            missing.append(f"RTCRtpReceiver.{name}")
    # recordings.rtp.reports.quiet: the report task started as self._run_rtcp(), its start and exit events
    for owner, prefix, start in ((RTCRtpSender, "_RTCRtpSender", RTCRtpSender.send),
                                 (RTCRtpReceiver, "_RTCRtpReceiver", RTCRtpReceiver.receive)):
        for name in ("__rtcp_started", "__rtcp_exited"):
            if f"{prefix}{name}" not in _names(owner.__init__):
                missing.append(f"{owner.__name__}.{name}")
        if "_run_rtcp" not in _names(start):
            missing.append(f"{owner.__name__}.{start.__name__} starting self._run_rtcp()")
    if not callable(getattr(RTCRtpSender, "_send_rtcp", None)):
        missing.append("RTCRtpSender._send_rtcp")
    return missing


def is_rtcp(data: bytes) -> bool:
    """True for an RTCP packet among RTP ones (RFC 5761 §4: packet types 192-208)."""
    return 191 < data[1] < 209


class Tap:
    """The SRTP path of one (bundled) DTLS transport: SRTP in to ON_RTP/ON_RTCP, protected packets out, no queue."""

    def __init__(self, dtls: RTCDtlsTransport, on_rtp: RtpHandler, on_rtcp: RtcpHandler,
                 on_closed: Callable[[Tap], None]) -> None:
        self.dtls = dtls
        self.ready = False
        self.closed = False
        self.received = 0
        self.sent = 0
        self.unprotect_failures = 0
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp
        self._on_closed = on_closed
        self._connection: Connection = dtls.transport._connection
        self._rx: FastSession | None = None
        self._tx: FastSession | None = None
        self._hooked: list[StunProtocol] = []
        self._pair: CandidatePair | None = None
        self._sendto: Callable[[bytes, tuple[str, int]], None] | None = None
        self._address: tuple[str, int] = ("", 0)
        self._errors = 0
        dtls.on("statechange", self._state_changed)
        self._state_changed()

    def _state_changed(self) -> None:
        state = self.dtls.state
        if state == "connected" and not self.ready and not self.closed:
            self._install()
        elif state in ("closed", "failed"):
            self.close()

    def _install(self) -> None:
        self._rx, self._tx = FastSession(self.dtls._rx_srtp), FastSession(self.dtls._tx_srtp)
        for protocol in self._connection._protocols:
            protocol.datagram_received = self._receiver_for(protocol)  # type: ignore[method-assign, assignment]
            self._hooked.append(protocol)
        self.ready = True
        self._drain()

    def _receiver_for(self, protocol: StunProtocol) -> Callable[[bytes | str, tuple[Any, ...]], None]:
        stock = protocol.datagram_received
        handle = self._datagram

        def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
            if data and 127 < data[0] < 192:  # type: ignore[operator]
                handle(data)  # type: ignore[arg-type]
            else:
                stock(data, addr)

        return datagram_received

    def _drain(self) -> None:
        """Take the SRTP datagrams already queued for aiortc (those that came while the handshake finished)."""
        queue = self._connection._queue
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        for item in items:
            if item is not None and item[0] and 127 < item[0][0] < 192:
                self._datagram(item[0])
            else:
                queue.put_nowait(item)

    def _datagram(self, data: bytes) -> None:
        rx = self._rx
        if rx is None or len(data) < 12:
            return
        self.received += 1
        try:
            if 191 < data[1] < 209:
                self._on_rtcp(self, rx.unprotect_rtcp(data))
            else:
                self._on_rtp(self, rx.unprotect(data), time.monotonic())
        except pylibsrtp.Error:
            self.unprotect_failures += 1
        except Exception:
            # this runs in the socket callback: an exception would only reach the event loop's handler
            self._errors += 1
            if self._errors <= MAX_LOGGED_ERRORS:
                logger.exception("packet forwarding failed on a datagram")

    def _route(self) -> bool:
        """Whether a candidate pair is selected (and its socket and address are at hand)."""
        pair = self._connection._nominated.get(1)
        if pair is self._pair:
            return pair is not None
        self._pair = pair
        if pair is None:
            self._sendto = None
            return False
        self._address = pair.remote_addr
        self._sendto = pair.protocol.transport.sendto
        return True

    def send_rtp(self, packet: bytes) -> None:
        """Protect the plaintext RTP PACKET and send it to the peer now."""
        tx = self._tx
        if tx is None or not self.ready or not self._route():
            return
        self._sendto(tx.protect(packet), self._address)  # type: ignore[misc]  # set by _route
        self.sent += 1

    def send_rtcp(self, packet: bytes) -> None:
        """Protect the plaintext (compound) RTCP PACKET and send it to the peer now."""
        tx = self._tx
        if tx is None or not self.ready or not self._route():
            return
        self._sendto(tx.protect_rtcp(packet), self._address)  # type: ignore[misc]  # set by _route
        self.sent += 1

    def close(self) -> None:
        """Give the sockets back to aioice and stop sending (idempotent)."""
        if self.closed:
            return
        self.closed, self.ready = True, False
        for protocol in self._hooked:
            protocol.__dict__.pop("datagram_received", None)
        self._hooked.clear()
        self.dtls.remove_listener("statechange", self._state_changed)
        self._on_closed(self)
