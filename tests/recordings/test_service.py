"""The recording service on SQLite and PostgreSQL: segments, finalise, verify (tamper), audit, purge."""

from __future__ import annotations

import fractions
import json
import time
from datetime import UTC, datetime

import av
import pytest

from recordings import service
from recordings.errors import RecordingRetained, RecordingState
from recordings.segment import SegmentFile
from recordings.storage import sha256_file
from tests.recordings.conftest import make_session, set_matter_state
from tests.recordings.test_storage import moto_endpoint  # noqa: F401  (the moto server fixture)
from vreception import audit
from vreception.models import AuditEvent, MatterState
from vreception.models.recordings import Recording
from vreception.models.recordings import RecordingState as State


def _encoded(seconds: float) -> tuple[list[bytes], list[bytes]]:
    """VP8 frames (30 fps) and Opus frames (20 ms) of a grey picture and a hum."""
    video = av.CodecContext.create("libvpx", "w")
    video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
    video.time_base = fractions.Fraction(1, 30)
    video.options = {"deadline": "realtime", "cpu-used": "8"}
    frames = []
    for i in range(int(seconds * 30)):
        frame = av.VideoFrame(160, 120, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(i * 4) % 200]) * plane.buffer_size)
        frame.pts = i
        frames += [bytes(p) for p in video.encode(frame)]
    frames += [bytes(p) for p in video.encode(None)]
    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format = 48000, "stereo", "s16"
    sounds = []
    for i in range(int(seconds * 50)):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(b"\x00\x10" * 1920)
        frame.pts, frame.sample_rate = i * 960, 48000
        sounds += [bytes(p) for p in audio.encode(frame)]
    return frames, sounds


CLIP = None


def _write_segment(storage, key: str, origin: float, seconds: float = 1.0) -> dict:
    """A real segment file (what the recorder writes), stored under KEY; add_segment's media fields."""
    global CLIP
    CLIP = CLIP or _encoded(1.0)
    video, audio = CLIP
    segment = SegmentFile(storage.live_path(key), origin, {"video": "vp8", "audio": "opus"})
    segment.width, segment.height = 160, 120
    segment.open()
    for i, data in enumerate(video[: int(seconds * 30)]):
        segment.write("video", data, origin + i / 30, i == 0)
    for i, data in enumerate(audio[: int(seconds * 50)]):
        segment.write("audio", data, origin + i / 50, True)
    segment.close()
    sha256, size = sha256_file(segment.path)
    storage.put(key, segment.path)
    return {"key": key, "container": "webm", "codecs": {"audio": "opus", "video": "vp8"}, "bytes": size,
            "sha256": sha256, "started_at": datetime.fromtimestamp(origin, UTC),
            "ended_at": datetime.fromtimestamp(origin + segment.duration, UTC)}


def _recorded(db, org, storage, matter_state=None, finalise=True) -> tuple[int, int, list[int]]:
    session_id, participants = make_session(db, org, roles=("leader", "room"), matter_state=matter_state)
    t0 = time.time()
    with db.transaction() as session:
        recording = service.start_recording(db=session, session_id=session_id, storage=storage)
        prefix = recording.prefix
        layout = [(participants[0], 0.0), (participants[1], 0.0), (participants[0], 1.0), (participants[1], 2.5)]
        for index, (pid, offset) in enumerate(layout):
            fields = _write_segment(storage, f"{prefix}/p{pid}/seg-{index:05d}.webm", t0 + offset)
            gap = {"start": t0 + 1.0, "end": t0 + 2.5, "reason": "rejoin"} if index == 3 else None
            service.add_segment(db=session, recording=recording, index=index, participant_id=pid,
                                gap_before=gap, **fields)
    if finalise:
        with db.transaction() as session:
            service.finalise(db=session, recording=session.get(Recording, recording.id), storage=storage)
    return recording.id, session_id, participants


def _verify(db, recording_id, storage):
    with db.transaction() as session:
        return service.verify(db=session, recording=session.get(Recording, recording_id), storage=storage)


def test_finalise_makes_manifest_and_combined_file_chained_into_the_audit_log(db, org, local_storage):
    recording_id, session_id, (leader, room) = _recorded(db, org, local_storage)
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        assert recording.state == State.finalised
        events = (session.query(AuditEvent).filter_by(entity_type="recording", entity_id=str(recording_id))
                  .order_by(AuditEvent.seq).all())
        finalised = json.loads([e for e in events if e.action == "recording.finalised"][0].data)
        assert audit.verify(db=session).ok
    assert [e.action for e in events] == ["recording.started"] + ["recording.segment_added"] * 4 + [
        "recording.finalised"]
    assert finalised["manifest_sha256"] == recording.manifest_sha256
    body = local_storage.read(recording.manifest_key)
    assert body == recording.manifest.encode() and service.manifests.sha256_hex(body) == recording.manifest_sha256
    manifest = json.loads(body)
    assert [s["index"] for s in manifest["segments"]] == [0, 1, 2, 3]
    # the room rejoined; the leader had nothing after 2 s of a 3.5 s recording
    assert [(g["participant_id"], g["reason"]) for g in manifest["gaps"]] == [(room, "rejoin"), (leader, "left")]
    # the combined file: one audio and one video track per participant, remuxed from the segments
    combined = local_storage.local_file(recording.media_key)
    assert sha256_file(combined) == (recording.sha256, recording.bytes)
    with av.open(str(combined)) as container:
        assert sorted((s.type, s.metadata.get("title", "")) for s in container.streams) == sorted(
            (kind, f"participant {pid} {kind}") for pid in (leader, room) for kind in ("audio", "video"))
        packets = sum(1 for p in container.demux() if p.pts is not None)
    assert packets == 4 * (30 + 50)
    assert recording.duration_s == pytest.approx(3.5, abs=0.1)
    assert _verify(db, recording_id, local_storage).ok
    with db.transaction() as session:
        assert service.read_media(recording=session.get(Recording, recording_id), storage=local_storage,
                                  offset=10, length=20) == combined.read_bytes()[10:30]


def test_one_byte_changed_in_a_segment_names_that_segment(db, org, local_storage):
    recording_id, _, _ = _recorded(db, org, local_storage)
    with db.transaction() as session:
        victim = next(s for s in session.get(Recording, recording_id).segments if s.index == 2)
    path = local_storage.local_file(victim.key)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    report = _verify(db, recording_id, local_storage)
    assert not report.ok
    assert report.bad_segments == [2]
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"segment 2 (participant {victim.participant_id}, {victim.key}): sha256 differs")


def test_verify_catches_a_changed_manifest_a_missing_file_and_a_broken_chain(db, org, local_storage):
    recording_id, _, _ = _recorded(db, org, local_storage)
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        # rewriting the manifest and its hash in the database does not match the audit log
        forged = recording.manifest.replace('"rejoin"', '"no_media"')
        recording.manifest, recording.manifest_sha256 = forged, service.manifests.sha256_hex(forged.encode())
    problems = _verify(db, recording_id, local_storage).problems
    assert "audit: the manifest hash in the audit log differs from the recording's" in problems
    assert any(p.startswith("manifest file") for p in problems)

    recording_id, _, _ = _recorded(db, org, local_storage)
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        local_storage.delete(recording.segments[0].key)
        event = session.query(AuditEvent).filter_by(action="recording.started").first()
        event.data = event.data.replace("local", "s3")
    report = _verify(db, recording_id, local_storage)
    assert report.bad_segments == [0]
    assert any("missing from storage" in p for p in report.problems)
    assert any(p.startswith("audit chain:") for p in report.problems)


def test_one_recording_at_a_time_and_no_segment_after_finalising(db, org, local_storage):
    recording_id, session_id, (leader, _) = _recorded(db, org, local_storage, finalise=False)
    with db.transaction() as session:
        with pytest.raises(RecordingState):
            service.start_recording(db=session, session_id=session_id, storage=local_storage)
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        service.finalise(db=session, recording=recording, storage=local_storage)
        with pytest.raises(RecordingState):
            service.finalise(db=session, recording=recording, storage=local_storage)
        with pytest.raises(RecordingState):
            service.add_segment(db=session, recording=recording, index=9, participant_id=leader, key="k",
                                container="webm", codecs={}, bytes=1, sha256="0" * 64,
                                started_at=recording.started_at, ended_at=recording.started_at)


def test_purge_refuses_open_matters_and_audits_what_it_deletes(db, org, local_storage):
    recording_id, session_id, _ = _recorded(db, org, local_storage, matter_state=MatterState.accepted)
    prefix = f"sessions/{session_id}/recording-{recording_id}/"
    stored = local_storage.list(prefix)
    assert len(stored) == 6  # 4 segments, the combined file, the manifest
    with db.transaction() as session:
        with pytest.raises(RecordingRetained):
            service.purge(db=session, recording=session.get(Recording, recording_id), storage=local_storage)
        assert service.purge_expired(db=session, storage=local_storage, retention_days=None) == []
    assert local_storage.list(prefix) == stored

    set_matter_state(db, session_id, MatterState.closed)
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        # kept with the case file by default; a retention period counts from the recording's end
        assert service.purge_expired(db=session, storage=local_storage, retention_days=None) == []
        assert service.purge_expired(db=session, storage=local_storage, retention_days=30) == []
        service.purge(db=session, recording=recording, storage=local_storage, actor_id=None, reason="court order")
        event = session.query(AuditEvent).filter_by(action="recording.purged").one()
        assert audit.verify(db=session).ok
    assert local_storage.list(prefix) == []
    data = json.loads(event.data)
    assert data["reason"] == "court order"
    assert sorted(d["key"] for d in data["deleted"]) == stored
    assert all(d["sha256"] for d in data["deleted"])
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        assert recording.state == State.purged and recording.manifest_sha256  # the hashes stay
    assert not _verify(db, recording_id, local_storage).ok


def test_purge_expired_after_the_retention_period(db, org, local_storage):
    from datetime import timedelta

    from vreception import clock

    recording_id, session_id, _ = _recorded(db, org, local_storage, matter_state=MatterState.final)
    clock.travel_to(clock.now() + timedelta(days=31))
    with db.transaction() as session:
        assert service.purge_expired(db=session, storage=local_storage, retention_days=30) == [recording_id]
        assert session.get(Recording, recording_id).state == State.purged


def test_finalise_and_verify_on_s3(db, org, tmp_path, request):
    endpoint = request.getfixturevalue("moto_endpoint")
    from recordings.storage import S3Storage

    s3 = S3Storage(bucket="evidence", staging=tmp_path / "staging", endpoint_url=endpoint, access_key="testing",
                   secret_key="testing")
    if "evidence" not in [b["Name"] for b in s3.client.list_buckets()["Buckets"]]:
        s3.client.create_bucket(Bucket="evidence")
    recording_id, _, _ = _recorded(db, org, s3)
    assert _verify(db, recording_id, s3).ok
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        key = recording.segments[1].key
    data = bytearray(s3.read(key))
    data[50] ^= 1
    s3.client.put_object(Bucket="evidence", Key=key, Body=bytes(data))
    assert _verify(db, recording_id, s3).bad_segments == [1]
