"""The packet router of one media hub (issue 18): publishers' SRTP in, each viewer's SRTP out, in the socket callback."""

# aiortc negotiates (ICE, DTLS, SDP, transceivers); a viewer's sender is started with its Outlet, which never yields
# (recordings.forwarding). Once a peer connection's DTLS transport is up, its Tap hands every SRTP datagram to this
# module: unprotected, routed by SSRC to an InStream (a hub Source), rewritten for each OutStream (a viewer's sender),
# protected with the viewer's SRTP session and sent. No asyncio queue, jitter buffer, depacketizing or repacketizing:
# those were most of aiortc's per-packet cost.
#
# RTCP: a viewer's PLI/FIR asks the publisher for a key frame (Source.request_keyframe, limited by PLI_INTERVAL); a
# viewer's NACK is answered from its stream's PacketCache (as RTX when negotiated); gaps in a publisher's stream are
# NACKed upstream and the retransmissions forwarded. Viewers' REMB goes upstream (the lowest fresh estimate of the
# publisher's viewers), since aiortc's own estimator no longer sees the packets. Each peer connection's receiver and
# sender reports (from ReceiveStats and from what each OutStream carried) go out in one compound on the tick
# (recordings.rtp.reports); a publisher's SR is read here for the round trip its next RR tells it. With data sinks
# (the recorder's feed, add_data_sink: each whole frame's bytes), each InStream also feeds a FrameAssembler
# (recordings.rtp.assemble).

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiortc import RTCDtlsTransport, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import unpack_remb_fci

from recordings.forwarding import KEYFRAME_RETRY, Outlet, Source
from recordings.rtp import feedback, reports
from recordings.rtp.cache import PacketCache
from recordings.rtp.rewrite import MID_URI, TS_MASK, RtpView, StreamRewriter, wrap_rtx
from recordings.rtp.tap import Tap

if TYPE_CHECKING:
    from recordings.rtp.assemble import FrameAssembler

logger = logging.getLogger(__name__)

# (source, codec MIME type, clock rate, data, pts, keyframe, arrival): one whole frame, pts 0-based in clock units
DataSink = Callable[[Source, str, int, bytes, int, bool, float], None]

# How often aiortc's reports are brought up to date and REMB sent upstream (NACKs are repeated on their own timer).
TICK_SECONDS = 0.5
# A viewer's bitrate estimate counts this long; the lowest one goes upstream this often, or at once when it drops.
REMB_FRESH = 5.0
REMB_INTERVAL = 1.0
REMB_DROP = 0.9
# A publisher silent this long no longer counts as sending (its key frame requests would go nowhere).
ACTIVE_SECONDS = 5.0
# An SSRC that leads to no stream is looked up again this often (the stream it belongs to may come later).
UNROUTED_RETRY = 0.5
# A payload type alone may move a stream to a new SSRC only once its current one has been silent this long.
SILENT_SECONDS = 1.0

# A peer connection's reports go out every REPORT_INTERVAL, varied by +/- half of it (RFC 3550 §6.2), on the tick.
REPORT_INTERVAL = 1.0
_WORD = struct.Struct("!I")
_RTCP_HEADER = struct.Struct("!BBH")


def vp8_keyframe_start(payload: bytes) -> bool:
    """True for the first packet of a VP8 key frame (RFC 7741 §4.2-4.3: S set, partition 0, P bit clear)."""
    if len(payload) < 2 or payload[0] & 0x17 != 0x10:
        return False
    pos = 1
    if payload[0] & 0x80:
        extension = payload[1]
        pos = 2
        if extension & 0x80:  # I: picture id, 7 or 15 bits
            if pos >= len(payload):
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            pos += 1
        if extension & 0x30:  # T or K: TID/KEYIDX
            pos += 1
    return pos < len(payload) and not payload[pos] & 0x01


def h264_keyframe_start(payload: bytes) -> bool:
    """True for a packet that starts an H.264 key frame: an SPS or IDR slice, alone, in a STAP-A or starting a FU-A."""
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A
        pos = 1
        while pos + 2 < len(payload):
            if payload[pos + 2] & 0x1F in (5, 7):
                return True
            pos += 2 + (payload[pos] << 8 | payload[pos + 1])
        return False
    if nal == 28 and len(payload) > 1:  # FU-A
        return bool(payload[1] & 0x80) and payload[1] & 0x1F in (5, 7)
    return False


def _always(payload: bytes) -> bool:
    return True


KEYFRAME_STARTS: dict[str, Callable[[bytes], bool]] = {
    "video/vp8": vp8_keyframe_start,
    "video/h264": h264_keyframe_start,
}


def _is_rtx(codec: RTCRtpCodecParameters) -> bool:
    return codec.mimeType.lower().endswith("/rtx")


def _nack_enabled(codec: RTCRtpCodecParameters) -> bool:
    return any(fb.type == "nack" and not fb.parameter for fb in codec.rtcpFeedback)


def _same_codec(a: RTCRtpCodecParameters, b: RTCRtpCodecParameters) -> bool:
    if a.mimeType.lower() != b.mimeType.lower() or a.clockRate != b.clockRate:
        return False
    if a.mimeType.lower() == "video/h264":
        return a.parameters.get("packetization-mode", "0") == b.parameters.get("packetization-mode", "0")
    return True


class InStream:
    """One forwarded track of a publisher (a hub Source) as it arrives: its SSRC, statistics, viewers, recorder feed."""

    def __init__(self, peer: _Peer, source: Source, transceiver: RTCRtpTransceiver) -> None:
        self.peer = peer
        self.source = source
        self.transceiver = transceiver
        self.kind = source.kind
        self.video = source.kind == "video"
        # identifies the current SSRC to the viewers' rewriters: a new one means a source switch
        self.key = object()
        self.ssrc: int | None = None
        self.outs: list[OutStream] = []
        self.codecs: dict[int, RTCRtpCodecParameters] = {}
        self.rtx: dict[int, int] = {}  # RTX payload type -> the payload type it repairs
        self.extensions: dict[int, str] = {}  # extension id -> URI
        self.clock_rate = 90000 if self.video else 48000
        self.mime = ""
        self.nack = False
        self.keyframe_start: Callable[[bytes], bool] = _always
        self.stats = feedback.ReceiveStats(self.clock_rate)
        self.last_ts = 0
        self.last_key_ts: int | None = None
        self.last_arrival = 0.0
        self.assembler: FrameAssembler | None = None
        self.recording = False
        self.recordable = True
        self.remb_sent = 0
        self.remb_sent_at = 0.0
        self.recovered = 0  # packets lost on the way in, asked for again and forwarded late
        self.retry: asyncio.TimerHandle | None = None  # the next look at what is still missing
        # the middle 32 bits of the publisher's last SR's NTP timestamp and when it came (for the RR's LSR/DLSR)
        self.lsr = 0
        self.lsr_at = 0.0
        # Read now, in the track event of setRemoteDescription, and never again: each later createOffer of the hub
        # sets the transceiver's codecs and extension ids to aiortc's own numbering until the answer comes, and a
        # client keeps the numbering of the first exchange anyway (aiortc's receiver reads its codecs once too).
        # Packets that came in that window were read with the wrong table: RTX taken for VP8, Opus dropped.
        self.load_parameters()

    def load_parameters(self) -> None:
        """Codecs and extension ids as negotiated on the publisher's transceiver (read once, from __init__)."""
        codecs = self.transceiver._codecs
        self.codecs = {c.payloadType: c for c in codecs if not _is_rtx(c) and c.payloadType is not None}
        self.rtx = {
            c.payloadType: apt for c in codecs
            if _is_rtx(c) and c.payloadType is not None and isinstance(apt := c.parameters.get("apt"), int)
        }
        self.extensions = {e.id: e.uri for e in self.transceiver._headerExtensions}
        primary = next((c for c in codecs if not _is_rtx(c)), None)
        if primary is not None:
            self.clock_rate, self.mime = primary.clockRate, primary.mimeType
            self.keyframe_start = KEYFRAME_STARTS.get(primary.mimeType.lower(), _always)
            self.nack = self.video and _nack_enabled(primary)

    def receive(self, view: RtpView, now: float) -> None:
        """One packet of this stream (its media or its RTX SSRC), arrived at NOW."""
        source = self.source
        if source.stopped:
            return
        if view.payload_type in self.rtx:
            self._receive_rtx(view, now)
            return
        if view.ssrc != self.ssrc:
            self._new_ssrc(view)
        self.last_arrival = now
        timestamp = view.timestamp
        if timestamp != self.last_ts and (timestamp - self.last_ts) & TS_MASK < 0x80000000:
            self.last_ts = timestamp
            source.frames += 1
        key = self.video and self.keyframe_start(view.payload)
        if key and timestamp != self.last_key_ts:
            self.last_key_ts = timestamp
            source.keyframes += 1
        lost = self.stats.add(view.seq, timestamp, now)
        if lost:
            self.ask_again(lost)
        for out in self.outs:
            out.forward(view, key, now)
        forwarder = self.peer.forwarder
        if forwarder.data_sinks:
            if self.recordable:
                self._record(view)
        elif self.recording:
            self.recording = False

    def _receive_rtx(self, view: RtpView, now: float) -> None:
        if self.ssrc is None or len(view.payload) < 2:
            return  # padding-only probe
        original = view.retransmitted(self.rtx[view.payload_type], self.ssrc)
        if not self.stats.recovered(original.seq):
            return  # not asked for: a probe repeating a packet that came, or a duplicate
        self.stats.packets_received += 1
        self.recovered += 1
        key = self.video and self.keyframe_start(original.payload)
        for out in self.outs:
            out.forward(original, key, now)
        forwarder = self.peer.forwarder
        if forwarder.data_sinks and self.recordable:
            self._record(original)

    def _new_ssrc(self, view: RtpView) -> None:
        """The publisher sends under a new SSRC (it restarted its stream): viewers switch at the next key frame."""
        old, self.ssrc = self.ssrc, view.ssrc
        if old is not None:
            self.peer.retire(old)
        self.key = object()
        self.stats = feedback.ReceiveStats(self.clock_rate, nack=self.nack)
        feedback.install_receive_stats(self.source.receiver, view.ssrc, self.stats, replaces=old)
        self.last_ts = (view.timestamp - 1) & TS_MASK
        if self.assembler is not None:
            self.assembler.reset()
        if old is not None and self.video:
            self.source.request_keyframe()

    def ask_again(self, lost: Sequence[int]) -> None:
        """NACK LOST to the publisher, and again after NACK_RETRY while they are missing."""
        sender = feedback.feedback_ssrc(self.source.receiver)
        if sender is not None and self.ssrc is not None:
            self.peer.tap.send_rtcp(feedback.nack_packet(sender, self.ssrc, lost))
        # A lost NACK or retransmission is asked for again within the recorder's reorder window (the tick's 0.5 s
        # would come too late for the recording: the frame and the deltas up to a key frame would be dropped).
        if self.retry is None and self.stats.missing:
            self.retry = asyncio.get_running_loop().call_later(feedback.NACK_RETRY, self._retry_due)

    def _retry_due(self) -> None:
        self.retry = None
        if self.source.stopped:
            return
        again = self.stats.due(time.monotonic())
        if again:
            self.ask_again(again)
        elif self.stats.missing:
            self.retry = asyncio.get_running_loop().call_later(feedback.NACK_RETRY, self._retry_due)

    def stop_retrying(self) -> None:
        if self.retry is not None:
            self.retry.cancel()
            self.retry = None

    def send_remb(self, now: float) -> None:
        """Pass the lowest fresh estimate of this stream's viewers to the publisher (when due)."""
        estimates = [out.remb for out in self.outs if now - out.remb_at < REMB_FRESH]
        if not estimates or self.ssrc is None:
            return
        bitrate = min(estimates)
        if bitrate >= self.remb_sent * REMB_DROP and now - self.remb_sent_at < REMB_INTERVAL:
            return
        sender = feedback.feedback_ssrc(self.source.receiver)
        if sender is None:
            return
        self.remb_sent, self.remb_sent_at = bitrate, now
        self.peer.tap.send_rtcp(feedback.remb_packet(sender, bitrate, [self.ssrc]))

    def tick(self, now: float) -> None:
        """Periodic upkeep: aiortc's idea of the active SSRC, REMB upstream."""
        if self.ssrc is None or now - self.last_arrival > ACTIVE_SECONDS:
            return
        feedback.mark_active(self.source.receiver, self.ssrc)
        if self.video:
            self.send_remb(now)

    def receiver_report(self, now: float) -> tuple[int, bytes] | None:
        """This stream's RR to its publisher (the SSRC it is sent under, the packet), None before packets came."""
        sender = feedback.feedback_ssrc(self.source.receiver)
        stats = self.stats
        if sender is None or self.ssrc is None or not stats.packets_received or self.source.stopped:
            return None
        dlsr = int((now - self.lsr_at) * 65536) if self.lsr else 0
        block = reports.report_block(self.ssrc, fraction_lost=stats.fraction_lost, packets_lost=stats.packets_lost,
                                     highest_seq=stats.max_seq, jitter=stats.jitter, lsr=self.lsr, dlsr=dlsr)
        return sender, reports.receiver_report(sender, [block])

    def _record(self, view: RtpView) -> None:
        assembler = self.assembler
        if assembler is None:
            assembler = self.assembler = self._make_assembler()
            if assembler is None:
                return
        if not self.recording:
            assembler.reset()  # frames resume after a time without sinks: start clean
            self.recording = True
        assembler.push_fields(view.ssrc, view.seq, view.timestamp, view.marker, view.payload, time.time())

    def _make_assembler(self) -> FrameAssembler | None:
        from recordings.rtp.assemble import FrameAssembler

        source, forwarder, mime, clock_rate = self.source, self.peer.forwarder, self.mime, self.clock_rate

        def frame(data: bytes, pts: int, keyframe: bool, arrival: float) -> None:
            for sink in forwarder.data_sinks:
                try:
                    sink(source, mime, clock_rate, data, pts, keyframe, arrival)
                except Exception:
                    # a broken sink must not stop the call (nor the other sinks): removed, as the hub does
                    logger.exception("data sink %r failed; removed", sink)
                    forwarder.remove_data_sink(sink)

        try:
            return FrameAssembler(mime, clock_rate, frame, on_keyframe_needed=source.request_keyframe)
        except ValueError:
            logger.error("participant %s: no frame assembly for %s, not recorded", source.participant_id, self.mime)
            self.recordable = False
            return None


class OutStream:
    """One viewer's sender of a forwarded track: rewriting, SRTP, the NACK cache and key-frame gating."""

    def __init__(self, peer: _Peer, sender: RTCRtpSender, outlet: Outlet, stream: InStream,
                 parameters: RTCRtpSendParameters) -> None:
        self.peer = peer
        self.sender = sender
        self.outlet = outlet
        self.stream = stream
        self.video = stream.video
        primary = parameters.codecs[0]
        self.codecs = [c for c in parameters.codecs if not _is_rtx(c)]
        self.extensions = {e.uri: e.id for e in parameters.headerExtensions}
        self.ssrc = sender._ssrc
        self.cname = parameters.rtcp.cname or ""
        self.rewriter = StreamRewriter(sender._ssrc, primary.clockRate, mid_id=self.extensions.get(MID_URI),
                                       mid=parameters.muxId)
        self.rtx_pt = next((c.payloadType for c in parameters.codecs
                            if _is_rtx(c) and c.parameters.get("apt") == primary.payloadType), None)
        self.rtx_ssrc = sender._rtx_ssrc
        self.rtx_seq = random.randrange(1 << 15)
        self.cache = PacketCache() if self.video and _nack_enabled(primary) else None
        self.asked_at = float("-inf")
        self.packets = 0
        self.octets = 0
        self.retransmitted = 0
        self.switches: list[int] = []  # the outgoing sequence number at which each source began
        self.remb = 0
        self.remb_at = float("-inf")

    def forward(self, view: RtpView, key: bool, now: float) -> None:
        """Rewrite VIEW for this viewer and send it (from a key frame on, for video after a start or switch)."""
        stream, rewriter = self.stream, self.rewriter
        if rewriter.source is not stream.key:
            if self.video and not key:
                if now - self.asked_at >= KEYFRAME_RETRY:
                    self.ask_keyframe(now)
                return
            payload_types, extensions = self.mappings(stream)
            rewriter.switch(stream.key, view, now, payload_types=payload_types, extensions=extensions)
            data = rewriter.rewrite(view, now)
            if data is None:
                return
            if len(self.switches) < 64:
                self.switches.append(rewriter.packet_seq)
        else:
            data = rewriter.rewrite(view, now)
            if data is None:
                return
        if self.cache is not None:
            self.cache.put(rewriter.packet_seq, data)
        self.peer.tap.send_rtp(data)
        self.packets += 1
        self.octets += len(view.payload)

    def ask_keyframe(self, now: float) -> None:
        """Ask the publisher for a key frame; when the hub's PLI limit swallowed the request, ask again soon."""
        source = self.stream.source
        source.request_keyframe()
        if source.last_pli >= now:
            self.asked_at = now  # sent: its key frame is due within a round trip

    def mappings(self, stream: InStream) -> tuple[dict[int, int], dict[int, int]]:
        """STREAM's payload types and extension ids -> this viewer's (what the viewer did not negotiate is left out)."""
        payload_types = {}
        for payload_type, codec in stream.codecs.items():
            mine = next((c for c in self.codecs if _same_codec(codec, c)), None)
            if mine is not None and mine.payloadType is not None:
                payload_types[payload_type] = mine.payloadType
        extensions = {i: self.extensions[uri] for i, uri in stream.extensions.items()
                      if uri != MID_URI and uri in self.extensions}
        return payload_types, extensions

    def nack(self, fci: bytes, now: float) -> None:
        """Send again what the viewer's NACK asks for, from the cache."""
        cache = self.cache
        if cache is None:
            return
        for seq in feedback.nacked(fci):
            data = cache.take_for_resend(seq, now)
            if data is None:
                continue
            if self.rtx_pt is not None:
                data = wrap_rtx(data, self.rtx_pt, self.rtx_seq, self.rtx_ssrc)
                self.rtx_seq = (self.rtx_seq + 1) & 0xFFFF
            self.peer.tap.send_rtp(data)
            self.retransmitted += 1

    def sender_report(self, now: float, ntp: int) -> tuple[int, bytes] | None:
        """This stream's SR at NOW, wall clock NTP (its RTP/NTP pair maps our arrival clock); None before packets."""
        rewriter = self.rewriter
        if rewriter.sent_at is None:
            return None
        rtp = rewriter.timestamp + int((now - rewriter.sent_at) * rewriter.clock_rate)
        return self.ssrc, reports.sender_report(self.ssrc, ntp, rtp, self.packets, self.octets)


class _Peer:
    """The forwarding state of one peer connection: its tap, the SSRCs it publishes, the viewer streams it gets."""

    def __init__(self, forwarder: PacketForwarder, dtls: RTCDtlsTransport) -> None:
        self.forwarder = forwarder
        self.routes: dict[int, InStream] = {}
        self.retired: set[int] = set()
        self.unrouted: dict[int, float] = {}  # SSRC -> when it was last looked up in vain
        self.streams: list[InStream] = []
        self.outs: dict[int, OutStream] = {}  # by the SSRC (and RTX SSRC) of the hub's sender toward this peer
        self.report_due = time.monotonic() + REPORT_INTERVAL * random.uniform(0.5, 1.5)
        self.tap = Tap(dtls, self.on_rtp, self.on_rtcp, forwarder.peer_closed)

    def on_rtp(self, tap: Tap, data: bytes, now: float) -> None:
        try:
            view = RtpView(data)
        except ValueError:
            return
        stream = self.routes.get(view.ssrc)
        if stream is None:
            stream = self.resolve(view, now)
            if stream is None:
                return
        stream.receive(view, now)

    def resolve(self, view: RtpView, now: float) -> InStream | None:
        """The stream an unknown SSRC belongs to: by the SDP's SSRCs, then its MID, then its payload type."""
        # A payload type shared by two m-lines (a camera and a screen, both VP8) must not move an active stream to
        # another SSRC: alone it only picks a stream that receives nothing yet, or whose SSRC went silent.
        ssrc = view.ssrc
        if ssrc in self.retired or now - self.unrouted.get(ssrc, float("-inf")) < UNROUTED_RETRY:
            return None
        streams = [s for s in self.streams if not s.source.stopped]
        router = self.tap.dtls._rtp_router
        stream = self._of(router.ssrc_table.get(ssrc), streams)
        if stream is None:
            stream = next((s for s in streams if ssrc in feedback.declared_rtx(s.source.receiver)), None)
        if stream is None:
            mid = self._mid(view)
            if mid is not None:
                stream = next((s for s in streams if s.transceiver.mid == mid), None)
        if stream is None:
            candidates = [s for s in streams if view.payload_type in s.codecs or view.payload_type in s.rtx]
            idle = [s for s in candidates if s.ssrc is None or now - s.last_arrival > SILENT_SECONDS]
            if len(candidates) == 1 and idle:
                stream = candidates[0]
            elif len(idle) == 1 and len([s for s in idle if s.ssrc is None]) == 1:
                stream = idle[0]
        if stream is None:
            if len(self.unrouted) > 64:
                self.unrouted.clear()  # bounded: SSRCs are the peer's to choose
            self.unrouted[ssrc] = now
            return None
        self.unrouted.pop(ssrc, None)
        self.routes[ssrc] = stream
        return stream

    @staticmethod
    def _of(receiver: object, streams: list[InStream]) -> InStream | None:
        if receiver is None:
            return None
        return next((s for s in streams if s.source.receiver is receiver), None)

    def _mid(self, view: RtpView) -> str | None:
        ids = {i for s in self.streams for i, uri in s.extensions.items() if uri == MID_URI}
        try:
            elements = view.extensions
        except ValueError:
            return None  # a malformed header extension
        for ext_id, value in elements:
            if ext_id in ids:
                return value.decode("utf8", "replace")
        return None

    def retire(self, ssrc: int) -> None:
        """Drop whatever still comes under SSRC (a stream's previous one)."""
        self.retired.add(ssrc)
        self.routes.pop(ssrc, None)

    def add_stream(self, stream: InStream) -> None:
        self.streams.append(stream)
        self.unrouted.clear()  # an SSRC that led nowhere may be this stream's (a screen's packets can come first)

    def on_rtcp(self, tap: Tap, data: bytes) -> None:
        now = time.monotonic()
        outs = self.outs
        pos, end = 0, len(data)
        while pos + 12 <= end:
            first, packet_type, words = _RTCP_HEADER.unpack_from(data, pos)
            following = pos + 4 + 4 * words
            if following > end:
                break
            if packet_type == 200 and following >= pos + 28:  # SR: its NTP timestamp's middle is the next RR's LSR
                ssrc = _WORD.unpack_from(data, pos + 4)[0]
                stream = self.routes.get(ssrc)
                if stream is not None and ssrc == stream.ssrc:  # not the SR of its RTX stream
                    stream.lsr, stream.lsr_at = _WORD.unpack_from(data, pos + 10)[0], now
                pos = following
                continue
            fmt = first & 0x1F
            media = _WORD.unpack_from(data, pos + 8)[0]
            if packet_type == 205 and fmt == 1:  # generic NACK
                out = outs.get(media)
                if out is not None:
                    out.nack(data[pos + 12:following], now)
            elif packet_type == 206 and fmt == 1:  # PLI
                out = outs.get(media)
                if out is not None:
                    out.stream.source.request_keyframe()
            elif packet_type == 206 and fmt == 4:  # FIR: the SSRCs are in the entries (RFC 5104 §4.3.1)
                for entry in range(pos + 12, following - 7, 8):
                    out = outs.get(_WORD.unpack_from(data, entry)[0])
                    if out is not None:
                        out.stream.source.request_keyframe()
            elif packet_type == 206 and fmt == 15 and data[pos + 12:pos + 16] == b"REMB":
                self._remb(data[pos + 12:following], now)
            pos = following

    def send_reports(self, now: float) -> None:
        """Send this peer its SRs (what each of its viewer streams carried) and RRs (what it publishes), as aiortc's
        senders and receivers would."""
        self.report_due = now + REPORT_INTERVAL * random.uniform(0.5, 1.5)
        ntp = reports.ntp_now()
        cname = ""
        found: list[tuple[int, bytes]] = []
        for ssrc, out in self.outs.items():
            if ssrc == out.ssrc:  # not its RTX SSRC
                cname = cname or out.cname
                report = out.sender_report(now, ntp)
                if report is not None:
                    found.append(report)
        for stream in self.streams:
            report = stream.receiver_report(now)
            if report is not None:
                found.append(report)
        for packet in reports.compounds(found, cname):
            self.tap.send_rtcp(packet)

    def _remb(self, fci: bytes, now: float) -> None:
        try:
            bitrate, ssrcs = unpack_remb_fci(fci)
        except ValueError:
            return
        streams = set()
        for ssrc in ssrcs:
            out = self.outs.get(ssrc)
            if out is not None and out.video:
                out.remb, out.remb_at = bitrate, now
                streams.add(out.stream)
        for stream in streams:
            stream.send_remb(now)


class PacketForwarder:
    """Forwards the media of a `MediaHub` packet by packet."""

    def __init__(self) -> None:
        # while there are data sinks (a recorder), streams feed their frame assemblers
        self.data_sinks: tuple[DataSink, ...] = ()  # a tuple: replaced, never changed while a frame goes through
        self._peers: dict[RTCDtlsTransport, _Peer] = {}
        self._streams: dict[Source, InStream] = {}
        self._outs: dict[RTCRtpSender, OutStream] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def add_source(self, source: Source, transceiver: RTCRtpTransceiver) -> None:
        """Forward SOURCE, which arrives on TRANSCEIVER (a publisher's receive transceiver), packet by packet."""
        if self._closed:
            return
        peer = self._peer(transceiver.receiver.transport)
        reports.quiet(transceiver.receiver)  # this stream's RRs go out with its peer's reports
        stream = InStream(peer, source, transceiver)
        self._streams[source] = stream
        peer.add_stream(stream)
        self._start()

    def attach(self, sender: RTCRtpSender, outlet: Outlet) -> None:
        """Forward OUTLET's source through SENDER (a viewer's send transceiver) once aiortc starts it."""
        start = sender.send
        reports.quiet(sender)  # its SRs go out with its peer's reports

        async def send(parameters: RTCRtpSendParameters) -> None:
            await start(parameters)
            self._started(sender, outlet, parameters)

        sender.send = send  # type: ignore[method-assign]

    def repoint(self, sender: RTCRtpSender, source: Source) -> None:
        """Make SENDER carry SOURCE from its next key frame on, in the same outgoing stream (SSRC, numbering)."""
        out, stream = self._outs[sender], self._streams[source]
        if stream.kind != out.stream.kind:
            raise ValueError(f"cannot carry a {stream.kind} source on a {out.stream.kind} sender")
        if stream is out.stream:
            return
        out.stream.outs.remove(out)
        stream.outs.append(out)
        out.stream = stream
        if out.video:
            out.ask_keyframe(time.monotonic())

    def add_data_sink(self, sink: DataSink) -> Callable[[], None]:
        """Hand every whole frame of every forwarded stream to SINK as raw bytes; returns a function removing it.

        SINK runs in the datagram path, on the event loop: it must be quick (queue the work).
        """
        self.data_sinks = (*self.data_sinks, sink)
        return lambda: self.remove_data_sink(sink)

    def remove_data_sink(self, sink: DataSink) -> None:
        self.data_sinks = tuple(s for s in self.data_sinks if s is not sink)

    def in_stream(self, source: Source) -> InStream | None:
        """How SOURCE is forwarded (None when it is not)."""
        return self._streams.get(source)

    def out_stream(self, sender: RTCRtpSender) -> OutStream | None:
        """What SENDER carries (None before aiortc started it, or after it stopped)."""
        return self._outs.get(sender)

    def _started(self, sender: RTCRtpSender, outlet: Outlet, parameters: RTCRtpSendParameters) -> None:
        if self._closed or sender in self._outs or outlet.readyState != "live" or not parameters.codecs:
            return
        stream = self._streams.get(outlet.source)
        if stream is None:
            return
        peer = self._peer(sender.transport)
        out = OutStream(peer, sender, outlet, stream, parameters)
        self._outs[sender] = out
        peer.outs[out.ssrc] = out
        peer.outs[out.rtx_ssrc] = out
        stream.outs.append(out)
        outlet.on("ended", lambda: self._detach(out))
        if out.video:
            out.ask_keyframe(time.monotonic())

    def _detach(self, out: OutStream) -> None:
        if out in out.stream.outs:
            out.stream.outs.remove(out)
        for ssrc in (out.ssrc, out.rtx_ssrc):
            if out.peer.outs.get(ssrc) is out:
                del out.peer.outs[ssrc]
        if self._outs.get(out.sender) is out:
            del self._outs[out.sender]

    def _peer(self, dtls: RTCDtlsTransport) -> _Peer:
        peer = self._peers.get(dtls)
        if peer is None or peer.tap.closed:
            peer = self._peers[dtls] = _Peer(self, dtls)
        return peer

    def peer_closed(self, tap: Tap) -> None:
        """TAP's connection closed: forget what it published and what it watched."""
        peer = self._peers.get(tap.dtls)
        if peer is None or peer.tap is not tap:
            return
        del self._peers[tap.dtls]
        for out in list(peer.outs.values()):
            self._detach(out)
        for stream in list(peer.streams):
            self._remove(stream)

    def _remove(self, stream: InStream) -> None:
        stream.stop_retrying()
        for out in list(stream.outs):
            self._detach(out)
        if self._streams.get(stream.source) is stream:
            del self._streams[stream.source]
        if stream in stream.peer.streams:
            stream.peer.streams.remove(stream)
        stream.peer.routes = {ssrc: s for ssrc, s in stream.peer.routes.items() if s is not stream}

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="vreception-packet-forwarder")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            for stream in list(self._streams.values()):
                if stream.source.stopped:
                    self._remove(stream)
                else:
                    stream.tick(now)
            for peer in self._peers.values():
                if now >= peer.report_due and peer.tap.ready:
                    peer.send_reports(now)

    async def close(self) -> None:
        """Stop forwarding and give every socket back to aioice."""
        self._closed = True
        for stream in self._streams.values():
            stream.stop_retrying()
        for peer in list(self._peers.values()):
            peer.tap.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
