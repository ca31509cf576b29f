"""What verify says is missing after a media worker was lost: each participant's worker_lost seconds, while the
recording runs and once it is finalised; other gaps (a page's fresh start, leaving) are not counted."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from recordings import service
from recordings.storage import LocalStorage
from tests.cluster.topology import SECRET
from tests.recordings.conftest import make_session
from tests.recordings.test_service import _write_segment
from vreception.models.recordings import Recording

# (participant: 0 the leader, 1 the room; start offset in seconds; the gap before it, from an offset, and why)
LAYOUT = [
    (0, 0.0, None), (1, 0.0, None),
    (0, 3.0, (1.0, "worker_lost")), (1, 3.5, (1.0, "worker_lost")),  # the worker lost after 1 s; resumed elsewhere
    (0, 6.0, (4.0, "rejoin")),  # the leader's page started its media afresh: not a worker's loss
]


def _recorded(db, org, storage, t0: float) -> tuple[int, list[int]]:
    session_id, participants = make_session(db, org, roles=("leader", "room"))
    with db.transaction() as tx:
        recording = service.start_recording(db=tx, session_id=session_id, storage=storage)
        for index, (who, offset, gap) in enumerate(LAYOUT):
            fields = _write_segment(storage, f"{recording.prefix}/p{participants[who]}/seg-{index:05d}.webm",
                                    t0 + offset)
            before = {"start": t0 + gap[0], "end": t0 + offset, "reason": gap[1]} if gap else None
            service.add_segment(db=tx, recording=recording, index=index, participant_id=participants[who],
                                gap_before=before, **fields)
        return recording.id, participants


def _report(db, recording_id: int, storage) -> service.VerifyReport:
    with db.transaction() as tx:
        return service.verify(db=tx, recording=tx.get(Recording, recording_id), storage=storage)


def _worker_lost_by_rows(db, recording_id: int) -> dict[int, float]:
    """From the rows: the time between each participant's last segment before the loss and its first after it."""
    with db.transaction() as tx:
        segments = sorted(tx.get(Recording, recording_id).segments, key=lambda s: s.index)
        ends = {s.participant_id: s.ended_at for s in segments[:2]}
        return {s.participant_id: round((s.started_at - ends[s.participant_id]).total_seconds(), 3)
                for s in segments if s.gap_reason == "worker_lost"}


def test_verify_says_how_many_seconds_each_participant_lost_with_the_worker(db, org, tmp_path):
    storage = LocalStorage(tmp_path / "recordings")
    recording_id, (leader, room) = _recorded(db, org, storage, time.time() - 10)
    expected = _worker_lost_by_rows(db, recording_id)
    # each segment lasts about a second: the leader lost about 2 s, the room about 2.5 s
    assert set(expected) == {leader, room} and 1.8 < expected[leader] < 2.2 and 2.3 < expected[room] < 2.7

    running = _report(db, recording_id, storage)
    assert running.ok, running.problems
    assert running.missing == expected

    with db.transaction() as tx:
        service.finalise(db=tx, recording=tx.get(Recording, recording_id), storage=storage)
    finalised = _report(db, recording_id, storage)
    assert finalised.ok, finalised.problems
    assert finalised.missing == expected  # the manifest's worker_lost gaps, the rejoin not among them

    # `vreception recordings verify` prints it beside each gap
    env = {k: v for k, v in os.environ.items() if not k.startswith("VRECEPTION_")}
    env.update({"VRECEPTION_DATABASE_URL": db.url, "VRECEPTION_DATA_DIR": str(tmp_path),
                "VRECEPTION_SECRET_KEY": SECRET, "VRECEPTION_MODE": "dev"})
    done = subprocess.run([sys.executable, "-m", "vreception.cli", "recordings", "verify", str(recording_id)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"missing with a lost media worker: participant {leader}, {expected[leader]} s in all" in done.stdout
    assert f"missing with a lost media worker: participant {room}, {expected[room]} s in all" in done.stdout
    assert done.stdout.count("missing: gap worker_lost") == 2 and "missing: gap rejoin" in done.stdout
