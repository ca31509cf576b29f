"""Recording real aiortc calls through the MediaHub: streams, frame counts, duration, A/V sync, rejoin, tamper."""

from __future__ import annotations

import asyncio
import json
import time
from itertools import pairwise

import av
import pytest

from recordings import service
from recordings.live import LiveRecording
from recordings.probe import decode_errors, probe
from tests.recordings.conftest import make_session
from tests.recordings.media_clients import hub_frames, make_hub, wait_until
from tests.recordings.recording_clients import add_recorded_client, flip_times
from vreception.models.recordings import Recording, RecordingState

AMPLITUDE = 8000
FPS = 30  # the test cameras' frame rate
COLOUR_CYCLE = ["red", "green", "red"]


# Real UDP media on a 2-core machine: under heavy load a span, a packet count or the A/V offset can fall just
# outside its bound (e.g. 195 of 199 audio packets for a 98 % bound, A/V +0.27 s with load average 20).
# One rerun, never more; the bounds are kept.
REAL_TIME = pytest.mark.flaky(reruns=1)


@pytest.fixture
def db(sqlite_db):
    # media tests run on SQLite only; the service tests cover PostgreSQL
    return sqlite_db


async def _connect(hub, clients, participant_ids):
    for index, pid in enumerate(participant_ids):
        await add_recorded_client(hub, clients, str(pid), COLOUR_CYCLE[index], AMPLITUDE).join()

    def everyone_sees_everyone() -> bool:
        return all(
            clients[viewer].got(publisher, "video").frames > 3
            for viewer in clients for publisher in clients if viewer != publisher
        )

    assert await wait_until(everyone_sees_everyone, timeout=10)


async def _frames_pass(hub, participant_id: str, seconds: float) -> bool:
    """Wait until SECONDS of PARTICIPANT_ID's video have reached the hub."""
    until = hub_frames(hub, participant_id, "video") + int(seconds * FPS)
    return await wait_until(lambda: hub_frames(hub, participant_id, "video") >= until, timeout=3 * seconds + 5)


async def _caught_up(hub, clients, still: float = 2.0, timeout: float = 20.0) -> None:
    """Wait until every frame the clients' tracks produced reached the hub, or none arrived for STILL seconds.

    "Sent" counts frames a track handed to aiortc; on a loaded machine the senders run seconds behind, and
    the last frame or two of a stopped sender may never go out, so either condition ends the wait.
    """
    def arrived() -> dict:
        return {(name, kind): hub_frames(hub, name, kind) for name in clients for kind in ("audio", "video")}

    def complete(now: dict) -> bool:
        return all(now[(name, kind)] >= track.sent for name, client in clients.items()
                   for kind, track in (("audio", client.audio), ("video", client.video)))

    deadline, last, since = time.monotonic() + timeout, arrived(), time.monotonic()
    while time.monotonic() < deadline and not complete(last) and time.monotonic() - since < still:
        await asyncio.sleep(0.05)
        now = arrived()
        if now != last:
            last, since = now, time.monotonic()


async def _record_call(db, storage, session_id, participant_ids, seconds: float, segment_seconds: float):
    hub, clients = make_hub()
    live = await LiveRecording.start(db=db, hub=hub, session_id=session_id, storage=storage,
                                     segment_seconds=segment_seconds)
    try:
        await _connect(hub, clients, participant_ids)
        flip_at = time.time() + seconds / 2
        for client in clients.values():
            client.flip(flip_at)
        # SECONDS of call, counted in frames sent (the test cameras send FPS a second)
        until = {name: client.video.sent + int(seconds * FPS) for name, client in clients.items()}
        assert await wait_until(lambda: all(c.video.sent >= until[n] for n, c in clients.items()), 3 * seconds + 10)
        for client in clients.values():
            client.stop_sending()
        # The last frames sent reach the hub (a frame lost on the way is the checks' business, not this wait's).
        await _caught_up(hub, clients)
        await live.stop()
    finally:
        await hub.close()
        for client in clients.values():
            await client.close()
    return live.recording_id, clients


def _check_recording(db, storage, recording_id, clients) -> Recording:
    with db.transaction() as session:
        recording = service.get_recording(db=session, recording_id=recording_id)
        assert recording.state == RecordingState.finalised, recording.error
        assert recording.error == ""
        segments = list(recording.segments)
        report = service.verify(db=session, recording=recording, storage=storage)
    assert report.ok, report.problems

    combined = storage.local_file(recording.media_key)
    info = probe(combined)
    assert decode_errors(combined) == []
    assert recording.container == "webm" and combined.suffix == ".webm"
    manifest = json.loads(recording.manifest)
    tracks = manifest["media"]["tracks"]
    assert sorted((t["participant_id"], t["kind"]) for t in tracks) == sorted(
        (int(name), kind) for name in clients for kind in ("audio", "video"))

    for name, client in clients.items():
        pid = int(name)
        mine = [s for s in segments if s.participant_id == pid]
        assert mine, f"no segment for participant {pid}"
        # each segment: both streams, starting on a key frame, timestamps strictly increasing
        counts = {"audio": 0, "video": 0}
        for segment in mine:
            seg_info = probe(storage.local_file(segment.key))
            assert sorted(s.kind for s in seg_info.streams) == ["audio", "video"], segment.key
            assert seg_info.of("video")[0].first_is_keyframe, segment.key
            assert all(s.increasing for s in seg_info.streams), segment.key
            for kind in counts:
                counts[kind] += seg_info.of(kind)[0].packets
        for kind, track in (("audio", client.audio), ("video", client.video)):
            assert 0.98 * track.sent <= counts[kind] <= track.sent, (pid, kind, counts[kind], track.sent)

        # the combined file: this participant's tracks, the right length, audio and video in sync
        video = next(t for t in tracks if t["participant_id"] == pid and t["kind"] == "video")
        audio = next(t for t in tracks if t["participant_id"] == pid and t["kind"] == "audio")
        video_stream = next(s for s in info.streams if s.index == video["index"])
        assert video_stream.packets == counts["video"]
        # Against the frames' media time: on a loaded machine the test camera itself runs late on the wall clock
        # (5.78 s of wall time for 5.35 s of frames), and the recording keeps media time, as it should.
        sent_span = client.video.last_media - client.video.first_media
        recorded_span = video_stream.last - video_stream.first
        assert abs(recorded_span - sent_span) < 0.25, (recorded_span, sent_span)
        after = client.video.after
        video_at, audio_at = flip_times(combined, video["index"], audio["index"], after, AMPLITUDE // 4)
        assert abs(video_at - audio_at) < 0.1, f"A/V offset {video_at - audio_at:+.3f} s for {pid}"
    return recording


@pytest.mark.slow
@REAL_TIME
def test_two_party_call_is_recorded_without_reencoding(db, org, local_storage):
    session_id, participant_ids = make_session(db, org, roles=("leader", "room"))
    recording_id, clients = asyncio.run(
        _record_call(db, local_storage, session_id, participant_ids, seconds=5.0, segment_seconds=2.0))
    recording = _check_recording(db, local_storage, recording_id, clients)
    # segments rotated on key frames, one after the other without holes
    for pid in participant_ids:
        mine = sorted((s for s in recording.segments if s.participant_id == pid), key=lambda s: s.index)
        assert len(mine) >= 2
        for previous, segment in pairwise(mine):
            assert abs((segment.started_at - previous.ended_at).total_seconds()) < 0.1
            assert segment.gap_reason is None

    # tamper: one byte of one stored segment changed -> verify names exactly that segment
    victim = recording.segments[1]
    path = local_storage.local_file(victim.key)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with db.transaction() as session:
        report = service.verify(db=session, recording=session.get(Recording, recording_id),
                                storage=local_storage)
    assert not report.ok
    assert report.bad_segments == [victim.index]
    assert any(p.startswith(f"segment {victim.index} (participant {victim.participant_id}") for p in report.problems)


@pytest.mark.slow
@REAL_TIME
def test_three_party_call_is_recorded(db, org, local_storage):
    session_id, participant_ids = make_session(db, org, roles=("leader", "room", "petitioner"))
    recording_id, clients = asyncio.run(
        _record_call(db, local_storage, session_id, participant_ids, seconds=4.0, segment_seconds=60))
    recording = _check_recording(db, local_storage, recording_id, clients)
    assert len(recording.segments) == 3


@pytest.mark.slow
def test_rejoin_continues_in_a_new_segment_and_the_gap_is_in_the_manifest(db, org, local_storage):
    session_id, (leader, room) = make_session(db, org, roles=("leader", "room"))

    async def scenario():
        hub, clients = make_hub()
        live = await LiveRecording.start(db=db, hub=hub, session_id=session_id, storage=local_storage,
                                         segment_seconds=60)
        try:
            await _connect(hub, clients, [leader, room])
            # 1.5 s of call, 1.5 s away and 1.5 s back, each counted in the leader's frames at the hub
            assert await _frames_pass(hub, str(leader), 1.5)
            await hub.remove_participant(str(room))
            await clients.pop(str(room)).close()
            left_at = time.time()
            assert await _frames_pass(hub, str(leader), 1.5)
            back = add_recorded_client(hub, clients, str(room), "green", AMPLITUDE)
            await back.join()
            assert await wait_until(lambda: clients[str(leader)].got(str(room), "video").frames > 3
                                    and back.got(str(leader), "video").frames > 3, timeout=8)
            back_at = time.time()
            assert await _frames_pass(hub, str(room), 1.5)
            await live.stop()
        finally:
            await hub.close()
            for client in clients.values():
                await client.close()
        return live.recording_id, left_at, back_at

    recording_id, left_at, back_at = asyncio.run(scenario())
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        assert recording.state == RecordingState.finalised
        assert service.verify(db=session, recording=recording, storage=local_storage).ok
        room_segments = sorted((s for s in recording.segments if s.participant_id == room), key=lambda s: s.index)
        leader_segments = [s for s in recording.segments if s.participant_id == leader]
    assert len(room_segments) == 2 and len(leader_segments) == 1
    first, second = room_segments
    assert second.gap_reason == "rejoin"
    gap = (second.started_at - first.ended_at).total_seconds()
    assert 1.3 < gap < back_at - left_at + 0.5, gap
    assert second.gap_before_s == pytest.approx(gap, abs=0.01)
    manifest = json.loads(recording.manifest)
    gaps = [g for g in manifest["gaps"] if g["participant_id"] == room]
    assert [g["reason"] for g in gaps] == ["rejoin"]
    assert gaps[0]["start"] < gaps[0]["end"]
    # the combined file keeps the hole: the room's video has no packet for the length of the gap
    combined = local_storage.local_file(recording.media_key)
    video = next(t for t in manifest["media"]["tracks"] if t["participant_id"] == room and t["kind"] == "video")

    with av.open(str(combined)) as container:
        times = [float(p.pts * p.time_base) for p in container.demux(container.streams[video["index"]])
                 if p.pts is not None]
    assert max(b - a for a, b in pairwise(times)) == pytest.approx(gap, abs=0.15)
