"""The registry and placement on the real Redis: least-loaded, sticky, capacity, a lost worker's sessions re-placed."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

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
