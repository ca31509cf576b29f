"""Encoded passthrough for aiortc 1.16: marked receivers yield av.Packet, viewer PLIs go upstream."""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
import weakref
from collections.abc import Callable

import aioice.ice
import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc import __version__ as aiortc_version
from aiortc import rtcrtpreceiver
from aiortc.codecs import opus, vpx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

logger = logging.getLogger(__name__)

SUPPORTED_AIORTC = "1.16."


class AiortcHookError(RuntimeError):
    """aiortc's private API that the passthrough relies on is missing or changed."""


def _names(function: object) -> set[str]:
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code else set()


def missing_hooks() -> list[str]:
    """The private aiortc/aioice hook points this module needs that are absent (empty when all is well)."""
    missing = []
    if not aiortc_version.startswith(SUPPORTED_AIORTC):
        missing.append(f"aiortc version {SUPPORTED_AIORTC}* (found {aiortc_version})")
    if not callable(getattr(rtcrtpreceiver, "get_decoder", None)):
        missing.append("aiortc.rtcrtpreceiver.get_decoder")
    if "get_decoder" not in _names(getattr(rtcrtpreceiver, "decoder_worker", None)):
        missing.append("aiortc.rtcrtpreceiver.decoder_worker calling get_decoder")
    if "_RTCRtpReceiver__decoder_thread" not in _names(RTCRtpReceiver.receive):
        missing.append("RTCRtpReceiver.__decoder_thread (set in receive())")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        missing.append("RTCRtpReceiver._send_rtcp_pli")
    if "_send_keyframe" not in _names(RTCRtpSender._handle_rtcp_packet):
        missing.append("RTCRtpSender._handle_rtcp_packet calling _send_keyframe")
    if "pack" not in _names(getattr(RTCRtpSender, "_next_encoded_frame", None)):
        missing.append("RTCRtpSender._next_encoded_frame calling Encoder.pack")
    if "_stream_id" not in _names(RTCRtpSender.__init__):
        missing.append("RTCRtpSender._stream_id")
    for encoder in (vpx.Vp8Encoder, opus.OpusEncoder):
        if not callable(getattr(encoder, "pack", None)):
            missing.append(f"{encoder.__qualname__}.pack")
    if not {"data", "timestamp"} <= _names(JitterFrame.__init__):
        missing.append("JitterFrame.data / JitterFrame.timestamp")
    if "get_host_addresses" not in _names(aioice.ice.Connection.gather_candidates):
        missing.append("aioice.ice.Connection.gather_candidates calling get_host_addresses")
    return missing


def check_hooks() -> None:
    """Raise AiortcHookError naming every private hook point that this aiortc lacks."""
    missing = missing_hooks()
    if missing:
        raise AiortcHookError(
            "recordings.passthrough needs aiortc internals that changed; re-read aiortc's "
            "rtcrtpreceiver/rtcrtpsender and adapt: " + "; ".join(missing)
        )


# The hook is process-wide, but the decoder factory must answer per receiver: client peers
# in the same process (tests, bench) still need real decoding. aiortc calls get_decoder(codec)
# from the receiver's own decoder thread without saying which receiver it serves, so the
# factory matches the current thread against the decoder thread of each marked receiver.
_lock = threading.Lock()
_marked: weakref.WeakSet[RTCRtpReceiver] = weakref.WeakSet()
_codecs: weakref.WeakKeyDictionary[RTCRtpReceiver, RTCRtpCodecParameters] = weakref.WeakKeyDictionary()
_stock_get_decoder = rtcrtpreceiver.get_decoder


def mark_receiver(receiver: RTCRtpReceiver) -> None:
    """Make RECEIVER's track yield encoded av.Packets instead of decoded frames."""
    with _lock:
        _marked.add(receiver)


def received_codec(receiver: RTCRtpReceiver) -> RTCRtpCodecParameters | None:
    """The codec of the last packet a marked receiver passed through (None before the first)."""
    with _lock:
        return _codecs.get(receiver)


def _receiver_of_current_thread() -> RTCRtpReceiver | None:
    current = threading.current_thread()
    with _lock:
        receivers = list(_marked)
    for receiver in receivers:
        if getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is current:
            return receiver
    return None


def vp8_is_keyframe(data: bytes) -> bool:
    """True when a depacketized VP8 frame is a key frame (RFC 6386 9.1: P bit clear)."""
    return bool(data) and not data[0] & 0x01


def h264_is_keyframe(data: bytes) -> bool:
    """True when an Annex-B H.264 access unit holds an IDR slice or an SPS."""
    position = data.find(b"\x00\x00\x01")
    while position != -1 and position + 3 < len(data):
        if data[position + 3] & 0x1F in (5, 7):
            return True
        position = data.find(b"\x00\x00\x01", position + 3)
    return False


_KEYFRAME_TESTS: dict[str, Callable[[bytes], bool]] = {
    "video/vp8": vp8_is_keyframe,
    "video/h264": h264_is_keyframe,
}


class PassthroughDecoder:
    """A 'decoder' that hands the depacketized frame on as an av.Packet."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self._time_base = fractions.Fraction(1, codec.clockRate)
        # audio codecs (Opus) have no inter-frame dependencies: every packet is a key
        self._is_keyframe = _KEYFRAME_TESTS.get(codec.mimeType.lower(), lambda data: True)

    def decode(self, encoded_frame: JitterFrame) -> list[av.Packet]:
        """Wrap ENCODED_FRAME (already mapped to a 0-based RTP timestamp) in an av.Packet."""
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.dts = encoded_frame.timestamp
        packet.time_base = self._time_base
        packet.is_keyframe = self._is_keyframe(encoded_frame.data)
        return [packet]


def _get_decoder(codec: RTCRtpCodecParameters):
    receiver = _receiver_of_current_thread()
    if receiver is None:
        return _stock_get_decoder(codec)
    if codec.mimeType.lower() not in ("video/vp8", "video/h264", "audio/opus"):
        raise ValueError(f"no passthrough for {codec.mimeType}: negotiate VP8/H.264 and Opus")
    with _lock:
        _codecs[receiver] = codec
    return PassthroughDecoder(codec)


def install() -> None:
    """Check the aiortc internals and install the passthrough decoder factory (idempotent)."""
    check_hooks()
    if rtcrtpreceiver.get_decoder is not _get_decoder:
        rtcrtpreceiver.get_decoder = _get_decoder


def installed() -> bool:
    """True when the passthrough decoder factory is in place."""
    return rtcrtpreceiver.get_decoder is _get_decoder


def active_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC the publisher most recently sent on RECEIVER, if any."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return None
    return max(sources, key=lambda source: source.timestamp).source


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the publisher behind RECEIVER for a key frame (RTCP PLI); False when it has sent nothing yet."""
    ssrc = active_ssrc(receiver)
    if ssrc is None:
        return False
    await receiver._send_rtcp_pli(ssrc)
    return True


def forward_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Make a viewer's PLI/FIR on SENDER call REQUEST instead of flagging an encoder the pack path never uses."""
    # an instance attribute shadows the method that _handle_rtcp_packet calls as self._send_keyframe()
    sender._send_keyframe = request


_pending: set[asyncio.Task] = set()


def request_keyframe_soon(receiver: RTCRtpReceiver) -> None:
    """Schedule a PLI to RECEIVER's publisher from synchronous code (an RTCP handler)."""
    task = asyncio.get_running_loop().create_task(send_pli(receiver))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
