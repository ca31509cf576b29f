"""Two fronts and two media workers as real processes: any front relays to the session's worker, and a worker killed
with -9 is replaced within seconds, the recording marking the gap and still verifying."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime

import httpx2 as httpx
import pytest

from recordings import manifest as manifests
from recordings import service
from recordings.storage import LocalStorage
from tests.calls.helpers import join_token, ws_url
from tests.cluster.clients import FailoverClient
from tests.cluster.topology import Topology, require_redis, wait_until
from tests.factories import book_walk_in
from vreception.models.recordings import Recording, RecordingState

pytestmark = [pytest.mark.media, pytest.mark.slow]

RESUME_WITHIN_S = 10.0
MAX_LOST_AT_KILL_S = 1.5


async def until(condition, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


@pytest.fixture
def topology(db, tmp_path):
    require_redis()
    world = Topology(database_url=db.url, data_dir=tmp_path / "var")
    world.data_dir.mkdir()
    try:
        yield world
    finally:
        world.stop()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_two_fronts_two_workers_and_a_worker_killed(db, org, topology, tmp_path):
    topology.start(workers=("w1", "w2"), fronts=2)
    front1, front2 = topology.fronts

    with httpx.Client(base_url=front1.base, timeout=20) as http:
        session = book_walk_in(http, org)
        room_pid, room_token = join_token(http, session, "room", "room.township")
        leader_pid, leader_token = join_token(http, session, "leader", "leader.county")
    session_id = session["id"]
    figures: dict[str, float] = {}

    async def scenario() -> None:
        leader = FailoverClient(ws_url(front1.base, session_id, leader_token), colour="red")
        room = FailoverClient(ws_url(front2.base, session_id, room_token), colour="blue")
        try:
            await leader.connect()
            await room.connect()
            assert await until(lambda: room.of_type("lobby"), 10), room.messages
            await leader.send({"type": "admit", "participant_id": room_pid})
            start = time.monotonic()
            assert await until(lambda: leader.frames_since(start) > 10 and room.frames_since(start) > 10, 20), \
                (leader.messages[-5:], room.messages[-5:])
            hosting = topology.placed_on(session_id)
            assert hosting in ("w1", "w2")
            other = "w2" if hosting == "w1" else "w1"
            # the session has recorded a while on the first worker: at least one closed segment each
            await asyncio.sleep(topology.segment_seconds + 1.5)

            topology.workers[hosting].kill()
            killed = time.monotonic()
            killed_wall = time.time()
            assert await until(lambda: leader.frames_since(killed + 0.5) > 10 and room.frames_since(killed + 0.5) > 10,
                               RESUME_WITHIN_S + 5), (leader.messages[-5:], room.messages[-5:])
            assert topology.placed_on(session_id) == other
            for name, client in (("leader", leader), ("room", room)):
                first = client.first_frame_after(killed + 0.5)
                assert first is not None
                figures[f"{name}_resumed_s"] = round(first - killed, 2)
                assert first - killed <= RESUME_WITHIN_S, f"{name}: video again {first - killed:.1f} s after the kill"
            # admitted participants were never sent back to the lobby; each negotiated a second time
            assert len(room.of_type("lobby")) == 1 and leader.offers == 2 and room.offers == 2
            figures["killed_at"] = killed_wall
            await asyncio.sleep(3)  # some media recorded on the second worker
            await leader.send({"type": "end"})
            assert await until(lambda: leader.closed.is_set() and room.closed.is_set(), 10)
        finally:
            await room.close()
            await leader.close()

    asyncio.run(scenario())

    def finalised() -> bool:
        with db.transaction() as tx:
            rows = tx.query(Recording).filter(Recording.session_id == session_id).all()
            return len(rows) == 1 and rows[0].state == RecordingState.finalised

    assert wait_until(finalised, 60), [p.output()[-3000:] for p in topology.workers.values()]
    storage = LocalStorage(topology.data_dir / "recordings")
    with db.transaction() as tx:
        recording = tx.query(Recording).filter(Recording.session_id == session_id).one()
        report = service.verify(db=tx, recording=recording, storage=storage)
        document = json.loads(recording.manifest)
    assert report.ok, report.problems
    lost = [g for g in document["gaps"] if g["reason"] == manifests.WORKER_LOST]
    assert {g["participant_id"] for g in lost} == {leader_pid, room_pid}, document["gaps"]
    for gap in lost:
        seconds = manifests._seconds(gap)
        start = datetime.fromisoformat(gap["start"].replace("Z", "+00:00")).timestamp()
        figures[f"gap_s_p{gap['participant_id']}"] = seconds
        # what the kill itself cost: the open segment was recovered from the disk the worker left (issue: <= 1.5 s)
        figures[f"lost_at_kill_s_p{gap['participant_id']}"] = round(figures["killed_at"] - start, 3)
        assert figures["killed_at"] - start <= MAX_LOST_AT_KILL_S
        assert seconds <= RESUME_WITHIN_S + MAX_LOST_AT_KILL_S
    # `vreception recordings verify` states what is missing, and that the rest is intact
    verified = subprocess.run([sys.executable, "-m", "vreception.cli", "recordings", "verify", str(recording.id)],
                              env=topology.env(), cwd=topology.data_dir.parent, capture_output=True, text=True,
                              timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"recording {recording.id}: ok" in verified.stdout
    assert verified.stdout.count("missing: gap worker_lost") == 2, verified.stdout
    print("cluster failover:", json.dumps(figures), *manifests.missing(document, (manifests.WORKER_LOST,)), sep="\n  ")
