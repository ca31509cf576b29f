"""The packet forwarder's Python cost per packet, apart from the kernel: one video stream to one viewer, recorded.

Issue 18's server-CPU windows (bench_janus, bench_media) spread about 10 % between runs, and on loopback
half of the server's event loop is the kernel delivering each sent datagram to the client and waking it.
This case times only what runs in Python for each packet, in one process with nothing else: a
publisher's SRTP datagram taken by the transport's Tap, unprotected, routed and counted, rewritten
for the viewer, kept for NACKs, protected, handed to a send function that only counts it, and, when
recorded, fed to the frame assembler (the recorder's sink counts the frames). The aiortc objects are
real (a DTLS transport never connected, whose SRTP sessions are set as its handshake would set
them); the packets are a 640x480@30-like VP8 stream cut in 1.1-kB packets, four per frame, a key
frame every 2 s, with abs-send-time and transport-cc header extensions as Chromium sends them.

Lines: ``media_packet_path_us_per_packet`` (recorded) and ``…_unrecorded``, the best of ROUNDS.
Run alone: ``python -m bench.bench_packet_path``.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
from types import SimpleNamespace

import pylibsrtp
from aiortc import (
    RTCCertificate,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, RTCRtpSendParameters

from recordings.forwarding import Outlet, Source
from recordings.rtp.forwarder import PacketForwarder
from recordings.rtp.rewrite import pack_extensions

PACKETS = 60_000  # from sequence number 1,000: one run stays below the 16-bit wrap
WARM_UP = 2_000
ROUNDS = 3
PUBLISHER_SSRC = 0x1111
GCM = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
EXTENSIONS = [RTCRtpHeaderExtensionParameters(id=1, uri=MID),
              RTCRtpHeaderExtensionParameters(id=2, uri=ABS_SEND_TIME),
              RTCRtpHeaderExtensionParameters(id=3, uri=TRANSPORT_CC)]
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


def srtp(direction: int, key: bytes) -> pylibsrtp.Session:
    return pylibsrtp.Session(policy=pylibsrtp.Policy(key=key, ssrc_type=direction, srtp_profile=GCM))


def publisher_packets(key: bytes) -> list[bytes]:
    """The publisher's SRTP datagrams: four 1.1-kB packets per frame, a key frame every 60 frames."""
    session = srtp(pylibsrtp.Policy.SSRC_ANY_OUTBOUND, key)
    packets = []
    for i in range(PACKETS):
        frame, part = divmod(i, 4)
        start = part == 0
        descriptor = bytes((0x10 if start else 0x00, 0x00 if start and frame % 60 == 0 else 0x01))
        extensions = pack_extensions([(2, struct.pack("!I", i)[1:]), (3, struct.pack("!H", i & 0xFFFF))])
        header = struct.pack("!BBHII", 0x90, (0x80 if part == 3 else 0) | 96, (1000 + i) & 0xFFFF,
                             5000 + 3000 * frame, PUBLISHER_SSRC)
        packets.append(session.protect(header + extensions + descriptor + b"\x55" * 1098))
    return packets


async def time_path(recorded: bool) -> float:
    """Microseconds of CPU per packet through the forwarder (the warm-up excluded)."""
    key = os.urandom(28)
    packets = publisher_packets(key)
    ice = RTCIceTransport(RTCIceGatherer())
    dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
    forwarder = PacketForwarder()
    receiver = RTCRtpReceiver("video", dtls)
    source = Source("1", "video", receiver, codec="video/VP8")
    sender = RTCRtpSender("video", dtls)
    published = RTCRtpTransceiver("video", receiver, RTCRtpSender("video", dtls), direction="recvonly")
    published._codecs, published._headerExtensions = [VP8], EXTENSIONS  # as setRemoteDescription leaves them
    published._set_mid("0")
    forwarder.add_source(source, published)
    outlet = Outlet(source, "viewer-video")
    forwarder._started(sender, outlet, RTCRtpSendParameters(codecs=[VP8], headerExtensions=EXTENSIONS, muxId="1"))
    sent = [0]
    frames = [0]

    def send(data: bytes, address: tuple[str, int]) -> None:
        sent[0] += 1

    def sink(*frame: object) -> None:
        frames[0] += 1

    if recorded:
        forwarder.add_data_sink(sink)
    connection = ice._connection
    # the selected pair, as far as the Tap reads it: where to, and the send function (a counter here)
    connection._nominated[1] = SimpleNamespace(  # type: ignore[assignment]
        remote_addr=("127.0.0.1", 9), protocol=SimpleNamespace(transport=SimpleNamespace(sendto=send)))
    # what the DTLS handshake leaves: the SRTP sessions, then the connected state the Tap waits for
    dtls._rx_srtp = srtp(pylibsrtp.Policy.SSRC_ANY_INBOUND, key)
    dtls._tx_srtp = srtp(pylibsrtp.Policy.SSRC_ANY_OUTBOUND, os.urandom(28))
    dtls._set_state(State.CONNECTED)
    tap = forwarder.in_stream(source).peer.tap  # type: ignore[union-attr]
    assert tap.ready, "the Tap did not take the transport"
    for packet in packets[:WARM_UP]:
        tap._datagram(packet)
    started = time.process_time()
    for packet in packets[WARM_UP:]:
        tap._datagram(packet)
    elapsed = time.process_time() - started
    if sent[0] != PACKETS or tap.unprotect_failures or (recorded and frames[0] != PACKETS // 4):
        raise RuntimeError(f"sent {sent[0]} of {PACKETS}, {tap.unprotect_failures} failed, {frames[0]} frames")
    await forwarder.close()
    return elapsed / (PACKETS - WARM_UP) * 1e6


async def measure() -> None:
    for recorded, name in ((True, ""), (False, "_unrecorded")):
        best = min([await time_path(recorded) for _ in range(ROUNDS)])
        print(f"bench: media_packet_path_us_per_packet{name} {best:.2f} us", flush=True)


def main() -> None:
    """Print the lines."""
    asyncio.run(measure())


if __name__ == "__main__":
    main()
