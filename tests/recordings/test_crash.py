"""kill -9 of the process running the hub and the recorder: what was written plays, verifies, and little is lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

from recordings import service
from recordings.journal import JOURNAL_KEY, read_journal
from recordings.probe import decode_errors, probe
from recordings.storage import LocalStorage
from tests.recordings.conftest import make_session
from tests.recordings.media_clients import wait_until
from tests.recordings.recording_clients import RecordedClient
from vreception.models.recordings import Recording, RecordingState

ROOT = Path(__file__).resolve().parents[2]
MAX_LOST = 1.5


@pytest.fixture
def db(sqlite_db):
    return sqlite_db


class RemoteHub:
    """The hub in the child process, as the test clients see it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.clients: dict[str, RecordedClient] = {}
        self.answers: dict[str, asyncio.Future] = {}
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    def send(self, message: dict) -> None:
        self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def add_participant(self, pid: str, sdp: str) -> str:
        self.answers[pid] = asyncio.get_running_loop().create_future()
        self.send({"op": "join", "pid": pid, "sdp": sdp})
        return await asyncio.wait_for(self.answers[pid], 10)

    async def accept_answer(self, pid: str, sdp: str) -> None:
        self.send({"op": "accept", "pid": pid, "sdp": sdp})

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            if message["op"] == "ready":
                self.ready.set_result(message["recording_id"])
            elif message["op"] == "answer":
                self.answers[message["pid"]].set_result(message["sdp"])
            elif message["op"] == "offer":
                asyncio.get_running_loop().create_task(self.clients[message["pid"]].handle_offer(message["sdp"]))


@pytest.mark.slow
def test_kill_9_mid_session_leaves_playable_verifiable_segments(db, org, tmp_path):
    session_id, participant_ids = make_session(db, org, roles=("leader", "room"))
    root = tmp_path / "recordings"
    storage = LocalStorage(root)

    async def scenario() -> tuple[int, float, dict]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.recordings.crash_server", db.url, str(root), str(session_id), "2",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )
        hub = RemoteHub(process)
        clients = {}
        try:
            recording_id = await asyncio.wait_for(hub.ready, 20)
            for pid, colour in zip(participant_ids, ("red", "green"), strict=True):
                client = hub.clients[str(pid)] = clients[str(pid)] = RecordedClient(str(pid), colour, 8000, hub)
                await client.join()
            assert await wait_until(lambda: all(c.got(o, "video").frames > 3 for c in clients.values()
                                                for o in clients if o != c.name), timeout=10)
            journal = storage.live_path(f"sessions/{session_id}/recording-{recording_id}/{JOURNAL_KEY}")

            def everyone_closed_a_segment() -> bool:
                closed = {e["participant"] for e in read_journal(journal) if e["event"] == "close"}
                return closed >= set(clients)

            assert await wait_until(everyone_closed_a_segment, timeout=15)
            # kill a second into a fresh segment, so both a closed and a torn file are left behind

            def into_a_segment() -> bool:
                opened = [e["started_at"] for e in read_journal(journal) if e["event"] == "open"]
                return bool(opened) and 1.0 <= time.time() - max(opened) <= 1.3

            assert await wait_until(into_a_segment, timeout=5, step=0.02)
            killed_at = time.time()
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
            sent_from = {name: client.video.first_at for name, client in clients.items()}
        finally:
            hub.reader.cancel()
            for client in clients.values():
                await client.close()
            if process.returncode is None:
                process.kill()
                await process.wait()
        return recording_id, killed_at, sent_from

    recording_id, killed_at, sent_from = asyncio.run(scenario())
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        assert recording.state == RecordingState.recording  # the process died before finalising
        closed_before = {s.index for s in recording.segments}
        recovered = service.recover(db=session, recording=recording, storage=storage)
        assert recovered, "the segments open at the kill were not recovered"
        assert all(not s.finalised for s in recovered)
        segments = sorted(recording.segments, key=lambda s: s.index)
    assert closed_before, "segments closed before the kill should already be registered"

    for pid in participant_ids:
        mine = [s for s in segments if s.participant_id == pid]
        assert len(mine) >= 2
        for segment in mine:
            path = storage.local_file(segment.key)
            assert decode_errors(path) == [], segment.key
            info = probe(path)
            assert sorted(s.kind for s in info.streams) == ["audio", "video"]
            assert all(s.packets > 0 for s in info.streams)
        # contiguous from the first frame to the kill, less at most MAX_LOST seconds at the end
        for previous, segment in pairwise(mine):
            assert abs((segment.started_at - previous.ended_at).total_seconds()) < 0.15
        assert mine[0].started_at.timestamp() - sent_from[str(pid)] < 0.5
        lost = killed_at - mine[-1].ended_at.timestamp()
        print(f"participant {pid}: {lost:.2f} s lost at the kill")
        assert lost <= MAX_LOST, f"participant {pid}: {lost:.2f} s lost"

    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        service.finalise(db=session, recording=recording, storage=storage, work_dir=tmp_path)
    with db.transaction() as session:
        report = service.verify(db=session, recording=session.get(Recording, recording_id), storage=storage)
    assert report.ok, report.problems
