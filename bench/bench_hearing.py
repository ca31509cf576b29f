"""Server CPU of a recorded 8-party hearing with a 10-viewer gallery, against a recorded 2-party call.

The hub and recorder run in bench.bench_recording's child process (mode ``record``), so their CPU is
measured apart from the client peers. Publishers send the pre-encoded 640x480@30 VP8 clip plus Opus;
gallery viewers only receive. Figures: CPU-seconds per participant-second, and per forwarded
stream-second (one publisher's audio+video to one receiver), which the passthrough path should keep
within 1.5x of the 2-party figure.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from bench.bench_media import ClipTrack, encode_clip
from recordings import ice

LOOPBACK = ["127.0.0.1"]
SETTLE_SECONDS = 5.0
MEASURE_SECONDS = 15.0
# The chair, the recorder, three panel members, the handler, the township room and an agent.
HEARING_PUBLISHERS = 8
GALLERY_VIEWERS = 10


async def run(publishers: int, viewers: int, clip) -> dict:
    """A recording hub with PUBLISHERS sending peers and VIEWERS receive-only peers; its CPU over the window."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_recording", "--server", "record",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
    )
    peers: dict[str, RTCPeerConnection] = {}
    answers: dict[str, asyncio.Future] = {}
    replies: asyncio.Queue = asyncio.Queue()

    def send(message: dict) -> None:
        process.stdin.write((json.dumps(message) + "\n").encode())

    async def answer_offer(pid: str, sdp: str) -> None:
        pc = peers[pid]
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except InvalidStateError:
            return  # an offer that crossed the end of the run
        send({"op": "answer", "id": pid, "sdp": pc.localDescription.sdp})

    async def read() -> None:
        while line := await process.stdout.readline():
            message = json.loads(line)
            if message["op"] == "answer":
                answers[message["id"]].set_result(message["sdp"])
            elif message["op"] == "offer":
                asyncio.get_running_loop().create_task(answer_offer(message["id"], message["sdp"]))
            else:
                await replies.put(message)

    reading = asyncio.get_running_loop().create_task(read())
    try:
        with ice.host_addresses(LOOPBACK):
            for index in range(publishers + viewers):
                pid = f"p{index}"
                pc = peers[pid] = RTCPeerConnection(ice.rtc_configuration([]))
                if index < publishers:
                    pc.addTrack(ClipTrack("audio", clip[1]))
                    pc.addTrack(ClipTrack("video", clip[0]))
                else:  # a gallery viewer: receives what the hub forwards, sends nothing
                    pc.addTransceiver("audio", direction="recvonly")
                    pc.addTransceiver("video", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                answers[pid] = asyncio.get_running_loop().create_future()
                send({"op": "join", "id": pid, "sdp": pc.localDescription.sdp})
                await pc.setRemoteDescription(RTCSessionDescription(sdp=await answers[pid], type="answer"))
        await asyncio.sleep(SETTLE_SECONDS)
        send({"op": "cpu"})
        first, received_before = await replies.get(), await _video_packets(peers)
        await asyncio.sleep(MEASURE_SECONDS)
        send({"op": "cpu"})
        last, received_after = await replies.get(), await _video_packets(peers)
        send({"op": "quit"})
        await asyncio.wait_for(process.wait(), 30)
    finally:
        reading.cancel()
        for pc in peers.values():
            await pc.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    seconds = last["at"] - first["at"]
    cpu = (last["cpu"] - first["cpu"]) / seconds
    # Each publisher goes to every other publisher and to every viewer.
    streams = publishers * (publishers - 1 + viewers)
    return {"cpu": cpu, "per_participant": cpu / (publishers + viewers), "per_stream": cpu / streams,
            # Video packets each forwarded stream delivered per second: a starved hub or client shows here.
            "delivered_pps": (received_after - received_before) / seconds / streams,
            "bytes_per_minute": (last["bytes"] - first["bytes"]) / seconds * 60}


RECEIVED = {"audio": 0, "video": 0}


async def _count_only(receiver: RTCRtpReceiver, packet, arrival_time_ms: int) -> None:
    # The clients are the load generator, not what is measured: 18 aiortc peers decoding 136 streams in
    # one Python process would starve long before the hub does, so they count what arrives and stop there.
    RECEIVED[getattr(receiver, "_RTCRtpReceiver__kind", "video")] += 1


RTCRtpReceiver._handle_rtp_packet = _count_only  # type: ignore[method-assign]


async def _video_packets(peers: dict[str, RTCPeerConnection]) -> int:  # noqa: ARG001 (one counter for all)
    """Video RTP packets every peer has received so far."""
    return RECEIVED["video"]


async def measure() -> None:
    clip = encode_clip()
    two = await run(2, 0, clip)
    hearing = await run(HEARING_PUBLISHERS, GALLERY_VIEWERS, clip)
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


def main() -> None:
    """Print the hearing figures."""
    asyncio.run(measure())


if __name__ == "__main__":
    main()
