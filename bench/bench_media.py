"""Server CPU of encoded passthrough forwarding against aiortc's stock decode/relay/re-encode path, and session capacity.

The server runs in a child process (``python -m bench.bench_media --server MODE``) speaking
JSON lines on stdin/stdout, so its CPU (getrusage of that process, all threads) is measured
apart from the client peers. The clients send a pre-encoded 640x480@30 VP8 clip with moving
content (~1 Mbit/s, a key frame every 2 s) plus Opus, and count what they receive without
decoding, so the client process stays cheap. Every figure is taken over a window that starts
after media flows plus WARM_UP_SECONDS, and is per participant (one audio + one video stream
published, the partner's received and forwarded back out).

- passthrough / stock: one session each, MEASURE_ROUNDS alternating windows, mean reported.
  Stock is aiortc's own relay: receivers decode, MediaRelay fans out, each sender re-encodes.
- floor: aiortc's RTP/SRTP/ICE receive + send of the same media with no forwarding, which no
  forwarding built on aiortc can undercut; stock/floor bounds the achievable ratio.
- capacity: recorded sessions on the default path (CAPACITY_MODE: the packet forwarder, the
  call's Recorder writing WebM segments as recordings/live.py starts it, the server on uvloop as
  the media worker runs), the largest count with < 1 % video frames lost, with the server's cores at that count; the clients are
  bench_janus's worker processes.

A server MODE is ``+``-separated words: the path (``passthrough`` = frames, ``packets``, ``stock``,
``floor``), then ``record`` and ``uvloop`` (the server child's event loop; asyncio's otherwise).
"""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import os
import pickle
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recordings import ice, passthrough
from recordings.recorder import HELD_FRAMES, NO_HOLD, Recorder
from recordings.sfu import MediaHub
from recordings.storage import LocalStorage

if TYPE_CHECKING:
    from bench.bench_janus import Window

LOOPBACK = ["127.0.0.1"]
WIDTH, HEIGHT, FPS, BITRATE = 640, 480, 30, 1_000_000
MEASURE_SECONDS = 8.0
MEASURE_ROUNDS = 2  # passthrough and stock windows each, alternating
WARM_UP_SECONDS = 1.0
CAPACITY_MODE = "packets+record+uvloop"  # the target: recorded sessions on the default path, as the media worker runs
CAPACITY_STEPS = (6, 12, 20, 28, 36, 44)
CAPACITY_SECONDS = 6.0
CAPACITY_BUDGET = 180.0  # seconds for the whole step search (no new step starts after it)
MAX_LOSS = 0.01
# other jobs share this machine: a step is lost only when it loses twice (both tries are printed)
CAPACITY_TRIES = 2
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
    """Sends pre-encoded packets in real time, looping; can pause so that counts settle.

    Timestamps follow the clock (they keep advancing through a pause, as a camera's would) and
    never go back; after a pause the clip resumes at its start, which is a key frame.
    """

    def __init__(self, kind: str, packets: list[bytes]) -> None:
        super().__init__()
        self.kind = kind
        self._packets = packets
        self._step, self._tb = (90000 // FPS, VIDEO_TB) if kind == "video" else (960, AUDIO_TB)
        self._interval = 1 / FPS if kind == "video" else 0.02
        self._index = 0  # position in the clip
        self._tick = 0  # media clock, in packets
        self._next = time.monotonic()
        self.sent = 0
        self.paused = asyncio.Event()

    async def recv(self) -> av.Packet:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            self._next += self._interval
            await asyncio.sleep(max(0.0, self._next - time.monotonic()))
            self._tick += 1
            if self.paused.is_set():
                self._index = 0
                continue
            packet = av.Packet(self._packets[self._index % len(self._packets)])
            packet.pts, packet.time_base = self._tick * self._step, self._tb
            self._index += 1
            self.sent += 1
            return packet


# ---- the server process ------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def runnable_wait_seconds() -> float:
    """How long this process's threads have waited, runnable, for a CPU (other load on the machine)."""
    total = 0
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/schedstat") as file:
                total += int(file.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return total / 1e9


def udp_receive_buffer_drops() -> int:
    """Datagrams the kernel dropped for full socket receive buffers (this network namespace)."""
    try:
        with open("/proc/net/snmp") as file:
            rows = [line.split() for line in file if line.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, IndexError, ValueError):
        return 0


async def serve(mode: str, clip_path: str | None = None) -> None:
    """Answer the client process's JSON-line requests with a passthrough hub, the stock relay or the floor.

    MODE: ``passthrough`` (the hub), ``passthrough+record`` (the hub plus the recording a call gets:
    recordings.recorder.Recorder, as recordings/live.py starts it, into a local temp dir), ``packets`` / ``packets+record`` (the same with the hub forwarding packets, issue 18), ``stock`` (decode, MediaRelay, each sender re-encodes), ``floor``
    (aiortc's own RTP/SRTP work with no forwarding: receive each participant's media
    encoded and drop it, send each one the same clip from a local track).
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def send(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    hubs: dict[str, MediaHub] = {}
    recorders: list[Recorder] = []
    recording_dir = tempfile.TemporaryDirectory(prefix="bench-media-") if "record" in mode.split("+") else None
    stock_pcs: list[RTCPeerConnection] = []
    waiting: dict[str, tuple[str, str]] = {}
    relay = MediaRelay()
    clip = None
    if clip_path is not None:
        with open(clip_path, "rb") as file:
            clip = pickle.load(file)

    def hub_for(session: str) -> MediaHub:
        if session not in hubs:
            hubs[session] = MediaHub(
                host_addresses=LOOPBACK,
                forwarding="packets" if mode.startswith("packets") else "frames",
                on_offer=lambda pid, sdp: send({"op": "offer", "session": session, "id": pid, "sdp": sdp}),
            )
            if recording_dir is not None:
                hub = hubs[session]
                # as recordings/live.py starts it: frames from the packet path come without aiortc's hold
                recorder = Recorder(hub, storage=LocalStorage(Path(recording_dir.name)), prefix=session,
                                    held_frames=NO_HOLD if hub.packet_forwarder is not None else HELD_FRAMES)
                recorder.start()
                recorders.append(recorder)
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

    async def floor_peer(session: str, pid: str, sdp: str) -> None:
        passthrough.install()
        pc = RTCPeerConnection(ice.rtc_configuration([]))
        stock_pcs.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            passthrough.mark_receiver(transceiver.receiver)
            passthrough.listen(transceiver.receiver, lambda packet: None)
        pc.addTrack(ClipTrack("audio", clip[1]))
        pc.addTrack(ClipTrack("video", clip[0]))
        await pc.setLocalDescription(await pc.createAnswer())
        send({"op": "answer", "session": session, "id": pid, "sdp": pc.localDescription.sdp})

    async def handle(message: dict) -> None:
        op = message["op"]
        if op == "join" and mode.startswith(("passthrough", "packets")):
            answer = await hub_for(message["session"]).add_participant(message["id"], message["sdp"])
            send({"op": "answer", "session": message["session"], "id": message["id"], "sdp": answer})
        elif op == "join" and mode == "floor":
            await floor_peer(message["session"], message["id"], message["sdp"])
        elif op == "join":
            session = message["session"]
            if session in waiting:
                await stock_pair(session, waiting.pop(session), (message["id"], message["sdp"]))
            else:
                waiting[session] = (message["id"], message["sdp"])
        elif op == "answer":
            await hubs[message["session"]].accept_answer(message["id"], message["sdp"])
        elif op == "cpu":
            send({"op": "cpu", "cpu": cpu_seconds(), "waited": runnable_wait_seconds(),
                  "recorded": sum(r.written for r in recorders)})

    with ice.host_addresses(LOOPBACK):  # the stock peers gather inside this context too
        tasks = set()
        while line := await reader.readline():
            message = json.loads(line)
            if message["op"] == "quit":
                break
            task = asyncio.create_task(handle(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    for recorder in recorders:
        await recorder.stop()
    for hub in hubs.values():
        await hub.close()
    for pc in stock_pcs:
        await pc.close()
    if recording_dir is not None:
        recording_dir.cleanup()


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
    received_audio: int = 0
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
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        # count on the event loop as frames complete: keeps the client process cheap
        if not passthrough.listen(receiver, self._count_video if track.kind == "video" else self._count_audio):
            self.consumers.append(asyncio.get_running_loop().create_task(self._count(track)))

    def _count_video(self, packet: av.Packet) -> None:
        self.received += 1

    def _count_audio(self, packet: av.Packet) -> None:
        self.received_audio += 1

    async def _count(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                if track.kind == "video":
                    self.received += 1
                else:
                    self.received_audio += 1
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
        self.offers: set[asyncio.Task] = set()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, mode: str, peers: dict, clip_path: str) -> Server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bench_media", "--server", mode, clip_path,
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
                task = asyncio.create_task(self._answer_offer(key, message["sdp"]))
                self.offers.add(task)
                task.add_done_callback(self.offers.discard)
            elif message["op"] == "cpu":
                self.cpu.set_result(message)

    async def _answer_offer(self, key: tuple[str, str], sdp: str) -> None:
        pc = self.peers[key].pc
        if pc.signalingState == "closed":
            return  # a renegotiation that crossed the end of the run
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
        return (await self.counters())["cpu"]

    async def counters(self) -> dict:
        """The server's CPU seconds so far and how many frames it recorded."""
        self.cpu = asyncio.get_running_loop().create_future()
        self.send({"op": "cpu"})
        return await self.cpu

    async def stop(self) -> None:
        self.send({"op": "quit"})
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reader.cancel()
        for task in tuple(self.offers):
            task.cancel()


@dataclass
class Run:
    """What one measured window gave."""

    cpu_per_media_second_per_participant: float
    loss: float
    participants: int
    bitrate_kbps: float
    recorded_frames: int = 0
    audio_loss: float = 0.0  # not part of the target (video frames), shown for information
    client_cores: float = 0.0  # the client peers' process, for telling which side saturated
    waited: float = 0.0  # seconds per second that server and client threads waited, runnable, for a CPU
    udp_drops: int = 0  # datagrams dropped by the kernel for full receive buffers during the window

    @property
    def server_cores(self) -> float:
        return self.cpu_per_media_second_per_participant * self.participants


async def run(mode: str, sessions: int, seconds: float, clip: tuple[list[bytes], list[bytes]], clip_path: str) -> Run:
    """Run SESSIONS two-party calls through a MODE server; measure its CPU over SECONDS of media."""
    peers: dict[tuple[str, str], Peer] = {}
    for s in range(sessions):
        for name in ("a", "b"):
            peers[(f"s{s}", name)] = Peer(f"s{s}", name, *clip)
    with ice.host_addresses(LOOPBACK):
        server = await Server.start(mode, peers, clip_path)
    try:
        with ice.host_addresses(LOOPBACK):
            await asyncio.wait_for(asyncio.gather(*(server.join(p) for p in peers.values())), 60)
            ready = time.monotonic() + 30
            while not all(p.received > FPS for p in peers.values()):
                if time.monotonic() > ready:
                    raise RuntimeError(f"{mode}: media did not flow in 30 s ({[p.received for p in peers.values()]})")
                await asyncio.sleep(0.2)
            await asyncio.sleep(WARM_UP_SECONDS)  # past connection set-up, key frame requests, bitrate ramp

            async def settle() -> tuple[dict, dict]:
                for p in peers.values():
                    p.pause(True)
                await asyncio.sleep(1.0)  # let what is in flight arrive
                return (
                    {k: (p.video_sent, p.tracks[0].sent) for k, p in peers.items()},
                    {k: (p.received, p.received_audio) for k, p in peers.items()},
                )

            sent0, got0 = await settle()
            for p in peers.values():
                p.pause(False)
            before, t0, client0, drops0 = await server.counters(), time.monotonic(), cpu_seconds(), udp_receive_buffer_drops()
            client_wait0 = runnable_wait_seconds()
            await asyncio.sleep(seconds)
            after, t1, client1, drops1 = await server.counters(), time.monotonic(), cpu_seconds(), udp_receive_buffer_drops()
            client_wait1 = runnable_wait_seconds()
            sent1, got1 = await settle()
    finally:
        for p in peers.values():
            await p.close()
        await server.stop()

    partner = {(s, n): (s, "b" if n == "a" else "a") for (s, n) in peers}
    sent = sum(sent1[partner[k]][0] - sent0[partner[k]][0] for k in peers)
    got = sum(got1[k][0] - got0[k][0] for k in peers)
    audio_sent = sum(sent1[partner[k]][1] - sent0[partner[k]][1] for k in peers)
    audio_got = sum(got1[k][1] - got0[k][1] for k in peers)
    video_bytes = sum(len(frame) for frame in clip[0])
    return Run(
        cpu_per_media_second_per_participant=(after["cpu"] - before["cpu"]) / (t1 - t0) / len(peers),
        loss=max(0.0, 1 - got / sent) if sent else 1.0,
        audio_loss=max(0.0, 1 - audio_got / audio_sent) if audio_sent else 1.0,
        participants=len(peers),
        bitrate_kbps=video_bytes * 8 / (len(clip[0]) / FPS) / 1000,
        recorded_frames=after["recorded"] - before["recorded"],
        client_cores=(client1 - client0) / (t1 - t0),
        waited=(after["waited"] - before["waited"] + client_wait1 - client_wait0) / (t1 - t0),
        udp_drops=drops1 - drops0,
    )


def _spread(values: list[float]) -> str:
    return " ".join(f"{v:.4f}" for v in values) + f" (spread {100 * (max(values) - min(values)) / min(values):.0f} %)"


async def capacity(clip_path: str) -> tuple[int, Window | None]:
    """The largest number of recorded two-party sessions held with < 1 % video loss.

    Climbs CAPACITY_STEPS until a step loses, then bisects between the last step held and the
    first lost, within CAPACITY_BUDGET. A lost step is tried again once: a burst of other load
    on the machine starves both processes (see "waited for a CPU" and "UDP drops"). The client peers share this machine (and, when they
    saturate its cores first, cap the count): read the result with the server's cores.
    """
    # The clients are bench_janus's worker processes (PEERS_PER_WORKER participants each): one client process, as
    # `run` has, fell behind first (at 12 sessions every UDP receive-buffer drop was on its sockets, none on the
    # server's) and capped the count at 6-9 sessions on 2 cores. bench_janus imports this module: not at the top.
    from bench.bench_janus import Case, run_vreception

    results: dict[int, Window] = {}
    started = time.monotonic()

    async def holds(sessions: int) -> bool:
        for attempt in range(CAPACITY_TRIES):
            if attempt and time.monotonic() - started > CAPACITY_BUDGET:
                return False
            if await attempt_holds(sessions):
                return True
        return False

    async def attempt_holds(sessions: int) -> bool:
        try:
            result = await run_vreception(Case(sessions, 2, record=True), clip_path, CAPACITY_SECONDS, CAPACITY_MODE)
        except (TimeoutError, RuntimeError, OSError) as exc:
            print(f"# {sessions} sessions: failed to start: {exc!r}"[:300], flush=True)
            return False
        results[sessions] = result
        print(
            f"# {sessions} sessions: loss {100 * result.loss:.2f} %, server {result.server_cores:.2f} cores, "
            f"{result.cpu_per_media_second_per_participant:.4f} cpu-s/s per participant, "
            f"recorded {result.recorded} frames, clients {result.client_cores:.2f} cores, "
            f"server waited for a CPU {result.waited:.2f} s/s, UDP drops {result.udp_drops}, "
            f"load average {os.getloadavg()[0]:.2f}{'' if result.full_rate else ', media below the full rate'}",
            flush=True,
        )
        return result.loss < MAX_LOSS and result.full_rate

    held, lost = 0, None
    for sessions in CAPACITY_STEPS:
        if time.monotonic() - started > CAPACITY_BUDGET:
            break
        if not await holds(sessions):
            lost = sessions
            break
        held = sessions
    while lost is not None and lost - held > 1 and time.monotonic() - started < CAPACITY_BUDGET:
        middle = (held + lost) // 2
        if await holds(middle):
            held = middle
        else:
            lost = middle
    return held, results.get(held)


async def measure() -> None:
    clip = await asyncio.get_running_loop().run_in_executor(None, encode_clip)
    passthrough.install()  # for the client peers' counting receivers
    with tempfile.NamedTemporaryFile(prefix="bench-media-clip-", suffix=".pickle") as clip_file:
        pickle.dump(clip, clip_file)
        clip_file.flush()
        # passthrough and stock alternate, so that a burst of other load on the machine hits both
        fast: list[Run] = []
        stock: list[Run] = []
        packets: list[Run] = []
        for _ in range(MEASURE_ROUNDS):
            fast.append(await run("passthrough", 1, MEASURE_SECONDS, clip, clip_file.name))
            packets.append(await run("packets", 1, MEASURE_SECONDS, clip, clip_file.name))
            stock.append(await run("stock", 1, MEASURE_SECONDS, clip, clip_file.name))
        floor = await run("floor", 1, MEASURE_SECONDS, clip, clip_file.name)
        recorded = await run("passthrough+record", 1, MEASURE_SECONDS, clip, clip_file.name)
        packets_recorded = await run("packets+record", 1, MEASURE_SECONDS, clip, clip_file.name)
        fast_cpu = [r.cpu_per_media_second_per_participant for r in fast]
        stock_cpu = [r.cpu_per_media_second_per_participant for r in stock]
        print(f"# passthrough runs: {_spread(fast_cpu)}", flush=True)
        print(f"# stock runs: {_spread(stock_cpu)}", flush=True)
        fast_mean, stock_mean = sum(fast_cpu) / len(fast_cpu), sum(stock_cpu) / len(stock_cpu)
        floor_cpu = floor.cpu_per_media_second_per_participant
        print(f"bench: media_clip_video_bitrate {fast[0].bitrate_kbps:.0f} kbit/s", flush=True)
        print(f"bench: media_passthrough_cpu_per_media_s_per_participant {fast_mean:.4f} cpu-s/s", flush=True)
        print(f"bench: media_stock_relay_cpu_per_media_s_per_participant {stock_mean:.4f} cpu-s/s", flush=True)
        print(f"bench: media_stock_over_passthrough_cpu_ratio {stock_mean / fast_mean:.1f} x", flush=True)
        print(f"bench: media_passthrough_video_loss_1_session {100 * max(r.loss for r in fast):.2f} %", flush=True)
        print(f"bench: media_stock_video_loss_1_session {100 * max(r.loss for r in stock):.2f} %", flush=True)
        # aiortc's RTP/SRTP/ICE receive + send of the same media with no forwarding at all: no
        # forwarding built on aiortc can cost less, so stock/floor bounds the achievable ratio
        print(f"bench: media_aiortc_rtp_floor_cpu_per_media_s_per_participant {floor_cpu:.4f} cpu-s/s", flush=True)
        print(f"bench: media_stock_over_floor_cpu_ratio {stock_mean / floor_cpu:.1f} x", flush=True)
        print(f"bench: media_passthrough_recorded_cpu_per_media_s_per_participant {recorded.cpu_per_media_second_per_participant:.4f} cpu-s/s", flush=True)
        packets_cpu = [r.cpu_per_media_second_per_participant for r in packets]
        packets_mean = sum(packets_cpu) / len(packets_cpu)
        print(f"# packets runs: {_spread(packets_cpu)}", flush=True)
        print(f"bench: media_packets_cpu_per_media_s_per_participant {packets_mean:.4f} cpu-s/s", flush=True)
        print(f"bench: media_passthrough_over_packets_cpu_ratio {fast_mean / packets_mean:.1f} x", flush=True)
        print(f"bench: media_packets_video_loss_1_session {100 * max(r.loss for r in packets):.2f} %", flush=True)
        print(f"bench: media_packets_recorded_cpu_per_media_s_per_participant {packets_recorded.cpu_per_media_second_per_participant:.4f} cpu-s/s", flush=True)

        held, at = await capacity(clip_file.name)
    name = capacity_name(CAPACITY_MODE)
    print(f"bench: media_{name}_sessions_under_1pct_loss {held} sessions", flush=True)
    if at is not None and at.server_cores > 0:
        print(f"bench: media_{name}_sessions_per_server_core {held / at.server_cores:.1f} sessions", flush=True)


def capacity_name(mode: str) -> str:
    """The capacity lines' name for MODE: its path, ``recorded``, ``asyncio`` unless on uvloop (the media worker's)."""
    words = mode.split("+")
    return "_".join([words[0], *(["recorded"] if "record" in words else []), *([] if "uvloop" in words else ["asyncio"])])


def run_server(mode: str, clip_path: str | None) -> None:
    """The server child: MODE on uvloop when it says so (the media worker's loop), else on asyncio's."""
    if "uvloop" in mode.split("+"):
        import uvloop

        uvloop.run(serve(mode, clip_path))
    else:
        asyncio.run(serve(mode, clip_path))


def main() -> None:
    """Print the media figures as `bench: NAME VALUE UNIT` lines."""
    asyncio.run(measure())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--server"]:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        run_server(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        main()
