"""Frames for the recorder assembled from RTP packets that aiortc's own packetizers made of a real clip."""

from __future__ import annotations

import asyncio
import fractions
import random
import time
from dataclasses import dataclass
from types import SimpleNamespace

import av
import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtp import RtpPacket

from recordings.probe import decode_errors, probe
from recordings.recorder import Recorder
from recordings.rtp import assemble
from recordings.rtp.assemble import FrameAssembler
from recordings.segment import CAMERA
from recordings.storage import LocalStorage

FPS, SECONDS = 30, 3
WIDTH, HEIGHT = 320, 240
VP8_PT, OPUS_PT, H264_PT = 96, 111, 102


@dataclass
class Sent:
    """One RTP packet as the sender put it on the wire, and which frame of the clip it carries."""

    packet: RtpPacket
    frame: int


@dataclass
class Clip:
    video: list[av.Packet]
    audio: list[av.Packet]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Clip:
    """A WebM file of moving, noisy VP8 (a key frame each second) and an Opus tone, demuxed back into av.Packets."""
    path = tmp_path_factory.mktemp("clip") / "clip.webm"
    source = av.open(f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS},noise=alls=20:allf=t", format="lavfi")
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate, video.gop_size = 2_000_000, FPS
        video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        audio = out.add_stream("libopus", rate=48000, layout="stereo")
        for index, frame in enumerate(source.decode(video=0)):
            if index >= SECONDS * FPS:
                break
            frame.pts, frame.time_base = index, fractions.Fraction(1, FPS)
            frame.pict_type = av.video.frame.PictureType.NONE  # lavfi marks every frame as I
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for index in range(SECONDS * 50):
            sound = av.AudioFrame(format="s16", layout="stereo", samples=960)
            sound.planes[0].update(bytes(((index * 960 + i) * 7) % 256 for i in range(3840)))
            sound.sample_rate, sound.pts, sound.time_base = 48000, index * 960, fractions.Fraction(1, 48000)
            out.mux(audio.encode(sound))
        out.mux(audio.encode(None))
    source.close()
    demuxed: dict[str, list[av.Packet]] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                demuxed[packet.stream.type].append(packet)
    assert len(demuxed["video"]) == SECONDS * FPS and len(demuxed["audio"]) >= SECONDS * 50
    return Clip(demuxed["video"], demuxed["audio"])


def packetize(encoder, packets: list[av.Packet], *, payload_type: int, ssrc: int, seq: int,
              ts: int) -> tuple[list[Sent], list[int]]:
    """RTP packets as aiortc's RTCRtpSender sends PACKETS through ENCODER.pack(), parsed back from the wire;
    and each frame's RTP timestamp."""
    sent, stamps = [], []
    for index, packet in enumerate(packets):
        payloads, timestamp = encoder.pack(packet)
        stamp = (ts + timestamp) & 0xFFFFFFFF
        stamps.append(stamp)
        for i, payload in enumerate(payloads):
            rtp = RtpPacket(payload_type=payload_type, marker=int(i == len(payloads) - 1), sequence_number=seq,
                            timestamp=stamp, ssrc=ssrc, payload=payload)
            sent.append(Sent(RtpPacket.parse(rtp.serialize()), index))
            seq = (seq + 1) & 0xFFFF
    return sent, stamps


def vp8_stream(clip: Clip, *, ssrc=0x1234, seq=65500, ts=0xFFFFFFFF - 200_000) -> tuple[list[Sent], list[int]]:
    """The clip's video as RTP; sequence numbers and timestamps wrap within it."""
    return packetize(Vp8Encoder(), clip.video, payload_type=VP8_PT, ssrc=ssrc, seq=seq, ts=ts)


def opus_stream(clip: Clip, *, ssrc=0x5678, seq=65530, ts=0xFFFFFFFF - 10_000) -> tuple[list[Sent], list[int]]:
    return packetize(OpusEncoder(), clip.audio, payload_type=OPUS_PT, ssrc=ssrc, seq=seq, ts=ts)


class Collector:
    """on_data and on_keyframe_needed of an assembler, recorded (with the time base of CLOCK_RATE)."""

    def __init__(self, clock_rate: int) -> None:
        self.frames: list[tuple[bytes, int, fractions.Fraction, bool, bool, float]] = []
        self.asked = 0
        self.time_base = fractions.Fraction(1, clock_rate)

    def __call__(self, data: bytes, pts: int, keyframe: bool, arrival: float) -> None:
        assert type(data) is bytes  # a frame's own bytes: the recorder keeps them past the datagram
        self.frames.append((data, pts, self.time_base, keyframe, keyframe, arrival))

    def ask(self) -> None:
        self.asked += 1


def assembler(codec: str, clock_rate: int) -> tuple[FrameAssembler, Collector]:
    got = Collector(clock_rate)
    return FrameAssembler(codec, clock_rate, got, on_keyframe_needed=got.ask), got


def feed(assembler: FrameAssembler, sent: list[Sent], start: float = 1000.0, step: float = 0.001) -> None:
    for i, item in enumerate(sent):
        assembler.push(item.packet, start + i * step)


def expected(packets: list[av.Packet], stamps: list[int], indices, clock_rate: int, origin: int | None = None):
    """What on_frame must get for the frames INDICES of PACKETS: bytes, pts from the first of them, time base, key."""
    indices = list(indices)
    origin = stamps[indices[0]] if origin is None else origin
    return [(bytes(packets[i]), (stamps[i] - origin) % (1 << 32), fractions.Fraction(1, clock_rate),
             packets[i].is_keyframe, packets[i].is_keyframe) for i in indices]


def got_frames(got: Collector):
    return [frame[:5] for frame in got.frames]


def test_vp8_in_order_every_frame_byte_identical_with_key_flags_and_continuous_pts(clip):
    sent, stamps = vp8_stream(clip)
    assert max(s.packet.sequence_number for s in sent) == 65535 and min(s.packet.sequence_number for s in sent) == 0
    assert len(sent) > 2 * len(clip.video)  # frames span several packets
    asm, got = assembler("video/VP8", 90000)
    feed(asm, sent)
    assert got_frames(got) == expected(clip.video, stamps, range(len(clip.video)), 90000)
    assert sum(frame[4] for frame in got.frames) == 3  # a key frame each second
    # a frame's arrival is its first packet's
    first_packet = {s.frame: 1000.0 + i * 0.001 for i, s in reversed(list(enumerate(sent)))}
    assert [frame[5] for frame in got.frames] == [first_packet[i] for i in range(len(clip.video))]
    assert (asm.frames, asm.dropped, asm.lost, asm.late, got.asked) == (len(clip.video), 0, 0, 0, 0)


def test_fields_parsed_elsewhere_give_the_same_frames(clip):
    sent, _ = vp8_stream(clip)
    mixed = shuffled(sent, seed=5)
    by_packet, got = assembler("video/VP8", 90000)
    feed(by_packet, mixed)
    by_fields, got_too = assembler("video/VP8", 90000)
    for i, s in enumerate(mixed):
        p = s.packet
        by_fields.push_fields(p.ssrc, p.sequence_number, p.timestamp, p.marker, p.payload, 1000.0 + i * 0.001)
    assert got_too.frames == got.frames and len(got.frames) == len(clip.video)


def test_opus_in_order_every_packet_a_frame(clip):
    sent, stamps = opus_stream(clip)
    asm, got = assembler("audio/opus", 48000)
    feed(asm, sent)
    assert got_frames(got) == expected(clip.audio, stamps, range(len(clip.audio)), 48000)
    assert all(frame[4] for frame in got.frames)


def shuffled(sent: list[Sent], seed: int, span: int = 4, duplicate_every: int = 7) -> list[Sent]:
    """SENT reordered within groups of SPAN packets, with every DUPLICATE_EVERY-th packet sent twice."""
    rng = random.Random(seed)
    out: list[Sent] = []
    for start in range(0, len(sent), span):
        group = sent[start:start + span]
        rng.shuffle(group)
        out += group
    for index in range(len(out) - 1, 0, -duplicate_every):
        out.insert(index + rng.randint(0, 3), out[index])
    return out


@pytest.mark.parametrize("kind", ["video", "audio"])
def test_reordered_within_the_window_and_duplicated_gives_the_same_frames(clip, kind):
    sent, stamps = vp8_stream(clip) if kind == "video" else opus_stream(clip)
    packets, rate = (clip.video, 90000) if kind == "video" else (clip.audio, 48000)
    mixed = shuffled(sent, seed=18)
    assert [s.packet.sequence_number for s in mixed] != [s.packet.sequence_number for s in sent]
    asm, got = assembler("video/VP8" if kind == "video" else "audio/opus", rate)
    feed(asm, mixed)
    assert got_frames(got) == expected(packets, stamps, range(len(packets)), rate)
    assert asm.lost == 0 and asm.dropped == 0 and asm.late == len(mixed) - len(sent)


def multi_packet_delta(sent: list[Sent], clip: Clip, after: int = 5) -> int:
    """A delta frame after frame AFTER that spans at least three packets."""
    counts: dict[int, int] = {}
    for s in sent:
        counts[s.frame] = counts.get(s.frame, 0) + 1
    return next(i for i in range(after, len(clip.video)) if counts[i] >= 3 and not clip.video[i].is_keyframe)


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_lost_packet_drops_its_frame_and_the_deltas_until_the_next_key_frame(clip, which):
    sent, stamps = vp8_stream(clip)
    broken = multi_packet_delta(sent, clip)
    positions = [i for i, s in enumerate(sent) if s.frame == broken]
    lost = {"first": positions[0], "middle": positions[len(positions) // 2], "last": positions[-1]}[which]
    asm, got = assembler("video/VP8", 90000)
    feed(asm, sent[:lost] + sent[lost + 1:])
    key = next(i for i in range(broken, len(clip.video)) if clip.video[i].is_keyframe)
    kept = [*range(broken), *range(key, len(clip.video))]
    assert got_frames(got) == expected(clip.video, stamps, kept, 90000)
    assert asm.lost == 1 and asm.dropped == key - broken
    assert got.asked == 1  # asked at once for a key frame (the next one comes by itself here, within 0.5 s)


def test_a_video_packet_repaired_after_two_nack_repeats_keeps_its_frame(clip):
    # The forwarder's NACK or its answer was lost twice: the packet comes 0.3 s late (NACK_RETRY 0.1 s, WAN round trips).
    sent, stamps = vp8_stream(clip)
    asm, got = assembler("video/VP8", 90000)
    hole = len(sent) // 2
    step = 0.005
    behind = int(0.3 / step)
    feed(asm, sent[:hole] + sent[hole + 1:hole + 1 + behind] + [sent[hole]] + sent[hole + 1 + behind:], step=step)
    assert got_frames(got) == expected(clip.video, stamps, range(len(clip.video)), 90000)
    assert (asm.lost, asm.dropped, got.asked) == (0, 0, 0)


def test_a_lost_key_frame_packet_waits_for_the_next_key_frame_and_keeps_asking(clip):
    sent, stamps = vp8_stream(clip)
    second_key = next(i for i in range(1, len(clip.video)) if clip.video[i].is_keyframe)
    lost = next(i for i, s in enumerate(sent) if s.frame == second_key) + 2
    asm, got = assembler("video/VP8", 90000)
    feed(asm, sent[:lost] + sent[lost + 1:], step=0.01)  # the clip's 1 s between key frames: several asks
    third_key = next(i for i in range(second_key + 1, len(clip.video)) if clip.video[i].is_keyframe)
    kept = [*range(second_key), *range(third_key, len(clip.video))]
    assert got_frames(got) == expected(clip.video, stamps, kept, 90000)
    waited = sum(second_key <= s.frame < third_key for s in sent) * 0.01
    assert 2 <= got.asked <= 1 + waited / assemble.KEYFRAME_RETRY


def test_no_partial_frame_under_random_loss_and_reordering(clip):
    sent, stamps = vp8_stream(clip)
    rng = random.Random(7)
    lossy = [s for s in shuffled(sent, seed=3, span=3, duplicate_every=11) if rng.random() > 0.03]
    asm, got = assembler("video/VP8", 90000)
    feed(asm, lossy)
    whole = {bytes(p): i for i, p in enumerate(clip.video)}
    indices = [whole[frame[0]] for frame in got.frames]  # KeyError: a frame that is not one of the clip's
    assert indices == sorted(indices) and clip.video[indices[0]].is_keyframe
    # every frame handed on has all its packets and, since the last key frame, every frame before it
    delivered = {s.frame for s in lossy}
    complete = {i for i in delivered if {id(s) for s in sent if s.frame == i} <= {id(s) for s in lossy}}
    for index in indices:
        key = max(i for i in range(index + 1) if clip.video[i].is_keyframe)
        assert set(range(key, index + 1)) <= complete
    assert asm.lost > 0 and asm.dropped > 0 and len(indices) + asm.dropped <= len(clip.video)


def test_a_lost_padding_packet_between_frames_drops_nothing(clip):
    """Picture ids say whether a loss between two frames took a whole frame with it; padding takes none."""
    sent, stamps = vp8_stream(clip)
    # padding-only packets (as a sender probing bandwidth sends them) before frames 10 and 20: one comes, one is lost
    padded: list[Sent] = []
    shift = 0
    for s in sent:
        packet = RtpPacket.parse(s.packet.serialize())
        if s.frame in (10, 20) and packet.payload[0] & 0x10:
            padding = RtpPacket(payload_type=VP8_PT, sequence_number=(packet.sequence_number + shift) & 0xFFFF,
                                timestamp=packet.timestamp, ssrc=packet.ssrc)
            padding.padding_size = 200
            shift += 1
            if s.frame == 10:
                padded.append(Sent(RtpPacket.parse(padding.serialize()), -1))
        packet.sequence_number = (packet.sequence_number + shift) & 0xFFFF
        padded.append(Sent(packet, s.frame))
    assert len(padded) == len(sent) + 1
    asm, got = assembler("video/VP8", 90000)
    feed(asm, padded)
    assert got_frames(got) == expected(clip.video, stamps, range(len(clip.video)), 90000)
    assert asm.lost == 1 and asm.dropped == 0 and got.asked == 0

    # a hole of the same place where a whole frame was: the following deltas must wait
    asm, got = assembler("video/VP8", 90000)
    feed(asm, [s for s in sent if s.frame != 10])
    assert got_frames(got) == expected(clip.video, stamps, [*range(10), *range(FPS, len(clip.video))], 90000)
    assert asm.dropped == FPS - 11 and got.asked == 1


def test_opus_loss_skips_only_the_lost_packet(clip):
    sent, stamps = opus_stream(clip)
    asm, got = assembler("audio/opus", 48000)
    feed(asm, sent[:20] + sent[21:23] + sent[24:])
    kept = [i for i in range(len(clip.audio)) if i not in (20, 23)]
    assert got_frames(got) == expected(clip.audio, stamps, kept, 48000)
    assert asm.lost == 2 and got.asked == 0

    # the stream stops with a hole: what came after it is held until flush()
    asm, got = assembler("audio/opus", 48000)
    feed(asm, sent[:-3] + sent[-2:])
    assert len(got.frames) == len(sent) - 3
    asm.flush()
    assert got_frames(got) == expected(clip.audio, stamps, [*range(len(sent) - 3), len(sent) - 2, len(sent) - 1], 48000)


def test_reset_for_a_new_ssrc_restarts_pts_at_the_next_key_frame(clip):
    sent, stamps = vp8_stream(clip)
    asm, got = assembler("video/VP8", 90000)
    feed(asm, [s for s in sent if s.frame < 40])
    before = len(got.frames)
    assert before == 40
    # the participant rejoins: a new SSRC, sequence numbers and timestamps, first seen in the middle of a GOP
    again, again_stamps = vp8_stream(clip, ssrc=0x9999, seq=100, ts=5_000_000)
    rejoined = [s for s in again if s.frame >= 10]
    # without reset() a new SSRC is ignored while the old one is fresh ...
    asm.push(rejoined[0].packet, 1000.5)
    assert asm.foreign == 1 and len(got.frames) == before
    asm.reset()
    feed(asm, rejoined, start=1001.0)
    key = next(i for i in range(10, len(clip.video)) if clip.video[i].is_keyframe)
    assert got_frames(got)[before:] == expected(clip.video, again_stamps, range(key, len(clip.video)), 90000)
    assert got.frames[before][1] == 0 and got.frames[before][4]
    assert got.asked == 1  # the deltas it had to skip asked for a key frame

    # ... and adopted once the old one has been silent for SSRC_TIMEOUT
    asm2, got2 = assembler("video/VP8", 90000)
    feed(asm2, [s for s in sent if s.frame < 40])
    feed(asm2, again, start=1000.0 + len(sent) * 0.001 + assemble.SSRC_TIMEOUT)
    assert got_frames(got2)[40:] == expected(clip.video, again_stamps, range(len(clip.video)), 90000)


def test_a_retransmission_far_behind_is_late_and_a_renumbered_sender_still_restarts(clip):
    # Found in Chromium under 2 % loss: an answer to a NACK repeated upstream came over 100 packets late, was taken
    # for a sender restarting its sequence numbers, and restarted the recording's timestamps (a "rejoin" gap).
    sent, stamps = vp8_stream(clip)
    asm, got = assembler("video/VP8", 90000)
    first, rest = [s for s in sent if s.frame < 40], [s for s in sent if s.frame >= 40]
    assert len(first) > assemble.MAX_MISORDER
    feed(asm, first)
    for again in first[:assemble.RESTART_PACKETS - 1]:
        asm.push(again.packet, 1001.0)
    feed(asm, rest, start=1001.0)
    assert got_frames(got) == expected(clip.video, stamps, range(len(clip.video)), 90000)
    assert asm.late == assemble.RESTART_PACKETS - 1 and asm.lost == 0 and asm.dropped == 0

    # a sender that starts its sequence numbers again (same SSRC): from its next key frame on, pts from 0
    asm, got = assembler("video/VP8", 90000)
    feed(asm, first)
    renumbered, new_stamps = vp8_stream(clip, seq=(first[-1].packet.sequence_number - 5000) & 0xFFFF, ts=7_000_000)
    feed(asm, renumbered, start=1001.0)
    key = next(i for i in range(1, len(clip.video)) if clip.video[i].is_keyframe)
    assert got_frames(got)[40:] == expected(clip.video, new_stamps, range(key, len(clip.video)), 90000)


def test_h264_in_order_and_after_a_loss(clip):
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base, encoder.framerate, encoder.bit_rate = fractions.Fraction(1, FPS), FPS, 2_000_000
    encoder.gop_size = FPS
    encoder.options = {"tune": "zerolatency", "preset": "ultrafast"}
    encoder.profile = "Baseline"
    source = av.open(f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS},noise=alls=20:allf=t", format="lavfi")
    units: list[av.Packet] = []
    for index, frame in enumerate(source.decode(video=0)):
        if index >= 2 * FPS:
            break
        frame.pts, frame.pict_type = index, av.video.frame.PictureType.NONE
        units += encoder.encode(frame)
    units += encoder.encode(None)
    source.close()
    sent, stamps = packetize(H264Encoder(), units, payload_type=H264_PT, ssrc=7, seq=65000, ts=1234)
    # what aiortc's depayloader makes of each access unit: every NAL unit behind a 4-byte start code
    annex_b = [b"".join(b"\x00\x00\x00\x01" + nal for nal in H264Encoder._split_bitstream(bytes(u))) for u in units]
    keys = [u.is_keyframe for u in units]
    assert sum(keys) == 2

    asm, got = assembler("video/H264", 90000)
    feed(asm, sent)
    assert [(f[0], f[1], f[4]) for f in got.frames] == [(annex_b[i], stamps[i] - stamps[0], keys[i])
                                                         for i in range(len(units))]
    broken = next(i for i in range(5, len(units)) if sum(s.frame == i for s in sent) >= 3)
    lost = [i for i, s in enumerate(sent) if s.frame == broken][1]
    asm, got = assembler("video/H264", 90000)
    feed(asm, sent[:lost] + sent[lost + 1:])
    key = keys.index(True, broken)
    kept = [*range(broken), *range(key, len(units))]
    assert [(f[0], f[4]) for f in got.frames] == [(annex_b[i], keys[i]) for i in kept]
    assert got.asked == 1


class PacketHub:
    """The part of MediaHub and its packet forwarder the recorder uses, fed by assemblers as the forwarder feeds it."""

    def __init__(self, participant: str) -> None:
        self.participants = [participant]
        self._sources = [SimpleNamespace(participant_id=participant, kind=kind, capture=CAMERA)
                         for kind in ("audio", "video")]
        self.data_sinks: list = []
        self.keyframe_requests = 0
        self.packet_forwarder = self

    def sources(self, participant_id: str) -> list[SimpleNamespace]:
        return self._sources

    def add_data_sink(self, sink):
        self.data_sinks.append(sink)
        return lambda: self.data_sinks.remove(sink)

    def request_keyframe(self, participant_id: str, capture=None) -> None:
        self.keyframe_requests += 1

    def frame_arrived(self, kind: str, codec: str, clock_rate: int):
        """An on_data for the assembler of KIND, calling the data sinks as the packet forwarder does."""
        source = next(s for s in self._sources if s.kind == kind)

        def on_data(data: bytes, pts: int, keyframe: bool, arrival: float) -> None:
            for sink in tuple(self.data_sinks):
                sink(source, codec, clock_rate, data, pts, keyframe, arrival)
        return on_data


def test_end_to_end_into_a_webm_segment_in_real_time(clip, tmp_path):
    """Packets paced as a sender sends them, one video packet lost: a segment that plays, A/V within 100 ms."""
    video, _ = vp8_stream(clip)
    audio, _ = opus_stream(clip)
    broken = multi_packet_delta(video, clip, after=40)
    lost = next(i for i, s in enumerate(video) if s.frame == broken) + 1
    video = video[:lost] + video[lost + 1:]
    storage = LocalStorage(tmp_path / "recordings")
    hub = PacketHub("7")
    video_asm = FrameAssembler("video/VP8", 90000, hub.frame_arrived("video", "video/VP8", 90000))
    audio_asm = FrameAssembler("audio/opus", 48000, hub.frame_arrived("audio", "audio/opus", 48000))

    async def scenario():
        recorder = Recorder(hub, storage=storage, prefix="sessions/1/recording-1")
        recorder.start()
        schedule = sorted([(s.frame / FPS, 0, s.packet, video_asm) for s in video]
                          + [(s.frame * 0.02, 1, s.packet, audio_asm) for s in audio], key=lambda e: (e[0], e[1]))
        t0 = time.time() + 0.05
        for at, _, packet, target in schedule:
            delay = t0 + at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            target.push(packet, time.time())
        segments = await recorder.stop()
        return t0, segments, recorder

    t0, segments, recorder = asyncio.run(scenario())
    assert len(segments) == 1 and not recorder.errors and recorder.gaps == []
    segment = segments[0]
    # no hold is taken off: the file starts when the first frames were sent (not 80 ms before)
    assert abs(segment.started_at - t0) < 0.04, segment.started_at - t0
    key = next(i for i in range(broken, len(clip.video)) if clip.video[i].is_keyframe)
    assert video_asm.dropped == key - broken
    assert segment.packets == {"video": len(clip.video) - (key - broken), "audio": len(clip.audio)}
    path = storage.local_file(segment.key)
    info = probe(path)
    assert {s.kind for s in info.streams} == {"audio", "video"}
    assert all(s.increasing for s in info.streams)
    (v,), (a,) = info.of("video"), info.of("audio")
    assert v.first_is_keyframe and v.packets == segment.packets["video"] and a.packets == len(clip.audio)
    assert abs(v.first - a.first) < 0.1 and abs(v.last - a.last) < 0.15
    assert decode_errors(path) == []
