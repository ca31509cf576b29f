"""Server CPU that recording adds on top of encoded forwarding, and bytes written per minute.

The hub runs in a child process (``python -m bench.bench_recording --server MODE``, MODE
``forward`` or ``record``) answering JSON lines, so its CPU (getrusage, all threads) is
measured apart from the client peers, which send a pre-encoded 640x480@30 VP8 clip plus
Opus (bench.bench_media's clip). The recorder's own threads are also measured directly.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError

from bench.bench_media import ClipTrack, encode_clip
from recordings import ice
from recordings.recorder import Recorder
from recordings.sfu import MediaHub
from recordings.storage import LocalStorage

LOOPBACK = ["127.0.0.1"]
PARTICIPANTS = 2
SETTLE_SECONDS = 3.0
MEASURE_SECONDS = 12.0


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _recorder_threads_cpu() -> float:
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith("vreception-recorder") or thread.name.startswith("vreception-recording-upload"):
            try:
                total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, TypeError):
                pass
    return total


def _bytes_under(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


async def serve(mode: str) -> None:
    """The hub (and in mode record, the recorder) driven by JSON lines on stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def send(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    hub = MediaHub(host_addresses=LOOPBACK, on_offer=lambda pid, sdp: send({"op": "offer", "id": pid, "sdp": sdp}))
    workdir = tempfile.TemporaryDirectory(prefix="bench-recording-")
    recorder = None
    if mode == "record":
        recorder = Recorder(hub, storage=LocalStorage(Path(workdir.name)), prefix="bench", segment_seconds=60)
        recorder.start()
    while line := await reader.readline():
        message = json.loads(line)
        if message["op"] == "join":
            answer = await hub.add_participant(message["id"], message["sdp"])
            send({"op": "answer", "id": message["id"], "sdp": answer})
        elif message["op"] == "answer":
            await hub.accept_answer(message["id"], message["sdp"])
        elif message["op"] == "cpu":
            send({"op": "cpu", "cpu": _process_cpu(), "recorder_cpu": _recorder_threads_cpu(),
                  "bytes": _bytes_under(Path(workdir.name)), "at": time.monotonic()})
        elif message["op"] == "quit":
            break
    if recorder is not None:
        await recorder.stop()
    await hub.close()
    workdir.cleanup()


async def drive(mode: str, clip, *, publishers: int, viewers: int = 0, settle: float = SETTLE_SECONDS,
                window: float = MEASURE_SECONDS, received: Callable[[], int] = lambda: 0) -> tuple[dict, dict]:
    """Start a server in MODE, connect PUBLISHERS peers sending the clip and VIEWERS receive-only peers, let them
    settle, and return the server's readings at the start and the end of WINDOW seconds (each with "received":
    what RECEIVED() counted on the clients' side at that moment)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_recording", "--server", mode,
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

    async def reading_now() -> dict:
        send({"op": "cpu"})
        return {**await replies.get(), "received": received()}

    reading = asyncio.get_running_loop().create_task(read())
    try:
        with ice.host_addresses(LOOPBACK):
            for index in range(publishers + viewers):
                pid = f"p{index}"
                pc = peers[pid] = RTCPeerConnection(ice.rtc_configuration([]))
                if index < publishers:
                    pc.addTrack(ClipTrack("audio", clip[1]))
                    pc.addTrack(ClipTrack("video", clip[0]))
                else:  # a viewer (a hearing's gallery): receives what the hub forwards, sends nothing
                    pc.addTransceiver("audio", direction="recvonly")
                    pc.addTransceiver("video", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                answers[pid] = asyncio.get_running_loop().create_future()
                send({"op": "join", "id": pid, "sdp": pc.localDescription.sdp})
                await pc.setRemoteDescription(RTCSessionDescription(sdp=await answers[pid], type="answer"))
        await asyncio.sleep(settle)
        first = await reading_now()
        await asyncio.sleep(window)
        last = await reading_now()
        send({"op": "quit"})
        await asyncio.wait_for(process.wait(), 30)
    finally:
        reading.cancel()
        for pc in peers.values():
            await pc.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    return first, last


async def run(mode: str, clip) -> dict:
    """Start a server in MODE, connect the peers, and measure it over MEASURE_SECONDS."""
    first, last = await drive(mode, clip, publishers=PARTICIPANTS)
    seconds = last["at"] - first["at"]
    return {
        "cpu": (last["cpu"] - first["cpu"]) / seconds / PARTICIPANTS,
        "recorder_cpu": (last["recorder_cpu"] - first["recorder_cpu"]) / seconds / PARTICIPANTS,
        "bytes_per_minute": (last["bytes"] - first["bytes"]) / seconds * 60 / PARTICIPANTS,
    }


async def measure() -> None:
    clip = encode_clip()
    forward = await run("forward", clip)
    record = await run("record", clip)
    print(f"bench: recording_cpu_per_participant_s {record['cpu'] - forward['cpu']:.4f} cpu-s/s", flush=True)
    print(f"bench: recording_thread_cpu_per_participant_s {record['recorder_cpu']:.4f} cpu-s/s", flush=True)
    print(f"bench: forwarding_cpu_per_participant_s {forward['cpu']:.4f} cpu-s/s", flush=True)
    print(f"bench: recording_bytes_per_participant_minute {record['bytes_per_minute'] / 1e6:.2f} MB", flush=True)


def main() -> None:
    """Print the recording figures."""
    asyncio.run(measure())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--server":
        asyncio.run(serve(sys.argv[2]))
    else:
        main()
