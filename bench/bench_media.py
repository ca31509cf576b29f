"""Server CPU of encoded passthrough forwarding against aiortc's stock decode/relay/re-encode path, and session capacity.

The server runs in a child process (``python -m bench.bench_media --server MODE``) speaking
JSON lines on stdin/stdout, so its CPU (getrusage of that process, all threads) is measured
apart from the client peers. The clients send a pre-encoded 640x480@30 VP8 clip with moving
content (~1 Mbit/s, a key frame every 2 s) plus Opus, and count what they receive without
decoding, so the client process stays cheap.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import os
import resource
import sys
import time
from dataclasses import dataclass, field

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recordings import ice, passthrough
from recordings.sfu import MediaHub

LOOPBACK = ["127.0.0.1"]
WIDTH, HEIGHT, FPS, BITRATE = 640, 480, 30, 1_000_000
MEASURE_SECONDS = 10.0
CAPACITY_STEPS = (2, 4, 6, 8, 10, 12, 16)
CAPACITY_SECONDS = 6.0
CAPACITY_BUDGET = 180.0  # seconds for the whole step search
VIDEO_TB, AUDIO_TB = fractions.Fraction(1, 90000), fractions.Fraction(1, 48000)


# ---- the clip ----------------------------------------------------------------------------


def encode_clip(seconds: int = 10) -> tuple[list[bytes], list[bytes]]:
    """VP8 frames of moving test content and 20 ms Opus frames of a tone, encoded once."""
    source = av.open(f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS},noise=alls=8:allf=t", format="lavfi")
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.bit_rate, encoder.time_base, encoder.framerate = BITRATE, fractions.Fraction(1, FPS), FPS
    encoder.gop_size = 2 * FPS  # pre-encoded media cannot answer a PLI: a regular key frame instead
    rate = str(BITRATE)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "minrate": rate,
                       "maxrate": rate, "bufsize": rate, "undershoot-pct": "100", "overshoot-pct": "15"}
    video: list[bytes] = []
    for index, frame in enumerate(source.decode(video=0)):
        if index >= seconds * FPS:
            break
        frame.pts = index
        frame.pict_type = av.video.frame.PictureType.NONE  # lavfi marks every frame as I
        video += [bytes(p) for p in encoder.encode(frame)]
    video += [bytes(p) for p in encoder.encode(None)]
    source.close()

    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.format, opus.layout, opus.bit_rate = 48000, "s16", "stereo", 48000
    audio: list[bytes] = []
    samples = 960
    for index in range(seconds * 50):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        pcm = bytearray()
        for i in range(samples):
            value = int(3000 * math.sin(2 * math.pi * 440 * (index * samples + i) / 48000)).to_bytes(2, "little", signed=True)
            pcm += value + value
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate, frame.pts, frame.time_base = 48000, index * samples, AUDIO_TB
        audio += [bytes(p) for p in opus.encode(frame)]
    return video, audio


class ClipTrack(MediaStreamTrack):
    """Sends pre-encoded packets in real time, looping; can pause so that counts settle."""

    def __init__(self, kind: str, packets: list[bytes]) -> None:
        super().__init__()
        self.kind = kind
        self._packets = packets
        self._step, self._tb = (90000 // FPS, VIDEO_TB) if kind == "video" else (960, AUDIO_TB)
        self._interval = 1 / FPS if kind == "video" else 0.02
        self._index = 0
        self._next = time.monotonic()
        self.sent = 0
        self.paused = asyncio.Event()

    async def recv(self) -> av.Packet:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            self._next += self._interval
            await asyncio.sleep(max(0.0, self._next - time.monotonic()))
            if self.paused.is_set():
                # restart the clip on resume: it begins with a key frame
                self._index -= self._index % len(self._packets)
                continue
            data = self._packets[self._index % len(self._packets)]
            packet = av.Packet(data)
            packet.pts, packet.time_base = self._index * self._step, self._tb
            self._index += 1
            self.sent += 1
            return packet


# ---- the server process ------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve(mode: str) -> None:
    """Answer the client process's JSON-line requests with a passthrough hub or the stock relay."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def send(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    hubs: dict[str, MediaHub] = {}
    stock_pcs: list[RTCPeerConnection] = []
    waiting: dict[str, tuple[str, str]] = {}
    relay = MediaRelay()

    def hub_for(session: str) -> MediaHub:
        if session not in hubs:
            hubs[session] = MediaHub(
                host_addresses=LOOPBACK,
                on_offer=lambda pid, sdp: send({"op": "offer", "session": session, "id": pid, "sdp": sdp}),
            )
        return hubs[session]

    async def stock_pair(session: str, first: tuple[str, str], second: tuple[str, str]) -> None:
        pcs, tracks = {}, {}
        for pid, sdp in (first, second):
            pc = RTCPeerConnection(ice.rtc_configuration([]))
            stock_pcs.append(pc)
            pcs[pid], tracks[pid] = pc, []
            pc.on("track", tracks[pid].append)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        (a, _), (b, _) = first, second
        for viewer, publisher in ((a, b), (b, a)):
            for track in tracks[publisher]:
                pcs[viewer].addTrack(relay.subscribe(track))
        for pid in (a, b):
            await pcs[pid].setLocalDescription(await pcs[pid].createAnswer())
            send({"op": "answer", "session": session, "id": pid, "sdp": pcs[pid].localDescription.sdp})

    async def handle(message: dict) -> None:
        op = message["op"]
        if op == "join" and mode == "passthrough":
            answer = await hub_for(message["session"]).add_participant(message["id"], message["sdp"])
            send({"op": "answer", "session": message["session"], "id": message["id"], "sdp": answer})
        elif op == "join":
            session = message["session"]
            if session in waiting:
                await stock_pair(session, waiting.pop(session), (message["id"], message["sdp"]))
            else:
                waiting[session] = (message["id"], message["sdp"])
        elif op == "answer":
            await hubs[message["session"]].accept_answer(message["id"], message["sdp"])
        elif op == "cpu":
            send({"op": "cpu", "cpu": cpu_seconds()})

    with ice.host_addresses(LOOPBACK):  # the stock peers gather inside this context too
        tasks = set()
        while line := await reader.readline():
            message = json.loads(line)
            if message["op"] == "quit":
                break
            task = asyncio.create_task(handle(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    for hub in hubs.values():
        await hub.close()
    for pc in stock_pcs:
        await pc.close()


# ---- the client process ------------------------------------------------------------------


@dataclass(eq=False)
class Peer:
    """One client peer: sends the clip, counts received video frames without decoding."""

    session: str
    name: str
    video: list[bytes]
    audio: list[bytes]
    pc: RTCPeerConnection = field(init=False)
    tracks: list[ClipTrack] = field(init=False)
    received: int = 0
    consumers: list[asyncio.Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pc = RTCPeerConnection(ice.rtc_configuration([]))
        self.tracks = [ClipTrack("audio", self.audio), ClipTrack("video", self.video)]
        for track in self.tracks:
            self.pc.addTrack(track)
        for transceiver in self.pc.getTransceivers():
            passthrough.mark_receiver(transceiver.receiver)
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        for transceiver in self.pc.getTransceivers():
            passthrough.mark_receiver(transceiver.receiver)
        self.consumers.append(asyncio.get_running_loop().create_task(self._count(track)))

    async def _count(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                if track.kind == "video":
                    self.received += 1
        except MediaStreamError:
            pass

    @property
    def video_sent(self) -> int:
        return self.tracks[1].sent

    def pause(self, paused: bool) -> None:
        for track in self.tracks:
            track.paused.set() if paused else track.paused.clear()

    async def close(self) -> None:
        await self.pc.close()
        for task in self.consumers:
            task.cancel()
        await asyncio.gather(*self.consumers, return_exceptions=True)


class Server:
    """The server child process and its JSON-line conversation."""

    def __init__(self, process: asyncio.subprocess.Process, peers: dict[tuple[str, str], Peer]) -> None:
        self.process = process
        self.peers = peers
        self.answers: dict[tuple[str, str], asyncio.Future] = {}
        self.cpu: asyncio.Future | None = None
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, mode: str, peers: dict) -> Server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bench_media", "--server", mode,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24,
        )
        return cls(process, peers)

    def send(self, message: dict) -> None:
        self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            key = (message.get("session"), message.get("id"))
            if message["op"] == "answer":
                self.answers[key].set_result(message["sdp"])
            elif message["op"] == "offer":
                asyncio.create_task(self._answer_offer(key, message["sdp"]))
            elif message["op"] == "cpu":
                self.cpu.set_result(message["cpu"])

    async def _answer_offer(self, key: tuple[str, str], sdp: str) -> None:
        pc = self.peers[key].pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self.send({"op": "answer", "session": key[0], "id": key[1], "sdp": pc.localDescription.sdp})

    async def join(self, peer: Peer) -> None:
        key = (peer.session, peer.name)
        self.answers[key] = asyncio.get_running_loop().create_future()
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        self.send({"op": "join", "session": peer.session, "id": peer.name, "sdp": peer.pc.localDescription.sdp})
        answer = await self.answers[key]
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def cpu_seconds(self) -> float:
        self.cpu = asyncio.get_running_loop().create_future()
        self.send({"op": "cpu"})
        return await self.cpu

    async def stop(self) -> None:
        self.send({"op": "quit"})
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reader.cancel()


@dataclass
class Run:
    """What one measured window gave."""

    cpu_per_media_second_per_participant: float
    loss: float
    participants: int
    bitrate_kbps: float


async def run(mode: str, sessions: int, seconds: float, clip: tuple[list[bytes], list[bytes]]) -> Run:
    """Run SESSIONS two-party calls through a MODE server; measure its CPU over SECONDS of media."""
    peers: dict[tuple[str, str], Peer] = {}
    for s in range(sessions):
        for name in ("a", "b"):
            peers[(f"s{s}", name)] = Peer(f"s{s}", name, *clip)
    with ice.host_addresses(LOOPBACK):
        server = await Server.start(mode, peers)
    try:
        with ice.host_addresses(LOOPBACK):
            await asyncio.wait_for(asyncio.gather(*(server.join(p) for p in peers.values())), 60)
            ready = time.monotonic() + 30
            while not all(p.received > FPS for p in peers.values()):
                if time.monotonic() > ready:
                    raise RuntimeError(f"{mode}: media did not flow in 30 s ({[p.received for p in peers.values()]})")
                await asyncio.sleep(0.2)

            async def settle() -> tuple[dict, dict]:
                for p in peers.values():
                    p.pause(True)
                await asyncio.sleep(1.0)  # let what is in flight arrive
                return {k: p.video_sent for k, p in peers.items()}, {k: p.received for k, p in peers.items()}

            sent0, got0 = await settle()
            for p in peers.values():
                p.pause(False)
            cpu0, t0 = await server.cpu_seconds(), time.monotonic()
            await asyncio.sleep(seconds)
            cpu1, t1 = await server.cpu_seconds(), time.monotonic()
            sent1, got1 = await settle()
    finally:
        for p in peers.values():
            await p.close()
        await server.stop()

    partner = {(s, n): (s, "b" if n == "a" else "a") for (s, n) in peers}
    sent = sum(sent1[partner[k]] - sent0[partner[k]] for k in peers)
    got = sum(got1[k] - got0[k] for k in peers)
    video_bytes = sum(len(frame) for frame in clip[0])
    return Run(
        cpu_per_media_second_per_participant=(cpu1 - cpu0) / (t1 - t0) / len(peers),
        loss=max(0.0, 1 - got / sent) if sent else 1.0,
        participants=len(peers),
        bitrate_kbps=video_bytes * 8 / (len(clip[0]) / FPS) / 1000,
    )


async def measure() -> None:
    clip = await asyncio.get_running_loop().run_in_executor(None, encode_clip)
    passthrough.install()  # for the client peers' counting receivers
    fast = await run("passthrough", 1, MEASURE_SECONDS, clip)
    stock = await run("stock", 1, MEASURE_SECONDS, clip)
    print(f"bench: media_clip_video_bitrate {fast.bitrate_kbps:.0f} kbit/s", flush=True)
    print(f"bench: media_passthrough_cpu_per_media_s_per_participant {fast.cpu_per_media_second_per_participant:.4f} cpu-s/s", flush=True)
    print(f"bench: media_stock_relay_cpu_per_media_s_per_participant {stock.cpu_per_media_second_per_participant:.4f} cpu-s/s", flush=True)
    print(f"bench: media_stock_over_passthrough_cpu_ratio {stock.cpu_per_media_second_per_participant / fast.cpu_per_media_second_per_participant:.1f} x", flush=True)
    print(f"bench: media_passthrough_video_loss_1_session {100 * fast.loss:.2f} %", flush=True)
    print(f"bench: media_stock_video_loss_1_session {100 * stock.loss:.2f} %", flush=True)

    # coarse capacity search; the client peers share this machine, so this is a lower bound
    held, started = 0, time.monotonic()
    for sessions in CAPACITY_STEPS:
        if time.monotonic() - started > CAPACITY_BUDGET:
            break
        result = await run("passthrough", sessions, CAPACITY_SECONDS, clip)
        server_cores = result.cpu_per_media_second_per_participant * result.participants
        print(f"# {sessions} sessions: loss {100 * result.loss:.2f} %, server {server_cores:.2f} cores", flush=True)
        if result.loss >= 0.01:
            break
        held = sessions
    print(f"bench: media_passthrough_sessions_under_1pct_loss {held} sessions", flush=True)


def main() -> None:
    """Print the media figures as `bench: NAME VALUE UNIT` lines."""
    asyncio.run(measure())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--server"]:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        asyncio.run(serve(sys.argv[2]))
    else:
        main()
