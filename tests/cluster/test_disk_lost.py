"""A media worker's machine lost with its disk: its journal and its open segments go with it, so the adopter
continues the recording after each participant's last segment in shared storage. Media workers cut segments of at
most media_worker_segment_seconds (8 s by default), so what is lost stays within 10 s, and the manifest and
`recordings verify` name it per participant.

The topology (tests/cluster/world.py) runs with the settings' own segment length and a data directory per worker;
the worker holding the call is killed (-9) just before its next segment would reach storage (the worst moment)
and its data directory deleted before the other worker adopts the call.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from recordings import manifest as manifests
from recordings.call import CallMedia
from tests.calls.helpers import wait_for
from tests.cluster.clients import FailoverClient
from tests.cluster.world import WORKERS, at, book_call, wait_finalised
from tests.factories import app_settings
from tests.recordings.conftest import make_session
from tests.recordings.test_service import _write_segment
from vreception.config import Settings
from vreception.models.audit import AuditEvent
from vreception.models.recordings import Recording

WORLD_OPTIONS = {"segment_seconds": None, "own_disks": True}  # the deployed segment length; a disk per worker
SEGMENT_S = Settings.model_fields["media_worker_segment_seconds"].default
MAX_LOST_S = 10.0  # the bound for a worker lost with its disk
# What closing a segment may add to its length: the key frame it waits for (asked again every 0.5 s) and a frame.
KEYFRAME_SLACK_S = 1.0
MAX_LOST_WITH_DISK_KEPT_S = 1.5  # tests/cluster/test_topology.py's bound when only the process dies


def _segment_keys(client, bucket: str, participant_id: int) -> list[str]:
    """The camera segment keys of PARTICIPANT_ID in the bucket."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="sessions/")
    return [item["Key"] for page in pages for item in page.get("Contents", [])
            if f"/p{participant_id}/seg-" in item["Key"]]


@pytest.mark.media
@pytest.mark.slow
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_worker_lost_with_its_disk_costs_each_participant_at_most_10_s(db, org, world):
    topology, network, proxy = world.topology, world.network, world.proxy
    tls = proxy.ssl_context()
    figures: dict[str, float] = {}

    session, (room_pid, room_url, _), (leader_pid, leader_url, _) = book_call(world, org)
    session_id = session["id"]
    hosting = ""

    async def scenario() -> None:
        nonlocal hosting
        here = [network.address("clients")]
        leader = FailoverClient(leader_url, colour="red", addresses=here, tls=tls)
        room = FailoverClient(room_url, colour="blue", addresses=here, tls=tls)
        s3 = await asyncio.to_thread(world.s3.client)
        try:
            await leader.connect()
            assert await wait_for(lambda: leader.of_type("welcome"), 10), leader.messages
            await room.connect()
            assert await wait_for(lambda: room.of_type("lobby"), 10), room.messages
            await leader.send({"type": "admit", "participant_id": room_pid})
            start = time.monotonic()
            assert await wait_for(lambda: leader.frames_since(start) > 10 and room.frames_since(start) > 10, 30), \
                (leader.messages[-5:], room.messages[-5:])
            hosting = topology.placed_on(session_id) or ""
            assert hosting in WORKERS

            # when each of the leader's segments reaches storage (the worker rotates them every SEGMENT_S)
            stored_at: list[float] = []
            seen: set[str] = set()
            deadline = time.monotonic() + 4 * SEGMENT_S + 20
            while len(stored_at) < 2 and time.monotonic() < deadline:
                keys = set(await asyncio.to_thread(_segment_keys, s3, world.s3.bucket, leader_pid))
                stored_at += [time.monotonic()] * len(keys - seen)
                seen |= keys
                await asyncio.sleep(0.1)
            assert len(stored_at) >= 2, seen
            figures["segment_period_s"] = round(stored_at[1] - stored_at[0], 2)
            # near the worst moment: a second before the leader's next segment would be stored
            await asyncio.sleep(max(0.0, stored_at[1] + SEGMENT_S - 1.0 - time.monotonic()))

            # --- the worker's machine vanishes: its process (kill -9) and its disk (journal, open segments)
            topology.workers[hosting].kill()
            killed, figures["killed_at"] = time.monotonic(), time.time()
            shutil.rmtree(topology.disk(hosting))
            assert await wait_for(lambda: leader.frames_since(killed + 0.5) > 10 and room.frames_since(killed + 0.5) > 10,
                                  20), (leader.messages[-5:], room.messages[-5:])
            assert topology.placed_on(session_id) != hosting
            await asyncio.sleep(3)  # recorded a while on the other worker
            await leader.send({"type": "end"})
            assert await wait_for(lambda: leader.closed.is_set() and room.closed.is_set(), 10)
        finally:
            await room.close()
            await leader.close()

    network.run_in("clients", lambda: asyncio.run(scenario()))

    wait_finalised(db, session_id, topology)
    with db.transaction() as tx:
        recording = tx.query(Recording).filter(Recording.session_id == session_id).one()
        document = json.loads(recording.manifest)
        recording_id = recording.id
        events = list(tx.scalars(select(AuditEvent).where(AuditEvent.entity_type == "recording",
                                                         AuditEvent.entity_id == str(recording_id))))
        recovered = [json.loads(e.data) for e in events if e.action == "recording.recovered"]
        registered = {json.loads(e.data)["index"]: e.at.timestamp() for e in events
                      if e.action == "recording.segment_added"}
    # the adopter found nothing of the lost worker's to recover: its disk was gone
    assert recovered == [{"segments": [], "empty": []}], recovered

    report, stored = world.verify(db.url, recording_id)
    assert report.ok, report.problems
    assert all(s["key"] in stored for s in document["segments"])

    # the lost worker cut its segments at SEGMENT_S (the embedded default of 60 s does not apply to workers)
    before = [s for s in document["segments"] if at(s["started_at"]) < figures["killed_at"]]
    assert {s["participant_id"] for s in before} == {leader_pid, room_pid}
    longest = max(at(s["ended_at"]) - at(s["started_at"]) for s in before)
    figures["longest_segment_s"] = round(longest, 2)
    assert longest <= SEGMENT_S + KEYFRAME_SLACK_S, document["segments"]

    # had the kill come at the worst moment (just before a segment was registered), from the end of the one before
    # (or the participant's first media) to that registration: what a lost disk could have cost at any time
    exposure = 0.0
    for pid in (leader_pid, room_pid):
        mine = sorted((s for s in before if s["participant_id"] == pid), key=lambda s: s["index"])
        starts = [at(mine[0]["started_at"])] + [at(s["ended_at"]) for s in mine[:-1]]
        exposure = max(exposure, *(registered[s["index"]] - since for s, since in zip(mine, starts, strict=True)))
    figures["worst_exposure_s"] = round(exposure, 3)
    assert exposure <= MAX_LOST_S, figures

    # each participant's worker_lost gap starts where their last segment in storage ended, and lost at most 10 s
    lost = {g["participant_id"]: g for g in document["gaps"] if g["reason"] == manifests.WORKER_LOST}
    assert set(lost) == {leader_pid, room_pid}, document["gaps"]
    for pid, gap in lost.items():
        last_end = max(at(s["ended_at"]) for s in before if s["participant_id"] == pid)
        assert abs(at(gap["start"]) - last_end) < 0.01, (gap, last_end)
        figures[f"lost_at_kill_s_p{pid}"] = round(figures["killed_at"] - last_end, 3)
        assert figures["killed_at"] - last_end <= MAX_LOST_S, (pid, figures)
    # killed just before the leader's next segment was stored: its open segment went with the disk (with the disk
    # kept, recovery would have registered it and the loss would be under MAX_LOST_WITH_DISK_KEPT_S)
    assert figures[f"lost_at_kill_s_p{leader_pid}"] > MAX_LOST_WITH_DISK_KEPT_S, figures
    assert report.missing == {pid: manifests._seconds(gap) for pid, gap in lost.items()}

    done = subprocess.run(topology.cli("clients", ["recordings", "verify", str(recording_id)]), env=topology.env(),
                          cwd=topology.data_dir.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"recording {recording_id}: ok" in done.stdout
    for participant_id, seconds in report.missing.items():
        assert f"missing with a lost media worker: participant {participant_id}, {seconds} s in all" in done.stdout
    print("worker lost with its disk:", json.dumps(figures), *manifests.missing(document), sep="\n  ")


def test_a_participant_with_nothing_in_storage_is_missing_since_they_joined(db, org, tmp_path):
    """A lost disk held a participant's first segment, still open: nothing of theirs is in storage, so the adopter
    marks them missing from when they joined (or the recording started), not from nowhere."""
    from recordings import service

    session_id, (leader, room) = make_session(db, org, roles=("leader", "room"))
    media = CallMedia(db=db, settings=app_settings(db, tmp_path / "var"), deliver=_nowhere)
    t0 = time.time() - 30
    with db.transaction() as tx:
        recording = service.start_recording(db=tx, session_id=session_id, storage=media.storage)
        recording_id = recording.id
        recording.started_at = datetime.fromtimestamp(t0, UTC)
        fields = _write_segment(media.storage, f"{recording.prefix}/p{leader}/seg-00000.webm", t0)
        service.add_segment(db=tx, recording=recording, index=0, participant_id=leader, **fields)
    leader_end = fields["ended_at"].timestamp()
    # the room joined 10 s after the recording started; a participant never seen is not missing anything
    lost = media._recover_lost(session_id, "w1", "w2", {leader: t0, room: t0 + 10})
    assert lost is not None and lost.recording_id == recording_id and lost.next_index == 1
    assert lost.last_media == {leader: pytest.approx(leader_end, abs=0.01), room: pytest.approx(t0 + 10, abs=0.01)}
    # joined before the recording started: missing since it started
    assert media._recover_lost(session_id, "w1", "w2", {room: t0 - 60}).last_media[room] == \
        pytest.approx(t0, abs=0.01)
    # nobody said present: only participants with media in storage have a gap to open
    assert set(media._recover_lost(session_id, "w1", "w2", {}).last_media) == {leader}


async def _nowhere(session_id: int, participant_id: int, message) -> None:
    """No sockets in this test."""


def test_media_workers_cut_segments_of_at_most_their_own_length(db, tmp_path):
    settings = app_settings(db, tmp_path / "var")
    assert settings.recording_segment_seconds == 60 and settings.media_worker_segment_seconds == SEGMENT_S == 8

    def length(**update) -> int:
        return CallMedia(db=db, settings=settings.model_copy(update=update), deliver=_nowhere).segment_seconds

    assert length() == 60  # the embedded server keeps the setting
    assert length(media_placement="workers", redis_url="redis://x") == 8
    assert length(media_placement="workers", redis_url="redis://x", recording_segment_seconds=5) == 5
    assert length(media_placement="workers", redis_url="redis://x", media_worker_segment_seconds=20) == 20
