"""Server CPU of a recorded 8-party hearing with a 10-viewer gallery, against a recorded 2-party call.

The hub and recorder run in bench.bench_recording's child process (mode ``record``, driven by its
``drive``), so their CPU is measured apart from the client peers. Publishers send the pre-encoded
640x480@30 VP8 clip plus Opus; gallery viewers only receive. Figures: CPU-seconds per participant-second, and per forwarded
stream-second (one publisher's audio+video to one receiver), which the packet path should keep
within 1.5x of the 2-party figure.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiortc.rtcrtpreceiver import RTCRtpReceiver

from bench.bench_media import encode_clip
from bench.bench_recording import drive

SETTLE_SECONDS = 5.0
MEASURE_SECONDS = 15.0
# The chair, the recorder, three panel members, the handler, the township room and an agent.
HEARING_PUBLISHERS = 8
GALLERY_VIEWERS = 10


async def run(publishers: int, viewers: int, clip, settle: float = SETTLE_SECONDS,
              window: float = MEASURE_SECONDS) -> dict:
    """A recording hub with PUBLISHERS sending peers and VIEWERS receive-only peers; its CPU over WINDOW seconds."""
    first, last = await drive("record", clip, publishers=publishers, viewers=viewers, settle=settle, window=window,
                              received=lambda: RECEIVED["video"])
    seconds = last["at"] - first["at"]
    cpu = (last["cpu"] - first["cpu"]) / seconds
    # Each publisher goes to every other publisher and to every viewer.
    streams = publishers * (publishers - 1 + viewers)
    return {"cpu": cpu, "per_participant": cpu / (publishers + viewers), "per_stream": cpu / streams,
            # Video packets each forwarded stream delivered per second: a starved hub or client shows here.
            "delivered_pps": (last["received"] - first["received"]) / seconds / streams,
            "bytes_per_minute": (last["bytes"] - first["bytes"]) / seconds * 60}


RECEIVED = {"audio": 0, "video": 0}


async def _count_only(receiver: RTCRtpReceiver, packet, arrival_time_ms: int) -> None:
    # The clients are the load generator, not what is measured: 18 aiortc peers decoding 136 streams in
    # one Python process would starve long before the hub does, so they count what arrives and stop there.
    RECEIVED[getattr(receiver, "_RTCRtpReceiver__kind", "video")] += 1


@contextmanager
def counting_only() -> Iterator[None]:
    """While inside, every client receiver counts its RTP packets instead of decoding them (the other benchmarks
    `make bench` runs in this process decode theirs)."""
    handle = RTCRtpReceiver._handle_rtp_packet
    RTCRtpReceiver._handle_rtp_packet = _count_only  # type: ignore[method-assign]
    try:
        yield
    finally:
        RTCRtpReceiver._handle_rtp_packet = handle  # type: ignore[method-assign]


async def measure(settle: float = SETTLE_SECONDS, window: float = MEASURE_SECONDS) -> None:
    clip = encode_clip()
    with counting_only():
        two = await run(2, 0, clip, settle, window)
        hearing = await run(HEARING_PUBLISHERS, GALLERY_VIEWERS, clip, settle, window)
    print(f"bench: two_party_recorded_cpu_per_participant_s {two['per_participant']:.4f} cpu-s/s", flush=True)
    print(f"bench: two_party_recorded_cpu_per_stream_s {two['per_stream']:.4f} cpu-s/s", flush=True)
    print(f"bench: hearing_{HEARING_PUBLISHERS}p_{GALLERY_VIEWERS}g_server_cpu {hearing['cpu']:.3f} cores", flush=True)
    print(f"bench: hearing_cpu_per_participant_s {hearing['per_participant']:.4f} cpu-s/s", flush=True)
    print(f"bench: hearing_cpu_per_stream_s {hearing['per_stream']:.4f} cpu-s/s "
          f"({hearing['per_stream'] / two['per_stream']:.2f}x the 2-party figure; target <= 1.5x)", flush=True)
    # Per stream as delivered: a hub that fell behind must not look cheaper for forwarding less.
    delivered = hearing["per_stream"] * two["delivered_pps"] / max(hearing["delivered_pps"], 1e-9)
    print(f"bench: hearing_cpu_per_delivered_stream_s {delivered:.4f} cpu-s/s "
          f"({delivered / two['per_stream']:.2f}x the 2-party figure)", flush=True)
    print(f"bench: video_packets_per_stream_s two_party {two['delivered_pps']:.1f} hearing {hearing['delivered_pps']:.1f}"
          " (equal when every forwarded stream is delivered in full)", flush=True)
    print(f"bench: hearing_recording_mb_per_minute {hearing['bytes_per_minute'] / 1e6:.1f} MB", flush=True)


def main(settle: float = SETTLE_SECONDS, window: float = MEASURE_SECONDS) -> None:
    """Print the hearing figures."""
    asyncio.run(measure(settle, window))


if __name__ == "__main__":
    # `python -m bench.bench_hearing [--settle S] [--window S]`: shorter windows only to check that it runs.
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--settle", type=float, default=SETTLE_SECONDS, help="seconds before measuring")
    options.add_argument("--window", type=float, default=MEASURE_SECONDS, help="seconds measured")
    arguments = options.parse_args()
    main(arguments.settle, arguments.window)
