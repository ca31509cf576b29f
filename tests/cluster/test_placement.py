"""The registry and placement on the real Redis: least-loaded, sticky, capacity, a lost worker's sessions re-placed;
a worker's heartbeat after a break (Redis restarted, the process stalled)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tests.cluster.topology import REDIS_URL, require_redis
from vreception.cluster.keys import ClusterKeys
from vreception.cluster.placement import Moved, Placement
from vreception.cluster.registry import Heartbeat, WorkerInfo, announce, live_workers, withdraw


@pytest.fixture
def cluster():
    require_redis()
    keys = ClusterKeys(f"vrt-{uuid.uuid4().hex[:10]}:")
    yield keys

    async def forget() -> None:
        client = aioredis.from_url(REDIS_URL)
        found = [k async for k in client.scan_iter(f"{keys.prefix}*")]
        if found:
            await client.delete(*found)
        await client.aclose()

    asyncio.run(forget())


def run(keys: ClusterKeys, scenario):
    async def main():
        client = aioredis.from_url(REDIS_URL)
        try:
            return await scenario(client, Placement(client, keys))
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_sessions_go_to_the_least_loaded_live_worker_and_stay(cluster):
    async def scenario(client, placement):
        assert await placement.place(1) is None  # nobody to place it on
        for worker_id in ("a", "b"):
            await announce(client, cluster, WorkerInfo(id=worker_id, address="127.0.0.1"), ttl_ms=10_000)
        placed = await asyncio.gather(*(placement.place(s) for s in range(1, 41)))
        again = [await placement.place(s) for s in range(1, 41)]
        spread = await placement.spread()
        await placement.release(1, placed[0])
        return placed, again, spread, await placement.placed_on(1)

    placed, again, spread, after_release = run(cluster, scenario)
    assert again == placed  # sticky
    assert spread == {"a": 20, "b": 20}
    assert after_release is None


def test_a_full_worker_is_passed_over_while_another_has_room(cluster):
    async def scenario(client, placement):
        await announce(client, cluster, WorkerInfo(id="a", address="10.0.0.1", capacity=2), ttl_ms=10_000)
        await announce(client, cluster, WorkerInfo(id="z", address="10.0.0.2", capacity=100), ttl_ms=10_000)
        for session_id in range(1, 4):
            await placement.place(session_id)
        # 'a' holds two (its capacity); everything after goes to 'z' even though 'a' sorts first
        return [await placement.place(s) for s in range(4, 8)], await placement.spread()

    later, spread = run(cluster, scenario)
    assert set(later) == {"z"} and spread["a"] == 2


def test_a_lost_workers_sessions_are_re_placed_once(cluster):
    async def scenario(client, placement):
        await announce(client, cluster, WorkerInfo(id="a", address="127.0.0.1"), ttl_ms=10_000)
        await announce(client, cluster, WorkerInfo(id="b", address="127.0.0.1"), ttl_ms=300)
        placed = {s: await placement.place(s) for s in range(1, 7)}
        on_b = sorted(s for s, w in placed.items() if w == "b")
        await asyncio.sleep(0.5)  # b's heartbeat expires
        live = [w.id for w in await live_workers(client, cluster)]
        first, second = await asyncio.gather(placement.adopt_orphans(), placement.adopt_orphans())
        return on_b, live, first + second, {s: await placement.place(s) for s in range(1, 7)}, \
            await client.smembers(cluster.workers)

    on_b, live, moved, now, known = run(cluster, scenario)
    assert on_b and live == ["a"]
    assert sorted(moved, key=lambda m: m.session_id) == [Moved(s, "a", "b") for s in on_b]  # each move reported once
    assert set(now.values()) == {"a"}
    assert known == {b"a"}  # the lost worker is forgotten once its sessions are elsewhere


def test_a_lost_workers_sessions_go_first_to_a_worker_on_its_machine_while_one_has_room(cluster):
    async def scenario(client, placement):
        # two machines: 10.0.0.1 with a, b and c (c nearly full), 10.0.0.2 with z (idle)
        for worker_id, address, capacity in (("a", "10.0.0.1", 100), ("c", "10.0.0.1", 4), ("z", "10.0.0.2", 100)):
            await announce(client, cluster, WorkerInfo(id=worker_id, address=address, capacity=capacity),
                           ttl_ms=10_000)
        await announce(client, cluster, WorkerInfo(id="b", address="10.0.0.1"), ttl_ms=300)
        for session_id, worker_id in [(s, "a") for s in range(1, 6)] + [(s, "c") for s in range(6, 9)] + \
                [(s, "b") for s in range(9, 14)]:
            await client.set(cluster.placement(session_id), worker_id)
            await client.sadd(cluster.sessions(worker_id), session_id)
        await asyncio.sleep(0.5)  # b's process died; its machine's other workers live on
        moved = await placement.adopt_orphans()
        forgotten = await client.hget(cluster.addresses, "b")
        # then the whole machine 10.0.0.1 is lost: nothing near is alive, its sessions go to the other machine
        await client.delete(cluster.worker("a"), cluster.worker("c"))
        return moved, forgotten, await placement.adopt_orphans(), await placement.spread()

    moved, forgotten, then, spread = run(cluster, scenario)
    # c (same machine, 3 of 4) takes one and is full; a (same machine, busier than z) takes the rest; none to z
    assert sorted((m.session_id, m.worker) for m in moved) == [(9, "c"), (10, "a"), (11, "a"), (12, "a"), (13, "a")]
    assert forgotten is None  # a lost worker's address goes once its sessions are elsewhere
    assert {m.worker for m in then} == {"z"} and len(then) == 13 and spread == {"z": 13}


def test_the_heartbeat_keeps_a_worker_alive_and_withdraw_ends_it(cluster):
    async def scenario(client, placement):
        beat = Heartbeat(client, cluster, lambda: WorkerInfo(id="a", address="127.0.0.1", sessions=3),
                         interval_ms=100, ttl_ms=300)
        task = asyncio.create_task(beat.run())
        await asyncio.sleep(0.8)  # well past one TTL
        alive = await live_workers(client, cluster)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await withdraw(client, cluster, "a")
        return alive, await live_workers(client, cluster), beat.beats

    alive, after, beats = run(cluster, scenario)
    assert [w.sessions for w in alive] == [3] and after == [] and beats >= 5


def test_a_session_stays_on_a_silent_worker_until_it_is_adopted(cluster):
    async def scenario(client, placement):
        await announce(client, cluster, WorkerInfo(id="a", address="127.0.0.1"), ttl_ms=10_000)
        await announce(client, cluster, WorkerInfo(id="b", address="127.0.0.1"), ttl_ms=300)
        placed = {s: await placement.place(s) for s in range(1, 5)}
        await asyncio.sleep(0.5)  # b is silent (a Redis restart looks the same until it announces itself again)
        silent = {s: await placement.place(s) for s in placed}
        moved = await placement.adopt_orphans()
        return placed, silent, moved, {s: await placement.place(s) for s in placed}

    placed, silent, moved, after = run(cluster, scenario)
    on_b = sorted(s for s, w in placed.items() if w == "b")
    # a front's signal never moves it: only adoption does, which continues the recording and re-admits the pages
    assert on_b and silent == placed
    assert sorted(m.session_id for m in moved) == on_b and set(after.values()) == {"a"}


def test_the_heartbeat_knows_how_long_it_has_been_steady_and_when_it_lapsed(cluster):
    async def scenario(client, placement):
        beat = Heartbeat(client, cluster, lambda: WorkerInfo(id="a", address="127.0.0.1"), interval_ms=100,
                         ttl_ms=300)
        await beat.beat()
        first = (beat.lapsed, beat.steady_ms)
        await asyncio.sleep(0.2)
        await beat.beat()
        steady = (beat.lapsed, beat.steady_ms)
        await asyncio.sleep(0.45)  # silent past its TTL: its announcement expired
        await beat.beat()
        lapsed = (beat.lapsed, beat.steady_ms)
        broken = Heartbeat(aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5), cluster,
                           lambda: WorkerInfo(id="z", address="127.0.0.1"))
        try:
            await broken.beat()
        except (OSError, RedisError):
            pass
        return first, steady, lapsed, broken.steady_ms

    first, steady, lapsed, broken = run(cluster, scenario)
    assert first[0] is False and first[1] < 100
    assert steady[0] is False and steady[1] >= 200
    assert lapsed[0] is True and lapsed[1] < 100
    assert broken == 0.0


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_worker_back_from_a_break_waits_a_ttl_before_adopting_and_lets_go_of_what_was_adopted(cluster, db, org,
                                                                                                   tmp_path):
    from recordings.live import LiveRecording
    from recordings.sfu import MediaHub
    from tests.factories import app_settings
    from tests.recordings.conftest import make_session
    from vreception.models.recordings import Recording, RecordingState
    from web.calls.worker import MediaWorker

    session_id, _ = make_session(db, org)

    settings = app_settings(db, tmp_path).model_copy(update={
        "redis_url": REDIS_URL, "redis_prefix": cluster.prefix, "media_placement": "workers",
        "media_worker_id": "a", "media_worker_heartbeat_ms": 100, "media_worker_ttl_ms": 1000})

    async def scenario(client, placement):
        worker = MediaWorker(db=db, settings=settings)
        try:
            # b held session 7 and went silent
            await announce(client, cluster, WorkerInfo(id="b", address="127.0.0.1"), ttl_ms=200)
            assert await placement.place(7) == "b"
            await asyncio.sleep(0.3)
            waited = []
            for _ in range(3):  # beats 0.5 s apart: only the third finds a TTL (1 s) of steady beats behind it
                await worker.heartbeat.beat()
                await worker.watch()
                waited.append(await placement.placed_on(7))
                await asyncio.sleep(0.55)
            # a was taken for lost meanwhile (its announcement lapsed) and c adopted the session it recorded; 10 is
            # still a's
            worker.media.hubs[session_id], worker.media.hubs[10] = MediaHub(), MediaHub()
            live = await LiveRecording.start(db=db, hub=worker.media.hubs[session_id], session_id=session_id,
                                             storage=worker.media.storage)
            worker.media.recordings[session_id] = live
            await client.set(cluster.placement(session_id), "c")
            await client.set(cluster.placement(10), "a")
            await client.delete(cluster.worker("a"))
            await worker.heartbeat.beat()
            lapsed = worker.heartbeat.lapsed
            await worker.watch()
            return waited, lapsed, sorted(worker.media.hubs), sorted(worker.media.recordings), live
        finally:
            await worker.media.close()
            for closing in (worker.bus.close(), worker.store.close(), worker.client.aclose()):
                await closing

    waited, lapsed, held, recording, live = run(cluster, scenario)
    assert waited == ["b", "b", "a"]
    assert lapsed and held == [10] and recording == []
    # its recorder stopped here; the recording row is left running for the adopter to continue
    assert live.recorder._thread is not None and not live.recorder._thread.is_alive()
    with db.transaction() as tx:
        assert tx.get(Recording, live.recording_id).state == RecordingState.recording
