"""Encoded passthrough for aiortc 1.16: marked receivers yield av.Packet, viewer PLIs go upstream."""

from __future__ import annotations

import asyncio
import fractions
import logging
import queue
import threading
import weakref
from collections.abc import Callable, Iterable

import aioice.ice
import av
from aiortc import RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc import __version__ as aiortc_version
from aiortc.codecs import opus, vpx
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.stream import Stream

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
    if "_RTCRtpReceiver__decoder_queue" not in _names(RTCRtpReceiver._handle_rtp_packet):
        missing.append("RTCRtpReceiver.__decoder_queue (put() in _handle_rtp_packet)")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        missing.append("RTCRtpReceiver._send_rtcp_pli")
    if "_send_keyframe" not in _names(RTCRtpSender._handle_rtcp_packet):
        missing.append("RTCRtpSender._handle_rtcp_packet calling _send_keyframe")
    if "pack" not in _names(getattr(RTCRtpSender, "_next_encoded_frame", None)):
        missing.append("RTCRtpSender._next_encoded_frame calling Encoder.pack")
    if "_RTCRtpReceiver__remote_bitrate_estimator" not in _names(RTCRtpReceiver._handle_rtp_packet):
        missing.append("RTCRtpReceiver.__remote_bitrate_estimator (REMB in _handle_rtp_packet)")
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
    """Make RECEIVER's track yield encoded av.Packets instead of decoded frames.

    Marked before the receiver starts (before the connection is up, as the hub does), the
    receiver's frames no longer cross to its decoder thread and back: they are wrapped on the
    event loop as they complete (see `Inlet`). Marked later, the decoder-thread hook serves.
    """
    with _lock:
        _marked.add(receiver)
    if isinstance(getattr(receiver, _QUEUE_ATTR, None), Inlet):
        return
    if getattr(receiver, _THREAD_ATTR, None) is None and isinstance(getattr(receiver, _QUEUE_ATTR, None), queue.Queue):
        # not started: nothing is queued yet and no thread waits on the stock queue
        setattr(receiver, _QUEUE_ATTR, Inlet(receiver))


def listen(receiver: RTCRtpReceiver, listener: Callable[[av.Packet[Stream]], None] | None) -> bool:
    """Hand RECEIVER's packets straight to LISTENER on the event loop instead of its track's queue.

    Returns False when the receiver was marked too late for inline delivery (its track then
    yields the packets as before). None detaches the listener.
    """
    inlet = getattr(receiver, _QUEUE_ATTR, None)
    if not isinstance(inlet, Inlet):
        return False
    inlet.listener = listener
    return True


def received_codec(receiver: RTCRtpReceiver) -> RTCRtpCodecParameters | None:
    """The codec of the last packet a marked receiver passed through (None before the first)."""
    with _lock:
        return _codecs.get(receiver)


_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
_THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"


class Inlet:
    """Stands in for a marked receiver's decoder queue (a queue.Queue) so that frames skip the thread hop.

    aiortc's receiver puts each complete frame, on the event loop, into its decoder queue; the
    decoder thread takes it, 'decodes' it and hands the result back to the loop with
    run_coroutine_threadsafe: two thread switches, a self-pipe wakeup and a task per frame.
    Here ``put`` wraps the frame as an av.Packet on the spot and passes it to the listener (the
    hub's Source) or, without one, to the track's queue. The decoder thread still starts and
    parks in ``get`` until the receiver stops, then ends the track as it always did.
    """

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self._receiver = weakref.ref(receiver)
        self._stopped = threading.Event()
        self._codec: RTCRtpCodecParameters | None = None
        self._decoder: PassthroughDecoder | None = None
        self.listener: Callable[[av.Packet[Stream]], None] | None = None

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            self._stopped.set()
            return
        codec, encoded_frame = item
        if codec is not self._codec:
            receiver = self._receiver()
            if receiver is None:
                return
            if codec.mimeType.lower() not in ("video/vp8", "video/h264", "audio/opus"):
                logger.error("no passthrough for %s: negotiate VP8/H.264 and Opus; frame dropped", codec.mimeType)
                return
            self._codec, self._decoder = codec, PassthroughDecoder(codec)
            with _lock:
                _codecs[receiver] = codec
        assert self._decoder is not None  # set with self._codec
        packet = self._decoder.wrap(encoded_frame)
        listener = self.listener
        if listener is None:
            receiver = self._receiver()
            if receiver is not None and receiver.track is not None:
                # the receiver's RemoteStreamTrack queue (private aiortc API, checked by check_hooks' version pin)
                receiver.track._queue.put_nowait(packet)  # type: ignore[attr-defined]
            return
        try:
            listener(packet)
        except Exception:
            # this runs inside aiortc's RTP receive path: an exception would end the connection
            logger.exception("passthrough listener %r failed", listener)

    def get(self, block: bool = True, timeout: float | None = None) -> None:
        """What the parked decoder thread waits in: returns None (stop) once the receiver stops."""
        self._stopped.wait()
        return None


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
        self._is_keyframe: Callable[[bytes], bool] = _KEYFRAME_TESTS.get(codec.mimeType.lower(), lambda data: True)

    def wrap(self, encoded_frame: JitterFrame) -> av.Packet[Stream]:
        """ENCODED_FRAME (already mapped to a 0-based RTP timestamp) as an av.Packet."""
        data = encoded_frame.data
        packet = av.Packet(data)
        packet.pts = packet.dts = encoded_frame.timestamp
        packet.time_base = self._time_base
        packet.is_keyframe = self._is_keyframe(data)
        return packet

    def decode(self, encoded_frame: JitterFrame) -> list[av.Packet[Stream]]:
        """Wrap ENCODED_FRAME (already mapped to a 0-based RTP timestamp) in an av.Packet."""
        return [self.wrap(encoded_frame)]


def _get_decoder(codec: RTCRtpCodecParameters) -> Decoder | PassthroughDecoder:
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
        # aiortc's decoder thread only calls decode(): a PassthroughDecoder stands in for a Decoder there
        rtcrtpreceiver.get_decoder = _get_decoder  # type: ignore[assignment]


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
    sender._send_keyframe = request  # type: ignore[method-assign]


_ESTIMATOR_ATTR = "_RTCRtpReceiver__remote_bitrate_estimator"


def stop_remb(receivers: Iterable[RTCRtpReceiver]) -> None:
    """Stop RECEIVERS sending REMB: the browser's own loss-based estimate then sets how much it sends.

    aiortc gives each video receiver a delay-based estimator of its own and sends REMB from it; a
    browser reads every REMB as the bandwidth of the whole connection. Measured with Chromium 156
    sending a camera (320x240) and a shared screen (1366x768): once the screen started, the
    available outgoing bitrate fell from 300 to 60 kbit/s and stayed there (one estimator shared
    by both receivers did the same): 30 kbit/s per track, the screen at 1-2 frames/s. Without
    REMB it grew from 300 to 770 kbit/s within 12 s, the screen at 9-21 frames/s, the camera at 30.
    """
    for receiver in receivers:
        if getattr(receiver, _ESTIMATOR_ATTR, None) is not None:
            setattr(receiver, _ESTIMATOR_ATTR, None)


_pending: set[asyncio.Task[bool]] = set()


def request_keyframe_soon(receiver: RTCRtpReceiver) -> None:
    """Schedule a PLI to RECEIVER's publisher from synchronous code (an RTCP handler)."""
    task = asyncio.get_running_loop().create_task(send_pli(receiver))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
