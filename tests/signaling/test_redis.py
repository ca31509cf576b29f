"""The Redis bus and room store against a real Redis, as several server processes would use them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from signaling import rooms
from signaling.bus import listen, session_channel
from signaling.events import Send
from signaling.messages import Admit
from signaling.redis_bus import RedisBus, RedisStateStore
from signaling.state import Versioned, room_key, update_room

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def test_pub_sub_reaches_subscribers_on_other_connections(redis_url, redis_prefix):
    async def scenario():
        process_a = RedisBus.from_url(redis_url, prefix=redis_prefix)
        process_b = RedisBus.from_url(redis_url, prefix=redis_prefix)
        elsewhere = RedisBus.from_url(redis_url, prefix=redis_prefix + "other:")
        try:
            async with process_a.subscribe("s") as on_a, process_b.subscribe("s") as on_b, elsewhere.subscribe("s") as foreign:
                await process_a.publish("s", {"from": "a", "n": [1, 2]})
                await process_b.publish("s", {"from": "b"})
                for sub in (on_a, on_b):
                    assert await sub.get(2) == {"from": "a", "n": [1, 2]}
                    assert await sub.get(2) == {"from": "b"}
                with pytest.raises(TimeoutError):
                    await foreign.get(0.2)
        finally:
            for bus in (process_a, process_b, elsewhere):
                await bus.close()

    asyncio.run(scenario())


def test_a_closed_subscription_ends_its_reader(redis_url, redis_prefix):
    async def scenario():
        bus = RedisBus.from_url(redis_url, prefix=redis_prefix)
        got = []
        sub = bus.subscribe("s")
        await sub.open()

        async def consume():
            async for message in sub:
                got.append(message)

        reader = asyncio.create_task(consume())
        await bus.publish("s", {"n": 1})
        while not got:
            await asyncio.sleep(0.01)
        await asyncio.wait_for(sub.close(), 2)
        await asyncio.wait_for(reader, 2)
        assert got == [{"n": 1}]
        await bus.close()

    asyncio.run(scenario())


def test_compare_and_set_conflict_between_two_clients(redis_url, redis_prefix):
    async def scenario():
        one = RedisStateStore.from_url(redis_url, prefix=redis_prefix, ttl_s=60)
        two = RedisStateStore.from_url(redis_url, prefix=redis_prefix, ttl_s=60)
        try:
            assert await one.get("k") == Versioned(None, 0)
            assert await one.compare_and_set("k", 0, "first")
            assert not await two.compare_and_set("k", 0, "second")
            seen = await two.get("k")
            assert seen == Versioned("first", 1)
            assert await two.compare_and_set("k", 1, "second 二")
            assert not await one.compare_and_set("k", 1, "stale")
            assert await one.get("k") == Versioned("second 二", 2)
            raw = aioredis.from_url(redis_url)
            ttl = await raw.ttl(redis_prefix + "state:k")
            await raw.aclose()
            assert 0 < ttl <= 60
            await one.delete("k")
            assert await two.get("k") == Versioned(None, 0)
        finally:
            await one.close()
            await two.close()

    asyncio.run(scenario())


def test_concurrent_joins_through_several_clients_lose_nobody(redis_url, redis_prefix):
    async def scenario():
        stores = [RedisStateStore.from_url(redis_url, prefix=redis_prefix) for _ in range(4)]
        try:

            async def arrive(participant_id: int):
                store = stores[participant_id % len(stores)]
                return await update_room(
                    store,
                    9,
                    lambda room: rooms.join(room, participant_id, "observer", now=NOW),
                    initial=lambda: rooms.new_room(9),
                    attempts=100,
                )

            transitions = await asyncio.gather(*(arrive(i) for i in range(1, 21)))
            final = rooms.Room.from_json((await stores[0].get(room_key(9))).value)
            assert {p.id for p in final.participants} == set(range(1, 21))
            assert len(final.lobby) == 20
            # Exactly one of the joins opened the session.
            assert sum(any(e.kind == "session_state_changed" for e in t.events) for t in transitions) == 1
        finally:
            for store in stores:
                await store.close()

    asyncio.run(scenario())


def test_two_processes_serve_one_session(redis_url, redis_prefix):
    """The petitioner's socket is on process A, the leader's on B; sends cross over the bus."""

    async def scenario():
        class Process:
            def __init__(self, local: set[int]) -> None:
                self.bus = RedisBus.from_url(redis_url, prefix=redis_prefix)
                self.store = RedisStateStore.from_url(redis_url, prefix=redis_prefix)
                self.local = local
                self.inbox: dict[int, list[str]] = {pid: [] for pid in local}
                self.ready = asyncio.Event()

            def deliver(self, envelope: dict) -> None:
                send = Send.from_envelope(envelope)
                for pid in self.local:
                    if send.reaches(pid):
                        self.inbox[pid].append(send.message.type)

            async def step(self, fn):
                t = await update_room(self.store, 3, fn, initial=lambda: rooms.new_room(3))
                for send in t.sends:
                    await self.bus.publish(session_channel(3), send.to_envelope())
                return t

        a, b = Process({20}), Process({10})
        listeners = [asyncio.create_task(listen(p.bus, session_channel(3), p.deliver, ready=p.ready)) for p in (a, b)]
        try:
            await asyncio.wait_for(asyncio.gather(a.ready.wait(), b.ready.wait()), 5)
            await a.step(lambda room: rooms.join(room, 20, "petitioner", now=NOW))
            await b.step(lambda room: rooms.join(room, 10, "leader", now=NOW))
            t = await b.step(lambda room: rooms.apply(room, 10, Admit(participant_id=20), now=NOW))
            assert t.room.state == "live"
            for _ in range(200):
                if len(a.inbox[20]) >= 6 and len(b.inbox[10]) >= 5:
                    break
                await asyncio.sleep(0.01)
            assert a.inbox[20] == ["welcome", "lobby", "state", "state", "admitted", "state"]
            assert b.inbox[10] == ["state", "welcome", "admitted", "state", "state"]
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            for p in (a, b):
                await p.bus.close()
                await p.store.close()

    asyncio.run(scenario())
