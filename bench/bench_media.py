"""Server CPU of the packet forwarder against aiortc's stock decode/relay/re-encode path, and session capacity.

The server runs in a child process (``python -m bench.bench_media --server MODE``) speaking
JSON lines on stdin/stdout, so its CPU (getrusage of that process, all threads) is measured
apart from the client peers. The clients (bench.packet_peer: aiortc negotiates, the media is sent
and counted at the datagram level, well under 0.01 core per participant) send a pre-encoded
640x480@30 VP8 clip with moving content (~1 Mbit/s, a key frame every 2 s) plus Opus, and count
the whole video frames they receive (RTP marker bits, no gap) without depacketizing or decoding. Every figure is
taken over a window that starts after media flows plus WARM_UP_SECONDS, and is per participant
(one audio + one video stream published, the partner's received and forwarded back out).

- packets / stock: one session each, MEASURE_ROUNDS alternating windows, mean reported.
  Stock is aiortc's own relay: receivers decode, MediaRelay fans out, each sender re-encodes.
- packets+record: the same call recorded (the call's Recorder writing WebM segments).
- event loop, paired: uvloop against asyncio's own loop, two servers pinned to the same core with
  PAIRED_SESSIONS recorded sessions each, measured in the same windows (PAIRED_ROUNDS): both see
  the same load on the machine, so their ratio spreads ±2.5 % where windows one after another
  spread ±10 %.
- capacity: recorded sessions on the default path (CAPACITY_MODE: the packet forwarder, the
  call's Recorder writing WebM segments as recordings/live.py starts it, the server on uvloop as
  the media worker runs), the server process pinned to one core and the client worker processes
  (bench_janus's) to the others: the largest count with < 1 % video frames lost, and sessions
  per server core at that count. The output says when the clients rather than the server were the
  limit (their cores saturated, or datagrams dropped on their sockets).

A server MODE is ``+``-separated words: the path (``packets`` or ``stock``), then ``record`` and
``uvloop`` (the server child's event loop; asyncio's otherwise). The frames path (aiortc's receivers
handing on encoded frames) and the ``floor`` reference built on it are gone with that path.
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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bench.packet_peer import PacketPeer, packetize, socket_drops
from recordings import ice, recorder
from recordings.recorder import Recorder
from recordings.sfu import MediaHub
from recordings.storage import LocalStorage

if TYPE_CHECKING:
    from bench.bench_janus import Window

LOOPBACK = ["127.0.0.1"]
WIDTH, HEIGHT, FPS, BITRATE = 640, 480, 30, 1_000_000
MEASURE_SECONDS = 8.0
MEASURE_ROUNDS = 2  # packets and stock windows each, alternating
WARM_UP_SECONDS = 1.0
CAPACITY_MODE = "packets+record+uvloop"  # the target: recorded sessions on the default path, as the media worker runs
CAPACITY_STEPS = (6, 12, 20, 28, 36, 44, 52, 64, 80, 96)  # past 40 while the clients (one core) keep up
CAPACITY_SECONDS = 6.0
CAPACITY_BUDGET = 600.0  # seconds for the whole step search (no new step starts after it)
MAX_LOSS = 0.01
PAIRED_SESSIONS = 10  # recorded 2-party sessions on each of the two servers sharing one core
PAIRED_ROUNDS = 3
PAIRED_MODES = ("packets+record+uvloop", "packets+record")  # the media worker's loop, then asyncio's
# other jobs share this machine: a step is lost only when it loses twice (both tries are printed)
CAPACITY_TRIES = 2
# a lost step counts as the server starved by other load when its threads waited this long (s/s) for a CPU and it
# used less than CORE_USED of its core
STARVED_WAIT, CORE_USED = 0.5, 0.9
VIDEO_TB, AUDIO_TB = fractions.Fraction(1, 90000), fractions.Fraction(1, 48000)


# ---- the clip ----------------------------------------------------------------------------


def encode_clip(seconds: int = 10) -> tuple[list[bytes], list[bytes]]:
    """VP8 frames of moving test content and 20 ms Opus frames of a tone, encoded once."""
    source = av.open(f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS},noise=alls=8:allf=t", format="lavfi")
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.bit_rate, encoder.time_base, encoder.framerate = BITRATE, fractions.Fraction(1, FPS), fractions.Fraction(FPS)
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
        tone = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        pcm = bytearray()
        for i in range(samples):
            value = int(3000 * math.sin(2 * math.pi * 440 * (index * samples + i) / 48000)).to_bytes(2, "little", signed=True)
            pcm += value + value
        tone.planes[0].update(bytes(pcm))
        tone.sample_rate, tone.pts, tone.time_base = 48000, index * samples, AUDIO_TB
        audio += [bytes(p) for p in opus.encode(tone)]
    return video, audio


class ClipTrack(MediaStreamTrack):
    """Sends pre-encoded packets in real time through aiortc, looping; can pause so that counts settle (bench_recording).

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


async def serve(mode: str, clip_path: str | None = None) -> None:
    """Answer the client process's JSON-line requests with a packet-forwarding hub or the stock relay.

    MODE: ``packets`` (the hub, on its default packet forwarder), ``packets+record`` (the hub plus the recording
    a call gets: recordings.recorder.Recorder, as recordings/live.py starts it, into a local temp dir), ``stock``
    (decode, MediaRelay, each sender re-encodes); ``+uvloop`` is for run_server.
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

    def hub_for(session: str) -> MediaHub:
        if session not in hubs:
            hubs[session] = MediaHub(
                host_addresses=LOOPBACK,
                on_offer=lambda pid, sdp: send({"op": "offer", "session": session, "id": pid, "sdp": sdp}),
            )
            if recording_dir is not None:
                # as recordings/live.py starts it: frames from the packet path come without aiortc's hold
                hold = getattr(recorder, "NO_HOLD", None)
                options = {"held_frames": hold} if hold is not None else {}
                call_recorder = Recorder(hubs[session], storage=LocalStorage(Path(recording_dir.name)),
                                         prefix=session, **options)
                call_recorder.start()
                recorders.append(call_recorder)
        return hubs[session]

    async def stock_pair(session: str, first: tuple[str, str], second: tuple[str, str]) -> None:
        pcs: dict[str, RTCPeerConnection] = {}
        tracks: dict[str, list[MediaStreamTrack]] = {}
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
        if op == "join" and mode.startswith("packets"):
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
    for call_recorder in recorders:
        await call_recorder.stop()
    for hub in hubs.values():
        await hub.close()
    for pc in stock_pcs:
        await pc.close()
    if recording_dir is not None:
        recording_dir.cleanup()


# ---- the client process ------------------------------------------------------------------


class Server:
    """The server child process and its JSON-line conversation."""

    def __init__(self, process: asyncio.subprocess.Process, peers: dict[tuple[str, str], PacketPeer]) -> None:
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
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            key = (message.get("session"), message.get("id"))
            if message["op"] == "answer":
                self.answers[key].set_result(message["sdp"])
            elif message["op"] == "offer":
                task = asyncio.create_task(self._answer_offer(key, message["sdp"]))
                self.offers.add(task)
                task.add_done_callback(self.offers.discard)
            elif message["op"] == "cpu" and self.cpu is not None:
                self.cpu.set_result(message)

    async def _answer_offer(self, key: tuple[str, str], sdp: str) -> None:
        pc = self.peers[key].pc
        if pc.signalingState == "closed":
            return  # a renegotiation that crossed the end of the run
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self.peers[key].attach()
        await pc.setLocalDescription(await pc.createAnswer())
        self.send({"op": "answer", "session": key[0], "id": key[1], "sdp": pc.localDescription.sdp})

    async def join(self, peer: PacketPeer) -> None:
        key = (peer.session, peer.name)
        self.answers[key] = asyncio.get_running_loop().create_future()
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        self.send({"op": "join", "session": peer.session, "id": peer.name, "sdp": peer.pc.localDescription.sdp})
        answer = await self.answers[key]
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        peer.attach()

    async def cpu_seconds(self) -> float:
        return (await self.counters())["cpu"]

    async def counters(self) -> dict:
        """The server's CPU seconds so far and how many frames it recorded."""
        self.cpu = asyncio.get_running_loop().create_future()
        self.send({"op": "cpu"})
        return await self.cpu

    async def stop(self) -> None:
        self.send({"op": "quit"})
        await wait_or_kill(self.process)
        self.reader.cancel()
        for task in tuple(self.offers):
            task.cancel()


async def wait_or_kill(process: asyncio.subprocess.Process, seconds: float = 20) -> None:
    """Wait SECONDS for PROCESS to end (it was asked to), then kill it."""
    try:
        await asyncio.wait_for(process.wait(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()


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
    udp_drops: int = 0  # datagrams dropped by the kernel for full receive buffers on the client's sockets

    @property
    def server_cores(self) -> float:
        return self.cpu_per_media_second_per_participant * self.participants


async def run(mode: str, sessions: int, seconds: float, clip: tuple[list[bytes], list[bytes]], clip_path: str) -> Run:
    """Run SESSIONS two-party calls through a MODE server; measure its CPU over SECONDS of media."""
    peers: dict[tuple[str, str], PacketPeer] = {}
    payloads = packetize(clip)
    for s in range(sessions):
        for name in ("a", "b"):
            peers[(f"s{s}", name)] = PacketPeer(f"s{s}", name, payloads)
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
                    {k: (p.video_sent, p.audio_sent) for k, p in peers.items()},
                    {k: (p.received, p.received_audio) for k, p in peers.items()},
                )

            sent0, got0 = await settle()
            for p in peers.values():
                p.pause(False)
            before, t0, client0, drops0 = await server.counters(), time.monotonic(), cpu_seconds(), socket_drops()
            client_wait0 = runnable_wait_seconds()
            await asyncio.sleep(seconds)
            after, t1, client1, drops1 = await server.counters(), time.monotonic(), cpu_seconds(), socket_drops()
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


async def capacity(clip_path: str) -> tuple[int, Window | None, str]:
    """The largest number of recorded two-party sessions held with < 1 % video loss, and what limited it.

    The server is pinned to one core and the client workers to the others (bench_janus.split_cores). Climbs
    CAPACITY_STEPS until a step loses, then bisects between the last step held and the first lost, within
    CAPACITY_BUDGET. A lost step is tried again once: a burst of other load on the machine starves both sides
    (see "waited for a CPU" and "UDP drops"). The limit is "clients" when every try of the first count lost had
    the clients saturated or dropping datagrams, "starved" when every one had the server's threads waiting
    STARVED_WAIT s/s for its core (other load on the machine took it), "server" otherwise, "steps" when every
    step held, "time" when the budget ran out first.
    """
    # bench_janus imports this module: not at the top
    from bench.bench_janus import Case, describe, run_vreception, split_cores

    server_core, client_cores = split_cores()
    results: dict[int, Window] = {}
    lost_windows: dict[int, list[Window]] = {}
    started = time.monotonic()

    async def holds(sessions: int) -> bool:
        for attempt in range(CAPACITY_TRIES):
            if attempt and time.monotonic() - started > CAPACITY_BUDGET:
                return False
            if await attempt_holds(sessions):
                return True
        return False

    async def attempt_holds(sessions: int) -> bool:
        case = Case(sessions, 2, record=True, cores=server_core, client_cores=client_cores)
        try:
            result = await run_vreception(case, clip_path, CAPACITY_SECONDS, CAPACITY_MODE)
        except (TimeoutError, RuntimeError, OSError) as exc:
            print(f"# {sessions} sessions: failed to start: {exc!r}"[:300], flush=True)
            return False
        print(f"# {sessions} sessions: {describe(result)}", flush=True)
        if result.loss < MAX_LOSS and result.full_rate:
            results[sessions] = result
            return True
        lost_windows.setdefault(sessions, []).append(result)
        return False

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
    if lost is None:
        limit = "steps" if held == CAPACITY_STEPS[-1] else "time"
    else:
        failed = lost_windows.get(lost, [])
        if failed and all(w.client_limited for w in failed):
            limit = "clients"
        elif failed and all(w.waited >= STARVED_WAIT and w.server_cores < CORE_USED for w in failed):
            limit = "starved"
        else:
            limit = "server"
    return held, results.get(held), limit


async def measure() -> None:
    clip = await asyncio.get_running_loop().run_in_executor(None, encode_clip)
    with tempfile.NamedTemporaryFile(prefix="bench-media-clip-", suffix=".pickle") as clip_file:
        pickle.dump(clip, clip_file)
        clip_file.flush()
        # packets and stock alternate, so that a burst of other load on the machine hits both
        stock: list[Run] = []
        packets: list[Run] = []
        for _ in range(MEASURE_ROUNDS):
            packets.append(await run("packets", 1, MEASURE_SECONDS, clip, clip_file.name))
            stock.append(await run("stock", 1, MEASURE_SECONDS, clip, clip_file.name))
        packets_recorded = await run("packets+record", 1, MEASURE_SECONDS, clip, clip_file.name)
        packets_cpu = [r.cpu_per_media_second_per_participant for r in packets]
        stock_cpu = [r.cpu_per_media_second_per_participant for r in stock]
        print(f"# packets runs: {_spread(packets_cpu)}", flush=True)
        print(f"# stock runs: {_spread(stock_cpu)}", flush=True)
        print(f"# client peers: {_spread([r.client_cores / r.participants for r in packets])} cores per participant",
              flush=True)
        packets_mean, stock_mean = sum(packets_cpu) / len(packets_cpu), sum(stock_cpu) / len(stock_cpu)
        print(f"bench: media_clip_video_bitrate {packets[0].bitrate_kbps:.0f} kbit/s", flush=True)
        print(f"bench: media_packets_cpu_per_media_s_per_participant {packets_mean:.4f} cpu-s/s", flush=True)
        print(f"bench: media_stock_relay_cpu_per_media_s_per_participant {stock_mean:.4f} cpu-s/s", flush=True)
        print(f"bench: media_stock_over_packets_cpu_ratio {stock_mean / packets_mean:.1f} x", flush=True)
        print(f"bench: media_packets_video_loss_1_session {100 * max(r.loss for r in packets):.2f} %", flush=True)
        print(f"bench: media_stock_video_loss_1_session {100 * max(r.loss for r in stock):.2f} %", flush=True)
        print(f"bench: media_packets_recorded_cpu_per_media_s_per_participant {packets_recorded.cpu_per_media_second_per_participant:.4f} cpu-s/s", flush=True)
        await print_paired(clip_file.name, *PAIRED_MODES)
        await print_capacity(clip_file.name)


async def print_paired(clip_path: str, mode: str, other: str) -> None:
    """OTHER's server CPU over MODE's, both servers on one core and measured in the same windows."""
    from bench.bench_janus import Case, describe, run_vreception, split_cores

    server_core, client_cores = split_cores()
    if server_core is None:
        print("bench: media_paired skipped (needs 2 cores: one for both servers, one for the clients)", flush=True)
        return
    case = Case(PAIRED_SESSIONS, 2, record=True, cores=server_core, client_cores=client_cores)
    ratios = []
    for _ in range(PAIRED_ROUNDS):
        # both to the end, even when one fails: a server left running would load the next round
        results = await asyncio.gather(run_vreception(case, clip_path, MEASURE_SECONDS, mode),
                                       run_vreception(case, clip_path, MEASURE_SECONDS, other), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            if not isinstance(failed[0], TimeoutError | RuntimeError | OSError):
                raise failed[0]
            print(f"# paired run failed: {failed[0]!r}"[:300], flush=True)
            continue
        first, second = [r for r in results if not isinstance(r, BaseException)]
        print(f"# paired {mode}: {describe(first)}", flush=True)
        print(f"# paired {other}: {describe(second)}", flush=True)
        ratios.append(second.cpu_per_media_second_per_participant / first.cpu_per_media_second_per_participant)
    if ratios:
        print(f"# paired ratios: {_spread(ratios)}", flush=True)
        print(f"bench: media_{capacity_name(other)}_over_{capacity_name(mode)}_{PAIRED_SESSIONS}_sessions_paired "
              f"{sum(ratios) / len(ratios):.2f} x", flush=True)


async def print_capacity(clip_path: str) -> None:
    """The capacity search's lines (and, as a comment, what limited it)."""
    held, at, limit = await capacity(clip_path)
    name = capacity_name(CAPACITY_MODE)
    reasons = {
        "server": "the server: the next count lost frames with the clients within their cores",
        "starved": "other load on the server's core: at the next count its threads waited for a CPU and it got "
                   "less than the core",
        "clients": "the clients: at the next count their cores were saturated or their sockets dropped datagrams",
        "steps": f"the search: every step up to {CAPACITY_STEPS[-1]} held",
        "time": "the search's time budget",
    }
    print(f"# capacity limited by {reasons[limit]}", flush=True)
    if at is not None:
        # other load shares the server's core: the per-core figure scales what the server got to a whole core
        print(f"# at {held} sessions the server used {at.server_cores:.2f} of its core and its threads waited "
              f"{at.waited:.2f} s/s for a CPU; load average {os.getloadavg()[0]:.2f}", flush=True)
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
